"""Inputs and results exchanged between the operation workflow, its starters and its activities."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from workflows.commands import Actor
from workflows.notices import Notice
from workflows.plan import OperationPlan
from workflows.state import OperationState
from workflows.timeline import TimelineEvent


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeliveryPolicy(Message):
    """How persistently a notice is pressed on a failing target before the chain moves on."""

    attempts: int = Field(default=5, ge=1, le=20)
    first_retry_seconds: float = Field(default=10.0, gt=0, le=3600)
    maximum_retry_seconds: float = Field(default=300.0, gt=0, le=3600)


class ProjectionRetryPolicy(Message):
    """How a failing read-model projection is retried: until it lands, never given up.

    Every failed attempt costs the run a few history events and the run cannot continue as new
    before its events are projected, so the wait between attempts grows to a generous ceiling.
    """

    first_retry_seconds: float = Field(default=0.2, gt=0, le=3600)
    maximum_retry_seconds: float = Field(default=300.0, gt=0, le=3600)


class AssessmentRetryPolicy(Message):
    """How a closing outcome assessment that failed for good is tried again: until it is written.

    Before the close the next change tries again; after it none comes, so the run waits and
    tries, the wait as long as the assessment has been failing (so it doubles) within these
    bounds. A version fails for good only after its activity was retried for half an hour, so
    the fault is no blip: five minutes first catches one just mended, and the ceiling of six
    hours finds a fault mended overnight by the next morning's shift while a week's outage
    costs a few dozen attempts, not thousands of history events.
    """

    first_retry_seconds: float = Field(default=300.0, gt=0, le=86_400)
    maximum_retry_seconds: float = Field(default=21_600.0, gt=0, le=86_400)


class RunOperationInput(Message):
    """Start of a new operation, or the state carried over by continue-as-new."""

    operation_id: str
    plan: OperationPlan | None = None
    created_by: Actor | None = None
    carried_state: OperationState | None = None
    history_event_limit: int = Field(
        default=10_000,
        ge=100,
        description="Continue as new once the run's history holds this many events",
    )
    checkpoints_carried: int = Field(
        default=500,
        ge=10,
        description="Checkpoint reports carried to the next run; older ones stay in the read model",
    )
    delivery: DeliveryPolicy = DeliveryPolicy()
    projection_retry: ProjectionRetryPolicy = ProjectionRetryPolicy()
    assessment_retry: AssessmentRetryPolicy = AssessmentRetryPolicy()


class RunOperationResult(Message):
    operation_id: str
    phase: str
    outcome: str | None
    events: int


class AcceptedAction(Message):
    """Who asked for the change an event records, and why: its access-log entry.

    Written in the same transaction as the event, so no crash can leave an applied action
    without its entry in the access log.
    """

    seq: int
    action: str = Field(description="The command's kind, or create_operation for event 1")
    actor: Actor
    justification: str | None = None


class ProjectOperationInput(Message):
    """Events to write to the read model, with the operation as it stands after them.

    `operation.timeline` and `operation.applied` are left empty: the events travel on their own.
    """

    operation: OperationState
    events: list[TimelineEvent]
    actions: list[AcceptedAction] = Field(default_factory=list)


class ProjectOperationResult(Message):
    written: int
    last_seq: int


class NotifyAgenciesInput(Message):
    """One notice to deliver; `max_attempts` lets the last attempt answer instead of failing."""

    notice: Notice
    max_attempts: int


class NotifyAgenciesResult(Message):
    delivered: int
    already_delivered: int = 0
    unreachable: list[str] = Field(
        default_factory=list, description="Recipients none of whose targets could be reached"
    )
    moot: bool = False


class AssessOperationInput(Message):
    """The operation as it stands, to assess as version `version` (computed at `at_seq`)."""

    operation: OperationState
    version: int = Field(ge=1)
    at_seq: int = Field(ge=1)
    reason: str
    requested_at: datetime


class AssessOperationResult(Message):
    version: int
    written: bool


class SignedTreeHead(Message):
    """A signed head of the access log's Merkle tree, and the compact range that extends it.

    `frontier` is not signed but needs no signature: folded, it must give `root_hash`.
    """

    origin: str
    tree_size: int = Field(ge=0)
    root_hash: str = Field(description="base64 of the RFC 9162 root")
    signed_at: datetime
    guarded: bool = Field(description="The append-only triggers were in place at signing")
    key_id: str = Field(description="hex of the signed-note key id")
    signature: str = Field(description="base64 Ed25519 signature of the checkpoint text")
    frontier: list[str] = Field(default_factory=list, description="base64 subtree roots")


class IntegrateEntriesInput(Message):
    """The head the sequencer last signed (None: take the latest the log itself holds)."""

    head: SignedTreeHead | None = None
    batch_limit: int = Field(default=5_000, ge=1)


class IntegrateEntriesResult(Message):
    head: SignedTreeHead | None
    integrated: int
    already_integrated: bool = False


class RunAccessLogAuditInput(Message):
    """Start of the audit loop, or the head carried over by continue-as-new."""

    head: SignedTreeHead | None = None
    batch_interval_seconds: float = Field(default=2.0, gt=0, le=3600)
    idle_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="The longest wait once nothing was queued; waits double up to it when idle",
    )
    iterations_per_run: int = Field(default=300, ge=1)
