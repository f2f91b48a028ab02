"""The agencies a console page names, looked up in the directory so that the page shows each by its
name and country (as the reports and notices do), never by its id."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from api.database import ReadModel
from store.identity import agency_names
from web.templating import View
from workflows.plan import OperationPlan
from workflows.state import OperationState
from workflows.timeline import Event


async def naming(read_model: ReadModel, view: View, agency_ids: Iterable[str | None]) -> View:
    """The view, able to name these agencies too (an id the directory lacks stays an id)."""
    wanted = {agency_id for agency_id in agency_ids if agency_id} - set(view.agencies)
    if not wanted:
        return view
    return view.naming(await read_model.read(partial(agency_names, agency_ids=wanted)))


def plan_agencies(plan: OperationPlan) -> set[str]:
    named = {plan.coordinator_agency, plan.lead_agency, *(p.agency for p in plan.participants)}
    return (
        named
        | {leg.sending_agency for leg in plan.legs}
        | {leg.receiving_agency for leg in plan.legs}
    )


def operation_agencies(state: OperationState, events: Iterable[Event] = ()) -> set[str]:
    """Every agency an operation's page may show: its plan's, its custodian, its events' actors."""
    named = plan_agencies(state.plan) | {event.actor.agency for event in events}
    if state.custodian:
        named.add(state.custodian)
    return named
