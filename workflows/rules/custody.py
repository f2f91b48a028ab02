"""Custody and handovers between countries: offer, acknowledgement, refusal."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.commands import (
    AcknowledgeHandoverInput,
    OfferHandoverInput,
    RefuseHandoverInput,
)
from workflows.events import EventKind, HandoverOutcome
from workflows.plan import Leg
from workflows.rules.base import (
    Happened,
    RefusalError,
    RoleRefusalError,
    by_participant,
    close_offer,
    leg_at,
    utc_text,
    whole_minutes,
)
from workflows.state import HandoverOffer, OperationState


def pending_offer_for(state: OperationState, leg: int) -> HandoverOffer:
    offer = state.handover_offer
    if offer is None or offer.leg != leg:
        raise RefusalError(f"no handover of leg {leg} has been offered")
    return offer


def offer_handover(state: OperationState, command: OfferHandoverInput, now: datetime) -> Happened:
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
        EventKind.HANDOVER_OFFERED,
        f"{leg.sending_agency} offered the handover of leg {command.leg} "
        f"({leg.from_country} -> {leg.to_country}) to {leg.receiving_agency}; "
        f"acknowledgement due {utc_text(deadline)}",
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
    if record is None or record.outcome is HandoverOutcome.WITHDRAWN:
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
        f"at {utc_text(record.decided_at)}"
    )
    if record.outcome is HandoverOutcome.REFUSED:
        reason += "; no new offer has been made since"
    return reason


def by_receiving_agency(
    state: OperationState, command: AcknowledgeHandoverInput | RefuseHandoverInput
) -> None:
    """The receiving agency of the command's leg: only it acknowledges or refuses that handover."""
    by_participant(state, command)
    leg = leg_at(state.plan, command.leg)
    if command.actor.agency != leg.receiving_agency:
        raise RoleRefusalError(
            f"the handover of leg {command.leg} is addressed to {leg.receiving_agency}, "
            f"not {command.actor.agency}",
            required=f"receiving agency of leg {command.leg}",
        )


def _open_offer_of(state: OperationState, leg_number: int) -> Leg:
    leg = leg_at(state.plan, leg_number)
    decided = _already_decided(state, leg_number)
    if decided is not None:
        raise RefusalError(decided)
    pending_offer_for(state, leg_number)
    return leg


def acknowledge_handover(
    state: OperationState, command: AcknowledgeHandoverInput, now: datetime
) -> Happened:
    leg = _open_offer_of(state, command.leg)
    offer = pending_offer_for(state, command.leg)
    close_offer(state, outcome=HandoverOutcome.ACKNOWLEDGED, now=now, reasons=None)
    state.custodian = leg.receiving_agency
    state.custody_since = now
    state.checkpoint_clock = now
    state.checkpoint_alert_due = None
    state.legs_completed += 1
    late = now - offer.deadline
    lateness = f", {whole_minutes(late)} min after its deadline" if late > timedelta(0) else ""
    return Happened(
        EventKind.HANDOVER_ACKNOWLEDGED,
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


def refuse_handover(state: OperationState, command: RefuseHandoverInput, now: datetime) -> Happened:
    leg = _open_offer_of(state, command.leg)
    close_offer(state, outcome=HandoverOutcome.REFUSED, now=now, reasons=command.reasons)
    return Happened(
        EventKind.HANDOVER_REFUSED,
        f"{leg.receiving_agency} refused the handover of leg {command.leg}: {command.reasons}; "
        f"{state.custodian} keeps custody",
        {"leg": command.leg, "reasons": command.reasons},
    )
