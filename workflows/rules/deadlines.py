"""Deadlines: which timers a state asks for, and what each does when it fires."""

from __future__ import annotations

from datetime import datetime

from workflows import details
from workflows.commands import (
    SYSTEM,
    CheckpointSilenceReached,
    DebriefDeadlineReached,
    DebriefReminderDue,
    EmergencyApprovalOverdue,
    HandoverDeadlineReached,
    InterdictionKind,
    SurveillanceWindowExpired,
    TimerCommand,
)
from workflows.events import EscalationStep, EventKind, InterdictionCause
from workflows.rules.base import (
    Happened,
    RefusalError,
    debrief_changed,
    leg_at,
    utc_text,
    whole_minutes,
)
from workflows.rules.custody import pending_offer_for
from workflows.rules.debrief import debrief_reminder_times, missing_debrief_inputs
from workflows.rules.interdiction import apply_contingency
from workflows.rules.monitoring import current_country
from workflows.state import OperationState, Phase


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
        reminders = debrief_reminder_times(state, debrief)
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


def handover_deadline(
    state: OperationState, command: HandoverDeadlineReached, now: datetime
) -> Happened:
    offer = pending_offer_for(state, command.leg)
    if command.step != offer.escalation_step + 1:
        raise RefusalError(
            "escalation step %(step)s is not the next one for leg %(leg)s",
            step=command.step,
            leg=command.leg,
        )
    leg = leg_at(state.plan, command.leg)
    offer.escalation_step = command.step
    step = EscalationStep.numbered(command.step)
    detail = details.Escalation(
        leg=command.leg,
        step=command.step,
        escalation=step,
        receiving_agency=leg.receiving_agency,
        overdue_seconds=(now - offer.deadline).total_seconds(),
    )
    if step is EscalationStep.REMINDER:
        summary = (
            f"Acknowledgement of leg {command.leg} by {leg.receiving_agency} is overdue "
            f"(deadline {utc_text(offer.deadline)}); reminder sent"
        )
        return Happened(EventKind.HANDOVER_ACKNOWLEDGEMENT_OVERDUE, summary, detail)
    if step is EscalationStep.CONTACT_POINT:
        summary = (
            f"Unacknowledged handover of leg {command.leg} escalated to the national contact "
            f"point of {leg.to_country}"
        )
        return Happened(EventKind.HANDOVER_ESCALATED, summary, detail)
    if step is EscalationStep.COORDINATOR:
        summary = f"Unacknowledged handover of leg {command.leg} escalated to the coordinator"
        return Happened(EventKind.HANDOVER_ESCALATED, summary, detail)
    action = state.plan.contingency.on_handover_unacknowledged
    contingency = apply_contingency(
        state,
        action=action,
        kind=InterdictionKind.EARLY,
        place=leg.crossing_point,
        country=leg.from_country,
        cause=InterdictionCause.HANDOVER_UNACKNOWLEDGED,
        why=f"handover of leg {command.leg} not acknowledged",
        now=now,
    )
    applied = details.ContingencyEscalation(**detail.model_dump(), contingency=action)
    summary = (
        f"Handover of leg {command.leg} still unacknowledged; "
        f"contingency rule applied: {contingency.consequence}"
    )
    return Happened(EventKind.HANDOVER_CONTINGENCY_APPLIED, summary, applied, then=contingency.then)


def checkpoint_silence(
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
        EventKind.CHECKPOINT_OVERDUE,
        f"No checkpoint from {state.custodian} for {whole_minutes(silent)} min "
        f"(agreed interval {whole_minutes(state.plan.checkpoint_interval)} min)",
        details.CheckpointOverdue(custodian=state.custodian, silent_seconds=silent.total_seconds()),
    )


def surveillance_window(
    state: OperationState, command: SurveillanceWindowExpired, now: datetime
) -> Happened:
    gap = state.surveillance_lost
    if gap is None:
        raise RefusalError("surveillance is not lost")
    action = state.plan.contingency.on_surveillance_window_expired
    window = state.plan.contingency.surveillance_regain_window
    contingency = apply_contingency(
        state,
        action=action,
        kind=InterdictionKind.EARLY,
        place=gap.last_known_place,
        country=current_country(state),
        cause=InterdictionCause.SURVEILLANCE_NOT_REGAINED,
        why="surveillance not regained in time",
        now=now,
    )
    return Happened(
        EventKind.SURVEILLANCE_WINDOW_EXPIRED,
        f"Surveillance not regained within {whole_minutes(window)} min; "
        f"contingency rule applied: {contingency.consequence}",
        details.SurveillanceWindowExpired(contingency=action, lost_at=gap.lost_at),
        then=contingency.then,
    )


def debrief_reminder(state: OperationState, command: DebriefReminderDue, now: datetime) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    if command.number != debrief.reminders_sent + 1:
        raise RefusalError("debrief reminder %(number)s is not the next one", number=command.number)
    debrief.reminders_sent = command.number
    missing = missing_debrief_inputs(state)
    return Happened(
        EventKind.DEBRIEF_REMINDER,
        f"Debrief input due {utc_text(debrief.deadline)}; reminded {', '.join(missing)}",
        details.DebriefReminder(missing_inputs=missing, number=command.number),
    )


def debrief_deadline(
    state: OperationState, command: DebriefDeadlineReached, now: datetime
) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    if debrief.deadline_passed:
        raise RefusalError("the debrief deadline has already passed")
    debrief.deadline_passed = True
    debrief_changed(state)
    missing = missing_debrief_inputs(state)
    summary = "Debrief deadline passed" + (
        f"; no input from {', '.join(missing)}" if missing else ""
    )
    return Happened(
        EventKind.DEBRIEF_DEADLINE_PASSED, summary, details.MissingInputs(missing_inputs=missing)
    )


def emergency_overdue(
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
    debrief_changed(state)
    return Happened(
        EventKind.INTERDICTION_APPROVAL_OVERDUE,
        "Retroactive approval of the emergency interdiction is overdue (72 hours)",
        details.InterdictionApprovalOverdue(approval_due=interdiction.approval_due),
    )
