"""Planning and the legal gate: authorisations, confirmations, launch, participants."""

from __future__ import annotations

from datetime import datetime

from workflows import details
from workflows.commands import (
    Actor,
    ConfirmParticipationInput,
    LaunchOperationInput,
    RecordAuthorisationInput,
    RemoveParticipantInput,
    fields_of,
)
from workflows.events import EventKind
from workflows.plan import AuthorisationGranted, AuthorisationRefused, DeliveryType
from workflows.reasons import Reason, because
from workflows.rules.base import Happened, RefusalError, utc_text
from workflows.state import OperationState, Phase, RuleChange


def launch_blockers(state: OperationState, *, now: datetime) -> list[Reason]:
    """What still keeps the operation from launching: the legal gate and the confirmations."""
    plan = state.plan
    substituted = plan.consignment.delivery_type is not DeliveryType.INTACT
    blockers: list[Reason] = []
    for country in dict.fromkeys(plan.route_countries):
        authorisation = state.authorisations.get(country)
        if authorisation is None:
            blockers.append(because("no authorisation recorded for %(country)s", country=country))
        elif isinstance(authorisation, AuthorisationRefused):
            blockers.append(
                because(
                    "%(country)s refused authorisation: %(reasons)s",
                    country=country,
                    reasons=authorisation.reasons,
                )
            )
        elif authorisation.granted_at > now:
            blockers.append(
                because(
                    "%(country)s authorisation takes effect only at %(at)s",
                    country=country,
                    at=authorisation.granted_at.isoformat(),
                )
            )
        elif authorisation.valid_until <= now:
            blockers.append(
                because(
                    "%(country)s authorisation expired at %(at)s",
                    country=country,
                    at=authorisation.valid_until.isoformat(),
                )
            )
        elif substituted and not authorisation.substitution_allowed:
            blockers.append(
                because(
                    "%(country)s does not allow substitution, but the consignment is %(delivery)s",
                    country=country,
                    delivery=plan.consignment.delivery_type.value.replace("_", " "),
                )
            )
    consignment = plan.consignment
    if (
        consignment.delivery_type is DeliveryType.PARTIALLY_SUBSTITUTED
        and consignment.left_in is None
        and RuleChange.LEFT_IN_REQUIRED in state.rule_changes
    ):
        blockers.append(
            because(
                "the consignment is partially substituted but the plan does not say what is "
                "left in (consignment.left_in)"
            )
        )
    unconfirmed = [p.agency for p in plan.participants if p.agency not in state.confirmations]
    if unconfirmed:
        blockers.append(
            because(
                "awaiting confirmation of participation from %(agencies)s",
                agencies=tuple(unconfirmed),
            )
        )
    return blockers


def _require_participant_country(state: OperationState, actor: Actor, country: str) -> None:
    participant = state.plan.participant(actor.agency)
    assert participant is not None
    if participant.country != country:
        raise RefusalError(
            "%(agency)s is an agency of %(country)s and records only %(country)s's "
            "authorisation, not %(other_country)s's",
            agency=actor.agency,
            country=participant.country,
            other_country=country,
        )


def record_authorisation(
    state: OperationState, command: RecordAuthorisationInput, now: datetime
) -> Happened:
    authorisation = command.authorisation
    country = authorisation.country
    if country not in state.plan.route_countries:
        raise RefusalError(
            "%(country)s is not on the route (%(route)s)",
            country=country,
            route=tuple(state.plan.route_countries),
        )
    _require_participant_country(state, command.actor, country)
    state.authorisations[country] = authorisation
    if isinstance(authorisation, AuthorisationGranted):
        summary = (
            f"{country} authorisation granted by {authorisation.authority} "
            f"(ref. {authorisation.reference}), valid until {utc_text(authorisation.valid_until)}"
        )
        granted = details.AuthorisationGranted(
            **fields_of(authorisation, details.AuthorisationGranted)
        )
        return Happened(EventKind.AUTHORISATION_GRANTED, summary, granted)
    summary = (
        f"{country} authorisation refused by {authorisation.authority}: {authorisation.reasons}"
    )
    refused = details.AuthorisationRefused(
        country=country, authority=authorisation.authority, reasons=authorisation.reasons
    )
    return Happened(EventKind.AUTHORISATION_REFUSED, summary, refused)


def confirm_participation(
    state: OperationState, command: ConfirmParticipationInput, now: datetime
) -> Happened:
    agency = command.actor.agency
    if agency in state.confirmations:
        confirmed = utc_text(state.confirmations[agency])
        raise RefusalError(
            "%(agency)s already confirmed its participation at %(at)s", agency=agency, at=confirmed
        )
    state.confirmations[agency] = now
    return Happened(
        EventKind.PARTICIPATION_CONFIRMED, f"{agency} confirmed participation", details.Nothing()
    )


def launch(state: OperationState, command: LaunchOperationInput, now: datetime) -> Happened:
    blockers = launch_blockers(state, now=now)
    if blockers:
        raise RefusalError(
            "the operation cannot be launched: %(blockers)s", blockers=tuple(blockers)
        )
    first = state.plan.legs[0]
    state.phase = Phase.EXECUTION
    state.launched_at = now
    state.custodian = first.sending_agency
    state.custody_since = now
    state.checkpoint_clock = now
    return Happened(
        EventKind.OPERATION_LAUNCHED,
        f"Operation launched; {first.sending_agency} holds custody",
        details.Custody(custodian=first.sending_agency),
    )


def remove_participant(
    state: OperationState, command: RemoveParticipantInput, now: datetime
) -> Happened:
    plan = state.plan
    agency = command.agency
    if plan.participant(agency) is None:
        raise RefusalError("%(agency)s is not a participant", agency=agency)
    legs = [
        str(number)
        for number, leg in enumerate(plan.legs, start=1)
        if agency in (leg.sending_agency, leg.receiving_agency)
    ]
    if legs:
        raise RefusalError(
            "%(agency)s sends or receives leg %(leg)s and stays on the route",
            agency=agency,
            leg=tuple(legs),
        )
    if agency == plan.lead_agency:
        raise RefusalError("%(agency)s is the lead agency", agency=agency)
    remaining = [p for p in plan.participants if p.agency != agency]
    state.plan = plan.model_copy(update={"participants": remaining})
    state.confirmations.pop(agency, None)
    return Happened(
        EventKind.PARTICIPANT_REMOVED,
        f"{agency} no longer takes part: {command.reason}",
        details.ParticipantRemoved(agency=agency, reason=command.reason),
    )
