"""Logs, metrics and traces of every cdtrack process: one structlog pipeline, Prometheus, OTLP.

Nothing here ever carries operational detail: log lines name opaque ids, phases and kinds;
metric labels are route templates, statuses, phases and kinds; spans are named by workflow,
update and activity types with the operation's opaque id.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
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
from temporalio import activity, workflow
from temporalio import client as temporal_client
from temporalio import worker as temporal_worker
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.exceptions import CancelledError

from cdtrack.settings import Settings
from store.access_log import AccessEntry
from store.models import LegRow, OperationRow, TimelineEventRow
from store.notifications import DeliveryRow
from workflows.events import EventKind
from workflows.state import Phase

REQUEST_ID_HEADER: Final = "X-Request-ID"
# The Temporal header a request's id travels in to the workflow it calls (opaque, never content).
REQUEST_ID_TEMPORAL_HEADER: Final = "cdtrack-request-id"
# An id a caller sends is kept only when it cannot smuggle anything into a log line (matched in
# full: a `$` would let a trailing newline through).
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

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
ESCALATION_KINDS: Final = (
    EventKind.HANDOVER_ACKNOWLEDGEMENT_OVERDUE,
    EventKind.HANDOVER_ESCALATED,
)

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
    if given and _WELL_FORMED_ID.fullmatch(given):
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

    Both also intercept the worker built on the client: the tracing interceptor traces the
    workflows and activities as children of the span of the call that started or updated them,
    and `RequestIdInterceptor` carries the request's id on to the activities and their log lines.
    """
    chosen: list[temporal_client.Interceptor] = [RequestIdInterceptor()]
    if tracer is not None:
        chosen.append(TracingInterceptor(tracer))
    return chosen


class RequestIdInterceptor(temporal_client.Interceptor, temporal_worker.Interceptor):
    """Carries the id of the API request that caused a Temporal call, in headers (not payloads).

    Client side: the current request's id goes in the header of the workflow call. Worker side:
    an Update's or signal's id goes on to the activities and local activities its handler (and
    the tasks it creates) schedules, the start's to those of the workflow task that starts the
    run (the creation's projection and notices; what the run does later, on a timer, after a
    delivery failed or to assess, carries none), and an activity runs with the id bound to its
    log lines.
    """

    def intercept_client(
        self, next: temporal_client.OutboundInterceptor
    ) -> temporal_client.OutboundInterceptor:
        return _RequestIdOutbound(next)

    def workflow_interceptor_class(
        self, input: temporal_worker.WorkflowInterceptorClassInput
    ) -> type[temporal_worker.WorkflowInboundInterceptor]:
        return _RequestIdWorkflowInbound

    def intercept_activity(
        self, next: temporal_worker.ActivityInboundInterceptor
    ) -> temporal_worker.ActivityInboundInterceptor:
        return _RequestIdActivityInbound(next)


def _request_id_payload(request_id: str) -> Payload:
    return Payload(metadata={"encoding": b"binary/plain"}, data=request_id.encode())


def request_id_in(headers: Mapping[str, Payload]) -> str | None:
    """The request id a Temporal header carries, if it is one: anyone able to call Temporal can
    set headers, so a value that is not a well-formed id is dropped, never logged."""
    payload = headers.get(REQUEST_ID_TEMPORAL_HEADER)
    if payload is None:
        return None
    given = payload.data.decode("ascii", errors="replace")
    return given if _WELL_FORMED_ID.fullmatch(given) else None


def _with_request_id(headers: Mapping[str, Payload]) -> Mapping[str, Payload]:
    request_id = request_id_var.get()
    if request_id is None:
        return headers
    return {**headers, REQUEST_ID_TEMPORAL_HEADER: _request_id_payload(request_id)}


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


@dataclass(frozen=True)
class _Cause:
    """The request a workflow handler acts for; `workflow_task` limits it to the commands of one
    workflow task (by its history length, the same on replay), None to the whole handler."""

    request_id: str
    workflow_task: int | None = None


# Set inside one workflow task's handler (an asyncio task of the workflow's own loop), so it is
# seen by that handler and the tasks it creates, never by another handler or workflow.
_workflow_cause: ContextVar[_Cause | None] = ContextVar("cdtrack_workflow_cause", default=None)


class _RequestIdWorkflowInbound(temporal_worker.WorkflowInboundInterceptor):
    """Runs inside the workflow sandbox: only reads headers and sets context variables."""

    def init(self, outbound: temporal_worker.WorkflowOutboundInterceptor) -> None:
        super().init(_RequestIdWorkflowOutbound(outbound))

    async def execute_workflow(self, input: temporal_worker.ExecuteWorkflowInput) -> Any:
        request_id = request_id_in(input.headers)
        if request_id is not None:
            # The run lasts as long as the operation: only its first workflow task is the
            # creation's doing. Not bound to log lines, which would carry it for the whole run.
            first_task = workflow.info().get_current_history_length()
            _workflow_cause.set(_Cause(request_id, workflow_task=first_task))
        return await super().execute_workflow(input)

    async def handle_signal(self, input: temporal_worker.HandleSignalInput) -> None:
        _act_for(request_id_in(input.headers))
        await super().handle_signal(input)

    async def handle_update_handler(self, input: temporal_worker.HandleUpdateInput) -> Any:
        _act_for(request_id_in(input.headers))
        return await super().handle_update_handler(input)


def _act_for(request_id: str | None) -> None:
    """This handler (its own asyncio task) acts for the request: its commands and log lines."""
    if request_id is not None:
        _workflow_cause.set(_Cause(request_id))
        structlog.contextvars.bind_contextvars(request_id=request_id)


class _RequestIdWorkflowOutbound(temporal_worker.WorkflowOutboundInterceptor):
    def start_activity(
        self, input: temporal_worker.StartActivityInput
    ) -> workflow.ActivityHandle[Any]:
        input.headers = _with_cause(input.headers)
        return super().start_activity(input)

    def start_local_activity(
        self, input: temporal_worker.StartLocalActivityInput
    ) -> workflow.ActivityHandle[Any]:
        input.headers = _with_cause(input.headers)
        return super().start_local_activity(input)


def _with_cause(headers: Mapping[str, Payload]) -> Mapping[str, Payload]:
    cause = _workflow_cause.get()
    if cause is None:
        return headers
    if cause.workflow_task not in (None, workflow.info().get_current_history_length()):
        return headers
    return {**headers, REQUEST_ID_TEMPORAL_HEADER: _request_id_payload(cause.request_id)}


class _RequestIdActivityInbound(temporal_worker.ActivityInboundInterceptor):
    """Binds the request id to an activity's log lines and writes one line when it ends."""

    log = structlog.get_logger("cdtrack.activity")

    async def execute_activity(self, input: temporal_worker.ExecuteActivityInput) -> Any:
        request_id = request_id_in(input.headers)
        if request_id is not None:
            # Not unbound: the SDK's own lines about this attempt (a failure, its retry) come
            # after, from the same asyncio task, whose context ends with the attempt. A thread
            # pool activity runs in a copy of that context.
            request_id_var.set(request_id)
            structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            result = await super().execute_activity(input)
        except (asyncio.CancelledError, CancelledError):
            self._ended(request_id, started, outcome="cancelled")
            raise
        except BaseException as error:
            self._ended(request_id, started, outcome="failed", error=type(error).__name__)
            raise
        self._ended(request_id, started, outcome="completed")
        return result

    def _ended(self, request_id: str | None, started: float, **outcome: str) -> None:
        info = activity.info()
        # What a request caused is what an operator follows; the workflows' own (timers, the
        # access log's sequencer every few seconds) would drown it at info.
        write = self.log.info if request_id is not None else self.log.debug
        write(
            "activity",
            activity=info.activity_type,
            workflow_id=info.workflow_id,
            attempt=info.attempt,
            local=info.is_local,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            **outcome,
        )
