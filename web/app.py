"""The whole app: the HTTP API (api/app.py) with the web console and the offline API docs on it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import httpx
from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace import TracerProvider
from starlette.responses import RedirectResponse, Response
from temporalio.client import Client

from api import app as api_app
from api.problems import internal_error, problem_response
from cdtrack.settings import TEMPORAL_UI_PATH, Settings
from web import docs
from web.deps import anonymous_view
from web.errors import ConsoleError, JustificationRequired, SignInRequired
from web.language import N_
from web.routes import ROUTERS, temporal_codec, temporal_ui
from web.security import CONSOLE_POLICY, EVERY_ANSWER, SecurityHeaders
from web.templating import render

STATIC: Final = Path(__file__).parent / "static"


def create_app(
    settings: Settings,
    *,
    temporal_client: Client | None = None,
    tracing: TracerProvider | None = None,
    temporal_ui_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The API with the console's pages on it, in one process; `temporal_ui_transport` lets
    tests stand in for the embedded Temporal UI."""
    app = api_app.create_app(settings, temporal_client=temporal_client, tracing=tracing)
    install_console(app, settings, temporal_ui_transport=temporal_ui_transport)
    return app


# A console page that failed on our side: said in the reader's language, with the occurrence
# to quote (the log has the trace under it).
FAILED: Final = N_(
    "Something went wrong on our side and the page cannot be shown; the failure has been logged."
)
FAILURE_PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONSOLE_POLICY,
    **EVERY_ANSWER,
    "Cache-Control": "no-store",
}


def _asked_by_a_browser(request: Request) -> bool:
    """A person's page or form (a console path, HTML accepted or htmx asking), not an API call."""
    if request.url.path.startswith(api_app.API_PREFIX):
        return False
    return "text/html" in request.headers.get("accept", "") or "HX-Request" in request.headers


def _error_page(
    request: Request,
    status: int,
    message: str,
    *,
    occurrence: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """error.html in the viewer's language: `message` a catalogue id, `occurrence` to quote."""
    view = getattr(request.state, "view", None) or anonymous_view(request)
    context: dict[str, object] = {"message": message, "status": status}
    if occurrence is not None:
        context["occurrence"] = occurrence
    return render(
        request, "error.html", view=view, status_code=status, context=context, headers=headers
    )


def _redirect(request: Request, location: str) -> Response:
    if request.headers.get("HX-Request") == "true":
        # htmx follows this with a full page load, not a swap of a fragment.
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def install_console(
    app: FastAPI,
    settings: Settings,
    *,
    temporal_ui_transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Mount the console's pages, assets and headers on an app built by `api.app.create_app`,
    and the embedded stack's Temporal UI and its codec when the settings name one."""
    app.add_middleware(SecurityHeaders)
    app.mount("/static/docs/bundles", StaticFiles(directory=docs.BUNDLES), name="docs-bundles")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(docs.router)
    for router in ROUTERS:
        app.include_router(router)
    # What the navigation links to for administrators (base.html); None: no UI to link to.
    app.state.temporal_ui_path = None
    if settings.temporal_ui_url is not None:
        temporal_ui.install(app, ui_url=settings.temporal_ui_url, transport=temporal_ui_transport)
        # The UI decodes through the console, with the administrator's session.
        temporal_codec.install(app, settings)
        app.state.temporal_ui_path = TEMPORAL_UI_PATH + "/"

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, exc: SignInRequired) -> Response:
        return _redirect(request, exc.location)

    @app.exception_handler(JustificationRequired)
    async def justify_first(request: Request, exc: JustificationRequired) -> Response:
        return _redirect(request, exc.location)

    @app.exception_handler(Exception)
    async def failure(request: Request, exc: Exception) -> Response:
        # Starlette answers this outside the middleware: the page brings the console's headers.
        problem = internal_error(request, exc)
        if not _asked_by_a_browser(request):
            return problem_response(problem)
        return _error_page(
            request,
            problem.status,
            FAILED,
            occurrence=problem.instance,
            headers=FAILURE_PAGE_HEADERS,
        )

    @app.exception_handler(ConsoleError)
    async def error_page(request: Request, exc: ConsoleError) -> Response:
        return _error_page(request, exc.status_code, exc.message)
