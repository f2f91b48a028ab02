"""The console's pages, one router per part; `web/app.py` includes every router listed here."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter

from web.routes import admin, debrief, home, justify, oidc, operation, plan, sign_in, statistics

ROUTERS: Final[tuple[APIRouter, ...]] = (
    sign_in.router,
    oidc.router,
    home.router,
    justify.router,
    debrief.router,
    statistics.router,
    operation.router,
    admin.router,
    plan.router,
)
