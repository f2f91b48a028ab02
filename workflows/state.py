"""The state of one operation and its timeline, as the lifecycle rules keep them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from workflows.commands import (
    Actor,
    CheckpointStatus,
    InterdictionKind,
    ReportedArrest,
    ReportedSeizure,
    SubmitDebriefInput,
)
from workflows.events import EscalationStep, HandoverOutcome
from workflows.plan import Authorisation, OperationPlan
from workflows.timeline import TimelineEvent


class Phase(StrEnum):
    PLANNING = "planning"
    EXECUTION = "execution"
    SUSPENDED = "suspended"
    INTERDICTION = "interdiction"
    DEBRIEF = "debrief"
    CLOSED = "closed"
    ABORTED = "aborted"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in FINAL_PHASES


FINAL_PHASES = frozenset({Phase.CLOSED, Phase.ABORTED, Phase.FAILED})


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutcomeKind(StrEnum):
    CLOSED = "closed"
    ABORTED = "aborted"
    ABORTED_BY_CONTINGENCY = "aborted by contingency rule"
    CONSIGNMENT_LOST = "consignment lost"


class OperationOutcome(Model):
    """How an operation ended: its kind, and the reason given for it.

    Its `text` ("aborted: courier arrested") is what the read model stores and what states
    carried before the outcome was typed; such a text reads back as the outcome it names.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: OutcomeKind
    reason: str | None = None

    @property
    def text(self) -> str:
        return self.kind.value if self.reason is None else f"{self.kind.value}: {self.reason}"

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        kind, _, reason = value.partition(": ")
        return {"kind": kind, "reason": reason or None}


class RuleChange(StrEnum):
    """A change of what the rules decide, adopted by the runs that start after it.

    A run replaying a history recorded before the change decides without it, as that run did
    (the workflow adopts each change behind `workflow.patched`).
    """

    INTERDICTION_EVENT_FOR_EVERY_CAUSE = "interdiction-ordered-event-for-every-cause"
    LEFT_IN_REQUIRED = "partial-substitution-says-what-is-left-in"
    FINAL_REPORT_NAMES_THE_CLOSE = "final-report-ready-names-the-close"
    DEBRIEF_INPUT_SAYS_SOMETHING = "debrief-input-says-something"


class HandoverOffer(Model):
    leg: int
    offered_at: datetime
    offered_by: Actor
    deadline: datetime
    escalation_step: int = 0


class HandoverRecord(Model):
    """The outcome of one offer, kept for the outcome assessment."""

    leg: int
    offered_at: datetime
    deadline: datetime
    outcome: HandoverOutcome
    decided_at: datetime
    escalation_steps: int
    reasons: str | None = None


class Checkpoint(Model):
    at: datetime
    place: str
    country: str
    status: CheckpointStatus


class SurveillanceGap(Model):
    lost_at: datetime
    regained_at: datetime | None = None
    last_known_place: str


class EscalationRecord(Model):
    """One step of the escalation of an unacknowledged handover, as it happened."""

    leg: int
    step: int
    escalation: EscalationStep
    at: datetime
    overdue_seconds: float


class OperationFacts(Model):
    """What the outcome assessment needs of the events, kept as they happen.

    Kept in the state, not re-read from the timeline: continue-as-new drops old checkpoint
    reports from the timeline, and a fact must not vanish with them.
    """

    route_deviations: list[Checkpoint] = Field(
        default_factory=list,
        description="Checkpoints reported deviated, or in a country off the planned route",
    )
    silence_alerts: int = 0
    escalations: list[EscalationRecord] = Field(default_factory=list)
    suspended_seconds: float = Field(default=0.0, description="Time suspended, resumed since")


class Interdiction(Model):
    kind: InterdictionKind
    ordered_at: datetime
    ordered_by: Actor
    place: str
    country: str
    reason: str | None = None
    approval_due: datetime | None = None
    approved_at: datetime | None = None
    approval_overdue: bool = False


class Seizure(ReportedSeizure):
    """A seizure recorded during the interdiction by the agency that made it."""

    agency: str
    at: datetime


class Arrest(ReportedArrest):
    """An arrest recorded during the interdiction by the agency that made it."""

    agency: str
    at: datetime


class DebriefInputRecord(Model):
    agency: str
    submitted_at: datetime
    submitted_by: str
    late: bool
    content: SubmitDebriefInput


class Recommendation(Model):
    number: int
    text: str
    owner: str
    due: datetime
    added_at: datetime
    added_by: str


class AssessmentRecord(Model):
    """An outcome assessment version written to the read model, and what it was computed from."""

    version: int
    at_seq: int
    revision: int
    recorded_at: datetime


class Debrief(Model):
    opened_at: datetime
    deadline: datetime
    reminders_sent: int = 0
    deadline_passed: bool = False
    inputs: dict[str, DebriefInputRecord] = Field(default_factory=dict)
    recommendations: list[Recommendation] = Field(default_factory=list)
    revision: int = Field(
        default=0, description="Bumped by every change the outcome assessment depends on"
    )
    assessments: list[AssessmentRecord] = Field(default_factory=list)
    failed_revision: int | None = Field(
        default=None,
        description="The revision whose assessment failed for good: retried once it changes",
    )

    @property
    def assessed_revision(self) -> int:
        return self.assessments[-1].revision if self.assessments else 0


class ActionResult(Model):
    """What an accepted action changed: the timeline event it produced and where things stand."""

    request_id: str
    event: TimelineEvent
    phase: Phase
    custodian: str | None


class AppliedRequest(Model):
    """Enough of an accepted request's answer to give it again when the request is retried."""

    command: str
    seq: int
    phase: Phase
    custodian: str | None


class OperationState(Model):
    operation_id: str
    plan: OperationPlan
    created_at: datetime
    created_by: Actor
    phase: Phase = Phase.PLANNING
    authorisations: dict[str, Authorisation] = Field(default_factory=dict)
    confirmations: dict[str, datetime] = Field(default_factory=dict)
    launched_at: datetime | None = None
    custodian: str | None = None
    custody_since: datetime | None = None
    checkpoint_clock: datetime | None = Field(
        default=None, description="Since when the custodian's silence is counted"
    )
    legs_completed: int = 0
    handover_offer: HandoverOffer | None = None
    handovers: list[HandoverRecord] = Field(default_factory=list)
    checkpoint_count: int = 0
    last_checkpoint: Checkpoint | None = None
    checkpoint_alert_due: datetime | None = None
    surveillance_lost: SurveillanceGap | None = None
    surveillance_gaps: list[SurveillanceGap] = Field(default_factory=list)
    suspended_at: datetime | None = None
    compromised_at: datetime | None = None
    interdiction: Interdiction | None = None
    seizures: list[Seizure] = Field(default_factory=list)
    arrests: list[Arrest] = Field(default_factory=list)
    debrief: Debrief | None = None
    ended_at: datetime | None = None
    outcome: OperationOutcome | None = None
    timeline: list[TimelineEvent] = Field(default_factory=list)
    facts: OperationFacts | None = Field(
        default=None,
        description="Facts for the assessment; None in states carried before they were kept",
    )
    compacted_checkpoints: int = Field(
        default=0,
        description="Older checkpoint reports kept only in the read model, to bound the state",
    )
    applied: dict[str, AppliedRequest] = Field(
        default_factory=dict, description="Accepted request ids and their answers"
    )
    rule_changes: frozenset[RuleChange] = Field(
        default=frozenset(), description="The changes of the rules this run decides with"
    )

    @field_serializer("rule_changes")
    def _rule_changes_in_order(self, changes: frozenset[RuleChange]) -> list[RuleChange]:
        # A set's order is its strings' hashes, which differ from process to process: the
        # worker that wrote a state and the one that replays it would list them differently.
        return sorted(changes)

    @property
    def next_seq(self) -> int:
        return self.timeline[-1].seq + 1 if self.timeline else 1
