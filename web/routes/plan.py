"""The coordinator's planning form: `/plan` shows it, and posting it either adds or removes a row
(a substance, a leg, a participant; with or without JavaScript) or creates the operation through
`api.planning`, exactly as `POST /api/v1/operations` does, and lands on its launch page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import ReadModelDep, SettingsDep, TemporalDep, WorkersDep
from api.planning import create_from_plan
from api.principal import Role
from api.problems import ProblemError
from api.schemas.operations import OperationCreate
from store.identity import list_agencies
from web.deps import CsrfSignedIn, SignedIn, console_role
from web.forms import country_names, error_field, field_errors
from web.language import N_
from web.planning import (
    HANDLING_LABELS,
    LEGS,
    OPTION_LABELS,
    PARTICIPANTS,
    SUBSTANCES,
    DirectoryAgency,
    PlanForm,
    at_field,
    new_plan_form,
    plan_form,
    plan_input,
    problem_fields,
)
from web.templating import render
from workflows.plan import (
    ContingencyAction,
    DeliveryType,
    HandlingCode,
    OperationPlan,
    ParticipantRole,
    QuantityUnit,
    TransportMode,
    schedule_faults,
)

router = APIRouter(include_in_schema=False)

only_coordinators = console_role(Role.COORDINATOR)
Coordinator = Annotated[SignedIn, Depends(only_coordinators)]


async def _posting_coordinator(viewer: CsrfSignedIn) -> SignedIn:
    return await only_coordinators(viewer)


PostingCoordinator = Annotated[SignedIn, Depends(_posting_coordinator)]


def _directory(session: Session) -> list[DirectoryAgency]:
    return [DirectoryAgency(row.id, row.country, row.name) for row in list_agencies(session)]


def _labelled(options: type[StrEnum], gettext: Callable[[str], str]) -> list[tuple[str, str]]:
    return [(str(o.value), gettext(OPTION_LABELS.get(o.value, o.value))) for o in options]


def _page(
    request: Request,
    viewer: SignedIn,
    form: PlanForm,
    directory: list[DirectoryAgency],
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    gettext = viewer.view.gettext
    context: dict[str, Any] = {
        "values": form.values,
        "rows": form.rows,
        "errors": errors or {},
        "SUBSTANCES": SUBSTANCES,
        "LEGS": LEGS,
        "PARTICIPANTS": PARTICIPANTS,
        "countries": country_names(viewer.view.language.value),
        "agencies": [
            (a.id, f"{a.name} ({a.country})") for a in directory if a.id != viewer.principal.agency
        ],
        "options": {
            "handling_codes": [
                (c.value, f"{c.value}: {gettext(HANDLING_LABELS[c])}") for c in HandlingCode
            ],
            "delivery_types": _labelled(DeliveryType, gettext),
            "modes": _labelled(TransportMode, gettext),
            "units": _labelled(QuantityUnit, gettext),
            "roles": _labelled(ParticipantRole, gettext),
            "contingency_actions": _labelled(ContingencyAction, gettext),
        },
    }
    return render(request, "plan.html", view=viewer.view, context=context, status_code=status_code)


@router.get("/plan")
async def planning_form(
    request: Request, viewer: Coordinator, read_model: ReadModelDep
) -> Response:
    directory = await read_model.read(_directory)
    return _page(request, viewer, new_plan_form(), directory)


@router.post("/plan")
async def plan_operation(
    request: Request,
    viewer: PostingCoordinator,
    read_model: ReadModelDep,
    client: TemporalDep,
    workers: WorkersDep,
    settings: SettingsDep,
) -> Response:
    """A row added or removed: the form again with what was typed. Otherwise the operation is
    created and the coordinator lands on its launch page; invalid, each message at its field."""
    posted = await request.form()
    typed = {name: value for name, value in posted.items() if isinstance(value, str)}
    change = typed.get("change", "")
    form = plan_form(typed, change=change)
    directory = await read_model.read(_directory)
    if change:
        return _page(request, viewer, form, directory)
    fields = plan_input(
        form,
        zone=viewer.visit.clock.zone,
        coordinator_agency=viewer.principal.agency,
        directory=directory,
    )
    try:
        plan = OperationCreate.model_validate(fields)
    except ValidationError as invalid:
        errors = at_field(field_errors(invalid, view=viewer.view))
        return _page(request, viewer, form, directory, errors=errors, status_code=422)
    try:
        created = await create_from_plan(
            plan,
            principal=viewer.principal,
            read_model=read_model,
            client=client,
            workers=workers,
            settings=settings,
        )
    except ProblemError as refused:
        if refused.problem.status != 422:
            raise
        errors = problem_fields(refused.problem.errors or []) | _past_departures(plan, viewer)
        if not errors and refused.problem.detail:
            errors = {"form": refused.problem.detail}
        return _page(request, viewer, form, directory, errors=errors, status_code=422)
    launch = f"/o/{created.operation_id}/launch?reason=planning"
    return RedirectResponse(launch, status_code=303)


def _past_departures(plan: OperationPlan, viewer: SignedIn) -> dict[str, str]:
    """The API's refusal of departures already past (`workflows.plan.schedule_faults`), each at
    its field in the viewer's words and zone."""
    view = viewer.view
    return {
        error_field(fault.location): view.gettext(PAST_DEPARTURE)
        % {"moment": view.clock.when(plan.legs[int(fault.location[1])].planned_departure)}
        for fault in schedule_faults(plan, now=datetime.now(UTC))
    }


PAST_DEPARTURE: Final = N_("This departure (%(moment)s) is already in the past.")
