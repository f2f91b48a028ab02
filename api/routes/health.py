"""Liveness of the two things every request needs: the Temporal server and the database."""

from __future__ import annotations

import asyncio
import logging
from typing import Final, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.problems import Problem, problem_response

CHECK_TIMEOUT_SECONDS: Final = 3
UNAVAILABLE: Final = "urn:cdtrack:problem:unavailable"

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)

Status = Literal["up", "down"]


class Checks(BaseModel):
    temporal: Status
    database: Status


class HealthRead(BaseModel):
    status: Literal["ok"] = "ok"
    checks: Checks


async def _temporal_up(client: Client) -> bool:
    try:
        return await asyncio.wait_for(
            client.service_client.check_health(), timeout=CHECK_TIMEOUT_SECONDS
        )
    except Exception:  # whatever the reason, the answer is "down"; the log keeps the reason
        logger.warning("Temporal health check failed", exc_info=True)
        return False


def _database_up(sessions: sessionmaker[Session]) -> bool:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        logger.warning("database health check failed", exc_info=True)
        return False
    return True


async def _database_up_soon(sessions: sessionmaker[Session]) -> bool:
    try:
        return await asyncio.wait_for(
            run_in_threadpool(_database_up, sessions), timeout=CHECK_TIMEOUT_SECONDS
        )
    except TimeoutError:
        logger.warning("database health check timed out")
        return False


@router.get(
    "/health",
    response_model=HealthRead,
    summary="Whether Temporal and the database are reachable",
    responses={
        503: {
            "description": "Temporal or the database is unreachable; `checks` says which",
        }
    },
)
async def health(request: Request) -> HealthRead | JSONResponse:
    temporal, database = await asyncio.gather(
        _temporal_up(request.app.state.temporal), _database_up_soon(request.app.state.sessions)
    )
    checks = Checks(temporal="up" if temporal else "down", database="up" if database else "down")
    if temporal and database:
        return HealthRead(checks=checks)
    down = [name for name, up in (("Temporal", temporal), ("the database", database)) if not up]
    problem = Problem.model_validate(
        {
            "type": UNAVAILABLE,
            "title": "Service Unavailable",
            "status": 503,
            "detail": f"{' and '.join(down)} {'is' if len(down) == 1 else 'are'} unreachable",
            "checks": checks.model_dump(),
        }
    )
    return problem_response(problem)
