"""Request and response schemas of the operations API, with an example for every request body."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from store.notifications import DeliveryStatus
from workflows.commands import SYSTEM_KINDS, AnyCommand, Command
from workflows.notices import NoticeAction
from workflows.plan import OperationPlan, plan_size_problem
from workflows.state import OperationState, Phase
from workflows.timeline import TimelineEvent

EXAMPLE_TIME = "2026-12-01T08:00:00Z"

PLAN_EXAMPLE: dict[str, Any] = {
    "code_name": "NIGHTJAR",
    "coordinator_agency": "caricc",
    "lead_agency": "af-cnpa",
    "consignment": {
        "substances": [{"name": "heroin", "quantity": 12.5, "unit": "kg"}],
        "packaging": "vacuum-sealed bricks",
        "concealment": "spare tyre",
        "tracker_ids": ["GPS-7731"],
        "delivery_type": "partially_substituted",
        "left_in": {"substance": "heroin", "quantity": 200, "unit": "g"},
        "mode": "road",
    },
    "legs": [
        {
            "from_country": "AF",
            "to_country": "TJ",
            "crossing_point": "Sherkhan Bandar - Nizhny Panj bridge",
            "planned_departure": "2026-12-01T06:00:00Z",
            "planned_arrival": "2026-12-01T14:00:00Z",
            "sending_agency": "af-cnpa",
            "receiving_agency": "tj-dca",
            "acknowledgement_deadline": "PT30M",
        },
        {
            "from_country": "TJ",
            "to_country": "KZ",
            "crossing_point": "Almaty region road checkpoint",
            "planned_departure": "2026-12-01T16:00:00Z",
            "planned_arrival": "2026-12-02T22:00:00Z",
            "sending_agency": "tj-dca",
            "receiving_agency": "kz-police",
        },
    ],
    "participants": [
        {"agency": "af-cnpa", "country": "AF", "role": "lead"},
        {"agency": "tj-dca", "country": "TJ", "role": "transit"},
        {"agency": "kz-police", "country": "KZ", "role": "destination"},
    ],
    "checkpoint_interval": "PT1H",
    "handling": {"scheme": "SIENA", "code": "H2"},
}

# The steering actions, by the Update name they share with the workflow (timers and the
# assessment record are its own).
ACTIONS: dict[str, type[Command]] = {
    kind: member
    for member in get_args(get_args(AnyCommand)[0])
    if (kind := member.model_fields["kind"].default) not in SYSTEM_KINDS
}

ACTION_EXAMPLES: dict[str, dict[str, Any]] = {
    "record_authorisation": {
        "authorisation": {
            "decision": "granted",
            "country": "KZ",
            "authority": "Prosecutor General's Office",
            "reference": "CD-2026-118",
            "legal_basis": "Criminal Procedure Code, art. 232",
            "granted_at": "2026-11-20T09:00:00Z",
            "valid_until": "2026-12-31T23:59:00Z",
            "conditions": "Interdiction only at destination",
            "substitution_allowed": True,
        }
    },
    "confirm_participation": {},
    "launch_operation": {},
    "offer_handover": {"leg": 1},
    "acknowledge_handover": {"leg": 1},
    "refuse_handover": {"leg": 1, "reasons": "No surveillance team available at the border"},
    "report_checkpoint": {
        "place": "Dushanbe bus terminal",
        "country": "TJ",
        "observed_at": EXAMPLE_TIME,
        "status": "on_schedule",
    },
    "report_surveillance_lost": {
        "last_known_place": "Kunduz bus station",
        "circumstances": "Courier changed vehicles in a crowd",
    },
    "report_surveillance_regained": {"place": "Kunduz, northern exit road"},
    "report_compromise": {"circumstances": "Courier's contact asked about a tracker"},
    "suspend_operation": {"reason": "Border closed for a national holiday"},
    "resume_operation": {},
    "order_interdiction": {
        "interdiction": "planned",
        "place": "Almaty, recipient's warehouse",
        "country": "KZ",
    },
    "approve_emergency_interdiction": {
        "authority": "Prosecutor's Office of Almaty",
        "reference": "EA-2026-7",
    },
    "record_seizure": {
        "substance": "heroin",
        "quantity": 12.5,
        "unit": "kg",
        "place": "Almaty",
        "country": "KZ",
    },
    "record_arrest": {"count": 2, "nationality": "TJ", "role": "recipient", "country": "KZ"},
    "conclude_interdiction": {},
    "submit_debrief": {
        "problems": ["Acknowledgement at the TJ-KZ border came 20 minutes late"],
        "lessons": ["Share the courier's ETA with the receiving agency one hour ahead"],
        "proposals": ["Standing duty officer at the Almaty checkpoint"],
        "seizures": [
            {
                "substance": "heroin",
                "quantity": 12.1,
                "unit": "kg",
                "place": "Almaty",
                "country": "KZ",
            }
        ],
        "arrests": [{"count": 2, "nationality": "TJ", "role": "recipient", "country": "KZ"}],
        "assets": [
            {
                "kind": "cash",
                "description": "US dollar banknotes found with the recipient",
                "value": 8000,
                "currency": "USD",
                "country": "KZ",
            }
        ],
    },
    "extend_debrief_deadline": {"deadline": "2026-12-20T18:00:00Z"},
    "add_recommendation": {
        "text": "Keep a duty officer at the Almaty road checkpoint during deliveries",
        "owner": "kz-police",
        "due": "2027-03-01T00:00:00Z",
    },
    "close_debrief": {},
    "retry_assessment": {},
    "remove_participant": {"agency": "nl-police", "reason": "Observer no longer needed"},
    "abort_operation": {"reason": "Courier arrested on an unrelated charge"},
    "declare_consignment_lost": {"circumstances": "Vehicle not found after the window expired"},
}

_CLIENT_SET = frozenset({"actor", "request_id", "kind", "justification"})


def _body_model(kind: str, command: type[Command]) -> type[BaseModel]:
    """The request body of an action: the command's own fields, less what the server fills in."""
    fields: dict[str, Any] = {
        name: (field.annotation, field)
        for name, field in command.model_fields.items()
        if name not in _CLIENT_SET
    }
    name = "".join(part.capitalize() for part in kind.split("_")) + "Body"
    config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ACTION_EXAMPLES[kind]]})
    model: type[BaseModel] = create_model(name, __config__=config, **fields)
    return model


ACTION_BODIES: dict[str, type[BaseModel]] = {
    kind: _body_model(kind, command) for kind, command in ACTIONS.items()
}


class OperationCreate(OperationPlan):
    model_config = ConfigDict(json_schema_extra={"examples": [PLAN_EXAMPLE]})

    @model_validator(mode="after")
    def _fits_in_a_payload(self) -> OperationCreate:
        # Each list and string has its limit; together they could still outgrow Temporal's.
        problem = plan_size_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self


class OperationCreated(BaseModel):
    operation_id: str
    code_name: str
    phase: Phase


class OperationSummaryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code_name: str
    phase: Phase
    handling_code: str
    handling_label: str
    lead_agency: str
    coordinator_agency: str
    custodian: str | None
    countries: list[str]
    substances: list[str]
    created_at: datetime
    launched_at: datetime | None
    ended_at: datetime | None
    outcome: str | None


class OperationPage(BaseModel):
    items: list[OperationSummaryRead]
    total: int
    page: int
    page_size: int


class OperationRead(BaseModel):
    """The live state of an operation, from its workflow, with what still blocks its launch."""

    state: OperationState
    launch_blockers: list[str]


class TimelinePage(BaseModel):
    operation_id: str
    events: list[TimelineEvent]
    next_after_seq: int | None


class DeliveryRead(BaseModel):
    """One attempt to deliver a notice to one target, as the delivery log holds it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    seq: int = Field(description="The timeline event that called for the notice")
    action: NoticeAction
    agency_id: str
    target_id: str | None = Field(description="None when the agency had no target to deliver to")
    language: str | None
    attempt: int
    status: DeliveryStatus
    error: str | None
