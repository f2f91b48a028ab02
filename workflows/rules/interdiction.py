"""Interdiction: ordering it, its retroactive approval, seizures and arrests, its conclusion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from workflows import details
from workflows.commands import (
    SYSTEM,
    Actor,
    ActorRole,
    ApproveEmergencyInterdictionInput,
    ConcludeInterdictionInput,
    InterdictionKind,
    OrderInterdictionInput,
    RecordArrestInput,
    RecordSeizureInput,
    ReportedArrest,
    ReportedSeizure,
    fields_of,
)
from workflows.events import EventKind, InterdictionCause
from workflows.plan import ContingencyAction
from workflows.rules.base import (
    Happened,
    RefusalError,
    RoleRefusalError,
    by_coordinator,
    by_custodian,
    debrief_changed,
    end_operation,
    utc_text,
    withdraw_offer,
)
from workflows.state import (
    Arrest,
    Debrief,
    Interdiction,
    OperationOutcome,
    OperationState,
    OutcomeKind,
    Phase,
    RuleChange,
    Seizure,
)

EMERGENCY_APPROVAL_WINDOW: Final = timedelta(hours=72)


def interdict(
    state: OperationState,
    *,
    kind: InterdictionKind,
    actor: Actor,
    place: str,
    country: str,
    reason: str | None,
    now: datetime,
) -> None:
    withdraw_offer(state, now, f"{kind.value} interdiction ordered")
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


@dataclass(frozen=True)
class Contingency:
    """What a contingency rule did: said in a few words, and the events it adds."""

    consequence: str
    then: tuple[Happened, ...] = ()


def apply_contingency(
    state: OperationState,
    *,
    action: ContingencyAction,
    kind: InterdictionKind,
    place: str,
    country: str,
    cause: InterdictionCause,
    why: str,
    now: datetime,
) -> Contingency:
    if action is ContingencyAction.ABORT:
        outcome = OperationOutcome(kind=OutcomeKind.ABORTED_BY_CONTINGENCY, reason=why)
        end_operation(state, phase=Phase.ABORTED, outcome=outcome, now=now)
        return Contingency("operation aborted")
    interdict(state, kind=kind, actor=SYSTEM, place=place, country=country, reason=why, now=now)
    consequence = f"{kind.value} interdiction ordered at {place}"
    if RuleChange.INTERDICTION_EVENT_FOR_EVERY_CAUSE not in state.rule_changes:
        return Contingency(consequence)
    ordered = Happened(
        EventKind.INTERDICTION_ORDERED,
        f"{_ordered(kind, place, country, now)} by the contingency rule: {why}",
        details.InterdictionOrdered(
            interdiction=kind, place=place, country=country, reason=why, cause=cause
        ),
        by=SYSTEM,
    )
    return Contingency(consequence, then=(ordered,))


def _ordered(kind: InterdictionKind, place: str, country: str, now: datetime) -> str:
    approval = (
        f"; retroactive approval due {utc_text(now + EMERGENCY_APPROVAL_WINDOW)}"
        if kind is InterdictionKind.EMERGENCY
        else ""
    )
    return f"{kind.value.capitalize()} interdiction ordered at {place} ({country}){approval}"


def by_coordinator_or_custodian_in_emergency(
    state: OperationState, command: OrderInterdictionInput
) -> None:
    """The coordinator orders any interdiction; the custodian, only an emergency one."""
    if command.actor.role is ActorRole.COORDINATOR:
        by_coordinator(state, command)
        return
    by_custodian(state, command)
    if command.interdiction is not InterdictionKind.EMERGENCY:
        raise RoleRefusalError(
            "the custodian may order only an emergency interdiction; planned and early "
            "interdictions are ordered by the coordinator",
            required="coordinator",
        )


def order_interdiction(
    state: OperationState, command: OrderInterdictionInput, now: datetime
) -> Happened:
    kind = command.interdiction
    legs = len(state.plan.legs)
    if kind is InterdictionKind.PLANNED and state.legs_completed < legs:
        raise RefusalError(
            "a planned interdiction takes place at destination, but the consignment has "
            "completed %(completed)s of %(legs)s legs; order an early interdiction instead",
            completed=state.legs_completed,
            legs=legs,
        )
    interdict(
        state,
        kind=kind,
        actor=command.actor,
        place=command.place,
        country=command.country,
        reason=command.reason,
        now=now,
    )
    return Happened(
        EventKind.INTERDICTION_ORDERED,
        _ordered(kind, command.place, command.country, now),
        details.InterdictionOrdered(
            interdiction=kind, place=command.place, country=command.country, reason=command.reason
        ),
    )


def approve_emergency(
    state: OperationState, command: ApproveEmergencyInterdictionInput, now: datetime
) -> Happened:
    interdiction = state.interdiction
    if interdiction is None or interdiction.kind is not InterdictionKind.EMERGENCY:
        raise RefusalError("only an emergency interdiction needs retroactive approval")
    if interdiction.approved_at is not None:
        raise RefusalError(
            "the interdiction was already approved at %(at)s",
            at=utc_text(interdiction.approved_at),
        )
    interdiction.approved_at = now
    debrief_changed(state)
    return Happened(
        EventKind.INTERDICTION_APPROVED,
        f"Emergency interdiction approved by {command.authority} (ref. {command.reference})",
        details.InterdictionApproved(authority=command.authority, reference=command.reference),
    )


def record_seizure(state: OperationState, command: RecordSeizureInput, now: datetime) -> Happened:
    state.seizures.append(
        Seizure(**fields_of(command, ReportedSeizure), agency=command.actor.agency, at=now)
    )
    debrief_changed(state)
    return Happened(
        EventKind.SEIZURE_RECORDED,
        f"{command.actor.agency} seized {command.quantity:g} {command.unit.value} of "
        f"{command.substance} at {command.place} ({command.country})",
        details.SeizureRecorded(**fields_of(command, ReportedSeizure)),
    )


def record_arrest(state: OperationState, command: RecordArrestInput, now: datetime) -> Happened:
    state.arrests.append(
        Arrest(**fields_of(command, ReportedArrest), agency=command.actor.agency, at=now)
    )
    debrief_changed(state)
    return Happened(
        EventKind.ARREST_RECORDED,
        f"{command.actor.agency} arrested {command.count} ({command.role.value}, "
        f"{command.nationality}) in {command.country}",
        details.ArrestRecorded(**fields_of(command, ReportedArrest)),
    )


def conclude_interdiction(
    state: OperationState, command: ConcludeInterdictionInput, now: datetime
) -> Happened:
    deadline = now + state.plan.debrief_period
    state.phase = Phase.DEBRIEF
    state.debrief = Debrief(opened_at=now, deadline=deadline)
    return Happened(
        EventKind.INTERDICTION_CONCLUDED,
        f"Interdiction concluded; debrief inputs due {utc_text(deadline)}",
        details.InterdictionConcluded(debrief_deadline=deadline),
    )
