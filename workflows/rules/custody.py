"""Custody and handovers between countries: offer, acknowledgement, refusal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from workflows import details
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

# The event that records each decision on an offer.
DECIDED_BY: Final = {
    HandoverOutcome.ACKNOWLEDGED: EventKind.HANDOVER_ACKNOWLEDGED,
    HandoverOutcome.REFUSED: EventKind.HANDOVER_REFUSED,
}


def pending_offer_for(state: OperationState, leg: int) -> HandoverOffer:
    offer = state.handover_offer
    if offer is None or offer.leg != leg:
        raise RefusalError("no handover of leg %(leg)s has been offered", leg=leg)
    return offer


def offer_handover(state: OperationState, command: OfferHandoverInput, now: datetime) -> Happened:
    legs = state.plan.legs
    if state.handover_offer is not None:
        pending = leg_at(state.plan, state.handover_offer.leg)
        raise RefusalError(
            "the handover of leg %(leg)s is already offered and awaits acknowledgement by "
            "%(receiving_agency)s",
            leg=state.handover_offer.leg,
            receiving_agency=pending.receiving_agency,
        )
    if state.legs_completed >= len(legs):
        raise RefusalError(
            "the consignment has reached its destination; no leg is left to hand over"
        )
    expected = state.legs_completed + 1
    if command.leg != expected:
        raise RefusalError(
            "the next handover is for leg %(expected)s, not leg %(leg)s",
            expected=expected,
            leg=command.leg,
        )
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
        details.HandoverOffered(
            leg=command.leg, receiving_agency=leg.receiving_agency, deadline=deadline
        ),
    )


def _refuse_if_decided(state: OperationState, leg_number: int) -> None:
    """Refuse when the latest offer of this leg was already acknowledged or refused."""
    offer = state.handover_offer
    if offer is not None and offer.leg == leg_number:
        return
    record = next((r for r in reversed(state.handovers) if r.leg == leg_number), None)
    if record is None or record.outcome is HandoverOutcome.WITHDRAWN:
        return
    event = next(
        (
            e
            for e in reversed(state.timeline)
            if e.kind == DECIDED_BY[record.outcome]
            and isinstance(e.detail, details.HandoverAcknowledged | details.HandoverRefused)
            and e.detail.leg == leg_number
            and e.at == record.decided_at
        ),
        None,
    )
    at = utc_text(record.decided_at)
    acknowledged = record.outcome is HandoverOutcome.ACKNOWLEDGED
    if event is None:
        agency = leg_at(state.plan, leg_number).receiving_agency
        if acknowledged:
            raise RefusalError(
                "the handover of leg %(leg)s was already acknowledged by %(agency)s at %(at)s",
                leg=leg_number,
                agency=agency,
                at=at,
            )
        raise RefusalError(
            "the handover of leg %(leg)s was already refused by %(agency)s at %(at)s; "
            "no new offer has been made since",
            leg=leg_number,
            agency=agency,
            at=at,
        )
    agency, officer = event.actor.agency, event.actor.officer
    if acknowledged:
        raise RefusalError(
            "the handover of leg %(leg)s was already acknowledged by %(agency)s (%(officer)s) "
            "at %(at)s",
            leg=leg_number,
            agency=agency,
            officer=officer,
            at=at,
        )
    raise RefusalError(
        "the handover of leg %(leg)s was already refused by %(agency)s (%(officer)s) at %(at)s; "
        "no new offer has been made since",
        leg=leg_number,
        agency=agency,
        officer=officer,
        at=at,
    )


def by_receiving_agency(
    state: OperationState, command: AcknowledgeHandoverInput | RefuseHandoverInput
) -> None:
    """The receiving agency of the command's leg: only it acknowledges or refuses that handover."""
    by_participant(state, command)
    leg = leg_at(state.plan, command.leg)
    if command.actor.agency != leg.receiving_agency:
        raise RoleRefusalError(
            "the handover of leg %(leg)s is addressed to %(receiving_agency)s, not %(agency)s",
            leg=command.leg,
            receiving_agency=leg.receiving_agency,
            agency=command.actor.agency,
            required=f"receiving agency of leg {command.leg}",
        )


def _open_offer_of(state: OperationState, leg_number: int) -> Leg:
    leg = leg_at(state.plan, leg_number)
    _refuse_if_decided(state, leg_number)
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
        details.HandoverAcknowledged(
            leg=command.leg,
            custodian=leg.receiving_agency,
            latency_seconds=(now - offer.offered_at).total_seconds(),
            late_seconds=max(late.total_seconds(), 0.0),
            escalation_steps=offer.escalation_step,
        ),
    )


def refuse_handover(state: OperationState, command: RefuseHandoverInput, now: datetime) -> Happened:
    leg = _open_offer_of(state, command.leg)
    close_offer(state, outcome=HandoverOutcome.REFUSED, now=now, reasons=command.reasons)
    return Happened(
        EventKind.HANDOVER_REFUSED,
        f"{leg.receiving_agency} refused the handover of leg {command.leg}: {command.reasons}; "
        f"{state.custodian} keeps custody",
        details.HandoverRefused(leg=command.leg, reasons=command.reasons),
    )
