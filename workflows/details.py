"""What each kind of timeline event records: its detail, one pydantic model per shape.

The JSON of a detail is what the read model stores and what the histories carry: field names and
value formats never change (moments as `datetime.isoformat()`), and a field added later has a
default, so an older event still reads. `workflows.timeline` says which kind carries which.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

from workflows.commands import (
    CheckpointStatus,
    InterdictionKind,
    ReportedArrest,
    ReportedSeizure,
)
from workflows.events import EscalationStep, InterdictionCause
from workflows.plan import ContingencyAction


def _iso(moment: datetime) -> str:
    return moment.isoformat()


Moment = Annotated[datetime, PlainSerializer(_iso, return_type=str)]


class Detail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Nothing(Detail):
    """An event whose summary says it all."""


class OperationCreated(Detail):
    code_name: str
    route: list[str]


class AuthorisationGranted(Detail):
    country: str
    authority: str
    reference: str
    valid_until: Moment
    substitution_allowed: bool
    conditions: str | None


class AuthorisationRefused(Detail):
    country: str
    authority: str
    reasons: str


class ParticipantRemoved(Detail):
    agency: str
    reason: str


class Custody(Detail):
    """Who holds custody now."""

    custodian: str


class HandoverOffered(Detail):
    leg: int
    receiving_agency: str
    deadline: Moment


class HandoverAcknowledged(Detail):
    leg: int
    custodian: str
    latency_seconds: float
    late_seconds: float
    escalation_steps: int


class HandoverRefused(Detail):
    leg: int
    reasons: str


class Escalation(Detail):
    """One step of the escalation of an unacknowledged handover."""

    leg: int
    step: int
    escalation: EscalationStep
    receiving_agency: str
    overdue_seconds: float


class ContingencyEscalation(Escalation):
    """The last step: the contingency rule applied."""

    contingency: ContingencyAction


class CheckpointReported(Detail):
    place: str
    country: str
    observed_at: Moment
    status: CheckpointStatus
    remarks: str | None


class CheckpointOverdue(Detail):
    custodian: str | None
    silent_seconds: float


class SurveillanceLost(Detail):
    last_known_place: str
    circumstances: str
    window_ends: Moment


class SurveillanceRegained(Detail):
    place: str
    gap_seconds: float


class SurveillanceWindowExpired(Detail):
    contingency: ContingencyAction
    lost_at: Moment


class OperationCompromised(Detail):
    circumstances: str
    contingency: ContingencyAction


class Reason(Detail):
    """Why the coordinator acted, as they said it."""

    reason: str


class OperationResumed(Detail):
    suspended_seconds: float


class InterdictionOrdered(Detail):
    interdiction: InterdictionKind
    place: str
    country: str
    reason: str | None
    # Absent from events written before a contingency's interdiction had an event of its own.
    cause: InterdictionCause = InterdictionCause.ORDERED


class InterdictionApproved(Detail):
    authority: str
    reference: str


class InterdictionApprovalOverdue(Detail):
    approval_due: Moment


class InterdictionConcluded(Detail):
    debrief_deadline: Moment


class SeizureRecorded(Detail, ReportedSeizure):
    """The seizure, as the command reported it."""


class ArrestRecorded(Detail, ReportedArrest):
    """The arrest, as the command reported it."""


class ReportedCounts(Detail):
    seizures: int
    arrests: int
    assets: int


class DebriefInputSubmitted(Detail):
    agency: str
    revised: bool
    late: bool
    reported: ReportedCounts | None = None  # absent from inputs submitted before it was counted


class MissingInputs(Detail):
    """The participants whose debrief input has not come."""

    missing_inputs: list[str]


class DebriefReminder(MissingInputs):
    number: int


class DebriefDeadlineExtended(Detail):
    previous_deadline: Moment
    deadline: Moment


class RecommendationAdded(Detail):
    number: int
    owner: str
    due: Moment


class AssessmentVersion(Detail):
    """An outcome assessment version, and the timeline seq it was computed at."""

    version: int
    at_seq: int


class AssessmentFailure(AssessmentVersion):
    """A version that failed for good; after the close it is tried again on a timer, not on the
    next change (none comes)."""

    after_close: bool = False


class ConsignmentLost(Detail):
    circumstances: str


AnyDetail = (
    Nothing
    | OperationCreated
    | AuthorisationGranted
    | AuthorisationRefused
    | ParticipantRemoved
    | Custody
    | HandoverOffered
    | HandoverAcknowledged
    | HandoverRefused
    | Escalation
    | ContingencyEscalation
    | CheckpointReported
    | CheckpointOverdue
    | SurveillanceLost
    | SurveillanceRegained
    | SurveillanceWindowExpired
    | OperationCompromised
    | Reason
    | OperationResumed
    | InterdictionOrdered
    | InterdictionApproved
    | InterdictionApprovalOverdue
    | InterdictionConcluded
    | SeizureRecorded
    | ArrestRecorded
    | DebriefInputSubmitted
    | MissingInputs
    | DebriefReminder
    | DebriefDeadlineExtended
    | RecommendationAdded
    | AssessmentVersion
    | ConsignmentLost
)
