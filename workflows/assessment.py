"""The outcome assessment: every figure of a debrief, computed from the operation's state.

`assess` is pure (no Temporal, no clock, no I/O): the same state and time give the same
assessment, so a test can hold each figure against a hand-computed one. Nothing here is typed in
by a person except the recommendations, which are carried over as the coordinator entered them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict

from workflows.commands import (
    CheckpointStatus,
    InterdictionKind,
    ReportedArrest,
    ReportedSeizure,
    fields_of,
)
from workflows.events import EscalationStep, EventKind, HandoverOutcome
from workflows.facts import kept_facts
from workflows.plan import DeliveryType, QuantityUnit, TransportMode
from workflows.state import (
    HandoverRecord,
    OperationFacts,
    OperationOutcome,
    OperationState,
    Phase,
)

# Launching, or handing a leg over, earlier or later than planned by more than this is a
# deviation from the plan (a time deviation). Within it, agencies' clocks and a border queue
# explain the difference; beyond it, the plan and what happened disagree.
TIME_TOLERANCE: Final = timedelta(minutes=15)
# An intact consignment whose seized quantity differs from the plan by more than this share.
QUANTITY_TOLERANCE: Final = 0.10

ParamValue = str | int | float
Params = dict[str, ParamValue]

# Every sentence the system writes about an operation, in English; the report translates them
# through its catalogues, so the same template is the message id there.
TEXTS: Final[dict[str, str]] = {
    "handover_late": (
        "Handover %(from_country)s->%(to_country)s (leg %(leg)s) acknowledged %(minutes)s min "
        "after its deadline"
    ),
    "handover_refused": (
        "Handover %(from_country)s->%(to_country)s (leg %(leg)s) refused by %(agency)s"
    ),
    "handover_withdrawn": (
        "Handover %(from_country)s->%(to_country)s (leg %(leg)s) withdrawn before acknowledgement"
    ),
    "handover_escalated": (
        "Handover %(from_country)s->%(to_country)s (leg %(leg)s) went through %(steps)s "
        "escalation steps"
    ),
    "surveillance_gap": "Surveillance lost for %(minutes)s min near %(place)s",
    "surveillance_not_regained": "Surveillance lost near %(place)s and not regained",
    "checkpoint_silence": "Checkpoint reports were overdue %(count)s times",
    "interdiction_early": "Early interdiction at %(place)s (%(country)s)",
    "interdiction_emergency": "Emergency interdiction at %(place)s (%(country)s)",
    "approval_overdue": "No retroactive approval of the emergency interdiction within 72 hours",
    "compromised": "The operation was compromised",
    "consignment_lost": "The consignment was lost",
    "aborted": "The operation was aborted",
    "debrief_missing": "No debrief input from %(agency)s",
    "debrief_late": "Debrief input from %(agency)s came %(hours)s h after the deadline",
    "under_control": "The consignment stayed under control throughout",
    "late_launch": "Launched %(minutes)s min after the planned departure",
    "early_launch": "Launched %(minutes)s min before the planned departure",
    "leg_late": (
        "Leg %(leg)s (%(from_country)s->%(to_country)s) handed over %(minutes)s min later "
        "than planned"
    ),
    "leg_early": (
        "Leg %(leg)s (%(from_country)s->%(to_country)s) handed over %(minutes)s min earlier "
        "than planned"
    ),
    "checkpoint_deviated": "Checkpoint %(place)s (%(country)s) reported a deviation from the route",
    "off_route_country": "Checkpoint in %(country)s, which is not on the planned route",
    "interdicted_before_destination": (
        "Interdicted in %(country)s instead of the destination %(destination)s"
    ),
    "unplanned_substance": "Seized %(substance)s, which the plan did not list",
    "quantity_differs": (
        "Seized %(seized)s %(unit)s of %(substance)s against %(planned)s %(unit)s planned"
    ),
}


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class DeviationKind(StrEnum):
    ROUTE = "route"
    TIME = "time"
    SUBSTITUTION = "substitution"


class Figure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Finding(Figure):
    """Something the system derives from the record, said as a sentence with its figures."""

    code: str
    severity: Severity
    params: Params
    text: str


class Deviation(Figure):
    kind: DeviationKind
    code: str
    params: Params
    text: str


class PhaseSpan(Figure):
    phase: Phase
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float
    suspended_seconds: float = 0.0


class LegRow(Figure):
    number: int
    from_country: str
    to_country: str
    crossing_point: str
    sending_agency: str
    receiving_agency: str
    mode: TransportMode | None = None  # absent from assessments written before legs had modes
    planned_departure: datetime
    planned_arrival: datetime
    planned_seconds: float
    started_at: datetime | None
    handed_over_at: datetime | None
    duration_seconds: float | None
    arrival_delay_seconds: float | None


class HandoverRow(Figure):
    leg: int
    from_country: str
    to_country: str
    sending_agency: str
    receiving_agency: str
    offered_at: datetime
    deadline: datetime
    decided_at: datetime
    outcome: HandoverOutcome
    allowed_seconds: float
    latency_seconds: float
    late_seconds: float
    within_deadline: bool
    escalation_steps: int


class EscalationRow(Figure):
    leg: int
    step: int
    escalation: EscalationStep
    at: datetime
    overdue_seconds: float
    ended_by: str
    ended_at: datetime | None


class GapRow(Figure):
    lost_at: datetime
    regained_at: datetime | None
    duration_seconds: float
    last_known_place: str


class SurveillanceFigures(Figure):
    """Execution, split into the time under surveillance and the gaps, which add up to it."""

    execution_seconds: float = 0.0  # absent from assessments written before it was reported
    under_surveillance_seconds: float
    gap_seconds: float
    coverage_percent: float  # under_surveillance_seconds / execution_seconds, in %
    checkpoints: int
    silence_alerts: int
    gaps: list[GapRow]


class SeizureRow(ReportedSeizure):
    """A seizure the assessment counts, by the agency that made it."""

    agency: str
    source: str  # interdiction | debrief


class SeizureTotal(Figure):
    substance: str
    unit: QuantityUnit
    quantity: float
    seizures: int


class CountrySeizureTotal(Figure):
    country: str
    substance: str
    unit: QuantityUnit
    quantity: float


class ArrestRow(ReportedArrest):
    """An arrest the assessment counts, by the agency that made it."""

    agency: str
    source: str  # interdiction | debrief


class PersonsBy(Figure):
    key: str
    persons: int


class AssetRow(Figure):
    agency: str
    kind: str
    description: str
    value: float
    currency: str
    country: str


class AssetTotal(Figure):
    currency: str
    value: float
    assets: int


class DebriefInputRow(Figure):
    agency: str
    submitted_at: datetime
    late: bool
    problems: list[str]
    lessons: list[str]
    proposals: list[str]


class RecommendationRow(Figure):
    number: int
    text: str
    owner: str
    due: datetime
    added_at: datetime


class InterdictionFigures(Figure):
    kind: str
    ordered_at: datetime
    place: str
    country: str


class OutcomeAssessment(Figure):
    operation_id: str
    code_name: str
    version: int
    computed_at: datetime
    at_seq: int
    reason: str
    handling_code: str
    handling_label: str
    coordinator_agency: str
    lead_agency: str
    participants: list[str]
    route: list[str]
    delivery_type: str
    transport_mode: str
    phase: Phase
    outcome: OperationOutcome | None
    created_at: datetime
    launched_at: datetime | None
    ended_at: datetime | None
    total_seconds: float
    interdiction: InterdictionFigures | None
    phases: list[PhaseSpan]
    legs: list[LegRow]
    handovers: list[HandoverRow]
    escalations: list[EscalationRow]
    surveillance: SurveillanceFigures
    under_control: bool
    deviations: list[Deviation]
    seizures: list[SeizureRow]
    seizure_totals: list[SeizureTotal]
    seizures_by_country: list[CountrySeizureTotal]
    arrests: list[ArrestRow]
    persons_arrested: int
    arrests_by_role: list[PersonsBy]
    arrests_by_nationality: list[PersonsBy]
    assets: list[AssetRow]
    asset_totals: list[AssetTotal]
    debrief_deadline: datetime | None
    debrief_inputs: list[DebriefInputRow]
    missing_inputs: list[str]
    findings: list[Finding]
    recommendations: list[RecommendationRow]


def _minutes(seconds: float) -> int:
    return round(seconds / 60)


def _finding(code: str, severity: Severity, **params: ParamValue) -> Finding:
    return Finding(code=code, severity=severity, params=params, text=TEXTS[code] % params)


def _deviation(code: str, kind: DeviationKind, **params: ParamValue) -> Deviation:
    return Deviation(kind=kind, code=code, params=params, text=TEXTS[code] % params)


def _phases(state: OperationState, facts: OperationFacts, now: datetime) -> list[PhaseSpan]:
    """Planning, execution, interdiction and debrief, each from its start to the next one's."""
    starts: list[tuple[Phase, datetime]] = [(Phase.PLANNING, state.created_at)]
    if state.launched_at is not None:
        starts.append((Phase.EXECUTION, state.launched_at))
    if state.interdiction is not None:
        starts.append((Phase.INTERDICTION, state.interdiction.ordered_at))
    if state.debrief is not None:
        starts.append((Phase.DEBRIEF, state.debrief.opened_at))
    suspended = facts.suspended_seconds
    if state.suspended_at is not None:
        suspended += ((state.ended_at or now) - state.suspended_at).total_seconds()
    spans: list[PhaseSpan] = []
    for index, (phase, started) in enumerate(starts):
        ended = starts[index + 1][1] if index + 1 < len(starts) else state.ended_at
        spans.append(
            PhaseSpan(
                phase=phase,
                started_at=started,
                ended_at=ended,
                duration_seconds=((ended or now) - started).total_seconds(),
                suspended_seconds=suspended if phase is Phase.EXECUTION else 0.0,
            )
        )
    return spans


def _legs(state: OperationState) -> list[LegRow]:
    acknowledged = {
        h.leg: h.decided_at for h in state.handovers if h.outcome is HandoverOutcome.ACKNOWLEDGED
    }
    rows: list[LegRow] = []
    started: datetime | None = state.launched_at
    for number, leg in enumerate(state.plan.legs, start=1):
        handed = acknowledged.get(number)
        rows.append(
            LegRow(
                number=number,
                from_country=leg.from_country,
                to_country=leg.to_country,
                crossing_point=leg.crossing_point,
                sending_agency=leg.sending_agency,
                receiving_agency=leg.receiving_agency,
                mode=state.plan.mode_of(leg),
                planned_departure=leg.planned_departure,
                planned_arrival=leg.planned_arrival,
                planned_seconds=(leg.planned_arrival - leg.planned_departure).total_seconds(),
                started_at=started,
                handed_over_at=handed,
                duration_seconds=(handed - started).total_seconds() if handed and started else None,
                arrival_delay_seconds=(handed - leg.planned_arrival).total_seconds()
                if handed
                else None,
            )
        )
        started = handed
    return rows


def _handovers(state: OperationState) -> list[HandoverRow]:
    rows: list[HandoverRow] = []
    for record in state.handovers:
        leg = state.plan.legs[record.leg - 1]
        late = max((record.decided_at - record.deadline).total_seconds(), 0.0)
        rows.append(
            HandoverRow(
                leg=record.leg,
                from_country=leg.from_country,
                to_country=leg.to_country,
                sending_agency=leg.sending_agency,
                receiving_agency=leg.receiving_agency,
                offered_at=record.offered_at,
                deadline=record.deadline,
                decided_at=record.decided_at,
                outcome=record.outcome,
                allowed_seconds=(record.deadline - record.offered_at).total_seconds(),
                latency_seconds=(record.decided_at - record.offered_at).total_seconds(),
                late_seconds=late,
                within_deadline=late == 0.0,
                escalation_steps=record.escalation_steps,
            )
        )
    return rows


def _ending_record(
    records: Iterable[HandoverRecord], leg: int, at: datetime
) -> HandoverRecord | None:
    return next((r for r in records if r.leg == leg and r.offered_at <= at <= r.decided_at), None)


def _escalations(state: OperationState, facts: OperationFacts) -> list[EscalationRow]:
    rows: list[EscalationRow] = []
    for step in facts.escalations:
        record = _ending_record(state.handovers, step.leg, step.at)
        if step.escalation is EscalationStep.CONTINGENCY:
            ended_by, ended_at = "contingency", step.at
        elif record is None:
            ended_by, ended_at = "pending", None
        else:
            ended_by, ended_at = record.outcome, record.decided_at
        rows.append(
            EscalationRow(
                leg=step.leg,
                step=step.step,
                escalation=step.escalation,
                at=step.at,
                overdue_seconds=step.overdue_seconds,
                ended_by=ended_by,
                ended_at=ended_at,
            )
        )
    return rows


def _surveillance(
    state: OperationState, facts: OperationFacts, phases: list[PhaseSpan], now: datetime
) -> SurveillanceFigures:
    execution = next((span for span in phases if span.phase is Phase.EXECUTION), None)
    executed = execution.duration_seconds if execution else 0.0
    gaps = [*state.surveillance_gaps]
    if state.surveillance_lost is not None:
        gaps.append(state.surveillance_lost)
    rows = [
        GapRow(
            lost_at=gap.lost_at,
            regained_at=gap.regained_at,
            duration_seconds=(
                (gap.regained_at or state.ended_at or now) - gap.lost_at
            ).total_seconds(),
            last_known_place=gap.last_known_place,
        )
        for gap in gaps
    ]
    # A gap cut short by the interdiction ends there, not at the close of the whole operation.
    if execution is not None and execution.ended_at is not None:
        rows = [
            row.model_copy(
                update={
                    "duration_seconds": min(
                        row.duration_seconds, (execution.ended_at - row.lost_at).total_seconds()
                    )
                }
            )
            if row.regained_at is None
            else row
            for row in rows
        ]
    gap_seconds = sum(row.duration_seconds for row in rows)
    under = max(executed - gap_seconds, 0.0)
    return SurveillanceFigures(
        execution_seconds=executed,
        under_surveillance_seconds=under,
        gap_seconds=gap_seconds,
        coverage_percent=coverage_percent(under, executed),
        checkpoints=state.checkpoint_count,
        silence_alerts=facts.silence_alerts,
        gaps=rows,
    )


def coverage_percent(under_surveillance_seconds: float, execution_seconds: float) -> float:
    """The share of the execution spent under surveillance, in % to two decimals."""
    if execution_seconds <= 0:
        return 0.0
    return round(100.0 * under_surveillance_seconds / execution_seconds, 2)


def _confirmed_by(state: OperationState) -> dict[str, tuple[bool, bool]]:
    """Per agency: whether its debrief input lists seizures, and whether it lists arrests."""
    inputs = state.debrief.inputs if state.debrief else {}
    return {
        agency: (bool(record.content.seizures), bool(record.content.arrests))
        for agency, record in inputs.items()
    }


def _seizures(state: OperationState) -> list[SeizureRow]:
    """Those recorded at the interdiction, unless the agency's debrief input confirms its own."""
    confirmed = _confirmed_by(state)
    inputs = state.debrief.inputs if state.debrief else {}
    counted: list[tuple[str, ReportedSeizure, str]] = [
        (s.agency, s, "interdiction")
        for s in state.seizures
        if not confirmed.get(s.agency, (False, False))[0]
    ]
    counted += [(a, s, "debrief") for a, record in inputs.items() for s in record.content.seizures]
    return [
        SeizureRow(**fields_of(s, ReportedSeizure), agency=agency, source=source)
        for agency, s, source in counted
    ]


def _arrests(state: OperationState) -> list[ArrestRow]:
    """As `_seizures`: the confirmed arrests replace those recorded by the same agency."""
    confirmed = _confirmed_by(state)
    inputs = state.debrief.inputs if state.debrief else {}
    counted: list[tuple[str, ReportedArrest, str]] = [
        (a.agency, a, "interdiction")
        for a in state.arrests
        if not confirmed.get(a.agency, (False, False))[1]
    ]
    counted += [(g, a, "debrief") for g, record in inputs.items() for a in record.content.arrests]
    return [
        ArrestRow(**fields_of(a, ReportedArrest), agency=agency, source=source)
        for agency, a, source in counted
    ]


def _persons_by(rows: list[ArrestRow], key: str) -> list[PersonsBy]:
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[str(getattr(row, key))] += row.count
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [PersonsBy(key=k, persons=n) for k, n in ranked]


def _seizure_totals(rows: list[SeizureRow]) -> tuple[list[SeizureTotal], list[CountrySeizureTotal]]:
    by_substance: dict[tuple[str, QuantityUnit], list[float]] = defaultdict(list)
    by_country: dict[tuple[str, str, QuantityUnit], float] = defaultdict(float)
    for row in rows:
        substance = row.substance.lower()
        by_substance[(substance, row.unit)].append(row.quantity)
        by_country[(row.country, substance, row.unit)] += row.quantity
    totals = [
        SeizureTotal(substance=s, unit=u, quantity=round(sum(q), 3), seizures=len(q))
        for (s, u), q in sorted(by_substance.items())
    ]
    countries = [
        CountrySeizureTotal(country=c, substance=s, unit=u, quantity=round(q, 3))
        for (c, s, u), q in sorted(by_country.items())
    ]
    return totals, countries


def _assets(state: OperationState) -> tuple[list[AssetRow], list[AssetTotal]]:
    rows = [
        AssetRow(
            agency=agency,
            kind=asset.kind.value,
            description=asset.description,
            value=asset.value,
            currency=asset.currency,
            country=asset.country,
        )
        for agency, record in (state.debrief.inputs if state.debrief else {}).items()
        for asset in record.content.assets
    ]
    by_currency: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        by_currency[row.currency].append(row.value)
    totals = [
        AssetTotal(currency=c, value=round(sum(v), 2), assets=len(v))
        for c, v in sorted(by_currency.items())
    ]
    return rows, totals


def beyond_tolerance(seconds: float | None) -> bool:
    """Whether a difference from the plan's time is a deviation (see TIME_TOLERANCE)."""
    return seconds is not None and abs(seconds) > TIME_TOLERANCE.total_seconds()


def _deviations(
    state: OperationState, facts: OperationFacts, legs: list[LegRow], totals: list[SeizureTotal]
) -> list[Deviation]:
    plan = state.plan
    found: list[Deviation] = []
    if state.launched_at is not None:
        late = (state.launched_at - plan.legs[0].planned_departure).total_seconds()
        if beyond_tolerance(late):
            code = "late_launch" if late > 0 else "early_launch"
            found.append(_deviation(code, DeviationKind.TIME, minutes=_minutes(abs(late))))
    for leg in legs:
        delay = leg.arrival_delay_seconds
        if delay is not None and beyond_tolerance(delay):
            found.append(
                _deviation(
                    "leg_late" if delay > 0 else "leg_early",
                    DeviationKind.TIME,
                    leg=leg.number,
                    from_country=leg.from_country,
                    to_country=leg.to_country,
                    minutes=_minutes(abs(delay)),
                )
            )
    route = set(plan.route_countries)
    for checkpoint in facts.route_deviations:
        place, country = checkpoint.place, checkpoint.country
        if checkpoint.status is CheckpointStatus.DEVIATED:
            found.append(
                _deviation("checkpoint_deviated", DeviationKind.ROUTE, place=place, country=country)
            )
        if country not in route:
            found.append(_deviation("off_route_country", DeviationKind.ROUTE, country=country))
    destination = plan.legs[-1].to_country
    if state.interdiction is not None and state.interdiction.country != destination:
        found.append(
            _deviation(
                "interdicted_before_destination",
                DeviationKind.ROUTE,
                country=state.interdiction.country,
                destination=destination,
            )
        )
    planned = {(s.name.lower(), s.unit): s.quantity for s in plan.consignment.substances}
    planned_names = {name for name, _ in planned}
    for total in totals:
        if total.substance not in planned_names:
            found.append(
                _deviation(
                    "unplanned_substance", DeviationKind.SUBSTITUTION, substance=total.substance
                )
            )
            continue
        expected = planned.get((total.substance, total.unit))
        intact = plan.consignment.delivery_type is DeliveryType.INTACT
        if intact and expected and abs(total.quantity - expected) > QUANTITY_TOLERANCE * expected:
            found.append(
                _deviation(
                    "quantity_differs",
                    DeviationKind.SUBSTITUTION,
                    substance=total.substance,
                    seized=total.quantity,
                    planned=expected,
                    unit=total.unit.value,
                )
            )
    return found


def _findings(
    state: OperationState,
    handovers: list[HandoverRow],
    surveillance: SurveillanceFigures,
    missing: list[str],
) -> tuple[list[Finding], bool]:
    findings: list[Finding] = []
    for row in handovers:
        where: Params = {"from_country": row.from_country, "to_country": row.to_country}
        where["leg"] = row.leg
        if row.outcome is HandoverOutcome.ACKNOWLEDGED and row.late_seconds > 0:
            findings.append(
                _finding(
                    "handover_late", Severity.WARNING, **where, minutes=_minutes(row.late_seconds)
                )
            )
        elif row.outcome is HandoverOutcome.REFUSED:
            findings.append(
                _finding("handover_refused", Severity.WARNING, **where, agency=row.receiving_agency)
            )
        elif row.outcome is HandoverOutcome.WITHDRAWN:
            findings.append(_finding("handover_withdrawn", Severity.INFO, **where))
        if row.escalation_steps:
            findings.append(
                _finding(
                    "handover_escalated", Severity.WARNING, **where, steps=row.escalation_steps
                )
            )
    for gap in surveillance.gaps:
        if gap.regained_at is None:
            findings.append(
                _finding("surveillance_not_regained", Severity.CRITICAL, place=gap.last_known_place)
            )
        else:
            findings.append(
                _finding(
                    "surveillance_gap",
                    Severity.WARNING,
                    minutes=_minutes(gap.duration_seconds),
                    place=gap.last_known_place,
                )
            )
    if surveillance.silence_alerts:
        findings.append(
            _finding("checkpoint_silence", Severity.WARNING, count=surveillance.silence_alerts)
        )
    interdiction = state.interdiction
    if interdiction is not None and interdiction.kind is not InterdictionKind.PLANNED:
        findings.append(
            _finding(
                f"interdiction_{interdiction.kind.value}",
                Severity.WARNING,
                place=interdiction.place,
                country=interdiction.country,
            )
        )
    if interdiction is not None and interdiction.approval_overdue:
        findings.append(_finding("approval_overdue", Severity.CRITICAL))
    if state.compromised_at is not None:
        findings.append(_finding("compromised", Severity.CRITICAL))
    if state.phase is Phase.FAILED:
        findings.append(_finding("consignment_lost", Severity.CRITICAL))
    if state.phase is Phase.ABORTED:
        findings.append(_finding("aborted", Severity.WARNING))
    debrief = state.debrief
    if debrief is not None:
        for agency, record in debrief.inputs.items():
            if record.late:
                hours = round((record.submitted_at - debrief.deadline).total_seconds() / 3600, 1)
                findings.append(_finding("debrief_late", Severity.INFO, agency=agency, hours=hours))
        if debrief.deadline_passed or state.phase is Phase.CLOSED:
            findings.extend(
                _finding("debrief_missing", Severity.WARNING, agency=agency) for agency in missing
            )
    under_control = (
        state.launched_at is not None
        and not surveillance.gaps
        and state.compromised_at is None
        and state.phase is not Phase.FAILED
    )
    if under_control:
        findings.append(_finding("under_control", Severity.INFO))
    return findings, under_control


# Events that note an assessment itself: never the change a new version is computed after.
ASSESSMENT_EVENTS: Final = (
    EventKind.DEBRIEF_ASSESSED,
    EventKind.DEBRIEF_ASSESSMENT_FAILED,
    EventKind.DEBRIEF_ASSESSMENT_RETRIED,
)


def assessment_reason(state: OperationState) -> str:
    """What the next version is computed after: the latest change, not the last version's note.

    A close that lands while a version is being written is followed by that version's
    `debrief.assessed`; the final version is still the one "after debrief.closed".
    """
    change = next(e for e in reversed(state.timeline) if e.kind not in ASSESSMENT_EVENTS)
    return f"after {change.kind}"


def assess(
    state: OperationState, *, version: int, at_seq: int, reason: str, now: datetime
) -> OutcomeAssessment:
    """The outcome assessment of the operation as the state records it at `now`."""
    plan = state.plan
    facts = kept_facts(state)
    phases = _phases(state, facts, now)
    legs = _legs(state)
    handovers = _handovers(state)
    surveillance = _surveillance(state, facts, phases, now)
    seizures = _seizures(state)
    seizure_totals, by_country = _seizure_totals(seizures)
    arrests = _arrests(state)
    assets, asset_totals = _assets(state)
    debrief = state.debrief
    received = debrief.inputs if debrief else {}
    missing = [p.agency for p in plan.participants if p.agency not in received] if debrief else []
    findings, under_control = _findings(state, handovers, surveillance, missing)
    interdiction = state.interdiction
    return OutcomeAssessment(
        operation_id=state.operation_id,
        code_name=plan.code_name,
        version=version,
        computed_at=now,
        at_seq=at_seq,
        reason=reason,
        handling_code=plan.handling.code.value,
        handling_label=plan.handling.label,
        coordinator_agency=plan.coordinator_agency,
        lead_agency=plan.lead_agency,
        participants=[p.agency for p in plan.participants],
        route=plan.route_countries,
        delivery_type=plan.consignment.delivery_type.value,
        transport_mode=plan.consignment.mode.value,
        phase=state.phase,
        outcome=state.outcome,
        created_at=state.created_at,
        launched_at=state.launched_at,
        ended_at=state.ended_at,
        total_seconds=((state.ended_at or now) - state.created_at).total_seconds(),
        interdiction=InterdictionFigures(
            kind=interdiction.kind.value,
            ordered_at=interdiction.ordered_at,
            place=interdiction.place,
            country=interdiction.country,
        )
        if interdiction
        else None,
        phases=phases,
        legs=legs,
        handovers=handovers,
        escalations=_escalations(state, facts),
        surveillance=surveillance,
        under_control=under_control,
        deviations=_deviations(state, facts, legs, seizure_totals),
        seizures=seizures,
        seizure_totals=seizure_totals,
        seizures_by_country=by_country,
        arrests=arrests,
        persons_arrested=sum(row.count for row in arrests),
        arrests_by_role=_persons_by(arrests, "role"),
        arrests_by_nationality=_persons_by(arrests, "nationality"),
        assets=assets,
        asset_totals=asset_totals,
        debrief_deadline=debrief.deadline if debrief else None,
        debrief_inputs=[
            DebriefInputRow(
                agency=agency,
                submitted_at=record.submitted_at,
                late=record.late,
                problems=list(record.content.problems),
                lessons=list(record.content.lessons),
                proposals=list(record.content.proposals),
            )
            for agency, record in received.items()
        ],
        missing_inputs=missing,
        findings=findings,
        recommendations=[
            RecommendationRow(
                number=r.number, text=r.text, owner=r.owner, due=r.due, added_at=r.added_at
            )
            for r in (debrief.recommendations if debrief else [])
        ],
    )
