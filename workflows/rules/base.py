"""What every part of the lifecycle shares: refusals, what happened, who may act, common moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workflows.commands import SYSTEM, Actor, ActorRole, Command
from workflows.details import Detail
from workflows.events import EventKind, HandoverOutcome
from workflows.plan import Leg, OperationPlan
from workflows.reasons import Parameter, Reason
from workflows.state import HandoverRecord, OperationOutcome, OperationState, Phase


class RefusalError(Exception):
    """A command that the lifecycle does not allow now; the message says why, in English.

    Raised with a literal template and its parameters (`workflows/reasons.py`), so that the
    reason (`why`) can be read in another language too.
    """

    def __init__(self, template: str, /, **parameters: Parameter) -> None:
        self.why = Reason(template, parameters)
        super().__init__(str(self.why))


@dataclass(frozen=True)
class Happened:
    """What an effect did, to be written on the timeline.

    `then` are the events the same decision writes after it (an interdiction a contingency rule
    ordered follows the event that applied the rule); `by` is who an event is by, if not the
    command's actor.
    """

    kind: EventKind
    summary: str
    detail: Detail
    then: tuple[Happened, ...] = ()
    by: Actor | None = None


class RoleRefusalError(RefusalError):
    """The command is not the actor's to give: another role (named in `required`) gives it."""

    def __init__(self, template: str, /, *, required: str, **parameters: Parameter) -> None:
        super().__init__(template, **parameters)
        self.required = required


# --- who may act: each takes the command, so a check may depend on it (a leg, a kind) ---------


def by_coordinator(state: OperationState, command: Command) -> None:
    actor = command.actor
    if actor.role is not ActorRole.COORDINATOR or actor.agency != state.plan.coordinator_agency:
        raise RoleRefusalError(
            "only the coordinator (%(coordinator)s) may do this",
            coordinator=state.plan.coordinator_agency,
            required="coordinator",
        )


def by_participant(state: OperationState, command: Command) -> None:
    actor = command.actor
    if actor.role is not ActorRole.OFFICER or state.plan.participant(actor.agency) is None:
        raise RoleRefusalError(
            "%(agency)s is not a participating agency of this operation",
            agency=actor.agency,
            required="officer of a participating agency",
        )


def by_custodian(state: OperationState, command: Command) -> None:
    by_participant(state, command)
    actor = command.actor
    if actor.agency != state.custodian:
        raise RoleRefusalError(
            "only the custodian (%(custodian)s) may do this; %(agency)s does not hold custody",
            custodian=str(state.custodian),
            agency=actor.agency,
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
        raise RefusalError(
            "the route has %(legs)s legs; there is no leg %(leg)s", legs=len(plan.legs), leg=number
        )
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


def end_operation(
    state: OperationState, *, phase: Phase, outcome: OperationOutcome, now: datetime
) -> None:
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
