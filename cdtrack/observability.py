"""Logs, metrics and traces of every cdtrack process: one structlog pipeline, Prometheus, OTLP.

Nothing here ever carries operational detail: log lines name opaque ids, phases and kinds;
metric labels are route templates, statuses, phases and kinds; spans are named by workflow,
update and activity types with the operation's opaque id.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio import client as temporal_client
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor

from cdtrack.settings import Settings
from store.access_log import AccessEntry
from store.models import LegRow, OperationRow, TimelineEventRow
from store.notifications import DeliveryRow
from workflows.state import Phase

REQUEST_ID_HEADER: Final = "X-Request-ID"
# The Temporal header a request's id travels in to the workflow it calls (opaque, never content).
REQUEST_ID_TEMPORAL_HEADER: Final = "cdtrack-request-id"
# An id a caller sends is kept only when it cannot smuggle anything into a log line.
_WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# Libraries whose INFO lines are noise in production (WeasyPrint reports every CSS oddity).
_QUIETER: Final[dict[str, int]] = {
    "weasyprint": logging.WARNING,
    "weasyprint.progress": logging.WARNING,
    "fontTools": logging.WARNING,
    "alembic.runtime.plugins": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "matplotlib": logging.WARNING,
    "PIL": logging.WARNING,
}
# WeasyPrint's own warnings about the report's markup say nothing an operator can act on.
_MUTED: Final = ("Anchor defined twice",)

# Timeline events that are steps of an escalation chain (a missed acknowledgement's reminders).
ESCALATION_KINDS: Final = ("handover.acknowledgement_overdue", "handover.escalated")

request_id_var: ContextVar[str | None] = ContextVar("cdtrack_request_id", default=None)


def configure_logging(
    settings: Settings, *, verbose: bool = False, stream: TextIO | None = None
) -> None:
    """Route structlog and the standard library (uvicorn, alembic, WeasyPrint...) to one sink."""
    out = stream or sys.stderr
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level.upper())
    as_json = settings.log_format == "json" or (settings.log_format == "auto" and not out.isatty())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if as_json else _keep,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(_mute)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name, quieter in _QUIETER.items():
        logging.getLogger(name).setLevel(max(level, quieter))
    for name in ("uvicorn", "uvicorn.error", "alembic"):
        named = logging.getLogger(name)
        named.handlers[:] = []
        named.propagate = True
    # The request middleware writes one structured line per request instead.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True


def configure_child_logging(log_format: str, log_level: str) -> None:
    """The same pipeline in a process the API spawns to render documents (WeasyPrint's)."""
    configure_logging(Settings.model_validate({"log_format": log_format, "log_level": log_level}))


def _keep(logger: Any, method: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    return event


def _mute(record: logging.LogRecord) -> bool:
    message = record.msg if isinstance(record.msg, str) else ""
    return not any(message.startswith(muted) for muted in _MUTED)


def new_request_id(given: str | None) -> str:
    if given and _WELL_FORMED_ID.match(given):
        return given
    return secrets.token_hex(8)


# ---------------------------------------------------------------------------------------------
# Metrics


class ApiMetrics:
    """The API's requests by route template and status, and their latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "cdtrack_api_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "cdtrack_api_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            ["route", "method"],
            registry=registry,
        )


class DomainCollector(Collector):
    """The domain's figures, read from the read model at each scrape.

    Read from the database, not counted in memory, so that every API process and every worker
    reports the same figures however many run.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._sessions() as session:
            by_phase = session.execute(
                select(OperationRow.phase, func.count()).group_by(OperationRow.phase)
            ).all()
            pending_legs = session.execute(
                select(LegRow.offered_at, LegRow.acknowledgement_deadline_seconds)
                .where(LegRow.offered_at.is_not(None), LegRow.acknowledged_at.is_(None))
                .join(OperationRow, OperationRow.id == LegRow.operation_id)
                .where(OperationRow.phase == Phase.EXECUTION.value)
            ).all()
            escalations = session.execute(
                select(TimelineEventRow.kind, func.count())
                .where(TimelineEventRow.kind.in_(ESCALATION_KINDS))
                .group_by(TimelineEventRow.kind)
            ).all()
            deliveries = session.execute(
                select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
            ).all()
            appends = session.execute(
                select(AccessEntry.outcome, func.count()).group_by(AccessEntry.outcome)
            ).all()
        yield _gauge("cdtrack_operations", "Operations by lifecycle phase", "phase", by_phase)
        overdue = len(
            [
                offered_at
                for offered_at, seconds in pending_legs
                if offered_at is not None and (now - _naive(offered_at)).total_seconds() > seconds
            ]
        )
        yield _gauge(
            "cdtrack_handovers",
            "Handovers offered and not acknowledged",
            "state",
            [("pending", len(pending_legs) - overdue), ("overdue", overdue)],
        )
        yield _gauge(
            "cdtrack_escalations", "Escalation steps on the timelines, by kind", "kind", escalations
        )
        yield _gauge(
            "cdtrack_notification_deliveries",
            "Notification delivery attempts, by status",
            "status",
            deliveries,
        )
        yield _gauge(
            "cdtrack_access_log_entries",
            "Access-log entries appended, by outcome",
            "outcome",
            appends,
        )


def _gauge(
    name: str,
    documentation: str,
    label: str,
    counts: Iterable[Sequence[Any]],
) -> GaugeMetricFamily:
    """One gauge with one label, a sample per (label value, count)."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value, count in counts:  # rows of (label value, count)
        family.add_metric([str(value)], count)
    return family


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


class RequestObservation:
    """ASGI middleware: a request id, one structured log line and the metrics of each request.

    The id is bound to every log line written while the request runs, answered in X-Request-ID
    and carried to the workflows the request calls (`RequestIdInterceptor`).
    """

    def __init__(
        self, app: ASGIApp, *, metrics: ApiMetrics, tracing: TracerProvider | None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = (tracing or trace.NoOpTracerProvider()).get_tracer("cdtrack.api")
        self.log = structlog.get_logger("cdtrack.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
                ]
            await send(message)

        token = request_id_var.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            with self.tracer.start_as_current_span(
                f"{request.method}",
                kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": request.method},
            ) as span:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    route = _route_template(scope)
                    span.update_name(f"{request.method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
        finally:
            route = _route_template(scope)
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(route, request.method, str(status)).inc()
            self.metrics.latency.labels(route, request.method).observe(elapsed)
            self.log.info(
                "request",
                method=request.method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
            )
            structlog.contextvars.unbind_contextvars("request_id")
            request_id_var.reset(token)


def _route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/operations/{operation_id}`), never the raw path,
    which carries ids and whatever a caller typed; known once the router has matched."""
    # FastAPI keeps a nested router's full template in its effective route context; the route
    # itself holds only the innermost router's part.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(context, "path", None) or getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        mounted: str = scope.get("root_path", "")
        return f"{mounted}{path}" if not path.startswith(mounted) else path
    return "unmatched"


async def metrics_response(registry: CollectorRegistry) -> Response:
    import anyio
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = await anyio.to_thread.run_sync(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


# ---------------------------------------------------------------------------------------------
# Traces and the request id on Temporal calls


def tracer_provider(
    settings: Settings, *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """A provider exporting by OTLP to the configured endpoint (or to `exporter`); else None."""
    if exporter is None:
        if not settings.otlp_endpoint:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint)
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def temporal_interceptors(*, tracer: trace.Tracer | None) -> list[temporal_client.Interceptor]:
    """Client (and worker) interceptors: the request id always, traces when they are on.

    The tracing interceptor, given to the client a worker runs on, traces the workflows and
    activities too, as children of the span of the call that started or updated them.
    """
    chosen: list[temporal_client.Interceptor] = [RequestIdInterceptor()]
    if tracer is not None:
        chosen.append(TracingInterceptor(tracer))
    return chosen


class RequestIdInterceptor(temporal_client.Interceptor):
    """Carries the current request's id to the workflow in a Temporal header (not a payload)."""

    def intercept_client(
        self, next: temporal_client.OutboundInterceptor
    ) -> temporal_client.OutboundInterceptor:
        return _RequestIdOutbound(next)


def _with_request_id(headers: Mapping[str, Payload]) -> Mapping[str, Payload]:
    request_id = request_id_var.get()
    if request_id is None:
        return headers
    marked = Payload(metadata={"encoding": b"binary/plain"}, data=request_id.encode())
    return {**headers, REQUEST_ID_TEMPORAL_HEADER: marked}


class _RequestIdOutbound(temporal_client.OutboundInterceptor):
    async def start_workflow(
        self, input: temporal_client.StartWorkflowInput
    ) -> temporal_client.WorkflowHandle[Any, Any]:
        input.headers = _with_request_id(input.headers)
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: temporal_client.StartWorkflowUpdateInput
    ) -> temporal_client.WorkflowUpdateHandle[Any]:
        input.headers = _with_request_id(input.headers)
        return await super().start_workflow_update(input)

    async def signal_workflow(self, input: temporal_client.SignalWorkflowInput) -> None:
        input.headers = _with_request_id(input.headers)
        await super().signal_workflow(input)

    async def query_workflow(self, input: temporal_client.QueryWorkflowInput) -> Any:
        input.headers = _with_request_id(input.headers)
        return await super().query_workflow(input)
