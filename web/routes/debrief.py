"""The debrief of an operation: agencies' inputs, the coordinator's deadline, recommendations
and close; the outcome assessment with its versions; the debrief report as PDF or HTML.

Reads and writes are the API's own (`api.routes.debrief`, `api.actions`); the forms offered are
those the rule table would accept from this person now (`workflows.offers`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response
from temporalio.client import Client

from activities.report import labels
from activities.report.render import Formats, named_agencies
from api.actions import command_of, require_acting_role, take_action
from api.database import ReadModel
from api.deps import (
    DocumentsDep,
    LiveStatesDep,
    ReadModelDep,
    SettingsDep,
    TemporalDep,
    WorkersDep,
)
from api.live_state import LiveStates
from api.problems import ProblemError
from api.routes.debrief import assessment_read, disclosed_report
from api.schemas.debrief import AssessmentRead
from api.workers import WorkerPresence
from cdtrack.settings import Settings
from i18n import Language
from store.models import OperationRow
from web.agencies import naming, operation_agencies
from web.deps import (
    CsrfSignedIn,
    OpenedOperation,
    OperationIdPath,
    SignedIn,
    SignedInDep,
    operation_page,
    visible_operation_for,
)
from web.errors import ConsoleError, JustificationRequired
from web.forms import route_country_names
from web.language import N_
from web.refusals import Refusal, refusal_of
from web.templating import View, render
from workflows.events import EventKind
from workflows.offers import offered_actions
from workflows.plan import QuantityUnit
from workflows.state import OperationState, Phase

router = APIRouter(include_in_schema=False)

DEBRIEF_ACTIONS: Final = (
    "submit_debrief",
    "extend_debrief_deadline",
    "add_recommendation",
    "close_debrief",
)
Version = Annotated[int | None, Query(ge=1, le=100_000)]
# What a version of the assessment was written after (`workflows.assessment.assessment_reason`).
VERSION_REASONS: Final = {
    f"after {EventKind.DEBRIEF_CLOSED}": N_("after the debrief was closed"),
    f"after {EventKind.DEBRIEF_DEADLINE_PASSED}": N_("after the debrief deadline passed"),
    f"after {EventKind.DEBRIEF_INPUT_SUBMITTED}": N_("after a debrief input"),
    f"after {EventKind.DEBRIEF_RECOMMENDATION_ADDED}": N_("after a recommendation"),
    f"after {EventKind.SEIZURE_RECORDED}": N_("after a seizure was recorded"),
    f"after {EventKind.ARREST_RECORDED}": N_("after an arrest was recorded"),
}


async def live_state(states: LiveStatesDep, operation_id: str) -> OperationState:
    return await states.read(operation_id, arrived_at=time.monotonic())


def debrief_context(
    opened: OpenedOperation, state: OperationState, *, now: datetime
) -> dict[str, Any]:
    actor = opened.viewer.principal.actor()
    offered = {
        action.kind
        for action in offered_actions(state, actor=actor, now=now)
        if action.kind in DEBRIEF_ACTIONS
    }
    debrief = state.debrief
    inputs = debrief.inputs if debrief else {}
    own = state.plan.participant(opened.viewer.principal.agency)
    participants = [
        {
            "agency": participant.agency,
            "country": participant.country,
            "input": inputs.get(participant.agency),
        }
        for participant in state.plan.participants
    ]
    return {
        "operation": opened.row,
        "state": state,
        "debrief": debrief,
        "participants": participants,
        "offered": offered,
        "own_input": inputs.get(opened.viewer.principal.agency),
        "owners": [state.plan.coordinator_agency, *(p.agency for p in state.plan.participants)],
        "units": [unit.value for unit in QuantityUnit],
        # A seizure of the operation is made on its route: its countries, by name.
        "route_countries": route_country_names(
            state.plan.route_countries, opened.viewer.view.language
        ),
        "own_country": own.country if own is not None else None,
        "fmt": Formats(opened.viewer.view.language),
        "labels": labels,
    }


def debrief_agencies(state: OperationState) -> set[str]:
    """The operation's agencies and the owners of its recommendations."""
    owners = {r.owner for r in state.debrief.recommendations} if state.debrief else set()
    return operation_agencies(state) | owners


@router.get("/o/{operation_id}/debrief")
async def debrief_page(
    request: Request,
    opened: Annotated[OpenedOperation, Depends(operation_page("console_debrief"))],
    read_model: ReadModelDep,
    states: LiveStatesDep,
) -> Response:
    state = await live_state(states, opened.row.id)
    context = debrief_context(opened, state, now=datetime.now(UTC))
    done = DONE.get(request.query_params.get("done") or "")
    context.update(errors={}, typed={}, refusal=None, done=done)
    view = await naming(read_model, opened.viewer.view, debrief_agencies(state))
    return render(request, "debrief.html", view=view, context=context)


async def _assessment_or_none(read_model: Any, operation_id: str, version: int | None) -> Any:
    try:
        return await assessment_read(read_model, operation_id=operation_id, version=version)
    except HTTPException as missing:
        if version is not None:
            raise ConsoleError(404, N_("The outcome assessment has no such version.")) from missing
        return None


@router.get("/o/{operation_id}/report")
async def assessment_page(
    request: Request,
    opened: Annotated[OpenedOperation, Depends(operation_page("console_assessment"))],
    read_model: ReadModelDep,
    version: Version = None,
) -> Response:
    found: AssessmentRead | None = await _assessment_or_none(read_model, opened.row.id, version)
    named = named_agencies(found.assessment) if found else set()
    view = await naming(read_model, opened.viewer.view, named)
    context = {
        "operation": opened.row,
        "found": found,
        "a": found.assessment if found else None,
        "fmt": Formats(view.language, view.agencies),
        "labels": labels,
        "debrief_open": opened.row.phase == Phase.DEBRIEF.value,
        "reasons": VERSION_REASONS,
        "fallback_reason": N_("after a change the assessment depends on"),
    }
    return render(request, "assessment.html", view=view, context=context)


@router.get("/o/{operation_id}/report/document")
async def report_download(
    request: Request,
    operation_id: OperationIdPath,
    viewer: SignedInDep,
    read_model: ReadModelDep,
    documents: DocumentsDep,
    lang: Language = Language.ENGLISH,
    format: Literal["pdf", "html"] = "pdf",
    version: Version = None,
) -> Response:
    """A document leaving the system: logged as a disclosure to the viewer's agency."""
    row = await visible_operation_for(
        read_model, viewer=viewer, operation_id=operation_id, action="console_report"
    )
    justification = viewer.justification_for(row.id)
    if justification is None:
        raise JustificationRequired(
            row.id, next_path=f"/o/{row.id}/report", reason=request.query_params.get("reason")
        )
    try:
        document = await disclosed_report(
            read_model,
            documents,
            principal=viewer.principal,
            operation_id=row.id,
            justification=justification,
            action="console_report",
            version=version,
            lang=lang,
            format=format,
        )
    except HTTPException as missing:
        raise ConsoleError(404, N_("No outcome assessment of this operation yet.")) from missing
    # A PDF downloads; the HTML opens in the browser (its own policy: see web/security.py).
    disposition = "attachment" if format == "pdf" else "inline"
    return Response(
        content=document.body,
        media_type=document.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{document.filename}"'},
    )


# --- the debrief's forms ----------------------------------------------------------------------

DONE: Final = {
    "input": N_("Your agency's debrief input is recorded."),
    "deadline": N_("The deadline is extended."),
    "recommendation": N_("The recommendation is added."),
    "closed": N_("The debrief is closed."),
}
# Each field's message, in the viewer's language, when the value given does not fit.
FIELD_MESSAGES: Final = {
    "problems": N_("Give at most 50 entries, each of at most 2,000 characters."),
    "lessons": N_("Give at most 50 entries, each of at most 2,000 characters."),
    "proposals": N_("Give at most 50 entries, each of at most 2,000 characters."),
    "seizure_substance": N_("Name the substance seized."),
    "seizure_quantity": N_("Give the quantity as a number above zero, e.g. 12.5."),
    "seizure_unit": N_("Choose one of the units offered."),
    "seizure_place": N_("Name the place of the seizure."),
    "seizure_country": N_("Choose the country of the seizure."),
    "deadline": N_("Give a date and time."),
    "text": N_("Write the recommendation (at most 2,000 characters)."),
    "owner": N_("Choose one of the agencies offered."),
    "due": N_("Give a date and time."),
}
SEIZURE_FIELDS: Final = ("substance", "quantity", "unit", "place", "country")


def _form_field(location: tuple[int | str, ...]) -> str:
    """The form field a pydantic error location points at."""
    if location[:1] == ("seizures",):
        named = [part for part in location if isinstance(part, str) and part in SEIZURE_FIELDS]
        return f"seizure_{named[0]}" if named else "seizure_substance"
    if location[:1] == ("deadline",) or location[:1] == ("due",):
        return str(location[0])
    return str(location[0]) if location else "text"


def _errors_of(invalid: ValidationError, view: View) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in invalid.errors():
        name = _form_field(tuple(error["loc"]))
        message = FIELD_MESSAGES.get(name, N_("This value does not fit."))
        errors.setdefault(name, view.gettext(message))
    return errors


def _local_moment(text: str, zone: tzinfo) -> datetime | None:
    """A datetime-local field's value, read in the viewer's zone; None if it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class DebriefForm:
    """A posted debrief form: whose, on which operation, with the justification given."""

    request: Request
    row: OperationRow
    viewer: SignedIn
    justification: str
    typed: dict[str, str]


async def _posted(
    request: Request, operation_id: OperationIdPath, viewer: CsrfSignedIn, read_model: ReadModelDep
) -> DebriefForm:
    row = await visible_operation_for(
        read_model, viewer=viewer, operation_id=operation_id, action="console_debrief"
    )
    justification = viewer.justification_for(row.id)
    if justification is None:
        raise JustificationRequired(row.id, next_path=f"/o/{row.id}/debrief", reason=None)
    form = await request.form()
    typed = {
        key: value for key, value in form.items() if isinstance(value, str) and key != "csrf_token"
    }
    return DebriefForm(request, row, viewer, justification, typed)


PostedDep = Annotated[DebriefForm, Depends(_posted)]


def _moment_field(posted: DebriefForm, name: str) -> tuple[datetime | None, dict[str, str]]:
    """A date-and-time field of the form, read in the viewer's zone; its message if it has none."""
    view = posted.viewer.view
    moment = _local_moment(posted.typed.get(name, ""), view.clock.zone)
    return moment, {} if moment else {name: view.gettext(FIELD_MESSAGES[name])}


@dataclass(frozen=True)
class Acting:
    """What taking an action needs besides the posted form: one dependency for every form."""

    read_model: ReadModel
    client: Client
    workers: WorkerPresence
    settings: Settings
    states: LiveStates


async def _acting(
    read_model: ReadModelDep,
    client: TemporalDep,
    workers: WorkersDep,
    settings: SettingsDep,
    states: LiveStatesDep,
) -> Acting:
    return Acting(read_model, client, workers, settings, states)


ActingDep = Annotated[Acting, Depends(_acting)]


async def _act(
    posted: DebriefForm,
    kind: str,
    fields: dict[str, Any],
    *,
    done: str,
    errors: dict[str, str],
    acting: Acting,
) -> Response:
    """Take the action; on success back to the debrief page, else the page again with the
    message at its field, or the lifecycle's reason, and what was typed kept."""
    read_model, workers, settings = acting.read_model, acting.workers, acting.settings
    principal = posted.viewer.principal
    view = posted.viewer.view
    refusal: Refusal | None = None
    status = 422
    if not errors:
        await require_acting_role(
            read_model, principal=principal, kind=kind, operation_id=posted.row.id
        )
        try:
            command = command_of(
                kind,
                fields,
                principal=principal,
                request_id=uuid.uuid4().hex,
                justification=posted.justification,
            )
        except ValidationError as invalid:
            errors = _errors_of(invalid, view)
        else:
            try:
                await take_action(
                    command,
                    operation_id=posted.row.id,
                    principal=principal,
                    read_model=read_model,
                    client=acting.client,
                    workers=workers,
                    settings=settings,
                )
            except ProblemError as refused:  # another role's, the lifecycle's, no worker now
                if refused.problem.status not in (403, 409, 503):
                    raise
                refusal = refusal_of(refused.problem)
                status = 503 if refused.problem.status == 503 else 409
            except HTTPException as refused:  # the operation has ended
                if refused.status_code != 409:
                    raise
                refusal, status = Refusal(reason=str(refused.detail)), 409
            else:
                return RedirectResponse(f"/o/{posted.row.id}/debrief?done={done}", status_code=303)
    state = await live_state(acting.states, posted.row.id)
    opened = OpenedOperation(
        row=posted.row, justification=posted.justification, viewer=posted.viewer
    )
    context = debrief_context(opened, state, now=datetime.now(UTC))
    named = debrief_agencies(state) | (refusal.agencies if refusal else set())
    view = await naming(read_model, view, named)
    at_field = refusal.at_field(view) if refusal is not None else None
    if at_field is not None:  # a deadline already past, say: shown at its field
        errors, refusal = at_field, None
    context.update(errors=errors, typed=posted.typed, refusal=refusal, done=None)
    return render(posted.request, "debrief.html", view=view, status_code=status, context=context)


@router.post("/o/{operation_id}/debrief/input")
async def submit_input(posted: PostedDep, acting: ActingDep) -> Response:
    typed = posted.typed
    fields: dict[str, Any] = {
        name: _lines(typed.get(name, "")) for name in ("problems", "lessons", "proposals")
    }
    seizure = {name: typed.get(f"seizure_{name}", "").strip() for name in SEIZURE_FIELDS}
    # The unit and the country are chosen, never empty: a seizure is what is typed.
    if any(seizure[name] for name in ("substance", "quantity", "place")):
        seizure["country"] = seizure["country"].upper()
        fields["seizures"] = [seizure]
    return await _act(
        posted,
        "submit_debrief",
        fields,
        done="input",
        errors={},
        acting=acting,
    )


@router.post("/o/{operation_id}/debrief/deadline")
async def extend_deadline(posted: PostedDep, acting: ActingDep) -> Response:
    deadline, errors = _moment_field(posted, "deadline")
    return await _act(
        posted,
        "extend_debrief_deadline",
        {"deadline": deadline},
        done="deadline",
        errors=errors,
        acting=acting,
    )


@router.post("/o/{operation_id}/debrief/recommendations")
async def add_recommendation(posted: PostedDep, acting: ActingDep) -> Response:
    due, errors = _moment_field(posted, "due")
    fields = {
        "text": posted.typed.get("text", ""),
        "owner": posted.typed.get("owner", ""),
        "due": due,
    }
    return await _act(
        posted,
        "add_recommendation",
        fields,
        done="recommendation",
        errors=errors,
        acting=acting,
    )


@router.post("/o/{operation_id}/debrief/close")
async def close(posted: PostedDep, acting: ActingDep) -> Response:
    return await _act(
        posted,
        "close_debrief",
        {},
        done="closed",
        errors={},
        acting=acting,
    )
