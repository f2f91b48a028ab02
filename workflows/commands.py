"""What people (and the operation's own timers) ask of an operation: one input model per action."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from workflows.plan import (
    ONE_LINE,
    ONE_LINE_SCHEMA,
    AgencyId,
    Authorisation,
    CountryCode,
    QuantityUnit,
    ShortText,
    Text,
    UtcDatetime,
    serialized_size,
)

# Every participant's debrief input stays in the operation's state: 30 of them at this limit, with
# the largest plan, still fit in one Temporal payload (see workflows.plan).
MAX_COMMAND_BYTES: Final = 32 * 1024
MAX_DEBRIEF_ENTRIES: Final = 50  # problems, lessons, proposals: each a list of free texts
MAX_DEBRIEF_RECORDS: Final = 100  # seizures, arrests, assets
MAX_IDENTIFIER_LENGTH: Final = 255  # an identity provider's subject may be this long (OIDC)

Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_LENGTH),
    ONE_LINE,
    ONE_LINE_SCHEMA,
]


class ActorRole(StrEnum):
    COORDINATOR = "coordinator"
    OFFICER = "officer"
    SYSTEM = "system"


class Actor(BaseModel):
    """Who asks: an officer of an agency, a coordinator of the centre, or the operation's timers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agency: Identifier
    officer: Identifier
    role: ActorRole


SYSTEM = Actor(agency="cdtrack", officer="timer", role=ActorRole.SYSTEM)

RequestId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    ONE_LINE,
    ONE_LINE_SCHEMA,
    Field(description="Client request id; a retried request with the same id is applied once"),
]


def command_size_problem(command: BaseModel) -> str | None:
    """Why the command is too large to send to an operation, or None if it fits."""
    size = serialized_size(command)
    if size <= MAX_COMMAND_BYTES:
        return None
    return f"the command is {size} bytes serialized; the limit is {MAX_COMMAND_BYTES} bytes"


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    request_id: RequestId
    # Kept with the operation's history (encrypted) so that the access-log entry of the accepted
    # action, written with its projection, names the reason the person gave.
    justification: str | None = Field(
        default=None, max_length=500, description="Why the person acts, as they said it"
    )

    @model_validator(mode="after")
    def _fits_in_a_payload(self) -> Command:
        problem = command_size_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self


def fields_of(model: BaseModel, shape: type[BaseModel]) -> dict[str, Any]:
    """What `model` holds of `shape`'s fields, as they are: a command's seizure, say."""
    return {name: getattr(model, name) for name in shape.model_fields}


def kind_of(command: Command | type[Command]) -> str:
    """The kind a command (or a command class) is sent and recorded under."""
    command_type = command if isinstance(command, type) else type(command)
    return str(command_type.model_fields["kind"].default)


class RecordAuthorisationInput(Command):
    kind: Literal["record_authorisation"] = "record_authorisation"
    authorisation: Authorisation


class ConfirmParticipationInput(Command):
    kind: Literal["confirm_participation"] = "confirm_participation"


class LaunchOperationInput(Command):
    kind: Literal["launch_operation"] = "launch_operation"


LegNumber = Annotated[
    int, Field(ge=1, le=20, description="Position of the leg on the route, from 1")
]


class OfferHandoverInput(Command):
    kind: Literal["offer_handover"] = "offer_handover"
    leg: LegNumber


class AcknowledgeHandoverInput(Command):
    kind: Literal["acknowledge_handover"] = "acknowledge_handover"
    leg: LegNumber


class RefuseHandoverInput(Command):
    kind: Literal["refuse_handover"] = "refuse_handover"
    leg: LegNumber
    reasons: Text


class CheckpointStatus(StrEnum):
    ON_SCHEDULE = "on_schedule"
    DELAYED = "delayed"
    STATIONARY = "stationary"
    DEVIATED = "deviated"


class ReportCheckpointInput(Command):
    kind: Literal["report_checkpoint"] = "report_checkpoint"
    place: ShortText
    country: CountryCode
    observed_at: UtcDatetime
    status: CheckpointStatus = CheckpointStatus.ON_SCHEDULE
    remarks: Text | None = None


class ReportSurveillanceLostInput(Command):
    kind: Literal["report_surveillance_lost"] = "report_surveillance_lost"
    last_known_place: ShortText
    circumstances: Text


class ReportSurveillanceRegainedInput(Command):
    kind: Literal["report_surveillance_regained"] = "report_surveillance_regained"
    place: ShortText


class ReportCompromiseInput(Command):
    kind: Literal["report_compromise"] = "report_compromise"
    circumstances: Text


class SuspendOperationInput(Command):
    kind: Literal["suspend_operation"] = "suspend_operation"
    reason: Text


class ResumeOperationInput(Command):
    kind: Literal["resume_operation"] = "resume_operation"


class InterdictionKind(StrEnum):
    PLANNED = "planned"
    EARLY = "early"
    EMERGENCY = "emergency"


class OrderInterdictionInput(Command):
    kind: Literal["order_interdiction"] = "order_interdiction"
    interdiction: InterdictionKind
    place: ShortText
    country: CountryCode
    reason: Text | None = None


class ApproveEmergencyInterdictionInput(Command):
    kind: Literal["approve_emergency_interdiction"] = "approve_emergency_interdiction"
    authority: ShortText
    reference: ShortText


class ArrestRole(StrEnum):
    COURIER = "courier"
    RECIPIENT = "recipient"
    ORGANISER = "organiser"
    FACILITATOR = "facilitator"


class ReportedSeizure(BaseModel):
    """A seizure: what was seized, how much, where.

    As recorded during the interdiction, as an agency confirms it in its debrief (e.g. weighed at
    the laboratory), as the state keeps it and as the assessment lists it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    substance: ShortText
    quantity: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    unit: QuantityUnit = QuantityUnit.KG
    place: ShortText
    country: CountryCode


class ReportedArrest(BaseModel):
    """An arrest: how many persons, of which nationality and role, where."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: Annotated[int, Field(ge=1, le=1000)] = 1
    nationality: CountryCode
    role: ArrestRole
    country: CountryCode


class RecordSeizureInput(Command, ReportedSeizure):
    kind: Literal["record_seizure"] = "record_seizure"


class RecordArrestInput(Command, ReportedArrest):
    kind: Literal["record_arrest"] = "record_arrest"


class ConcludeInterdictionInput(Command):
    kind: Literal["conclude_interdiction"] = "conclude_interdiction"


class AssetKind(StrEnum):
    CASH = "cash"
    VEHICLE = "vehicle"
    PROPERTY = "property"
    BANK_ACCOUNT = "bank_account"
    OTHER = "other"


class ReportedAsset(BaseModel):
    """An asset frozen or seized, with its estimated value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AssetKind
    description: ShortText
    value: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        examples=["USD", "KZT"], description="ISO 4217 currency code"
    )
    country: CountryCode


class SubmitDebriefInput(Command):
    """An agency's debrief input; the seizures and arrests it lists replace the ones it recorded
    during the interdiction (they are the confirmed figures); if it lists none, those stand."""

    kind: Literal["submit_debrief"] = "submit_debrief"
    problems: Annotated[list[Text], Field(max_length=MAX_DEBRIEF_ENTRIES)] = Field(
        default_factory=list
    )
    lessons: Annotated[list[Text], Field(max_length=MAX_DEBRIEF_ENTRIES)] = Field(
        default_factory=list
    )
    proposals: Annotated[list[Text], Field(max_length=MAX_DEBRIEF_ENTRIES)] = Field(
        default_factory=list
    )
    seizures: Annotated[list[ReportedSeizure], Field(max_length=MAX_DEBRIEF_RECORDS)] = Field(
        default_factory=list
    )
    arrests: Annotated[list[ReportedArrest], Field(max_length=MAX_DEBRIEF_RECORDS)] = Field(
        default_factory=list
    )
    assets: Annotated[list[ReportedAsset], Field(max_length=MAX_DEBRIEF_RECORDS)] = Field(
        default_factory=list
    )


class ExtendDebriefDeadlineInput(Command):
    """Give the agencies more time; reminders are planned again against the new deadline."""

    kind: Literal["extend_debrief_deadline"] = "extend_debrief_deadline"
    deadline: UtcDatetime


class AddRecommendationInput(Command):
    """A recommendation of the outcome assessment, owned by an agency, due by a date."""

    kind: Literal["add_recommendation"] = "add_recommendation"
    text: Text
    owner: AgencyId
    due: UtcDatetime


class CloseDebriefInput(Command):
    kind: Literal["close_debrief"] = "close_debrief"


class RetryAssessmentInput(Command):
    """Try the closing outcome assessment that failed for good again now, not on its timer."""

    kind: Literal["retry_assessment"] = "retry_assessment"


class RemoveParticipantInput(Command):
    kind: Literal["remove_participant"] = "remove_participant"
    agency: AgencyId
    reason: Text


class AbortOperationInput(Command):
    kind: Literal["abort_operation"] = "abort_operation"
    reason: Text


class DeclareConsignmentLostInput(Command):
    kind: Literal["declare_consignment_lost"] = "declare_consignment_lost"
    circumstances: Text


# Timer outcomes: the workflow applies them through the same rules, as the system actor.


class HandoverDeadlineReached(Command):
    kind: Literal["handover_deadline_reached"] = "handover_deadline_reached"
    leg: LegNumber
    step: Annotated[int, Field(ge=1, le=4)]


class CheckpointSilenceReached(Command):
    kind: Literal["checkpoint_silence_reached"] = "checkpoint_silence_reached"
    due_at: UtcDatetime


class SurveillanceWindowExpired(Command):
    kind: Literal["surveillance_window_expired"] = "surveillance_window_expired"


class DebriefReminderDue(Command):
    kind: Literal["debrief_reminder_due"] = "debrief_reminder_due"
    number: Annotated[int, Field(ge=1)]


class DebriefDeadlineReached(Command):
    kind: Literal["debrief_deadline_reached"] = "debrief_deadline_reached"


class EmergencyApprovalOverdue(Command):
    kind: Literal["emergency_approval_overdue"] = "emergency_approval_overdue"


class RecordAssessmentInput(Command):
    """The operation itself notes that an outcome assessment version was written."""

    kind: Literal["record_assessment"] = "record_assessment"
    version: Annotated[int, Field(ge=1)]
    at_seq: Annotated[int, Field(ge=1)]
    revision: Annotated[int, Field(ge=0)]


class RecordAssessmentFailureInput(Command):
    """The operation itself notes that an outcome assessment version failed for good."""

    kind: Literal["record_assessment_failure"] = "record_assessment_failure"
    version: Annotated[int, Field(ge=1)]
    at_seq: Annotated[int, Field(ge=1)]
    revision: Annotated[int, Field(ge=0)]


AnyCommand = Annotated[
    RecordAuthorisationInput
    | ConfirmParticipationInput
    | LaunchOperationInput
    | OfferHandoverInput
    | AcknowledgeHandoverInput
    | RefuseHandoverInput
    | ReportCheckpointInput
    | ReportSurveillanceLostInput
    | ReportSurveillanceRegainedInput
    | ReportCompromiseInput
    | SuspendOperationInput
    | ResumeOperationInput
    | OrderInterdictionInput
    | ApproveEmergencyInterdictionInput
    | RecordSeizureInput
    | RecordArrestInput
    | ConcludeInterdictionInput
    | SubmitDebriefInput
    | ExtendDebriefDeadlineInput
    | AddRecommendationInput
    | CloseDebriefInput
    | RetryAssessmentInput
    | RemoveParticipantInput
    | AbortOperationInput
    | DeclareConsignmentLostInput
    | HandoverDeadlineReached
    | CheckpointSilenceReached
    | SurveillanceWindowExpired
    | DebriefReminderDue
    | DebriefDeadlineReached
    | EmergencyApprovalOverdue
    | RecordAssessmentInput
    | RecordAssessmentFailureInput,
    Field(discriminator="kind"),
]

TimerCommand = (
    HandoverDeadlineReached
    | CheckpointSilenceReached
    | SurveillanceWindowExpired
    | DebriefReminderDue
    | DebriefDeadlineReached
    | EmergencyApprovalOverdue
)

TIMER_KINDS = frozenset(
    {
        "handover_deadline_reached",
        "checkpoint_silence_reached",
        "surveillance_window_expired",
        "debrief_reminder_due",
        "debrief_deadline_reached",
        "emergency_approval_overdue",
    }
)

# Commands only the operation itself issues: never offered as actions to people.
SYSTEM_KINDS = TIMER_KINDS | {"record_assessment", "record_assessment_failure"}
