"""A stand-in for the dev server's Temporal UI (under its public path /temporal), in process.

It answers what the real UI answers in shape: an index page that starts with an inline script
and sets the UI's own CSRF cookie, its API as JSON (a workflow list, a Terminate), and a 404
for anything else; every request it receives is kept in `received`, to show what the console
passed on and what it did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

FAKE_UI_URL: Final = "http://127.0.0.1:8233/temporal"
INLINE_SCRIPT: Final = 'import("/temporal/_app/immutable/entry/start.js")'
INDEX: Final = (
    "<!doctype html><html><head><title>Temporal</title>"
    f"<script>{INLINE_SCRIPT}</script></head><body>the fake Temporal UI</body></html>"
)
WORKFLOWS: Final = {"executions": [{"execution": {"workflowId": "op-1"}}]}


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeUI:
    received: list[Received] = field(default_factory=list)

    @property
    def transport(self) -> httpx.ASGITransport:
        routes = [
            Route("/temporal/", self._index),
            Route("/temporal/namespaces/{namespace}/workflows", self._index),
            Route("/temporal/api/v1/namespaces/{namespace}/workflows", self._workflows),
            Route(
                "/temporal/api/v1/namespaces/{namespace}/workflows/{workflow_id}/terminate",
                self._terminate,
                methods=["POST"],
            ),
        ]
        return httpx.ASGITransport(app=Starlette(routes=routes))

    async def _keep(self, request: Request) -> None:
        self.received.append(
            Received(
                method=request.method,
                path=request.url.path,
                headers=dict(request.headers),
                body=await request.body(),
            )
        )

    async def _index(self, request: Request) -> Response:
        await self._keep(request)
        page = HTMLResponse(INDEX)
        page.set_cookie("_csrf", "ui-csrf-token", path="/", samesite="strict")
        return page

    async def _workflows(self, request: Request) -> Response:
        await self._keep(request)
        return JSONResponse(WORKFLOWS)

    async def _terminate(self, request: Request) -> Response:
        await self._keep(request)
        return JSONResponse({}, status_code=200)
