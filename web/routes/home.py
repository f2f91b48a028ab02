"""The console's home page and the viewer's preferences (language, time zone)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api.deps import ReadModelDep, SettingsDep
from i18n import Language
from store.console import get_credentials, set_preferences
from web.deps import CsrfSignedIn, SignedInDep
from web.errors import ConsoleError
from web.language import N_, zone_names
from web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, viewer: SignedInDep, settings: SettingsDep) -> Response:
    idle_minutes = max(1, round(settings.console_idle_timeout_seconds / 60))
    return render(request, "home.html", view=viewer.view, context={"idle_minutes": idle_minutes})


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
