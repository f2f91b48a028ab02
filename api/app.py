"""The HTTP API's app factory: one Temporal client and one database engine per process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import asynccontextmanager
from importlib.metadata import version
from multiprocessing import get_context
from typing import Any, Final

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from temporalio.client import Client

from activities.report.render import warm_up
from api.auth import jwks_client
from api.database import ReadModel
from api.documents import RenderedDocuments
from api.live_state import LiveStates
from api.problems import (
    JsonBodiesOnly,
    ProblemError,
    document_problems,
    install_problem_handlers,
    problem_responses,
)
from api.routes import agencies, audit, debrief, health, operations, statistics, users
from api.throttle import Throttle
from api.workers import WorkerPresence
from cdtrack.observability import (
    ApiMetrics,
    DomainCollector,
    RequestObservation,
    configure_child_logging,
    metrics_response,
    temporal_interceptors,
    tracer_provider,
)
from cdtrack.settings import Settings
from cdtrack.temporal import connect
from store.session import create_engine_for, read_only, session_factory
from workflows.starter import read_state

logger = logging.getLogger(__name__)

API_PREFIX: Final = "/api/v1"
# What a reverse proxy adds to every request it passes on (ingress-nginx, the usual others).
PROXY_HEADERS: Final = ("forwarded", "x-forwarded-for", "x-real-ip")
TITLE: Final = "cdtrack"
DESCRIPTION: Final = """\
Workflow engine for international controlled deliveries: a consignment passes through several
countries under surveillance, handed from agency to agency, each operation a durable workflow.

Authenticate with `Authorization: Bearer <token>`: an API token issued by an administrator
(`cdtrack token create` for the first one) or a token of the configured identity provider.
Operations are need-to-know: one the caller may not see is answered with 404, never 403.
Every error is an RFC 9457 problem (`application/problem+json`).
"""


def _warmed(warming: Future[None]) -> None:
    failure = None if warming.cancelled() else warming.exception()
    if failure is not None:
        logger.warning(
            "renderer warm-up failed; the first document will load what it needs", exc_info=failure
        )


def create_app(
    settings: Settings,
    *,
    temporal_client: Client | None = None,
    tracing: TracerProvider | None = None,
) -> FastAPI:
    """The API for these settings; `temporal_client` lets tests bring a client of their own,
    `tracing` a tracer provider (else OTLP when an endpoint is configured, else no traces)."""
    tracing = tracing or tracer_provider(settings)
    registry = CollectorRegistry()
    metrics = ApiMetrics(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        connections = settings.api_database_connections
        # As many connections as threads may ask for one: a unit never waits on the pool.
        engine = create_engine_for(
            settings.read_model_url, pool_size=connections, max_overflow=0, pool_timeout=30
        )
        # Spawned, not forked, from a process that runs threads; started on the first rendering,
        # or warmed at once (`api_warm_renderer`) in the background, the API answering meanwhile.
        renderer = ProcessPoolExecutor(
            max_workers=settings.api_render_processes,
            mp_context=get_context("spawn"),
            # WeasyPrint logs there: through the same pipeline, its noise down to warnings.
            initializer=configure_child_logging,
            initargs=(settings.log_format, settings.log_level),
        )
        if settings.api_warm_renderer:
            for _ in range(settings.api_render_processes):
                renderer.submit(warm_up).add_done_callback(_warmed)
        try:
            app.state.settings = settings
            app.state.read_model = ReadModel(engine, connections=connections)
            app.state.jwks = jwks_client(settings)
            app.state.throttle = Throttle(settings)
            app.state.documents = RenderedDocuments(renderer=renderer, size=64)
            # A Temporal client holds no resource to release: its connection goes with it.
            app.state.temporal = temporal_client or await connect(
                settings,
                interceptors=temporal_interceptors(
                    tracer=tracing.get_tracer("cdtrack.temporal") if tracing else None
                ),
            )
            registry.register(DomainCollector(session_factory(read_only(engine))))
            app.state.workers = WorkerPresence(app.state.temporal, task_queue=settings.task_queue)
            client = app.state.temporal
            app.state.live_states = LiveStates(
                read_model=app.state.read_model,
                query=lambda operation_id: read_state(client, operation_id=operation_id),
                workers=app.state.workers,
                answer_seconds=settings.temporal_answer_seconds,
            )
            yield
        finally:
            renderer.shutdown(wait=False, cancel_futures=True)
            if tracing is not None:
                tracing.force_flush()
            engine.dispose()

    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version=version("cdtrack"),
        lifespan=lifespan,
        # Served by the console (web/docs.py) from packaged assets, never from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.add_middleware(JsonBodiesOnly, prefix=API_PREFIX)
    app.add_middleware(RequestObservation, metrics=metrics, tracing=tracing)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        # For a scraper beside the process, never through a proxy: the Ingress routes every
        # path to the API, and what came through it carries the proxy's forwarding header.
        if any(name in request.headers for name in PROXY_HEADERS):
            raise ProblemError(404, "Not Found", "metrics are scraped inside the cluster only")
        return await metrics_response(registry)

    api = APIRouter(
        prefix=API_PREFIX,
        responses=problem_responses(400, 401, 403, 404, 409, 422, 428, 429, 500, 503),
    )
    api.include_router(agencies.router)
    api.include_router(users.router)
    api.include_router(operations.router)
    api.include_router(debrief.router)
    api.include_router(statistics.router)
    api.include_router(audit.router)
    app.include_router(api)
    app.include_router(health.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = document_problems(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
