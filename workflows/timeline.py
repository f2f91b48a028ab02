"""Timeline events: who did what and when, each kind with its own detail model.

`DETAILS` says which detail each kind carries. A timeline event is validated as a union
discriminated by its kind (so a stored event reads back with its own detail model, and the API's
schema documents each kind), and built by `timeline_event`, which refuses a detail of another kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, GetPydanticSchema, TypeAdapter, create_model

from workflows import details as d
from workflows.commands import Actor
from workflows.events import EventKind

DETAILS: Final[Mapping[EventKind, type[d.Detail]]] = {
    EventKind.OPERATION_CREATED: d.OperationCreated,
    EventKind.AUTHORISATION_GRANTED: d.AuthorisationGranted,
    EventKind.AUTHORISATION_REFUSED: d.AuthorisationRefused,
    EventKind.PARTICIPATION_CONFIRMED: d.Nothing,
    EventKind.PARTICIPANT_REMOVED: d.ParticipantRemoved,
    EventKind.OPERATION_LAUNCHED: d.Custody,
    EventKind.HANDOVER_OFFERED: d.HandoverOffered,
    EventKind.HANDOVER_ACKNOWLEDGED: d.HandoverAcknowledged,
    EventKind.HANDOVER_REFUSED: d.HandoverRefused,
    EventKind.HANDOVER_ACKNOWLEDGEMENT_OVERDUE: d.Escalation,
    EventKind.HANDOVER_ESCALATED: d.Escalation,
    EventKind.HANDOVER_CONTINGENCY_APPLIED: d.ContingencyEscalation,
    EventKind.CHECKPOINT_REPORTED: d.CheckpointReported,
    EventKind.CHECKPOINT_OVERDUE: d.CheckpointOverdue,
    EventKind.SURVEILLANCE_LOST: d.SurveillanceLost,
    EventKind.SURVEILLANCE_REGAINED: d.SurveillanceRegained,
    EventKind.SURVEILLANCE_WINDOW_EXPIRED: d.SurveillanceWindowExpired,
    EventKind.OPERATION_COMPROMISED: d.OperationCompromised,
    EventKind.OPERATION_SUSPENDED: d.Reason,
    EventKind.OPERATION_RESUMED: d.OperationResumed,
    EventKind.INTERDICTION_ORDERED: d.InterdictionOrdered,
    EventKind.INTERDICTION_APPROVED: d.InterdictionApproved,
    EventKind.INTERDICTION_APPROVAL_OVERDUE: d.InterdictionApprovalOverdue,
    EventKind.INTERDICTION_CONCLUDED: d.InterdictionConcluded,
    EventKind.SEIZURE_RECORDED: d.SeizureRecorded,
    EventKind.ARREST_RECORDED: d.ArrestRecorded,
    EventKind.DEBRIEF_INPUT_SUBMITTED: d.DebriefInputSubmitted,
    EventKind.DEBRIEF_REMINDER: d.DebriefReminder,
    EventKind.DEBRIEF_DEADLINE_PASSED: d.MissingInputs,
    EventKind.DEBRIEF_DEADLINE_EXTENDED: d.DebriefDeadlineExtended,
    EventKind.DEBRIEF_RECOMMENDATION_ADDED: d.RecommendationAdded,
    EventKind.DEBRIEF_ASSESSED: d.AssessmentVersion,
    EventKind.DEBRIEF_ASSESSMENT_FAILED: d.AssessmentFailure,
    EventKind.DEBRIEF_ASSESSMENT_RETRIED: d.Nothing,
    EventKind.DEBRIEF_CLOSED: d.MissingInputs,
    EventKind.OPERATION_ABORTED: d.Reason,
    EventKind.OPERATION_FAILED: d.ConsignmentLost,
}


class Event(BaseModel):
    """One thing that happened to an operation: who, when, what. Numbered from 1, never reused.

    Every event is an instance of its kind's subclass (see `timeline_event`), whose `detail` is
    that kind's model; read `detail` through `detail_of` where the kind is known.
    """

    model_config = ConfigDict(extra="forbid")

    seq: int
    at: datetime
    kind: EventKind
    actor: Actor
    summary: str
    detail: d.Detail


def _variant(kind: EventKind) -> type[Event]:
    name = "".join(part.title() for part in kind.value.replace(".", "_").split("_")) + "Event"
    # Its kind a literal, the discriminator; its detail the kind's model.
    fields: dict[str, Any] = {"kind": (Literal[kind], ...), "detail": (DETAILS[kind], ...)}
    variant: type[Event] = create_model(
        name, __base__=Event, __module__=__name__, __doc__=f"A {kind.value} event.", **fields
    )
    return variant


VARIANTS: Final[Mapping[EventKind, type[Event]]] = {kind: _variant(kind) for kind in EventKind}

_ANY_VARIANT: Final[Any] = Annotated[
    Union[tuple(VARIANTS.values())],  # noqa: UP007 - a union built from the table
    Field(discriminator="kind"),
]

TimelineEvent = Annotated[Event, GetPydanticSchema(lambda _source, handler: handler(_ANY_VARIANT))]
"""A field of this type reads and writes an event of any kind, by its kind's model."""


_EVENTS: Final = TypeAdapter(TimelineEvent)


def read_event(stored: Mapping[str, Any]) -> Event:
    """An event as stored (its detail as JSON), read back with its kind's detail model."""
    return _EVENTS.validate_python(stored)


def timeline_event(
    *, seq: int, at: datetime, kind: EventKind, actor: Actor, summary: str, detail: d.Detail
) -> Event:
    """The event of `kind`; a detail that is not the kind's model is a bug, refused here."""
    expected = DETAILS[kind]
    if type(detail) is not expected:
        raise TypeError(f"a {kind.value} event carries {expected.__name__}, not {detail!r}")
    return VARIANTS[kind](seq=seq, at=at, kind=kind, actor=actor, summary=summary, detail=detail)


D = TypeVar("D", bound=d.Detail)


def detail_of(event: Event, model: type[D]) -> D:
    """The event's detail as `model`, for a consumer that knows which kind it reads."""
    detail = event.detail
    if not isinstance(detail, model):
        raise TypeError(f"a {event.kind.value} event carries {type(detail).__name__}")
    return detail
