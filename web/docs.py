"""`/docs` (Swagger UI) and `/redoc` (ReDoc) from the bundles the `fastapi-offline` package ships,
served by cdtrack itself: the API's documentation works on a network without internet."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import fastapi_offline
from fastapi import APIRouter, Request
from starlette.responses import Response

from web.templating import TEMPLATES

BUNDLES: Final = Path(fastapi_offline.__file__).parent / "static"
router = APIRouter(include_in_schema=False)


def _page(body: str) -> Response:
    return Response(body, media_type="text/html; charset=utf-8")


@router.get("/docs")
async def swagger_ui(request: Request) -> Response:
    return _page((TEMPLATES / "docs" / "swagger.html").read_text())


@router.get("/redoc")
async def redoc(request: Request) -> Response:
    return _page((TEMPLATES / "docs" / "redoc.html").read_text())
