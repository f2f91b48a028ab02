"""The operation plan: consignment, route, participants, authorisations and contingency rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final, Literal

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, to_json

# Limits of what a plan and a command may hold. Temporal refuses any payload over 2 MB (its blob
# size limit) and the operation's state carries the plan and every participant's debrief input,
# so the whole stays well below it: MAX_PLAN_BYTES + MAX_PARTICIPANTS * the largest command.
MAX_NAME_LENGTH: Final = 200  # names, places, references: one line
MAX_TEXT_LENGTH: Final = 2000  # free text: conditions, reasons, circumstances, lessons
MAX_SUBSTANCES: Final = 50
MAX_TRACKER_IDS: Final = 200
MAX_LEGS: Final = 20
MAX_PARTICIPANTS: Final = 30
MAX_REMINDERS: Final = 10
MAX_PLAN_BYTES: Final = 256 * 1024

# Read once at import so validation inside the workflow sandbox touches no files.
_ISO_ALPHA2 = frozenset(country.alpha_2 for country in pycountry.countries)


def _iso_country(code: str) -> str:
    upper = code.upper()
    if upper not in _ISO_ALPHA2:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code (e.g. KZ, TJ, AF)")
    return upper


def _utc(moment: datetime) -> datetime:
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("time must carry a timezone (UTC)")
    return (moment - offset).replace(tzinfo=UTC)


CountryCode = Annotated[
    str,
    StringConstraints(min_length=2, max_length=2),
    AfterValidator(_iso_country),
    Field(json_schema_extra={"enum": sorted(_ISO_ALPHA2)}, examples=["KZ"]),
]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
AgencyId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$"),
    Field(description="Agency identifier, lower-case letters, digits and hyphens, e.g. kz-customs"),
]
# No control characters (C0, DEL, C1): a database cannot store NUL, the others garble logs,
# reports and terminals. Text keeps tabs and line breaks; pydantic refuses unpaired surrogates.
_TEXT_FORBIDDEN_CHARACTERS = r"\x00-\x08\x0b-\x1f\x7f-\x9f"
_LINE_FORBIDDEN_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
_TEXT_FORBIDDEN = re.compile(f"[{_TEXT_FORBIDDEN_CHARACTERS}]")
_LINE_FORBIDDEN = re.compile(f"[{_LINE_FORBIDDEN_CHARACTERS}]")


def _forbidden_character(forbidden: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        found = forbidden.search(value)
        if found is not None:
            raise ValueError(f"control character U+{ord(found.group()):04X} is not allowed")
        return value

    return AfterValidator(check)


# For strings that are not ShortText (identifiers): one line, nothing stripped.
ONE_LINE: Final = _forbidden_character(_LINE_FORBIDDEN)
ONE_LINE_SCHEMA: Final = Field(json_schema_extra={"pattern": f"^[^{_LINE_FORBIDDEN_CHARACTERS}]+$"})

Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_LENGTH),
    _forbidden_character(_TEXT_FORBIDDEN),
    Field(json_schema_extra={"pattern": f"^[^{_TEXT_FORBIDDEN_CHARACTERS}]+$"}),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH),
    ONE_LINE,
    ONE_LINE_SCHEMA,
]


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a duration is ISO 8601 (e.g. PT30M) or seconds, not true/false")
    return value


# JSON carries durations as ISO 8601 ("PT30M") or as a bare number of seconds; the schema says both,
# and says the unit, so a planner never has to guess whether 30 means minutes.
DURATION_AS_TEXT: Final = {
    "type": "string",
    "format": "duration",
    "description": "ISO 8601 duration, e.g. PT30M (30 minutes) or P14D (14 days)",
}
DURATION_UNIT: Final = "seconds"


def _duration_schema(bound: dict[str, float]) -> WithJsonSchema:
    as_number = {"type": "number", "description": f"a number of {DURATION_UNIT}", **bound}
    return WithJsonSchema({"anyOf": [DURATION_AS_TEXT, as_number]})


PositiveDuration = Annotated[
    timedelta,
    BeforeValidator(_not_a_bool),
    Field(gt=timedelta(0)),
    _duration_schema({"exclusiveMinimum": 0}),
]
NonNegativeDuration = Annotated[
    timedelta,
    BeforeValidator(_not_a_bool),
    Field(ge=timedelta(0)),
    _duration_schema({"minimum": 0}),
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HandlingCode(StrEnum):
    """Europol SIENA handling codes."""

    H0 = "H0"
    H1 = "H1"
    H2 = "H2"
    H3 = "H3"

    @property
    def label(self) -> str:
        return HANDLING_LABELS[self]


HANDLING_LABELS: dict[HandlingCode, str] = {
    HandlingCode.H0: "Use only to prevent or combat crime",
    HandlingCode.H1: "Not for use in court without the provider's permission",
    HandlingCode.H2: "Not to be passed on without the provider's permission",
    HandlingCode.H3: "Other restrictions apply",
}


class Handling(Frozen):
    scheme: Literal["SIENA"] = "SIENA"
    code: HandlingCode = HandlingCode.H0
    restrictions: ShortText | None = Field(
        default=None, description="The restriction itself, required for H3"
    )

    @property
    def label(self) -> str:
        return self.code.label

    @model_validator(mode="after")
    def _h3_names_restriction(self) -> Handling:
        if self.code is HandlingCode.H3 and not self.restrictions:
            message = "handling code H3 needs the restriction spelled out in 'restrictions'"
            raise invalid_fields("Handling", [PlanProblem(("restrictions",), message, message)])
        return self


class DeliveryType(StrEnum):
    INTACT = "intact"
    PARTIALLY_SUBSTITUTED = "partially_substituted"
    FULLY_SUBSTITUTED = "fully_substituted"


class TransportMode(StrEnum):
    AIR_CARGO = "air_cargo"
    POSTAL_ITEM = "postal_item"
    COURIER = "courier"
    ROAD = "road"
    RAIL = "rail"
    SEA_CONTAINER = "sea_container"


class QuantityUnit(StrEnum):
    KG = "kg"
    G = "g"
    L = "l"
    UNITS = "units"


class Substance(Frozen):
    name: ShortText = Field(examples=["heroin", "mephedrone"])
    quantity: Annotated[
        float, Field(gt=0, allow_inf_nan=False, description="Estimated quantity, above zero")
    ]
    unit: QuantityUnit = QuantityUnit.KG


# Grams per unit of mass, to compare what is left in with what the consignment holds.
_GRAMS: Final = {QuantityUnit.G: 1.0, QuantityUnit.KG: 1000.0}


class LeftIn(Frozen):
    """What a partial substitution leaves of the real substance, so possession can be charged."""

    substance: ShortText = Field(description="One of the consignment's substances, by name")
    quantity: Annotated[float, Field(gt=0, allow_inf_nan=False, examples=[200])]
    unit: QuantityUnit = QuantityUnit.G


def _amount_in(quantity: float, unit: QuantityUnit, target: QuantityUnit) -> float | None:
    """The quantity in the target unit, or None when the two units do not measure alike."""
    if unit is target:
        return quantity
    if unit in _GRAMS and target in _GRAMS:
        return quantity * _GRAMS[unit] / _GRAMS[target]
    return None


class Consignment(Frozen):
    substances: Annotated[list[Substance], Field(min_length=1, max_length=MAX_SUBSTANCES)]
    packaging: ShortText
    concealment: ShortText | None = None
    tracker_ids: Annotated[list[ShortText], Field(max_length=MAX_TRACKER_IDS)] = Field(
        default_factory=list
    )
    delivery_type: DeliveryType = DeliveryType.INTACT
    left_in: LeftIn | None = Field(
        default=None,
        description=(
            "A partial substitution's quantity of the real substance left in the consignment "
            "(e.g. 200 g): positive, at most the substance's quantity"
        ),
    )
    mode: TransportMode = Field(
        description="How the consignment travels; the mode of every leg that names none of its own"
    )

    @model_validator(mode="after")
    def _left_in_fits(self) -> Consignment:
        problem = left_in_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self


def left_in_problem(consignment: Consignment) -> str | None:
    """Why the quantity left in does not fit the consignment, or None when it does."""
    left = consignment.left_in
    if left is None:
        return None
    if consignment.delivery_type is not DeliveryType.PARTIALLY_SUBSTITUTED:
        return (
            f"left_in is the quantity a partial substitution leaves in; the consignment is "
            f"{consignment.delivery_type.value.replace('_', ' ')}"
        )
    substance = next(
        (s for s in consignment.substances if s.name.lower() == left.substance.lower()), None
    )
    if substance is None:
        listed = ", ".join(s.name for s in consignment.substances)
        return f"left_in names {left.substance}, which the consignment does not hold ({listed})"
    amount = _amount_in(left.quantity, left.unit, substance.unit)
    if amount is None:
        return (
            f"left_in is in {left.unit.value} but {substance.name} is counted in "
            f"{substance.unit.value}"
        )
    if amount > substance.quantity:
        return (
            f"left_in ({left.quantity:g} {left.unit.value}) exceeds the consignment's "
            f"{substance.quantity:g} {substance.unit.value} of {substance.name}"
        )
    return None


class EscalationDelays(Frozen):
    """How long after the acknowledgement deadline each escalation step follows the previous one."""

    reminder_after: NonNegativeDuration = Field(
        default=timedelta(0), description="From the acknowledgement deadline to the reminder"
    )
    contact_point_after: NonNegativeDuration = Field(
        default=timedelta(minutes=10),
        description="From the reminder to the receiving country's national contact point",
    )
    coordinator_after: NonNegativeDuration = Field(
        default=timedelta(minutes=10), description="From the contact point to the coordinator"
    )
    contingency_after: NonNegativeDuration = Field(
        default=timedelta(minutes=15),
        description="From the coordinator to the contingency rule for an unacknowledged handover",
    )

    def steps(self) -> tuple[timedelta, timedelta, timedelta, timedelta]:
        """Offsets from the deadline of the four steps, cumulative."""
        first = self.reminder_after
        second = first + self.contact_point_after
        third = second + self.coordinator_after
        return first, second, third, third + self.contingency_after


class ParticipantRole(StrEnum):
    LEAD = "lead"
    ORIGIN = "origin"
    TRANSIT = "transit"
    DESTINATION = "destination"
    OBSERVER = "observer"


class Participant(Frozen):
    agency: AgencyId
    country: CountryCode
    role: ParticipantRole
    name: ShortText | None = None


class Leg(Frozen):
    from_country: CountryCode
    to_country: CountryCode
    crossing_point: ShortText = Field(examples=["Nizhny Panj", "Almaty airport (ALA)"])
    carrier: ShortText | None = None
    tracking_number: ShortText | None = Field(
        default=None, description="Flight number, waybill or postal tracking number"
    )
    planned_departure: UtcDatetime
    planned_arrival: UtcDatetime
    sending_agency: AgencyId
    receiving_agency: AgencyId
    acknowledgement_deadline: PositiveDuration = Field(
        default=timedelta(minutes=30),
        description="How long the receiving agency has to acknowledge a handover offer",
    )
    escalation: EscalationDelays | None = Field(
        default=None, description="Overrides the operation's escalation delays for this leg"
    )
    mode: TransportMode | None = Field(
        default=None,
        description="How the consignment travels this leg; without it, the consignment's mode",
    )


class ContingencyAction(StrEnum):
    INTERDICT = "interdict"
    ABORT = "abort"


class ContingencyRules(Frozen):
    surveillance_regain_window: PositiveDuration = Field(
        default=timedelta(hours=2),
        description="How long lost surveillance may stay lost before the contingency rule applies",
    )
    on_surveillance_window_expired: ContingencyAction = ContingencyAction.INTERDICT
    on_compromise: ContingencyAction = ContingencyAction.INTERDICT
    on_handover_unacknowledged: ContingencyAction = ContingencyAction.INTERDICT


class OperationPlan(Frozen):
    code_name: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Z][A-Z0-9-]{2,39}$"),
        Field(description="Upper-case code name, e.g. NIGHTJAR", examples=["NIGHTJAR"]),
    ]
    coordinator_agency: AgencyId = Field(description="The coordination centre steering it")
    lead_agency: AgencyId
    consignment: Consignment
    legs: Annotated[list[Leg], Field(min_length=1, max_length=MAX_LEGS)]
    participants: Annotated[list[Participant], Field(min_length=2, max_length=MAX_PARTICIPANTS)]
    contingency: ContingencyRules = ContingencyRules()
    escalation: EscalationDelays = EscalationDelays()
    checkpoint_interval: PositiveDuration = Field(
        default=timedelta(hours=1),
        description="Agreed interval between checkpoint reports; silence past it raises an alert",
    )
    debrief_period: PositiveDuration = Field(
        default=timedelta(days=14),
        description="From the end of the interdiction to the debrief deadline",
    )
    debrief_reminders_before: Annotated[list[PositiveDuration], Field(max_length=MAX_REMINDERS)] = (
        Field(
            default_factory=lambda: [timedelta(days=3), timedelta(days=1)],
            description="Reminders to agencies whose debrief input is missing, before the deadline",
        )
    )
    handling: Handling = Handling()

    @model_validator(mode="after")
    def _route_is_coherent(self) -> OperationPlan:
        faults = route_faults(self)
        if faults:
            raise invalid_fields(type(self).__name__, faults)
        return self

    def participant(self, agency: str) -> Participant | None:
        return next((p for p in self.participants if p.agency == agency), None)

    @property
    def route_countries(self) -> list[str]:
        countries = [self.legs[0].from_country]
        countries.extend(leg.to_country for leg in self.legs)
        return countries

    def escalation_for(self, leg: Leg) -> EscalationDelays:
        return leg.escalation or self.escalation

    def mode_of(self, leg: Leg) -> TransportMode:
        """A plan without per-leg modes (every plan before them) sends each leg its one way."""
        return leg.mode or self.consignment.mode


def serialized_size(model: BaseModel) -> int:
    """Bytes of the model as the data converter writes it (JSON, before encryption)."""
    return len(to_json(model))


def plan_size_problem(plan: BaseModel) -> str | None:
    """Why the plan is too large to start an operation from, or None if it fits."""
    size = serialized_size(plan)
    if size <= MAX_PLAN_BYTES:
        return None
    return f"the plan is {size} bytes serialized; the limit is {MAX_PLAN_BYTES} bytes"


@dataclass(frozen=True)
class PlanProblem:
    """Something wrong with a plan, and where in the plan it is."""

    location: tuple[str | int, ...]  # within the plan: ("legs", 0, "planned_departure")
    message: str  # about the field itself: "departure ... is in the past"
    text: str  # the whole sentence for the planner: "leg 1 departure ... is in the past"


def invalid_fields(title: str, problems: list[PlanProblem]) -> ValidationError:
    """A validation error naming each problem's field, for a model validator to raise."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError("plan_problem", "{problem}", {"problem": problem.text}),
                loc=problem.location,
                input=None,
            )
            for problem in problems
        ],
    )


def route_problems(plan: OperationPlan) -> list[str]:
    """Everything wrong with the route, each phrased so the planner knows what to change."""
    return [fault.text for fault in route_faults(plan)]


def route_faults(plan: OperationPlan) -> list[PlanProblem]:
    """Everything wrong with the route, each at the field to change."""
    problems: list[PlanProblem] = []

    def add(location: tuple[str | int, ...], text: str) -> None:
        problems.append(PlanProblem(location, text, text))

    agencies = [p.agency for p in plan.participants]
    for index, agency in enumerate(agencies):
        if agency in agencies[:index]:
            add(
                ("participants", index, "agency"),
                f"agencies listed twice among participants: {agency}",
            )
    by_agency = {p.agency: p for p in plan.participants}
    if plan.lead_agency not in by_agency:
        add(("lead_agency",), f"lead agency {plan.lead_agency} is not a participant")
    if plan.coordinator_agency in by_agency:
        add(
            ("coordinator_agency",),
            "the coordinator agency steers the operation and is not a participant",
        )
    for index, leg in enumerate(plan.legs):
        number = index + 1
        if leg.from_country == leg.to_country:
            add(
                ("legs", index, "to_country"),
                f"leg {number} starts and ends in {leg.from_country}: a leg crosses a border",
            )
        if leg.planned_arrival < leg.planned_departure:
            add(("legs", index, "planned_arrival"), f"leg {number} arrives before it departs")
        for side, agency, country in (
            ("sending", leg.sending_agency, leg.from_country),
            ("receiving", leg.receiving_agency, leg.to_country),
        ):
            participant = by_agency.get(agency)
            where = ("legs", index, f"{side}_agency")
            if participant is None:
                add(where, f"leg {number}: {side} agency {agency} is not a participant")
            elif participant.country != country:
                add(
                    where,
                    f"leg {number}: {side} agency {agency} belongs to {participant.country}, "
                    f"not {country}",
                )
    for index, (leg, following) in enumerate(zip(plan.legs, plan.legs[1:], strict=False)):
        number, after = index + 1, index + 2
        if leg.to_country != following.from_country:
            add(
                ("legs", after - 1, "from_country"),
                f"legs {number} and {after} do not chain: leg {number} ends in "
                f"{leg.to_country} but leg {after} starts in {following.from_country}",
            )
        elif leg.receiving_agency != following.sending_agency:
            add(
                ("legs", after - 1, "sending_agency"),
                f"legs {number} and {after} do not chain: {leg.receiving_agency} receives "
                f"leg {number} but {following.sending_agency} sends leg {after}",
            )
        if following.planned_departure < leg.planned_arrival:
            add(
                ("legs", after - 1, "planned_departure"),
                f"leg {after} departs before leg {number} arrives",
            )
    return problems


def schedule_faults(plan: OperationPlan, *, now: datetime) -> list[PlanProblem]:
    """Times of the plan that already lie in the past when the operation is created."""
    return [
        PlanProblem(
            location=("legs", index, "planned_departure"),
            message=f"departure {leg.planned_departure.isoformat()} is in the past",
            text=f"leg {index + 1} departure {leg.planned_departure.isoformat()} is in the past",
        )
        for index, leg in enumerate(plan.legs)
        if leg.planned_departure < now
    ]


def schedule_problems(plan: OperationPlan, *, now: datetime) -> list[str]:
    """Times of the plan that already lie in the past when the operation is created."""
    return [problem.text for problem in schedule_faults(plan, now=now)]


class AuthorisationGranted(Frozen):
    decision: Literal["granted"] = "granted"
    country: CountryCode
    authority: ShortText = Field(examples=["Prosecutor General's Office"])
    reference: ShortText
    legal_basis: ShortText = Field(examples=["Criminal Procedure Code art. 232"])
    granted_at: UtcDatetime
    valid_until: UtcDatetime
    conditions: Text | None = Field(default=None, description="Limits placed on the operation")
    substitution_allowed: bool = False

    @model_validator(mode="after")
    def _valid_after_granted(self) -> AuthorisationGranted:
        if self.valid_until <= self.granted_at:
            message = "valid_until must come after granted_at"
            raise invalid_fields(
                "AuthorisationGranted", [PlanProblem(("valid_until",), message, message)]
            )
        return self


class AuthorisationRefused(Frozen):
    decision: Literal["refused"] = "refused"
    country: CountryCode
    authority: ShortText
    reference: ShortText | None = None
    reasons: Text


Authorisation = Annotated[
    AuthorisationGranted | AuthorisationRefused, Field(discriminator="decision")
]
