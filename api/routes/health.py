"""Liveness of what requests need: the Temporal server, the database, and a worker polling."""

from __future__ import annotations

import asyncio
import logging
from typing import Final, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.database import ReadModel
from api.problems import Problem, problem_response
from api.workers import WorkerPresence

CHECK_TIMEOUT_SECONDS: Final = 3
UNAVAILABLE: Final = "urn:cdtrack:problem:unavailable"

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)

Status = Literal["up", "down"]


class Checks(BaseModel):
    temporal: Status
    database: Status
    workers: Status


class HealthRead(BaseModel):
    # degraded: reads of the read model answer, but actions answer 503 until a worker polls.
    status: Literal["ok", "degraded"] = "ok"
    checks: Checks


async def _temporal_up(client: Client) -> bool:
    try:
        return await asyncio.wait_for(
            client.service_client.check_health(), timeout=CHECK_TIMEOUT_SECONDS
        )
    except Exception:  # whatever the reason, the answer is "down"; the log keeps the reason
        logger.warning("Temporal health check failed", exc_info=True)
        return False


def _select_one(session: Session) -> None:
    session.execute(text("SELECT 1"))


async def _database_up(read_model: ReadModel) -> bool:
    try:
        await asyncio.wait_for(read_model.read(_select_one), timeout=CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        logger.warning("database health check timed out")
        return False
    except Exception:
        logger.warning("database health check failed", exc_info=True)
        return False
    return True


@router.get(
    "/health",
    response_model=HealthRead,
    summary="Whether Temporal and the database are reachable, and a worker polls",
    responses={
        503: {
            "description": "Temporal or the database is unreachable; `checks` says which",
        }
    },
)
async def health(request: Request) -> HealthRead | JSONResponse:
    workers: WorkerPresence = request.app.state.workers
    temporal, database, polling = await asyncio.gather(
        _temporal_up(request.app.state.temporal),
        _database_up(request.app.state.read_model),
        workers.polling(),
    )
    checks = Checks(
        temporal="up" if temporal else "down",
        database="up" if database else "down",
        workers="up" if polling else "down",
    )
    if temporal and database:
        return HealthRead(status="ok" if polling else "degraded", checks=checks)
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
