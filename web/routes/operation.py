"""One operation in the console: its page (plan, route, custodian, deadlines, timeline, the
actions this person may take now), the live fragment and stream that keep it current, the
action pages a notification link opens, the launch page, and the forms' one way to act.

Every read goes through `web.deps.operation_page` (need-to-know, justification, access log);
which actions are offered comes from `workflows.offers` (the rule table); taking one goes
through `api.actions`, as the API's routes do.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import ValidationError
from starlette.responses import Response, StreamingResponse

from api.actions import command_of, require_acting_role, take_action
from api.deps import LiveStatesDep, ReadModelDep, SettingsDep, TemporalDep, WorkersDep
from api.problems import ProblemError
from api.schemas.operations import ACTIONS
from api.visibility import visible_operation
from store.live import last_seqs
from store.timeline import timeline_page
from web import labels
from web.agencies import naming, operation_agencies, plan_agencies
from web.deps import CsrfSignedIn, OpenedOperation, OperationIdPath, operation_page
from web.forms import country_names, field_errors, fields_of, form_fields, route_country_names
from web.live import ChangeFeed
from web.refusals import Refusal, reason_text, refusal_of
from web.templating import render
from web.timeline import event_line, named_in
from workflows.offers import offered_actions
from workflows.rules import launch_blockers
from workflows.state import OperationState, Phase

router = APIRouter(include_in_schema=False)

PAGE_SIZE: Final = 25
KEEPALIVE_SECONDS: Final = 15.0
ACTION_KINDS: Final = "|".join(sorted(ACTIONS))
ActionKind = Annotated[str, PathParam(pattern=f"^({ACTION_KINDS})$")]

# The page each action's form lives on; the rest are forms of the operation page itself.
ACTION_PAGES: Final[dict[str, str]] = {
    "record_authorisation": "authorisation",
    "confirm_participation": "participation",
    "acknowledge_handover": "handover",
    "refuse_handover": "handover",
    "offer_handover": "handover",
    "report_checkpoint": "checkpoint",
    "launch_operation": "launch",
}

# The authorisation form: the two decisions' fields (name, input, and when it is required:
# "always", for a "granted" or a "refused" decision only, or "never"), as workflows.plan's
# AuthorisationGranted and AuthorisationRefused require them.
AUTHORISATION_FIELDS: Final = (
    ("authorisation.decision", "select", "always"),
    ("authorisation.authority", "text", "always"),
    ("authorisation.reference", "text", "granted"),
    ("authorisation.legal_basis", "text", "granted"),
    ("authorisation.granted_at", "datetime-local", "granted"),
    ("authorisation.valid_until", "datetime-local", "granted"),
    ("authorisation.conditions", "textarea", "never"),
    ("authorisation.substitution_allowed", "checkbox", "never"),
    ("authorisation.reasons", "textarea", "refused"),
)


async def _state(states: LiveStatesDep, operation_id: str) -> OperationState:
    return await states.read(operation_id, arrived_at=time.monotonic())


def _page_context(
    opened: OpenedOperation, state: OperationState, *, before: int | None, events: list[Any]
) -> dict[str, Any]:
    now = datetime.now(UTC)
    actions = offered_actions(state, actor=opened.viewer.principal.actor(), now=now)
    own = state.plan.participant(opened.viewer.principal.agency)
    return {
        "labels": labels,
        "event_line": event_line,
        "forms": {action.kind: fields_of(ACTIONS[action.kind]) for action in actions},
        "countries": country_names(opened.viewer.view.language.value),
        # The route's countries first in every country list, the viewer's own chosen for them.
        "route_countries": route_country_names(
            state.plan.route_countries, opened.viewer.view.language
        ),
        "own_country": own.country if own is not None else None,
        "action_pages": ACTION_PAGES,
        "authorisation_fields": AUTHORISATION_FIELDS,
        "posted": None,
        "operation": opened.row,
        "state": state,
        "plan": state.plan,
        "actions": actions,
        "action_kinds": {action.kind for action in actions},
        "blockers": launch_blockers(state, now=now) if state.phase is Phase.PLANNING else [],
        "reason_text": reason_text,
        "events": events,
        "more_before": events[-1].seq if len(events) == PAGE_SIZE and events[-1].seq > 1 else None,
        "now": now,
    }


async def _events(read_model: ReadModelDep, operation_id: str, before: int | None) -> list[Any]:
    return await read_model.read(
        partial(timeline_page, operation_id=operation_id, before_seq=before, limit=PAGE_SIZE)
    )


OperationView = Annotated[OpenedOperation, Depends(operation_page("console.operation.read"))]
LiveView = Annotated[OpenedOperation, Depends(operation_page("console.operation.live"))]


@router.get("/o/{operation_id}")
async def operation(
    request: Request,
    opened: OperationView,
    read_model: ReadModelDep,
    states: LiveStatesDep,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    return await _rendered(
        request, "operation.html", opened, read_model=read_model, states=states, before=before
    )


@router.get("/o/{operation_id}/live")
async def live_fragment(
    request: Request,
    opened: LiveView,
    read_model: ReadModelDep,
    states: LiveStatesDep,
) -> Response:
    """What the page shows of the operation's present, for htmx to swap in on a change."""
    return await _rendered(
        request, "operation_live.html", opened, read_model=read_model, states=states, before=None
    )


async def _rendered(
    request: Request,
    template: str,
    opened: OpenedOperation,
    *,
    read_model: ReadModelDep,
    states: LiveStatesDep,
    before: int | None,
) -> Response:
    """The operation's page (or its live part): its state, a page of its timeline from `before`
    (the newest if None), and the agencies both name."""
    state = await _state(states, opened.row.id)
    events = await _events(read_model, opened.row.id, before)
    context = _page_context(opened, state, before=before, events=events)
    named = operation_agencies(state, events) | named_in(events)
    view = await naming(read_model, opened.viewer.view, named)
    return render(request, template, view=view, context=context)


async def _change_feed(request: Request, settings: SettingsDep) -> ChangeFeed:
    feed = getattr(request.app.state, "change_feed", None)
    if feed is None:
        feed = request.app.state.change_feed = ChangeFeed(settings.read_model_url)
    return feed


StreamView = Annotated[OpenedOperation, Depends(operation_page("console.operation.stream"))]


@router.get("/o/{operation_id}/events")
async def live_events(
    request: Request,
    opened: StreamView,
    read_model: ReadModelDep,
    feed: Annotated[ChangeFeed, Depends(_change_feed)],
) -> Response:
    """Server-sent events: `changed` whenever the operation's timeline grows. Visibility is
    checked again before every event; once the viewer may no longer see it, the stream ends."""
    principal = opened.viewer.principal
    operation_id = opened.row.id

    async def stream() -> AsyncIterator[str]:
        seen = opened.row.last_seq
        quiet_since = time.monotonic()
        yield "retry: 1000\n\n"
        while not await request.is_disconnected():
            await feed.wait(operation_id)
            row = await read_model.read(
                partial(visible_operation, principal=principal, operation_id=operation_id)
            )
            if row is None:
                return
            current = (await read_model.read(partial(last_seqs, operation_ids=[operation_id])))[
                operation_id
            ]
            if current != seen:
                seen = current
                quiet_since = time.monotonic()
                yield f"event: changed\ndata: {current}\n\n"
            elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                quiet_since = time.monotonic()
                yield ": still here\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


ActionPageView = Annotated[OpenedOperation, Depends(operation_page("console.operation.action"))]


async def _action_page(
    request: Request,
    opened: OpenedOperation,
    state: OperationState,
    read_model: ReadModelDep,
    *,
    page: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: Refusal | None = None,
    status_code: int = 200,
    posted: str | None = None,
) -> Response:
    context = _page_context(opened, state, before=None, events=[])
    offer = state.handover_offer
    context |= {
        "posted": posted,
        "page": page,
        "values": values or {},
        "errors": errors or {},
        "refusal": refusal,
        "offer": offer,
        "offer_leg": state.plan.legs[offer.leg - 1] if offer is not None else None,
        "next_leg": state.legs_completed + 1
        if state.legs_completed < len(state.plan.legs)
        else None,
        "participant": state.plan.participant(opened.viewer.principal.agency),
    }
    named = operation_agencies(state) | (refusal.agencies if refusal else set())
    view = await naming(read_model, opened.viewer.view, named)
    return render(request, "action.html", view=view, context=context, status_code=status_code)


def _action_page_route(page: str) -> None:
    async def show(
        request: Request,
        opened: ActionPageView,
        read_model: ReadModelDep,
        states: LiveStatesDep,
    ) -> Response:
        state = await _state(states, opened.row.id)
        return await _action_page(request, opened, state, read_model, page=page)

    show.__name__ = f"{page}_page"
    router.add_api_route(f"/o/{{operation_id}}/{page}", show, methods=["GET"])


for _page in sorted(set(ACTION_PAGES.values())):
    _action_page_route(_page)


@router.post("/o/{operation_id}/act/{kind}")
async def act(
    request: Request,
    operation_id: OperationIdPath,
    kind: ActionKind,
    viewer: CsrfSignedIn,
    read_model: ReadModelDep,
    states: LiveStatesDep,
    client: TemporalDep,
    workers: WorkersDep,
    settings: SettingsDep,
) -> Response:
    """Every action form posts here. Invalid input: the page again with each message at its
    field and what was typed kept; refused: the lifecycle's reason beside the form."""
    opened = await operation_page(f"operation.action.{kind}")(
        operation_id, request, viewer, read_model
    )
    form = await request.form()
    typed = {key: value for key, value in form.items() if isinstance(value, str)}
    page = ACTION_PAGES.get(kind, "")
    await require_acting_role(
        read_model, principal=viewer.principal, kind=kind, operation_id=operation_id
    )
    try:
        command = command_of(
            kind,
            form_fields(typed, zone=viewer.visit.clock.zone),
            principal=viewer.principal,
            request_id=uuid.uuid4().hex,
            justification=opened.justification,
        )
    except ValidationError as invalid:
        state = await _state(states, operation_id)
        return await _action_page(
            request,
            opened,
            state,
            read_model,
            page=page or "operation",
            values=typed,
            errors=field_errors(invalid, view=viewer.view),
            status_code=422,
            posted=kind,
        )
    try:
        result = await take_action(
            command,
            operation_id=operation_id,
            principal=viewer.principal,
            read_model=read_model,
            client=client,
            workers=workers,
            settings=settings,
        )
    except ProblemError as refused:
        return await _refused(request, opened, read_model, states, typed, kind, refused)
    except HTTPException as refused:
        if refused.status_code != 409:
            raise
        return await _refused(request, opened, read_model, states, typed, kind, refused)
    plan = (await _state(states, operation_id)).plan
    context = {
        "labels": labels,
        "operation": opened.row,
        "result": result,
        "kind": kind,
        "event_line": event_line,
        "plan": plan,
    }
    named = named_in([result.event]) | {result.event.actor.agency, result.custodian or ""}
    named |= plan_agencies(plan)
    view = await naming(read_model, viewer.view, named)
    return render(request, "action_done.html", view=view, context=context)


async def _refused(
    request: Request,
    opened: OpenedOperation,
    read_model: ReadModelDep,
    states: LiveStatesDep,
    typed: dict[str, str],
    kind: str,
    refused: ProblemError | HTTPException,
) -> Response:
    """The page of the form again, the lifecycle's reason beside it, what was typed kept."""
    state = await _state(states, opened.row.id)
    refusal = (
        refusal_of(refused.problem)
        if isinstance(refused, ProblemError)
        else Refusal(reason=str(refused.detail))
    )
    return await _action_page(
        request,
        opened,
        state,
        read_model,
        page=ACTION_PAGES.get(kind, "operation"),
        values=typed,
        refusal=refusal,
        posted=kind,
        # No worker to take it now: 503 (the API's Retry-After with it), else the rules' 409.
        status_code=503
        if isinstance(refused, ProblemError) and refused.problem.status == 503
        else 409,
    )
