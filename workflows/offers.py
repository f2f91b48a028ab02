"""Which actions a person may take on an operation now, asked of the rule table itself.

An action is offered when its rule accepts the operation's phase and its actor check accepts the
person. Actions that need nothing but a leg (or nothing at all, or values the rules do not weigh)
are also tried through `decide`, so a handover already acknowledged, a participation already
confirmed or an interdiction that needs no approval is not offered.
Nothing here re-states a rule: the answer is the table's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from workflows.commands import (
    SYSTEM_KINDS,
    AcknowledgeHandoverInput,
    Actor,
    ApproveEmergencyInterdictionInput,
    Command,
    InterdictionKind,
    OfferHandoverInput,
    OrderInterdictionInput,
    RefuseHandoverInput,
)
from workflows.rules import RULES, Accepted, RefusalError, Rule, decide
from workflows.state import OperationState

PROBE: Final = "offered-actions-probe"
# The actions whose whole input is the actor (and a leg): trying them through `decide` says
# whether the lifecycle would accept them now, not only whether the phase and the actor fit.
_TRIED: Final = frozenset(
    {
        "confirm_participation",
        "offer_handover",
        "acknowledge_handover",
        "resume_operation",
        "conclude_interdiction",
        "close_debrief",
        "retry_assessment",
        "approve_emergency_interdiction",
    }
)
# What a probe of a tried action gives where a form would: the rules refuse or accept it on the
# operation's state alone (an approval needs an emergency interdiction not yet approved).
_PLACEHOLDERS: Final[dict[type[Command], dict[str, str]]] = {
    ApproveEmergencyInterdictionInput: {"authority": PROBE, "reference": PROBE},
}


@dataclass(frozen=True)
class OfferedAction:
    kind: str
    leg: int | None = None


def _leg_for(state: OperationState, command: type[Command]) -> int | None:
    if command in (AcknowledgeHandoverInput, RefuseHandoverInput):
        offer = state.handover_offer
        return offer.leg if offer is not None else None
    if command is OfferHandoverInput:
        following = state.legs_completed + 1
        return following if following <= len(state.plan.legs) else None
    return None


def _probe(rule: Rule[Any], actor: Actor, leg: int | None) -> Command:
    """The command as the actor would give it, without the values only a form can give."""
    fields: dict[str, Any] = {"actor": actor, "request_id": PROBE, "justification": None}
    if leg is not None:
        fields["leg"] = leg
    fields |= _PLACEHOLDERS.get(rule.command, {})
    if rule.command is OrderInterdictionInput:
        # The custodian's own interdiction is an emergency one; the coordinator's, any kind.
        fields["interdiction"] = InterdictionKind.EMERGENCY
    command: Command = rule.command.model_construct(**fields)
    return command


def offered_actions(state: OperationState, *, actor: Actor, now: datetime) -> list[OfferedAction]:
    """The actions the rules would accept from `actor` now, in the table's order."""
    offered: list[OfferedAction] = []
    for rule in RULES.values():
        if rule.kind in SYSTEM_KINDS or state.phase not in rule.phases:
            continue
        needs_leg = "leg" in rule.command.model_fields
        leg = _leg_for(state, rule.command) if needs_leg else None
        if needs_leg and leg is None:
            continue
        probe = _probe(rule, actor, leg)
        try:
            rule.actor(state, probe)
        except RefusalError:
            continue
        if rule.kind in _TRIED and not isinstance(decide(state, probe, now=now), Accepted):  # type: ignore[arg-type]
            continue
        offered.append(OfferedAction(rule.kind, leg))
    return offered


def may(state: OperationState, *, actor: Actor, kind: str, now: datetime) -> bool:
    return any(action.kind == kind for action in offered_actions(state, actor=actor, now=now))
