"""Logs, metrics and traces of a whole operation carry no operational detail.

A canary is planted in every free-text field of the plan and of every action of an operation
walked from creation to closed over HTTP, on the real dev server, with the worker in this
process. Every log line (one JSON pipeline: structlog, the standard library, uvicorn), every
metric the API and the Temporal SDK expose and every span (an in-memory exporter) is searched
for it. They must also be there: a span per request and per workflow and activity call, a
request id on every request line, carried to the workflow in a Temporal header.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.api.enums.v1 import EventType
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from activities.debrief import DebriefActivities
from activities.projection import ReadModelActivities
from api.principal import Role
from cdtrack.observability import (
    REQUEST_ID_TEMPORAL_HEADER,
    temporal_interceptors,
    tracer_provider,
)
from cdtrack.temporal import connect
from cdtrack.walkthrough import Walkthrough, enrol_cast
from cdtrack.worker import build_worker, notification_activities, workflow_runner
from store.session import create_engine_for, session_factory
from tests.api.conftest import issue_token
from tests.api.live import free_port, serving
from tests.temporal_env import settings_for_tests
from workflows.starter import operation_handle

pytestmark = pytest.mark.devserver

CANARY: Final = "qx7canary"
CODE_NAME: Final = "QX7CANARY-CODE"
# Every free-text field of a plan and of the actions the walkthrough sends.
FREE_TEXT: Final = frozenset(
    {
        "packaging",
        "concealment",
        "crossing_point",
        "carrier",
        "tracking_number",
        "authority",
        "reference",
        "legal_basis",
        "conditions",
        "place",
        "problems",
        "lessons",
        "proposals",
        "reason",
        "notes",
        "label",
    }
)


def planted(body: Any, key: str = "") -> Any:
    """`body` with every free-text string (and list of strings) replaced by the canary."""
    if isinstance(body, dict):
        return {k: planted(v, k) for k, v in body.items()}
    if isinstance(body, list):
        return [planted(item, key) for item in body]
    if isinstance(body, str) and key in FREE_TEXT:
        return f"{CANARY} {key}"
    return body


class CanaryWalkthrough(Walkthrough):
    def _call(self, token: str, method: str, path: str, body: Any = None) -> Any:
        if body is not None and path == "/operations":
            body = {**planted(body), "code_name": CODE_NAME}
            body["consignment"]["tracker_ids"] = [f"{CANARY} tracker"]
        return super()._call(token, method, path, planted(body))


async def test_no_log_line_metric_or_span_of_a_whole_operation_carries_its_details(
    dev_server_env: WorkflowEnvironment,
    sqlite_url: str,
    tmp_path: Path,
    activity_executor: ThreadPoolExecutor,
    log_lines: io.StringIO,
) -> None:
    target = dev_server_env.client.service_client.config.target_host
    settings = settings_for_tests(
        database_url=sqlite_url,
        data_dir=tmp_path,
        temporal_address=target,
        task_queue=f"telemetry-{uuid.uuid4().hex}",
        api_port=free_port(),
    )
    spans = InMemorySpanExporter()
    tracing = tracer_provider(settings, exporter=spans)
    assert tracing is not None
    sdk_metrics = f"127.0.0.1:{free_port()}"
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=sdk_metrics)))
    client = await connect(
        settings,
        interceptors=temporal_interceptors(tracer=tracing.get_tracer("cdtrack.worker")),
        runtime=runtime,
    )
    engine = create_engine_for(sqlite_url)
    sessions = session_factory(engine)
    worker = build_worker(
        client,
        task_queue=settings.task_queue,
        read_model=ReadModelActivities(sessions),
        notifications=notification_activities(settings, sessions),
        debrief=DebriefActivities(sessions),
        activity_executor=activity_executor,
        workflow_runner=workflow_runner(settings.workflow_sandbox),
    )
    admin = issue_token(sessions, agency="caricc", role=Role.ADMIN, name="Administrator")
    try:
        async with worker:
            with serving(settings, tracing=tracing) as base_url:

                def walk() -> tuple[str, str]:
                    with httpx.Client(base_url=base_url, timeout=60) as http:
                        cast = enrol_cast(http, admin_token=admin, suffix=secrets.token_hex(3))
                        operation_id = CanaryWalkthrough(http, cast).run(code_name=CODE_NAME)
                        return operation_id, http.get("/metrics").text

                operation_id, api_metrics = await asyncio.to_thread(walk)
                handle = operation_handle(client, operation_id)
                assert (await handle.result()).phase == "closed"
        async with httpx.AsyncClient() as http:
            temporal_metrics = (await http.get(f"http://{sdk_metrics}/metrics")).text
        started = [
            event.workflow_execution_started_event_attributes
            async for event in handle.fetch_history_events()
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        ]
    finally:
        engine.dispose()
    tracing.force_flush()

    # Nothing carries the canary, which every free-text field and the code name held.
    lines = log_lines.getvalue().splitlines()
    finished = spans.get_finished_spans()
    span_texts = [
        json.dumps({"name": span.name, "attributes": dict(span.attributes or {})}, default=str)
        for span in finished
    ]
    for where, texts in {
        "log": lines,
        "API metrics": api_metrics.splitlines(),
        "SDK metrics": temporal_metrics.splitlines(),
        "span": span_texts,
    }.items():
        leaking = [text for text in texts if CANARY in text.lower()]
        assert leaking == [], f"a {where} carries operational detail: {leaking[:3]}"

    # ... and there was something to search: one JSON pipeline, metrics, spans end to end.
    records = [json.loads(line) for line in lines]
    requests = [record for record in records if record["event"] == "request"]
    assert len(requests) > 20
    assert all(record["request_id"] for record in requests)
    assert 'cdtrack_api_requests_total{method="POST",route="/api/v1/operations",status="201"}' in (
        api_metrics
    )
    assert 'cdtrack_operations{phase="closed"}' in api_metrics
    assert "temporal_workflow_completed" in temporal_metrics
    names = {span.name for span in finished}
    assert "POST /api/v1/operations" in names
    assert {"StartWorkflow:ControlledDelivery", "RunWorkflow:ControlledDelivery"} <= names
    assert "RunActivity:project_operation" in names
    # API -> workflow -> activities: every activity span belongs to the trace of a request.
    requests_traced = {s.context.trace_id for s in finished if s.name.startswith(("GET", "POST"))}
    activities = [s for s in finished if s.name.startswith("RunActivity:")]
    assert {s.context.trace_id for s in activities} <= requests_traced
    request_header = started[0].header.fields[REQUEST_ID_TEMPORAL_HEADER].data.decode()
    creation = [r for r in requests if r["route"] == "/api/v1/operations" and r["method"] == "POST"]
    assert [r["request_id"] for r in creation] == [request_header]
