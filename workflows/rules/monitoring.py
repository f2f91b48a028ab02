"""Monitoring and surveillance: checkpoints, loss and regain, compromise, suspension, side exits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from workflows import details
from workflows.commands import (
    AbortOperationInput,
    DeclareConsignmentLostInput,
    InterdictionKind,
    ReportCheckpointInput,
    ReportCompromiseInput,
    ReportSurveillanceLostInput,
    ReportSurveillanceRegainedInput,
    ResumeOperationInput,
    SuspendOperationInput,
)
from workflows.events import EventKind, InterdictionCause
from workflows.rules.base import Happened, RefusalError, end_operation, utc_text, whole_minutes
from workflows.rules.interdiction import apply_contingency
from workflows.state import (
    Checkpoint,
    OperationOutcome,
    OperationState,
    OutcomeKind,
    Phase,
    SurveillanceGap,
)

# Agencies' clocks differ: a checkpoint observed a little "in the future" is skew, not a lie.
CLOCK_SKEW: Final = timedelta(minutes=5)


def report_checkpoint(
    state: OperationState, command: ReportCheckpointInput, now: datetime
) -> Happened:
    if state.surveillance_lost is not None:
        raise RefusalError("surveillance is reported lost; report it regained before a checkpoint")
    if command.observed_at > now + CLOCK_SKEW:
        raise RefusalError(
            "observed_at %(observed_at)s lies in the future",
            observed_at=utc_text(command.observed_at),
        )
    state.checkpoint_count += 1
    state.last_checkpoint = Checkpoint(
        at=command.observed_at, place=command.place, country=command.country, status=command.status
    )
    state.checkpoint_clock = now
    state.checkpoint_alert_due = None
    return Happened(
        EventKind.CHECKPOINT_REPORTED,
        f"Checkpoint {command.place} ({command.country}): {command.status.value.replace('_', ' ')}",
        details.CheckpointReported(
            place=command.place,
            country=command.country,
            observed_at=command.observed_at,
            status=command.status,
            remarks=command.remarks,
        ),
    )


def report_surveillance_lost(
    state: OperationState, command: ReportSurveillanceLostInput, now: datetime
) -> Happened:
    if state.surveillance_lost is not None:
        raise RefusalError(
            "surveillance is already lost since %(at)s",
            at=utc_text(state.surveillance_lost.lost_at),
        )
    state.surveillance_lost = SurveillanceGap(
        lost_at=now, last_known_place=command.last_known_place
    )
    window_end = now + state.plan.contingency.surveillance_regain_window
    action = state.plan.contingency.on_surveillance_window_expired.value
    return Happened(
        EventKind.SURVEILLANCE_LOST,
        f"Surveillance lost near {command.last_known_place}; to be regained by "
        f"{utc_text(window_end)}, else the contingency rule applies ({action})",
        details.SurveillanceLost(
            last_known_place=command.last_known_place,
            circumstances=command.circumstances,
            window_ends=window_end,
        ),
    )


def report_surveillance_regained(
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
        EventKind.SURVEILLANCE_REGAINED,
        f"Surveillance regained at {command.place} after {whole_minutes(now - gap.lost_at)} min",
        details.SurveillanceRegained(
            place=command.place, gap_seconds=(now - gap.lost_at).total_seconds()
        ),
    )


def current_country(state: OperationState) -> str:
    """Where the consignment is thought to be: its last checkpoint, else its custodian's country."""
    if state.last_checkpoint is not None:
        return state.last_checkpoint.country
    legs = state.plan.legs
    if state.legs_completed == 0:
        return legs[0].from_country
    return legs[state.legs_completed - 1].to_country


def report_compromise(
    state: OperationState, command: ReportCompromiseInput, now: datetime
) -> Happened:
    state.compromised_at = now
    action = state.plan.contingency.on_compromise
    place = state.last_checkpoint.place if state.last_checkpoint else "current position"
    contingency = apply_contingency(
        state,
        action=action,
        kind=InterdictionKind.EMERGENCY,
        place=place,
        country=current_country(state),
        cause=InterdictionCause.COMPROMISE,
        why="operation compromised",
        now=now,
    )
    return Happened(
        EventKind.OPERATION_COMPROMISED,
        f"Compromise reported by {command.actor.agency}; {contingency.consequence}",
        details.OperationCompromised(circumstances=command.circumstances, contingency=action),
        then=contingency.then,
    )


def suspend(state: OperationState, command: SuspendOperationInput, now: datetime) -> Happened:
    state.phase = Phase.SUSPENDED
    state.suspended_at = now
    return Happened(
        EventKind.OPERATION_SUSPENDED,
        f"Operation suspended: {command.reason}",
        details.Reason(reason=command.reason),
    )


def resume(state: OperationState, command: ResumeOperationInput, now: datetime) -> Happened:
    suspended_at = state.suspended_at
    assert suspended_at is not None
    state.phase = Phase.EXECUTION
    state.suspended_at = None
    state.checkpoint_clock = now
    state.checkpoint_alert_due = None
    return Happened(
        EventKind.OPERATION_RESUMED,
        f"Operation resumed after {whole_minutes(now - suspended_at)} min",
        details.OperationResumed(suspended_seconds=(now - suspended_at).total_seconds()),
    )


def abort(state: OperationState, command: AbortOperationInput, now: datetime) -> Happened:
    outcome = OperationOutcome(kind=OutcomeKind.ABORTED, reason=command.reason)
    end_operation(state, phase=Phase.ABORTED, outcome=outcome, now=now)
    return Happened(
        EventKind.OPERATION_ABORTED,
        f"Operation aborted: {command.reason}",
        details.Reason(reason=command.reason),
    )


def declare_lost(
    state: OperationState, command: DeclareConsignmentLostInput, now: datetime
) -> Happened:
    outcome = OperationOutcome(kind=OutcomeKind.CONSIGNMENT_LOST, reason=command.circumstances)
    end_operation(state, phase=Phase.FAILED, outcome=outcome, now=now)
    return Happened(
        EventKind.OPERATION_FAILED,
        f"Consignment declared lost: {command.circumstances}",
        details.ConsignmentLost(circumstances=command.circumstances),
    )
