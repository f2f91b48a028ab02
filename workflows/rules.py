"""The lifecycle of an operation as a transition table and pure functions: no Temporal, no I/O.

`decide` takes the current state, a command and the time, and either accepts it (a new state and
exactly one timeline event) or refuses it with a reason a person can act on, leaving the state as it
was. `pending_deadlines` says which timers the state asks for; when one fires, its command goes
through `decide` like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from workflows.commands import (
    SYSTEM,
    AbortOperationInput,
    AcknowledgeHandoverInput,
    Actor,
    ActorRole,
    AddRecommendationInput,
    AnyCommand,
    ApproveEmergencyInterdictionInput,
    CheckpointSilenceReached,
    CloseDebriefInput,
    Command,
    ConcludeInterdictionInput,
    ConfirmParticipationInput,
    DebriefDeadlineReached,
    DebriefReminderDue,
    DeclareConsignmentLostInput,
    EmergencyApprovalOverdue,
    ExtendDebriefDeadlineInput,
    HandoverDeadlineReached,
    InterdictionKind,
    LaunchOperationInput,
    OfferHandoverInput,
    OrderInterdictionInput,
    RecordArrestInput,
    RecordAssessmentInput,
    RecordAuthorisationInput,
    RecordSeizureInput,
    RefuseHandoverInput,
    RemoveParticipantInput,
    ReportCheckpointInput,
    ReportCompromiseInput,
    ReportSurveillanceLostInput,
    ReportSurveillanceRegainedInput,
    ResumeOperationInput,
    SubmitDebriefInput,
    SurveillanceWindowExpired,
    SuspendOperationInput,
    TimerCommand,
)
from workflows.plan import (
    AuthorisationGranted,
    AuthorisationRefused,
    ContingencyAction,
    DeliveryType,
    Leg,
    OperationPlan,
)
from workflows.state import (
    ActionResult,
    AppliedRequest,
    Arrest,
    AssessmentRecord,
    Checkpoint,
    Debrief,
    DebriefInputRecord,
    HandoverOffer,
    HandoverRecord,
    Interdiction,
    OperationState,
    Phase,
    Recommendation,
    Seizure,
    SurveillanceGap,
    TimelineEvent,
)

EMERGENCY_APPROVAL_WINDOW: Final = timedelta(hours=72)
# Agencies' clocks differ: a checkpoint observed a little "in the future" is skew, not a lie.
CLOCK_SKEW: Final = timedelta(minutes=5)

PHASE_MOVES: Final[Mapping[Phase, frozenset[Phase]]] = {
    Phase.PLANNING: frozenset({Phase.EXECUTION, Phase.ABORTED}),
    Phase.EXECUTION: frozenset({Phase.SUSPENDED, Phase.INTERDICTION, Phase.ABORTED, Phase.FAILED}),
    Phase.SUSPENDED: frozenset({Phase.EXECUTION, Phase.INTERDICTION, Phase.ABORTED, Phase.FAILED}),
    Phase.INTERDICTION: frozenset({Phase.DEBRIEF, Phase.FAILED}),
    Phase.DEBRIEF: frozenset({Phase.CLOSED}),
    Phase.CLOSED: frozenset(),
    Phase.ABORTED: frozenset(),
    Phase.FAILED: frozenset(),
}


class RefusalError(Exception):
    """A command that the lifecycle does not allow now; the message says why."""


@dataclass(frozen=True)
class Accepted:
    state: OperationState
    event: TimelineEvent

    def answer(self, request_id: str) -> ActionResult:
        return ActionResult(
            request_id=request_id,
            event=self.event,
            phase=self.state.phase,
            custodian=self.state.custodian,
        )


@dataclass(frozen=True)
class Refused:
    reason: str


Decision = Accepted | Refused


@dataclass(frozen=True)
class Happened:
    """What an effect did, to be written on the timeline."""

    kind: str
    summary: str
    detail: dict[str, Any]


Effect = Callable[[OperationState, Any, datetime], Happened]
ActorCheck = Callable[[OperationState, Actor], None]


@dataclass(frozen=True)
class Rule:
    phases: frozenset[Phase]
    actor: ActorCheck
    effect: Effect


# --- who may act -------------------------------------------------------------------------------


def _coordinator(state: OperationState, actor: Actor) -> None:
    if actor.role is not ActorRole.COORDINATOR or actor.agency != state.plan.coordinator_agency:
        raise RefusalError(f"only the coordinator ({state.plan.coordinator_agency}) may do this")


def _participant(state: OperationState, actor: Actor) -> None:
    if actor.role is not ActorRole.OFFICER or state.plan.participant(actor.agency) is None:
        raise RefusalError(f"{actor.agency} is not a participating agency of this operation")


def _custodian(state: OperationState, actor: Actor) -> None:
    _participant(state, actor)
    if actor.agency != state.custodian:
        raise RefusalError(
            f"only the custodian ({state.custodian}) may do this; "
            f"{actor.agency} does not hold custody"
        )


def _participant_or_coordinator(state: OperationState, actor: Actor) -> None:
    if actor.role is ActorRole.COORDINATOR:
        _coordinator(state, actor)
    else:
        _participant(state, actor)


def _system(state: OperationState, actor: Actor) -> None:
    if actor != SYSTEM:
        raise RefusalError("only the operation's own timers may report this")


def _anyone(state: OperationState, actor: Actor) -> None:
    """The effect itself checks the actor, because who may act depends on the command."""


# --- questions about a state -------------------------------------------------------------------


def leg_at(plan: OperationPlan, number: int) -> Leg:
    if not 1 <= number <= len(plan.legs):
        raise RefusalError(f"the route has {len(plan.legs)} legs; there is no leg {number}")
    return plan.legs[number - 1]


def launch_blockers(state: OperationState, *, now: datetime) -> list[str]:
    """What still keeps the operation from launching: the legal gate and the confirmations."""
    plan = state.plan
    substituted = plan.consignment.delivery_type is not DeliveryType.INTACT
    blockers: list[str] = []
    for country in dict.fromkeys(plan.route_countries):
        authorisation = state.authorisations.get(country)
        if authorisation is None:
            blockers.append(f"no authorisation recorded for {country}")
        elif isinstance(authorisation, AuthorisationRefused):
            blockers.append(f"{country} refused authorisation: {authorisation.reasons}")
        elif authorisation.granted_at > now:
            blockers.append(
                f"{country} authorisation takes effect only at "
                f"{authorisation.granted_at.isoformat()}"
            )
        elif authorisation.valid_until <= now:
            blockers.append(
                f"{country} authorisation expired at {authorisation.valid_until.isoformat()}"
            )
        elif substituted and not authorisation.substitution_allowed:
            blockers.append(
                f"{country} does not allow substitution, but the consignment is "
                f"{plan.consignment.delivery_type.value.replace('_', ' ')}"
            )
    unconfirmed = [p.agency for p in plan.participants if p.agency not in state.confirmations]
    if unconfirmed:
        blockers.append(f"awaiting confirmation of participation from {', '.join(unconfirmed)}")
    return blockers


def missing_debrief_inputs(state: OperationState) -> list[str]:
    received = state.debrief.inputs if state.debrief else {}
    return [p.agency for p in state.plan.participants if p.agency not in received]


def assessment_due(state: OperationState) -> bool:
    """Whether an outcome assessment (a first one, or a new version) should be written now.

    The first waits for the debrief deadline or the close; after that, every change the
    assessment depends on (late input, a recommendation, a confirmed seizure) asks for a new one.
    """
    debrief = state.debrief
    if debrief is None or state.phase not in (Phase.DEBRIEF, Phase.CLOSED):
        return False
    ready = debrief.deadline_passed or state.phase is Phase.CLOSED
    return ready and debrief.revision > debrief.assessed_revision


def _debrief_changed(state: OperationState) -> None:
    if state.debrief is not None:
        state.debrief.revision += 1


def _debrief_reminder_times(state: OperationState, debrief: Debrief) -> list[datetime]:
    before = sorted(state.plan.debrief_reminders_before, reverse=True)
    times = [debrief.deadline - offset for offset in before]
    return [t for t in times if t > debrief.opened_at]


def _under_surveillance(state: OperationState) -> bool:
    return state.phase in (Phase.EXECUTION, Phase.SUSPENDED)


def pending_deadlines(state: OperationState) -> list[tuple[datetime, TimerCommand]]:
    """Every timer the state asks for, earliest first, each with the command it fires."""
    deadlines: list[tuple[datetime, TimerCommand]] = []
    offer = state.handover_offer
    if offer is not None and _under_surveillance(state) and offer.escalation_step < 4:
        leg = leg_at(state.plan, offer.leg)
        step = offer.escalation_step + 1
        due = offer.deadline + state.plan.escalation_for(leg).steps()[step - 1]
        deadlines.append(
            (
                due,
                HandoverDeadlineReached(actor=SYSTEM, request_id="timer", leg=offer.leg, step=step),
            )
        )
    if state.phase is Phase.EXECUTION and state.surveillance_lost is None:
        clock = state.checkpoint_clock
        assert clock is not None, "an operation under execution always has a checkpoint clock"
        due = state.checkpoint_alert_due or clock + state.plan.checkpoint_interval
        deadlines.append(
            (due, CheckpointSilenceReached(actor=SYSTEM, request_id="timer", due_at=due))
        )
    if state.surveillance_lost is not None and _under_surveillance(state):
        due = state.surveillance_lost.lost_at + state.plan.contingency.surveillance_regain_window
        deadlines.append((due, SurveillanceWindowExpired(actor=SYSTEM, request_id="timer")))
    debrief = state.debrief
    if state.phase is Phase.DEBRIEF and debrief is not None and missing_debrief_inputs(state):
        reminders = _debrief_reminder_times(state, debrief)
        if debrief.reminders_sent < len(reminders):
            number = debrief.reminders_sent + 1
            deadlines.append(
                (
                    reminders[number - 1],
                    DebriefReminderDue(actor=SYSTEM, request_id="timer", number=number),
                )
            )
        if not debrief.deadline_passed:
            deadlines.append(
                (debrief.deadline, DebriefDeadlineReached(actor=SYSTEM, request_id="timer"))
            )
    interdiction = state.interdiction
    if (
        interdiction is not None
        and interdiction.approval_due is not None
        and interdiction.approved_at is None
        and not interdiction.approval_overdue
        and state.phase in (Phase.INTERDICTION, Phase.DEBRIEF)
    ):
        deadlines.append(
            (interdiction.approval_due, EmergencyApprovalOverdue(actor=SYSTEM, request_id="timer"))
        )
    deadlines.sort(key=lambda deadline: deadline[0])
    return deadlines


# --- effects -----------------------------------------------------------------------------------


def _require_participant_country(state: OperationState, actor: Actor, country: str) -> None:
    participant = state.plan.participant(actor.agency)
    assert participant is not None
    if participant.country != country:
        raise RefusalError(
            f"{actor.agency} is an agency of {participant.country} and records only "
            f"{participant.country}'s authorisation, not {country}'s"
        )


def _record_authorisation(
    state: OperationState, command: RecordAuthorisationInput, now: datetime
) -> Happened:
    authorisation = command.authorisation
    country = authorisation.country
    if country not in state.plan.route_countries:
        raise RefusalError(
            f"{country} is not on the route ({' -> '.join(state.plan.route_countries)})"
        )
    _require_participant_country(state, command.actor, country)
    state.authorisations[country] = authorisation
    detail: dict[str, Any] = {"country": country, "authority": authorisation.authority}
    if isinstance(authorisation, AuthorisationGranted):
        detail |= {
            "reference": authorisation.reference,
            "valid_until": authorisation.valid_until.isoformat(),
            "substitution_allowed": authorisation.substitution_allowed,
            "conditions": authorisation.conditions,
        }
        summary = (
            f"{country} authorisation granted by {authorisation.authority} "
            f"(ref. {authorisation.reference}), valid until {_utc_text(authorisation.valid_until)}"
        )
        return Happened("authorisation.granted", summary, detail)
    detail["reasons"] = authorisation.reasons
    summary = (
        f"{country} authorisation refused by {authorisation.authority}: {authorisation.reasons}"
    )
    return Happened("authorisation.refused", summary, detail)


def _confirm_participation(
    state: OperationState, command: ConfirmParticipationInput, now: datetime
) -> Happened:
    agency = command.actor.agency
    if agency in state.confirmations:
        confirmed = _utc_text(state.confirmations[agency])
        raise RefusalError(f"{agency} already confirmed its participation at {confirmed}")
    state.confirmations[agency] = now
    return Happened("participation.confirmed", f"{agency} confirmed participation", {})


def _launch(state: OperationState, command: LaunchOperationInput, now: datetime) -> Happened:
    blockers = launch_blockers(state, now=now)
    if blockers:
        raise RefusalError("the operation cannot be launched: " + "; ".join(blockers))
    first = state.plan.legs[0]
    state.phase = Phase.EXECUTION
    state.launched_at = now
    state.custodian = first.sending_agency
    state.custody_since = now
    state.checkpoint_clock = now
    return Happened(
        "operation.launched",
        f"Operation launched; {first.sending_agency} holds custody",
        {"custodian": first.sending_agency},
    )


def _pending_offer_for(state: OperationState, leg: int) -> HandoverOffer:
    offer = state.handover_offer
    if offer is None or offer.leg != leg:
        raise RefusalError(f"no handover of leg {leg} has been offered")
    return offer


def _offer_handover(state: OperationState, command: OfferHandoverInput, now: datetime) -> Happened:
    legs = state.plan.legs
    if state.handover_offer is not None:
        pending = leg_at(state.plan, state.handover_offer.leg)
        raise RefusalError(
            f"the handover of leg {state.handover_offer.leg} is already offered and awaits "
            f"acknowledgement by {pending.receiving_agency}"
        )
    if state.legs_completed >= len(legs):
        raise RefusalError(
            "the consignment has reached its destination; no leg is left to hand over"
        )
    expected = state.legs_completed + 1
    if command.leg != expected:
        raise RefusalError(f"the next handover is for leg {expected}, not leg {command.leg}")
    leg = leg_at(state.plan, command.leg)
    deadline = now + leg.acknowledgement_deadline
    state.handover_offer = HandoverOffer(
        leg=command.leg, offered_at=now, offered_by=command.actor, deadline=deadline
    )
    return Happened(
        "handover.offered",
        f"{leg.sending_agency} offered the handover of leg {command.leg} "
        f"({leg.from_country} -> {leg.to_country}) to {leg.receiving_agency}; "
        f"acknowledgement due {_utc_text(deadline)}",
        {
            "leg": command.leg,
            "receiving_agency": leg.receiving_agency,
            "deadline": deadline.isoformat(),
        },
    )


def _already_decided(state: OperationState, leg_number: int) -> str | None:
    """What became of the latest offer of this leg, if it was acknowledged or refused."""
    offer = state.handover_offer
    if offer is not None and offer.leg == leg_number:
        return None
    record = next((r for r in reversed(state.handovers) if r.leg == leg_number), None)
    if record is None or record.outcome not in ("acknowledged", "refused"):
        return None
    event = next(
        (
            e
            for e in reversed(state.timeline)
            if e.kind == f"handover.{record.outcome}"
            and e.detail.get("leg") == leg_number
            and e.at == record.decided_at
        ),
        None,
    )
    if event is None:
        by = leg_at(state.plan, leg_number).receiving_agency
    else:
        by = f"{event.actor.agency} ({event.actor.officer})"
    reason = (
        f"the handover of leg {leg_number} was already {record.outcome} by {by} "
        f"at {_utc_text(record.decided_at)}"
    )
    if record.outcome == "refused":
        reason += "; no new offer has been made since"
    return reason


def _receiving_side(state: OperationState, actor: Actor, leg_number: int) -> Leg:
    leg = leg_at(state.plan, leg_number)
    decided = _already_decided(state, leg_number)
    if decided is not None:
        raise RefusalError(decided)
    _pending_offer_for(state, leg_number)
    if actor.agency != leg.receiving_agency:
        raise RefusalError(
            f"the handover of leg {leg_number} is addressed to {leg.receiving_agency}, "
            f"not {actor.agency}"
        )
    return leg


def _close_offer(
    state: OperationState, *, outcome: str, now: datetime, reasons: str | None
) -> None:
    offer = state.handover_offer
    assert offer is not None
    state.handovers.append(
        HandoverRecord(
            leg=offer.leg,
            offered_at=offer.offered_at,
            deadline=offer.deadline,
            outcome=outcome,
            decided_at=now,
            escalation_steps=offer.escalation_step,
            reasons=reasons,
        )
    )
    state.handover_offer = None


def _acknowledge_handover(
    state: OperationState, command: AcknowledgeHandoverInput, now: datetime
) -> Happened:
    leg = _receiving_side(state, command.actor, command.leg)
    offer = _pending_offer_for(state, command.leg)
    _close_offer(state, outcome="acknowledged", now=now, reasons=None)
    state.custodian = leg.receiving_agency
    state.custody_since = now
    state.checkpoint_clock = now
    state.checkpoint_alert_due = None
    state.legs_completed += 1
    late = now - offer.deadline
    lateness = f", {_minutes(late)} min after its deadline" if late > timedelta(0) else ""
    return Happened(
        "handover.acknowledged",
        f"{leg.receiving_agency} acknowledged the handover of leg {command.leg} and holds "
        f"custody{lateness}",
        {
            "leg": command.leg,
            "custodian": leg.receiving_agency,
            "latency_seconds": (now - offer.offered_at).total_seconds(),
            "late_seconds": max(late.total_seconds(), 0.0),
            "escalation_steps": offer.escalation_step,
        },
    )


def _refuse_handover(
    state: OperationState, command: RefuseHandoverInput, now: datetime
) -> Happened:
    leg = _receiving_side(state, command.actor, command.leg)
    _close_offer(state, outcome="refused", now=now, reasons=command.reasons)
    return Happened(
        "handover.refused",
        f"{leg.receiving_agency} refused the handover of leg {command.leg}: {command.reasons}; "
        f"{state.custodian} keeps custody",
        {"leg": command.leg, "reasons": command.reasons},
    )


def _report_checkpoint(
    state: OperationState, command: ReportCheckpointInput, now: datetime
) -> Happened:
    if state.surveillance_lost is not None:
        raise RefusalError("surveillance is reported lost; report it regained before a checkpoint")
    if command.observed_at > now + CLOCK_SKEW:
        raise RefusalError(f"observed_at {_utc_text(command.observed_at)} lies in the future")
    state.checkpoint_count += 1
    state.last_checkpoint = Checkpoint(
        at=command.observed_at, place=command.place, country=command.country, status=command.status
    )
    state.checkpoint_clock = now
    state.checkpoint_alert_due = None
    return Happened(
        "checkpoint.reported",
        f"Checkpoint {command.place} ({command.country}): {command.status.value.replace('_', ' ')}",
        {
            "place": command.place,
            "country": command.country,
            "observed_at": command.observed_at.isoformat(),
            "status": command.status.value,
            "remarks": command.remarks,
        },
    )


def _report_surveillance_lost(
    state: OperationState, command: ReportSurveillanceLostInput, now: datetime
) -> Happened:
    if state.surveillance_lost is not None:
        raise RefusalError(
            f"surveillance is already lost since {_utc_text(state.surveillance_lost.lost_at)}"
        )
    state.surveillance_lost = SurveillanceGap(
        lost_at=now, last_known_place=command.last_known_place
    )
    window_end = now + state.plan.contingency.surveillance_regain_window
    action = state.plan.contingency.on_surveillance_window_expired.value
    return Happened(
        "surveillance.lost",
        f"Surveillance lost near {command.last_known_place}; to be regained by "
        f"{_utc_text(window_end)}, else the contingency rule applies ({action})",
        {
            "last_known_place": command.last_known_place,
            "circumstances": command.circumstances,
            "window_ends": window_end.isoformat(),
        },
    )


def _report_surveillance_regained(
    state: OperationState, command: ReportSurveillanceRegainedInput, now: datetime
) -> Happened:
    gap = state.surveillance_lost
    if gap is None:
        raise RefusalError("surveillance has not been reported lost")
    state.surveillance_gaps.append(gap.model_copy(update={"regained_at": now}))
    state.surveillance_lost = None
    state.checkpoint_clock = now
    state.checkpoint_alert_due = None
    return Happened(
        "surveillance.regained",
        f"Surveillance regained at {command.place} after {_minutes(now - gap.lost_at)} min",
        {"place": command.place, "gap_seconds": (now - gap.lost_at).total_seconds()},
    )


def _withdraw_offer(state: OperationState, now: datetime, why: str) -> None:
    if state.handover_offer is not None:
        _close_offer(state, outcome="withdrawn", now=now, reasons=why)


def _interdict(
    state: OperationState,
    *,
    kind: InterdictionKind,
    actor: Actor,
    place: str,
    country: str,
    reason: str | None,
    now: datetime,
) -> None:
    _withdraw_offer(state, now, f"{kind.value} interdiction ordered")
    if state.surveillance_lost is not None:
        state.surveillance_gaps.append(state.surveillance_lost)
        state.surveillance_lost = None
    state.phase = Phase.INTERDICTION
    state.interdiction = Interdiction(
        kind=kind,
        ordered_at=now,
        ordered_by=actor,
        place=place,
        country=country,
        reason=reason,
        approval_due=now + EMERGENCY_APPROVAL_WINDOW
        if kind is InterdictionKind.EMERGENCY
        else None,
    )


def _end(state: OperationState, *, phase: Phase, outcome: str, now: datetime) -> None:
    _withdraw_offer(state, now, f"operation {phase.value}")
    if state.surveillance_lost is not None:
        state.surveillance_gaps.append(state.surveillance_lost)
        state.surveillance_lost = None
    state.phase = phase
    state.outcome = outcome
    state.ended_at = now


def _apply_contingency(
    state: OperationState,
    *,
    action: ContingencyAction,
    kind: InterdictionKind,
    place: str,
    country: str,
    why: str,
    now: datetime,
) -> str:
    if action is ContingencyAction.INTERDICT:
        _interdict(
            state, kind=kind, actor=SYSTEM, place=place, country=country, reason=why, now=now
        )
        return f"{kind.value} interdiction ordered at {place}"
    _end(state, phase=Phase.ABORTED, outcome=f"aborted by contingency rule: {why}", now=now)
    return "operation aborted"


def _current_country(state: OperationState) -> str:
    """Where the consignment is thought to be: its last checkpoint, else its custodian's country."""
    if state.last_checkpoint is not None:
        return state.last_checkpoint.country
    legs = state.plan.legs
    if state.legs_completed == 0:
        return legs[0].from_country
    return legs[state.legs_completed - 1].to_country


def _report_compromise(
    state: OperationState, command: ReportCompromiseInput, now: datetime
) -> Happened:
    state.compromised_at = now
    action = state.plan.contingency.on_compromise
    place = state.last_checkpoint.place if state.last_checkpoint else "current position"
    consequence = _apply_contingency(
        state,
        action=action,
        kind=InterdictionKind.EMERGENCY,
        place=place,
        country=_current_country(state),
        why="operation compromised",
        now=now,
    )
    return Happened(
        "operation.compromised",
        f"Compromise reported by {command.actor.agency}; {consequence}",
        {"circumstances": command.circumstances, "contingency": action.value},
    )


def _suspend(state: OperationState, command: SuspendOperationInput, now: datetime) -> Happened:
    state.phase = Phase.SUSPENDED
    state.suspended_at = now
    return Happened(
        "operation.suspended", f"Operation suspended: {command.reason}", {"reason": command.reason}
    )


def _resume(state: OperationState, command: ResumeOperationInput, now: datetime) -> Happened:
    suspended_at = state.suspended_at
    assert suspended_at is not None
    state.phase = Phase.EXECUTION
    state.suspended_at = None
    state.checkpoint_clock = now
    state.checkpoint_alert_due = None
    return Happened(
        "operation.resumed",
        f"Operation resumed after {_minutes(now - suspended_at)} min",
        {"suspended_seconds": (now - suspended_at).total_seconds()},
    )


def _order_interdiction(
    state: OperationState, command: OrderInterdictionInput, now: datetime
) -> Happened:
    kind = command.interdiction
    if command.actor.role is ActorRole.COORDINATOR:
        _coordinator(state, command.actor)
    else:
        _custodian(state, command.actor)
        if kind is not InterdictionKind.EMERGENCY:
            raise RefusalError(
                "the custodian may order only an emergency interdiction; planned and early "
                "interdictions are ordered by the coordinator"
            )
    legs = len(state.plan.legs)
    if kind is InterdictionKind.PLANNED and state.legs_completed < legs:
        raise RefusalError(
            f"a planned interdiction takes place at destination, but the consignment has "
            f"completed {state.legs_completed} of {legs} legs; order an early interdiction instead"
        )
    _interdict(
        state,
        kind=kind,
        actor=command.actor,
        place=command.place,
        country=command.country,
        reason=command.reason,
        now=now,
    )
    approval = (
        f"; retroactive approval due {_utc_text(now + EMERGENCY_APPROVAL_WINDOW)}"
        if kind is InterdictionKind.EMERGENCY
        else ""
    )
    return Happened(
        "interdiction.ordered",
        f"{kind.value.capitalize()} interdiction ordered at {command.place} "
        f"({command.country}){approval}",
        {
            "interdiction": kind.value,
            "place": command.place,
            "country": command.country,
            "reason": command.reason,
        },
    )


def _approve_emergency(
    state: OperationState, command: ApproveEmergencyInterdictionInput, now: datetime
) -> Happened:
    interdiction = state.interdiction
    if interdiction is None or interdiction.kind is not InterdictionKind.EMERGENCY:
        raise RefusalError("only an emergency interdiction needs retroactive approval")
    if interdiction.approved_at is not None:
        raise RefusalError(
            f"the interdiction was already approved at {_utc_text(interdiction.approved_at)}"
        )
    interdiction.approved_at = now
    _debrief_changed(state)
    return Happened(
        "interdiction.approved",
        f"Emergency interdiction approved by {command.authority} (ref. {command.reference})",
        {"authority": command.authority, "reference": command.reference},
    )


def _record_seizure(state: OperationState, command: RecordSeizureInput, now: datetime) -> Happened:
    state.seizures.append(
        Seizure(
            agency=command.actor.agency,
            substance=command.substance,
            quantity=command.quantity,
            unit=command.unit,
            place=command.place,
            country=command.country,
            at=now,
        )
    )
    _debrief_changed(state)
    return Happened(
        "seizure.recorded",
        f"{command.actor.agency} seized {command.quantity:g} {command.unit.value} of "
        f"{command.substance} at {command.place} ({command.country})",
        {
            "substance": command.substance,
            "quantity": command.quantity,
            "unit": command.unit.value,
            "place": command.place,
            "country": command.country,
        },
    )


def _record_arrest(state: OperationState, command: RecordArrestInput, now: datetime) -> Happened:
    state.arrests.append(
        Arrest(
            agency=command.actor.agency,
            count=command.count,
            nationality=command.nationality,
            role=command.role,
            country=command.country,
            at=now,
        )
    )
    _debrief_changed(state)
    return Happened(
        "arrest.recorded",
        f"{command.actor.agency} arrested {command.count} ({command.role.value}, "
        f"{command.nationality}) in {command.country}",
        {
            "count": command.count,
            "role": command.role.value,
            "nationality": command.nationality,
            "country": command.country,
        },
    )


def _conclude_interdiction(
    state: OperationState, command: ConcludeInterdictionInput, now: datetime
) -> Happened:
    deadline = now + state.plan.debrief_period
    state.phase = Phase.DEBRIEF
    state.debrief = Debrief(opened_at=now, deadline=deadline)
    return Happened(
        "interdiction.concluded",
        f"Interdiction concluded; debrief inputs due {_utc_text(deadline)}",
        {"debrief_deadline": deadline.isoformat()},
    )


def _submit_debrief(state: OperationState, command: SubmitDebriefInput, now: datetime) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    agency = command.actor.agency
    revised = agency in debrief.inputs
    late = now > debrief.deadline
    debrief.inputs[agency] = DebriefInputRecord(
        agency=agency,
        submitted_at=now,
        submitted_by=command.actor.officer,
        late=late,
        content=command,
    )
    _debrief_changed(state)
    reported = {
        "seizures": len(command.seizures),
        "arrests": len(command.arrests),
        "assets": len(command.assets),
    }
    return Happened(
        "debrief.input_submitted",
        f"{agency} {'revised' if revised else 'submitted'} its debrief input"
        + (" after the deadline" if late else ""),
        {"agency": agency, "revised": revised, "late": late, "reported": reported},
    )


def _extend_debrief_deadline(
    state: OperationState, command: ExtendDebriefDeadlineInput, now: datetime
) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    if command.deadline <= debrief.deadline:
        raise RefusalError(
            f"the new deadline must be later than the current one ({_utc_text(debrief.deadline)})"
        )
    if command.deadline <= now:
        raise RefusalError("the new deadline must lie in the future")
    previous = debrief.deadline
    debrief.deadline = command.deadline
    debrief.deadline_passed = False
    # Reminders already due against the new deadline are not sent late: only later ones remain.
    debrief.reminders_sent = sum(1 for t in _debrief_reminder_times(state, debrief) if t <= now)
    return Happened(
        "debrief.deadline_extended",
        f"Debrief deadline extended from {_utc_text(previous)} to {_utc_text(command.deadline)}",
        {"previous_deadline": previous.isoformat(), "deadline": command.deadline.isoformat()},
    )


def _add_recommendation(
    state: OperationState, command: AddRecommendationInput, now: datetime
) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    plan = state.plan
    if command.owner != plan.coordinator_agency and plan.participant(command.owner) is None:
        raise RefusalError(
            f"the owner must be a participating agency or the coordinator "
            f"({plan.coordinator_agency}); {command.owner} is neither"
        )
    if command.due <= now:
        raise RefusalError("the due date must lie in the future")
    number = len(debrief.recommendations) + 1
    debrief.recommendations.append(
        Recommendation(
            number=number,
            text=command.text,
            owner=command.owner,
            due=command.due,
            added_at=now,
            added_by=command.actor.officer,
        )
    )
    _debrief_changed(state)
    return Happened(
        "debrief.recommendation_added",
        f"Recommendation {number} added, owned by {command.owner}, due {_utc_text(command.due)}",
        {"number": number, "owner": command.owner, "due": command.due.isoformat()},
    )


def _record_assessment(
    state: OperationState, command: RecordAssessmentInput, now: datetime
) -> Happened:
    debrief = state.debrief
    if debrief is None or not assessment_due(state):
        raise RefusalError("no outcome assessment is due")
    expected = len(debrief.assessments) + 1
    if command.version != expected:
        raise RefusalError(f"the next outcome assessment is version {expected}")
    if not debrief.assessed_revision < command.revision <= debrief.revision:
        raise RefusalError("this outcome assessment does not follow the last one")
    debrief.assessments.append(
        AssessmentRecord(
            version=command.version,
            at_seq=command.at_seq,
            revision=command.revision,
            recorded_at=now,
        )
    )
    return Happened(
        "debrief.assessed",
        f"Outcome assessment version {command.version} written; the debrief report is ready",
        {"version": command.version, "at_seq": command.at_seq},
    )


def _close_debrief(state: OperationState, command: CloseDebriefInput, now: datetime) -> Happened:
    missing = missing_debrief_inputs(state)
    _debrief_changed(state)
    _end(state, phase=Phase.CLOSED, outcome="closed", now=now)
    note = f"; no input from {', '.join(missing)}" if missing else ""
    return Happened("debrief.closed", f"Debrief closed{note}", {"missing_inputs": missing})


def _remove_participant(
    state: OperationState, command: RemoveParticipantInput, now: datetime
) -> Happened:
    plan = state.plan
    agency = command.agency
    if plan.participant(agency) is None:
        raise RefusalError(f"{agency} is not a participant")
    legs = [
        str(number)
        for number, leg in enumerate(plan.legs, start=1)
        if agency in (leg.sending_agency, leg.receiving_agency)
    ]
    if legs:
        raise RefusalError(
            f"{agency} sends or receives leg {', '.join(legs)} and stays on the route"
        )
    if agency == plan.lead_agency:
        raise RefusalError(f"{agency} is the lead agency")
    remaining = [p for p in plan.participants if p.agency != agency]
    state.plan = plan.model_copy(update={"participants": remaining})
    state.confirmations.pop(agency, None)
    return Happened(
        "participant.removed",
        f"{agency} no longer takes part: {command.reason}",
        {"agency": agency, "reason": command.reason},
    )


def _abort(state: OperationState, command: AbortOperationInput, now: datetime) -> Happened:
    _end(state, phase=Phase.ABORTED, outcome=f"aborted: {command.reason}", now=now)
    return Happened(
        "operation.aborted", f"Operation aborted: {command.reason}", {"reason": command.reason}
    )


def _declare_lost(
    state: OperationState, command: DeclareConsignmentLostInput, now: datetime
) -> Happened:
    _end(state, phase=Phase.FAILED, outcome=f"consignment lost: {command.circumstances}", now=now)
    return Happened(
        "operation.failed",
        f"Consignment declared lost: {command.circumstances}",
        {"circumstances": command.circumstances},
    )


ESCALATION_STEPS: Final = ("reminder", "contact_point", "coordinator", "contingency")


def _handover_deadline(
    state: OperationState, command: HandoverDeadlineReached, now: datetime
) -> Happened:
    offer = _pending_offer_for(state, command.leg)
    if command.step != offer.escalation_step + 1:
        raise RefusalError(
            f"escalation step {command.step} is not the next one for leg {command.leg}"
        )
    leg = leg_at(state.plan, command.leg)
    offer.escalation_step = command.step
    step = ESCALATION_STEPS[command.step - 1]
    detail: dict[str, Any] = {
        "leg": command.leg,
        "step": command.step,
        "escalation": step,
        "receiving_agency": leg.receiving_agency,
        "overdue_seconds": (now - offer.deadline).total_seconds(),
    }
    if step == "reminder":
        summary = (
            f"Acknowledgement of leg {command.leg} by {leg.receiving_agency} is overdue "
            f"(deadline {_utc_text(offer.deadline)}); reminder sent"
        )
        return Happened("handover.acknowledgement_overdue", summary, detail)
    if step == "contact_point":
        summary = (
            f"Unacknowledged handover of leg {command.leg} escalated to the national contact "
            f"point of {leg.to_country}"
        )
        return Happened("handover.escalated", summary, detail)
    if step == "coordinator":
        summary = f"Unacknowledged handover of leg {command.leg} escalated to the coordinator"
        return Happened("handover.escalated", summary, detail)
    action = state.plan.contingency.on_handover_unacknowledged
    consequence = _apply_contingency(
        state,
        action=action,
        kind=InterdictionKind.EARLY,
        place=leg.crossing_point,
        country=leg.from_country,
        why=f"handover of leg {command.leg} not acknowledged",
        now=now,
    )
    detail["contingency"] = action.value
    summary = (
        f"Handover of leg {command.leg} still unacknowledged; "
        f"contingency rule applied: {consequence}"
    )
    return Happened("handover.contingency_applied", summary, detail)


def _checkpoint_silence(
    state: OperationState, command: CheckpointSilenceReached, now: datetime
) -> Happened:
    clock = state.checkpoint_clock
    assert clock is not None
    expected = state.checkpoint_alert_due or clock + state.plan.checkpoint_interval
    if command.due_at != expected:
        raise RefusalError("this checkpoint silence has already been answered")
    state.checkpoint_alert_due = expected + state.plan.checkpoint_interval
    silent = now - clock
    return Happened(
        "checkpoint.overdue",
        f"No checkpoint from {state.custodian} for {_minutes(silent)} min "
        f"(agreed interval {_minutes(state.plan.checkpoint_interval)} min)",
        {"custodian": state.custodian, "silent_seconds": silent.total_seconds()},
    )


def _surveillance_window(
    state: OperationState, command: SurveillanceWindowExpired, now: datetime
) -> Happened:
    gap = state.surveillance_lost
    if gap is None:
        raise RefusalError("surveillance is not lost")
    action = state.plan.contingency.on_surveillance_window_expired
    window = state.plan.contingency.surveillance_regain_window
    consequence = _apply_contingency(
        state,
        action=action,
        kind=InterdictionKind.EARLY,
        place=gap.last_known_place,
        country=_current_country(state),
        why="surveillance not regained in time",
        now=now,
    )
    return Happened(
        "surveillance.window_expired",
        f"Surveillance not regained within {_minutes(window)} min; "
        f"contingency rule applied: {consequence}",
        {"contingency": action.value, "lost_at": gap.lost_at.isoformat()},
    )


def _debrief_reminder(
    state: OperationState, command: DebriefReminderDue, now: datetime
) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    if command.number != debrief.reminders_sent + 1:
        raise RefusalError(f"debrief reminder {command.number} is not the next one")
    debrief.reminders_sent = command.number
    missing = missing_debrief_inputs(state)
    return Happened(
        "debrief.reminder",
        f"Debrief input due {_utc_text(debrief.deadline)}; reminded {', '.join(missing)}",
        {"missing_inputs": missing, "number": command.number},
    )


def _debrief_deadline(
    state: OperationState, command: DebriefDeadlineReached, now: datetime
) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    if debrief.deadline_passed:
        raise RefusalError("the debrief deadline has already passed")
    debrief.deadline_passed = True
    _debrief_changed(state)
    missing = missing_debrief_inputs(state)
    summary = "Debrief deadline passed" + (
        f"; no input from {', '.join(missing)}" if missing else ""
    )
    return Happened("debrief.deadline_passed", summary, {"missing_inputs": missing})


def _emergency_overdue(
    state: OperationState, command: EmergencyApprovalOverdue, now: datetime
) -> Happened:
    interdiction = state.interdiction
    if (
        interdiction is None
        or interdiction.approval_due is None
        or interdiction.approved_at
        or interdiction.approval_overdue
    ):
        raise RefusalError("no retroactive approval is awaited")
    interdiction.approval_overdue = True
    _debrief_changed(state)
    return Happened(
        "interdiction.approval_overdue",
        "Retroactive approval of the emergency interdiction is overdue (72 hours)",
        {"approval_due": interdiction.approval_due.isoformat()},
    )


# --- the table ---------------------------------------------------------------------------------

_P, _E, _S, _I, _D, _C = (
    Phase.PLANNING,
    Phase.EXECUTION,
    Phase.SUSPENDED,
    Phase.INTERDICTION,
    Phase.DEBRIEF,
    Phase.CLOSED,
)


def _phases(*phases: Phase) -> frozenset[Phase]:
    return frozenset(phases)


RULES: Final[Mapping[str, Rule]] = {
    "record_authorisation": Rule(_phases(_P), _participant, _record_authorisation),
    "confirm_participation": Rule(_phases(_P), _participant, _confirm_participation),
    "launch_operation": Rule(_phases(_P), _coordinator, _launch),
    "offer_handover": Rule(_phases(_E), _custodian, _offer_handover),
    "acknowledge_handover": Rule(_phases(_E, _S), _participant, _acknowledge_handover),
    "refuse_handover": Rule(_phases(_E, _S), _participant, _refuse_handover),
    "report_checkpoint": Rule(_phases(_E, _S), _custodian, _report_checkpoint),
    "report_surveillance_lost": Rule(_phases(_E, _S), _custodian, _report_surveillance_lost),
    "report_surveillance_regained": Rule(
        _phases(_E, _S), _custodian, _report_surveillance_regained
    ),
    "report_compromise": Rule(_phases(_E, _S), _participant_or_coordinator, _report_compromise),
    "suspend_operation": Rule(_phases(_E), _coordinator, _suspend),
    "resume_operation": Rule(_phases(_S), _coordinator, _resume),
    "order_interdiction": Rule(_phases(_E, _S), _anyone, _order_interdiction),
    "approve_emergency_interdiction": Rule(_phases(_I, _D), _coordinator, _approve_emergency),
    "record_seizure": Rule(_phases(_I, _D), _participant, _record_seizure),
    "record_arrest": Rule(_phases(_I, _D), _participant, _record_arrest),
    "conclude_interdiction": Rule(_phases(_I), _coordinator, _conclude_interdiction),
    "submit_debrief": Rule(_phases(_D), _participant, _submit_debrief),
    "extend_debrief_deadline": Rule(_phases(_D), _coordinator, _extend_debrief_deadline),
    "add_recommendation": Rule(_phases(_D), _coordinator, _add_recommendation),
    "close_debrief": Rule(_phases(_D), _coordinator, _close_debrief),
    "remove_participant": Rule(_phases(_P, _E, _S, _I, _D), _coordinator, _remove_participant),
    "abort_operation": Rule(_phases(_P, _E, _S), _coordinator, _abort),
    "declare_consignment_lost": Rule(_phases(_E, _S, _I), _coordinator, _declare_lost),
    "handover_deadline_reached": Rule(_phases(_E, _S), _system, _handover_deadline),
    "checkpoint_silence_reached": Rule(_phases(_E), _system, _checkpoint_silence),
    "surveillance_window_expired": Rule(_phases(_E, _S), _system, _surveillance_window),
    "debrief_reminder_due": Rule(_phases(_D), _system, _debrief_reminder),
    "debrief_deadline_reached": Rule(_phases(_D), _system, _debrief_deadline),
    "emergency_approval_overdue": Rule(_phases(_I, _D), _system, _emergency_overdue),
    # The one thing written after the close: the closing outcome assessment, once.
    "record_assessment": Rule(_phases(_D, _C), _system, _record_assessment),
}

ACTION_NAMES: Final[Mapping[str, str]] = {kind: kind.replace("_", " ") for kind in RULES}


def _phase_list(phases: frozenset[Phase]) -> str:
    return " or ".join(sorted(phase.value for phase in phases))


def decide(state: OperationState, command: AnyCommand, *, now: datetime) -> Decision:
    """Accept the command (new state, one event) or refuse it (state untouched, a reason)."""
    rule = RULES[command.kind]
    action = ACTION_NAMES[command.kind]
    if state.phase not in rule.phases:
        return Refused(
            f"cannot {action} while the operation is {state.phase.value}; "
            f"allowed only while {_phase_list(rule.phases)}"
        )
    # The timeline and the request ids only grow: copy the rest deeply, those two by reference.
    after = state.model_copy(update={"timeline": [], "applied": {}}).model_copy(deep=True)
    after.timeline = list(state.timeline)  # for the rules to read; the events are not copied
    try:
        rule.actor(after, command.actor)
        happened = rule.effect(after, command, now)
    except RefusalError as refusal:
        return Refused(f"cannot {action}: {refusal}")
    assert after.phase == state.phase or after.phase in PHASE_MOVES[state.phase], (
        f"{command.kind} moved {state.phase} to {after.phase}, which the table forbids"
    )
    event = TimelineEvent(
        seq=state.next_seq,
        at=now,
        kind=happened.kind,
        actor=command.actor,
        summary=happened.summary,
        detail=happened.detail,
    )
    after.timeline = [*state.timeline, event]
    after.applied = dict(state.applied)
    if command.actor != SYSTEM:
        after.applied[command.request_id] = AppliedRequest(
            command=command.kind, seq=event.seq, phase=after.phase, custodian=after.custodian
        )
    return Accepted(state=after, event=event)


def previous_answer(state: OperationState, command: Command, kind: str) -> ActionResult | None:
    """The answer already given to this request id, so a retried request is applied once.

    A request id reused for a different action is refused rather than silently answered.
    """
    applied = state.applied.get(command.request_id)
    if applied is None:
        return None
    if applied.command != kind:
        raise RefusalError(
            f"request id {command.request_id} was already used for {ACTION_NAMES[applied.command]}"
        )
    event = next(e for e in reversed(state.timeline) if e.seq == applied.seq)
    return ActionResult(
        request_id=command.request_id, event=event, phase=applied.phase, custodian=applied.custodian
    )


def compact_checkpoints(state: OperationState, *, keep: int) -> OperationState:
    """The state without all but the latest `keep` checkpoint reports.

    Thousands of checkpoints would outgrow what one run can carry into the next; the dropped
    reports are already in the read model, and nothing the rules decide depends on them.
    """
    checkpoints = [e.seq for e in state.timeline if e.kind == "checkpoint.reported"]
    dropped = set(checkpoints[: max(len(checkpoints) - keep, 0)])
    if not dropped:
        return state
    return state.model_copy(
        update={
            "timeline": [e for e in state.timeline if e.seq not in dropped],
            "applied": {k: a for k, a in state.applied.items() if a.seq not in dropped},
            "compacted_checkpoints": state.compacted_checkpoints + len(dropped),
        }
    )


def open_operation(
    *, operation_id: str, plan: OperationPlan, created_by: Actor, now: datetime
) -> OperationState:
    """A new operation in planning, its creation the first event on the timeline."""
    state = OperationState(
        operation_id=operation_id, plan=plan, created_at=now, created_by=created_by
    )
    route = " -> ".join(plan.route_countries)
    state.timeline.append(
        TimelineEvent(
            seq=1,
            at=now,
            kind="operation.created",
            actor=created_by,
            summary=f"Operation {plan.code_name} created, route {route}",
            detail={"code_name": plan.code_name, "route": plan.route_countries},
        )
    )
    return state


def _utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _minutes(span: timedelta) -> int:
    return round(span.total_seconds() / 60)
