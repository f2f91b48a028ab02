"""Interdiction: ordering it, its retroactive approval, seizures and arrests, its conclusion."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

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
)
from workflows.events import EventKind
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
from workflows.state import Arrest, Debrief, Interdiction, OperationState, Phase, Seizure

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


def apply_contingency(
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
        interdict(state, kind=kind, actor=SYSTEM, place=place, country=country, reason=why, now=now)
        return f"{kind.value} interdiction ordered at {place}"
    end_operation(
        state, phase=Phase.ABORTED, outcome=f"aborted by contingency rule: {why}", now=now
    )
    return "operation aborted"


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
            f"a planned interdiction takes place at destination, but the consignment has "
            f"completed {state.legs_completed} of {legs} legs; order an early interdiction instead"
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
    approval = (
        f"; retroactive approval due {utc_text(now + EMERGENCY_APPROVAL_WINDOW)}"
        if kind is InterdictionKind.EMERGENCY
        else ""
    )
    return Happened(
        EventKind.INTERDICTION_ORDERED,
        f"{kind.value.capitalize()} interdiction ordered at {command.place} "
        f"({command.country}){approval}",
        {
            "interdiction": kind.value,
            "place": command.place,
            "country": command.country,
            "reason": command.reason,
        },
    )


def approve_emergency(
    state: OperationState, command: ApproveEmergencyInterdictionInput, now: datetime
) -> Happened:
    interdiction = state.interdiction
    if interdiction is None or interdiction.kind is not InterdictionKind.EMERGENCY:
        raise RefusalError("only an emergency interdiction needs retroactive approval")
    if interdiction.approved_at is not None:
        raise RefusalError(
            f"the interdiction was already approved at {utc_text(interdiction.approved_at)}"
        )
    interdiction.approved_at = now
    debrief_changed(state)
    return Happened(
        EventKind.INTERDICTION_APPROVED,
        f"Emergency interdiction approved by {command.authority} (ref. {command.reference})",
        {"authority": command.authority, "reference": command.reference},
    )


def record_seizure(state: OperationState, command: RecordSeizureInput, now: datetime) -> Happened:
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
    debrief_changed(state)
    return Happened(
        EventKind.SEIZURE_RECORDED,
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


def record_arrest(state: OperationState, command: RecordArrestInput, now: datetime) -> Happened:
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
    debrief_changed(state)
    return Happened(
        EventKind.ARREST_RECORDED,
        f"{command.actor.agency} arrested {command.count} ({command.role.value}, "
        f"{command.nationality}) in {command.country}",
        {
            "count": command.count,
            "role": command.role.value,
            "nationality": command.nationality,
            "country": command.country,
        },
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
        {"debrief_deadline": deadline.isoformat()},
    )
