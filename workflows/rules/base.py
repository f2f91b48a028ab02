"""What every part of the lifecycle shares: refusals, what happened, who may act, common moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflows.commands import SYSTEM, ActorRole, Command
from workflows.events import EventKind, HandoverOutcome
from workflows.plan import Leg, OperationPlan
from workflows.state import HandoverRecord, OperationState, Phase


class RefusalError(Exception):
    """A command that the lifecycle does not allow now; the message says why."""


@dataclass(frozen=True)
class Happened:
    """What an effect did, to be written on the timeline."""

    kind: EventKind
    summary: str
    detail: dict[str, Any]


class RoleRefusalError(RefusalError):
    """The command is not the actor's to give: another role (named in `required`) gives it."""

    def __init__(self, reason: str, *, required: str) -> None:
        super().__init__(reason)
        self.required = required


# --- who may act: each takes the command, so a check may depend on it (a leg, a kind) ---------


def by_coordinator(state: OperationState, command: Command) -> None:
    actor = command.actor
    if actor.role is not ActorRole.COORDINATOR or actor.agency != state.plan.coordinator_agency:
        raise RoleRefusalError(
            f"only the coordinator ({state.plan.coordinator_agency}) may do this",
            required="coordinator",
        )


def by_participant(state: OperationState, command: Command) -> None:
    actor = command.actor
    if actor.role is not ActorRole.OFFICER or state.plan.participant(actor.agency) is None:
        raise RoleRefusalError(
            f"{actor.agency} is not a participating agency of this operation",
            required="officer of a participating agency",
        )


def by_custodian(state: OperationState, command: Command) -> None:
    by_participant(state, command)
    actor = command.actor
    if actor.agency != state.custodian:
        raise RoleRefusalError(
            f"only the custodian ({state.custodian}) may do this; "
            f"{actor.agency} does not hold custody",
            required="custodian",
        )


def by_participant_or_coordinator(state: OperationState, command: Command) -> None:
    if command.actor.role is ActorRole.COORDINATOR:
        by_coordinator(state, command)
    else:
        by_participant(state, command)


def by_system(state: OperationState, command: Command) -> None:
    if command.actor != SYSTEM:
        raise RoleRefusalError("only the operation's own timers may report this", required="system")


def leg_at(plan: OperationPlan, number: int) -> Leg:
    if not 1 <= number <= len(plan.legs):
        raise RefusalError(f"the route has {len(plan.legs)} legs; there is no leg {number}")
    return plan.legs[number - 1]


def debrief_changed(state: OperationState) -> None:
    if state.debrief is not None:
        state.debrief.revision += 1


def close_offer(
    state: OperationState, *, outcome: HandoverOutcome, now: datetime, reasons: str | None
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


def withdraw_offer(state: OperationState, now: datetime, why: str) -> None:
    if state.handover_offer is not None:
        close_offer(state, outcome=HandoverOutcome.WITHDRAWN, now=now, reasons=why)


def end_operation(state: OperationState, *, phase: Phase, outcome: str, now: datetime) -> None:
    withdraw_offer(state, now, f"operation {phase.value}")
    if state.surveillance_lost is not None:
        state.surveillance_gaps.append(state.surveillance_lost)
        state.surveillance_lost = None
    state.phase = phase
    state.outcome = outcome
    state.ended_at = now


def utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def whole_minutes(span: timedelta) -> int:
    return round(span.total_seconds() / 60)
