"""Planning and the legal gate: authorisations, confirmations, launch, participants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows.commands import (
    Actor,
    ConfirmParticipationInput,
    LaunchOperationInput,
    RecordAuthorisationInput,
    RemoveParticipantInput,
)
from workflows.events import EventKind
from workflows.plan import AuthorisationGranted, AuthorisationRefused, DeliveryType
from workflows.rules.base import Happened, RefusalError, utc_text
from workflows.state import OperationState, Phase


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


def _require_participant_country(state: OperationState, actor: Actor, country: str) -> None:
    participant = state.plan.participant(actor.agency)
    assert participant is not None
    if participant.country != country:
        raise RefusalError(
            f"{actor.agency} is an agency of {participant.country} and records only "
            f"{participant.country}'s authorisation, not {country}'s"
        )


def record_authorisation(
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
            f"(ref. {authorisation.reference}), valid until {utc_text(authorisation.valid_until)}"
        )
        return Happened(EventKind.AUTHORISATION_GRANTED, summary, detail)
    detail["reasons"] = authorisation.reasons
    summary = (
        f"{country} authorisation refused by {authorisation.authority}: {authorisation.reasons}"
    )
    return Happened(EventKind.AUTHORISATION_REFUSED, summary, detail)


def confirm_participation(
    state: OperationState, command: ConfirmParticipationInput, now: datetime
) -> Happened:
    agency = command.actor.agency
    if agency in state.confirmations:
        confirmed = utc_text(state.confirmations[agency])
        raise RefusalError(f"{agency} already confirmed its participation at {confirmed}")
    state.confirmations[agency] = now
    return Happened(EventKind.PARTICIPATION_CONFIRMED, f"{agency} confirmed participation", {})


def launch(state: OperationState, command: LaunchOperationInput, now: datetime) -> Happened:
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
        EventKind.OPERATION_LAUNCHED,
        f"Operation launched; {first.sending_agency} holds custody",
        {"custodian": first.sending_agency},
    )


def remove_participant(
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
        EventKind.PARTICIPANT_REMOVED,
        f"{agency} no longer takes part: {command.reason}",
        {"agency": agency, "reason": command.reason},
    )
