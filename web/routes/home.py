"""The console's home page and the viewer's preferences (language, time zone)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.access import record_access
from api.deps import ReadModelDep, SettingsDep
from api.principal import Principal, Role
from api.visibility import visible_to
from i18n import Language
from store.access_log import AccessCategory
from store.console import get_credentials, set_preferences
from store.inbox import Task, inbox
from store.models import OperationRow
from web import labels
from web.agencies import naming
from web.deps import CsrfSignedIn, SignedInDep
from web.errors import ConsoleError
from web.language import N_, zone_names
from web.templating import View, render

router = APIRouter(include_in_schema=False)

# What the access log names for a person's own list of work: no operation is opened by it.
INBOX_JUSTIFICATION: Final = "The agency's own list of actions due"


# The page of each inbox task; the debrief input's page is the operation's debrief page.
TASK_PAGES: Final[dict[Task, str]] = {
    Task.AUTHORISATION: "authorisation",
    Task.PARTICIPATION: "participation",
    Task.HANDOVER: "handover",
    Task.CHECKPOINT: "checkpoint",
    Task.DEBRIEF: "debrief",
}
COORDINATED_SHOWN: Final = 200


def _task_labels(view: View) -> dict[Task, str]:
    """Each task's label in the viewer's language, translated once for the whole inbox."""
    return {task: view.gettext(labels.TASK_LABELS[task.value]) for task in Task}


def _coordinated(session: Session, *, principal: Principal) -> list[OperationRow]:
    query = (
        select(OperationRow)
        .where(visible_to(principal))
        .order_by(OperationRow.created_at.desc())
        .limit(COORDINATED_SHOWN)
    )
    return list(session.scalars(query))


@router.get("/")
async def home(
    request: Request, viewer: SignedInDep, settings: SettingsDep, read_model: ReadModelDep
) -> Response:
    """An officer's home is the agency's inbox; a coordinator's, the operations it coordinates."""
    idle_minutes = max(1, round(settings.console_idle_timeout_seconds / 60))
    principal = viewer.principal
    context: dict[str, Any] = {
        "idle_minutes": idle_minutes,
        "labels": labels,
        "task_pages": TASK_PAGES,
        "task_labels": _task_labels(viewer.view),
        "entries": [],
        "coordinated": [],
    }
    if principal.role is Role.OFFICER:
        context["entries"] = await read_model.read(partial(inbox, agency=principal.agency))
        await record_access(
            read_model,
            principal=principal,
            action="console.inbox.read",
            category=AccessCategory.CONSULTATION,
            operation_id=None,
            justification=INBOX_JUSTIFICATION,
            detail={"operation_ids": sorted({e.operation_id for e in context["entries"]})},
        )
    elif principal.role is Role.COORDINATOR:
        context["coordinated"] = await read_model.read(partial(_coordinated, principal=principal))
        await record_access(
            read_model,
            principal=principal,
            action="console.operations.list",
            category=AccessCategory.CONSULTATION,
            operation_id=None,
            justification=INBOX_JUSTIFICATION,
            detail={"returned": len(context["coordinated"])},
        )
    custodians = [op.custodian for op in context["coordinated"]]
    view = await naming(read_model, viewer.view, custodians)
    return render(request, "home.html", view=view, context=context)


@router.get("/preferences")
async def preferences_form(
    request: Request, viewer: SignedInDep, read_model: ReadModelDep
) -> Response:
    stored = await read_model.read(partial(get_credentials, user_id=viewer.principal.user_id))
    context = {
        "languages": [language.value for language in Language],
        "zones": zone_names(),
        "language": stored.language if stored else None,
        "zone": (stored.time_zone if stored else None) or "UTC",
        "saved": request.query_params.get("saved") == "1",
    }
    return render(request, "preferences.html", view=viewer.view, context=context)


@router.post("/preferences")
async def save_preferences(
    viewer: CsrfSignedIn,
    read_model: ReadModelDep,
    language: Annotated[str, Form(max_length=8)] = "",
    time_zone: Annotated[str, Form(max_length=64)] = "UTC",
) -> Response:
    if language and language not in {known.value for known in Language}:
        raise ConsoleError(422, N_("Choose one of the languages offered."))
    if time_zone not in set(zone_names()):
        raise ConsoleError(422, N_("Choose one of the time zones offered."))
    await read_model.write(
        partial(
            set_preferences,
            user_id=viewer.principal.user_id,
            language=language or None,
            time_zone=time_zone,
        )
    )
    return RedirectResponse("/preferences?saved=1", status_code=303)
