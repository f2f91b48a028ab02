"""The worker's own HTTP endpoint: liveness, readiness (once it polls its task queue), metrics.

Ready means the Temporal server lists this worker among the pollers of its task queue, so an
orchestrator sends it no traffic before it takes work and a rolling update waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Final

import structlog
import uvicorn
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.worker import Worker

from cdtrack.observability import metrics_response

log = structlog.get_logger(__name__)

# How long a "polling" answer from the server is trusted before it is asked again.
POLLING_RECHECK_SECONDS: Final = 5.0


class WorkerHealth:
    """Whether the worker runs and whether the server sees it poll."""

    def __init__(self, client: Client, *, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue
        self._worker: Worker | None = None
        self._polling_seen_at: float | None = None

    def attach(self, worker: Worker | None) -> None:
        self._worker = worker
        self._polling_seen_at = None

    @property
    def alive(self) -> bool:
        # Starting counts as alive; a worker that ran and stopped (a fatal poll error) is not.
        return self._worker is None or not self._worker.is_shutdown

    async def ready(self) -> bool:
        if self._worker is None or not self._worker.is_running:
            return False
        now = time.monotonic()
        if self._polling_seen_at is not None and now - self._polling_seen_at < (
            POLLING_RECHECK_SECONDS
        ):
            return True
        if await self._listed_as_poller():
            self._polling_seen_at = now
            return True
        return False

    async def _listed_as_poller(self) -> bool:
        try:
            described = await asyncio.wait_for(
                self._client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace=self._client.namespace,
                        task_queue=TaskQueue(name=self._task_queue),
                        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                    )
                ),
                timeout=3,
            )
        except (TimeoutError, RuntimeError):
            log.warning("task queue could not be described", task_queue=self._task_queue)
            return False
        return any(poller.identity == self._client.identity for poller in described.pollers)


def health_app(health: WorkerHealth, *, registry: CollectorRegistry) -> Starlette:
    async def live(request: Request) -> Response:
        alive = health.alive
        return JSONResponse({"status": "alive" if alive else "stopped"}, 200 if alive else 503)

    async def ready(request: Request) -> Response:
        polling = await health.ready()
        return JSONResponse(
            {"status": "ready" if polling else "not polling"}, 200 if polling else 503
        )

    async def metrics(request: Request) -> Response:
        return await metrics_response(registry)

    return Starlette(
        routes=[
            Route("/health/live", live),
            Route("/health/ready", ready),
            Route("/metrics", metrics),
        ]
    )


async def serve_health(
    health: WorkerHealth,
    *,
    registry: CollectorRegistry,
    host: str,
    port: int,
    stop: asyncio.Event,
) -> None:
    config = uvicorn.Config(
        health_app(health, registry=registry),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    # The worker's signal handling stops it; uvicorn must not take SIGINT/SIGTERM for itself.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    serving = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await serving
