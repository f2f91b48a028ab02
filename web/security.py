"""Security headers on every response, the one check of where a sign-in may send a browser, and
the one check that a script's request comes from the console's own pages.

The console's pages send a strict Content-Security-Policy: scripts and styles only from
cdtrack itself, none inline, no framing (images may be data: addresses: the charts). The API
documentation pages (Swagger UI, ReDoc) set element styles from their scripts, so there inline
styles (never inline scripts) are allowed; a debrief report opened as a web page has its own
styles inline and runs nothing. Console pages carry operational data and are never cached; the
packaged assets are. The embedded Temporal UI's pages (web/routes/temporal_ui.py) keep a policy of
their own, set there, and are never framed or cached either.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cdtrack.settings import TEMPORAL_UI_PATH, Settings

CONSOLE_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
DOCS_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_PATHS: Final = ("/docs", "/redoc")
# What every answer carries besides its policy (and its caching, by path).
EVERY_ANSWER: Final = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# A debrief report opened as a web page is the report's own document: its styles and charts
# are inline, and it runs nothing and loads nothing.
DOCUMENT_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCUMENT_PATH: Final = re.compile(r"^/o/[^/]+/report/document$")
STATIC_PREFIX: Final = "/static/"
# The embedded Temporal UI's answers keep the policy they come with (web/routes/temporal_ui.py).
OWN_POLICY_PREFIX: Final = TEMPORAL_UI_PATH + "/"


class SecurityHeaders:
    """Pure ASGI, so server-sent event streams pass through unbuffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                own = headers.get("content-security-policy")
                if own is not None and path.startswith(OWN_POLICY_PREFIX):
                    policy = own
                elif path in DOCS_PATHS:
                    policy = DOCS_POLICY
                elif DOCUMENT_PATH.match(path):
                    policy = DOCUMENT_POLICY
                else:
                    policy = CONSOLE_POLICY
                headers["Content-Security-Policy"] = policy
                headers.update(EVERY_ANSWER)
                if path.startswith(STATIC_PREFIX):
                    headers.setdefault("Cache-Control", "public, max-age=3600")
                else:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def safe_next(target: str | None) -> str:
    """`target` if it is a path of this site (never another origin, never a scheme); else "/"."""
    if not target or len(target) > 2000:
        return "/"
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(not ch.isprintable() or ch == "\\" for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def from_console_pages(request: Request, settings: Settings) -> bool:
    """Whether a request a page's script sent without the console's CSRF token (the embedded
    Temporal UI's calls) comes from the console's own origin: browsers send `Origin` with every
    such request, and another site cannot set it."""
    return request.headers.get("origin") == settings.console_origin
