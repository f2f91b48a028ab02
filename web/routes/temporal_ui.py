"""The embedded stack's Temporal UI at /temporal/, for the console's administrators only.

The UI has no sign-in of its own and offers Terminate, Reset and Signal to whoever reaches it.
`cdtrack up` starts it on loopback under the public path /temporal (cdtrack/stack.py) and sets
`temporal_ui_url`; only then does the console include this router (`install`). Production has
no such route: the operator runs the official UI behind the organisation's sign-in.

- **Who.** A console session of an administrator, checked as every administration page checks
  it (`AdminSignedIn`): anyone else is sent to sign in and brought back, other roles get the
  403 page. The UI's own requests carry the session cookie like any page of the console; the
  cookie itself is never passed on to the UI.
- **What is forwarded.** The request, to the UI's loopback address, with the browser's headers
  and cookies but the console's; the answer is streamed back with the UI's own headers. The
  console still sets `X-Frame-Options: DENY`, `Cache-Control: no-store` and its other headers
  (web/security.py); the Content-Security-Policy is the UI's own when it sends one, else
  `ui_policy`: the UI's pages start with an inline script, allowed by its hash, not by
  `'unsafe-inline'`.
- **Cross-site requests.** The UI's state-changing calls (POST to its /api/...) come from its
  own scripts, without the console's CSRF token. The SameSite=Strict session cookie already
  keeps another site's requests out; on top, a request other than GET is forwarded only when
  its `Origin` is the console's own (`public_base_url`), else refused and logged.
- **Access log.** One consultation per page the browser loads (`temporal_ui.view`), not one per
  asset or API call a page makes: the UI is an application that loads once and then calls its
  API for every list and history it shows, so an entry per call would bury the log without
  saying more about who looked. What a page shows of the workflows is encrypted; the UI decodes
  a payload through the console's codec route (web/routes/temporal_codec.py), which logs each
  decode with its justification. Every request that may change something (Terminate, Reset,
  Signal: any method but GET) is an alteration of its own (`temporal_ui.change`, with its
  method, path and the UI's status), and a refused one is logged by its reason.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, Final

import httpx
from fastapi import APIRouter, FastAPI, Request
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse

from api.access import record_access
from api.database import ReadModel
from api.deps import ReadModelDep, SettingsDep
from cdtrack.settings import TEMPORAL_UI_PATH
from store.access_log import AccessCategory
from web.deps import COOKIE, AdminSignedIn, SignedIn
from web.errors import ConsoleError
from web.language import N_
from web.security import from_console_pages

router = APIRouter(include_in_schema=False)

# Every method the UI's pages and API calls use.
FORWARDED_METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE"]
VIEW_ACTION: Final = "temporal_ui.view"
CHANGE_ACTION: Final = "temporal_ui.change"
# Listing a namespace's workflows can take the server a while; connecting to loopback cannot.
UPSTREAM_TIMEOUT: Final = httpx.Timeout(60.0, connect=5.0)
HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# httpx writes these itself; the console's session cookie is taken out of the cookies.
NOT_FORWARDED: Final = HOP_BY_HOP | {"host", "content-length", "cookie"}
# A page's body is read whole to hash its inline scripts, so it leaves decoded.
NOT_RELAYED_WITH_PAGE: Final = HOP_BY_HOP | {"content-encoding", "content-length"}
INLINE_SCRIPT: Final = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)
# A request for one of these is a page's asset or an API call, not a page of its own.
NOT_PAGES: Final = ("_app/", "api/")
UI_SILENT: Final = N_("The Temporal UI does not answer. Is the embedded stack still running?")
FOREIGN_ORIGIN: Final = N_(
    "This request did not come from the console's own pages, so it was not passed on."
)


def ui_policy(*, inline_scripts: Iterable[bytes]) -> str:
    """The UI's Content-Security-Policy: its own scripts and those inline scripts (by hash),
    inline styles (its components set them), its API and its codec (both on the console's own
    origin: web/routes/temporal_codec.py), no framing."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in inline_scripts
    )
    return (
        f"default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    )


def install(
    app: FastAPI, *, ui_url: str, transport: httpx.AsyncBaseTransport | None = None
) -> None:
    """Serve the UI at `ui_url` through the console, with one HTTP client for the app's
    lifetime; `transport` lets tests stand in for the UI."""
    app.include_router(router)
    serving = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: Starlette) -> AsyncIterator[None]:
        # The API's lifespan keeps what it opens in app.state and yields no state of its own.
        async with httpx.AsyncClient(
            base_url=ui_url, transport=transport, timeout=UPSTREAM_TIMEOUT
        ) as client:
            app.state.temporal_ui = client
            async with serving(started):
                yield

    app.router.lifespan_context = lifespan


@router.api_route(TEMPORAL_UI_PATH + "/{path:path}", methods=FORWARDED_METHODS)
async def temporal_ui(
    path: str,
    request: Request,
    viewer: AdminSignedIn,
    read_model: ReadModelDep,
    settings: SettingsDep,
) -> Response:
    changes = request.method != "GET"
    if changes and not from_console_pages(request, settings):
        await _record(
            read_model, viewer, request, outcome="refused", reason_code="origin_not_allowed"
        )
        raise ConsoleError(403, FOREIGN_ORIGIN)
    client: httpx.AsyncClient = request.app.state.temporal_ui
    outgoing = client.build_request(
        request.method,
        _below_public_path(request),
        headers=_forwarded_headers(request),
        content=await request.body() if changes else None,
    )
    try:
        answer = await client.send(outgoing, stream=True)
    except httpx.TransportError:
        raise ConsoleError(502, UI_SILENT) from None
    if changes or _is_page(path):
        await _record(read_model, viewer, request, status=answer.status_code)
    if answer.headers.get("content-type", "").startswith("text/html"):
        return await _page(answer)
    return _streamed(answer)


def _below_public_path(request: Request) -> str:
    # The path as the browser sent it (still percent-encoded: workflow ids may hold a '/').
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    below = raw.decode("latin-1")[len(TEMPORAL_UI_PATH) :]
    query = request.url.query
    return below + (f"?{query}" if query else "")


def _forwarded_headers(request: Request) -> list[tuple[str, str]]:
    headers = [
        (name, value) for name, value in request.headers.items() if name not in NOT_FORWARDED
    ]
    # The UI's own cookies (its CSRF token) go along; the console's session never does.
    cookies = "; ".join(
        f"{name}={value}" for name, value in request.cookies.items() if name != COOKIE
    )
    if cookies:
        headers.append(("cookie", cookies))
    return headers


def _is_page(path: str) -> bool:
    """A page the browser loads (the UI's routes), not an asset, an API call or a file."""
    last = path.rsplit("/", 1)[-1]
    return not path.startswith(NOT_PAGES) and "." not in last


def _relayed_headers(
    answer: httpx.Response, *, left_out: frozenset[str]
) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower(), value)
        for name, value in answer.headers.raw
        if name.decode("latin-1").lower() not in left_out
    ]


async def _page(answer: httpx.Response) -> Response:
    """A page of the UI, read whole: the policy it is served with names its inline scripts."""
    try:
        body = await answer.aread()
    finally:
        await answer.aclose()
    headers = _relayed_headers(answer, left_out=NOT_RELAYED_WITH_PAGE)
    headers.append((b"content-length", str(len(body)).encode()))
    if b"content-security-policy" not in {name for name, _ in headers}:
        policy = ui_policy(inline_scripts=INLINE_SCRIPT.findall(body))
        headers.append((b"content-security-policy", policy.encode()))
    page = Response(body, status_code=answer.status_code)
    page.raw_headers = headers
    return page


def _streamed(answer: httpx.Response) -> Response:
    """Assets and API answers, passed on as they arrive, still encoded as the UI sent them."""

    async def relayed() -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.aiter_raw():
                yield chunk
        finally:
            await answer.aclose()

    streamed = StreamingResponse(relayed(), status_code=answer.status_code)
    streamed.raw_headers = _relayed_headers(answer, left_out=HOP_BY_HOP)
    return streamed


async def _record(
    read_model: ReadModel,
    viewer: SignedIn,
    request: Request,
    *,
    status: int | None = None,
    outcome: str = "allowed",
    reason_code: str | None = None,
) -> None:
    changes = request.method != "GET"
    detail: dict[str, Any] = {"method": request.method, "path": request.url.path}
    if status is not None:
        detail["status"] = status
    await record_access(
        read_model,
        principal=viewer.principal,
        action=CHANGE_ACTION if changes else VIEW_ACTION,
        category=AccessCategory.ALTERATION if changes else AccessCategory.CONSULTATION,
        operation_id=None,
        outcome=outcome,
        reason_code=reason_code,
        detail=detail,
    )
