"""The Temporal worker: operation workflows, the access log's audit workflow, their activities."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.audit import AuditActivities
from activities.debrief import DebriefActivities
from activities.notifications import NotificationActivities
from activities.projection import ReadModelActivities
from cdtrack.observability import DomainCollector, temporal_interceptors, tracer_provider
from cdtrack.settings import Settings, WorkflowSandbox
from cdtrack.worker_health import WorkerHealth, serve_health
from workflows.audit import AUDIT_WORKFLOW_ID, AccessLogAuditWorkflow
from workflows.messages import RunAccessLogAuditInput
from workflows.operation import ControlledDeliveryWorkflow

log = structlog.get_logger(__name__)


def build_worker(
    client: Client,
    *,
    task_queue: str,
    read_model: ReadModelActivities,
    notifications: NotificationActivities,
    debrief: DebriefActivities,
    activity_executor: ThreadPoolExecutor,
    workflow_runner: WorkflowRunner,
    audit: AuditActivities | None = None,
    limits: WorkerLimits | None = None,
) -> Worker:
    activities: list[Callable[..., Any]] = [
        read_model.project_operation,
        notifications.notify_agencies,
        debrief.assess_operation,
    ]
    if audit is not None:
        activities.append(audit.integrate_access_log)
    tuning: dict[str, int] = {}
    if limits is not None:
        tuning = {
            "max_concurrent_workflow_tasks": limits.workflow_tasks,
            "max_concurrent_activities": limits.activities,
            "max_cached_workflows": limits.cached_workflows,
        }
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ControlledDeliveryWorkflow, AccessLogAuditWorkflow],
        activities=activities,
        activity_executor=activity_executor,
        workflow_runner=workflow_runner,
        **tuning,  # type: ignore[arg-type]
    )


def workflow_runner(sandbox: WorkflowSandbox) -> WorkflowRunner:
    """The runner the worker executes the operation and audit workflows with.

    "off" (production's default) runs them directly: the SDK's sandbox costs the worker an
    `exec` inside its importer for every activation and every payload (the codec asks for a
    serialization context each time) and a fresh import of the workflow module for every new
    run: about a sixth of the worker's CPU per operation and close to half of a replay's
    (docs/benchmarks.md, "The workflow runner", has the figures and the whole argument).

    Why that is safe: at run time the sandbox only ever checked the code of operation.py and
    audit.py (and calls of open()); the rules, notices and models they call are passed through
    it, so they ran unchecked already. Determinism is kept by what runs before a release
    instead, over all of that code: a static test of every `workflows` module the workflows load
    (no clock, randomness, I/O, module state; tests/workflows/test_workflow_code.py), the import
    contracts (workflows/ imports no I/O layer), every workflow test run in the strict sandbox,
    with a test that it still refuses a workflow reading the clock (tests/workflows/
    test_sandbox.py), and the recorded histories replayed in it, where an unversioned change
    fails (test_replay.py).

    What production gives up: a nondeterministic call that got past all of that fails on a
    replay rather than on its first run. "strict" brings the sandbox back without a code change;
    the runner does not change a workflow's commands, so either runs the other's histories.
    """
    if sandbox == "strict":
        return SandboxedWorkflowRunner()
    return UnsandboxedWorkflowRunner()


@dataclass(frozen=True)
class WorkerLimits:
    """How much one worker process takes on at once; the rest waits for another worker."""

    workflow_tasks: int = 100
    activities: int = 16
    cached_workflows: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerLimits:
        return cls(
            workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
            activities=settings.worker_max_concurrent_activities,
            cached_workflows=settings.worker_max_cached_workflows,
        )


def sdk_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics for Prometheus, when an address is set."""
    if not settings.worker_sdk_metrics_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=settings.worker_sdk_metrics_address)
        )
    )


def audit_activities(settings: Settings, sessions: sessionmaker[Session]) -> AuditActivities:
    return AuditActivities(
        sessions, signer=settings.audit_signer(), heads_file=settings.audit_heads_path
    )


async def ensure_audit_running(client: Client, *, settings: Settings) -> None:
    """Start the access log's audit workflow unless it already runs (it is a singleton)."""
    await client.start_workflow(
        AccessLogAuditWorkflow.run,
        RunAccessLogAuditInput(batch_interval_seconds=settings.audit_batch_seconds),
        id=AUDIT_WORKFLOW_ID,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def notification_activities(
    settings: Settings, sessions: sessionmaker[Session]
) -> NotificationActivities:
    return NotificationActivities(
        sessions, box=settings.secret_box(), public_base_url=settings.public_base_url
    )


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or forever); open operations resume where they were.

    Any number of these share the task queue: a workflow task a killed worker held is retried
    by another after the task timeout, and its cached workflows are replayed from history.
    """
    from cdtrack.temporal import connect
    from store.session import create_engine_for, read_only, session_factory

    stopping = stop or asyncio.Event()
    tracing = tracer_provider(settings)
    client = await connect(
        settings,
        interceptors=temporal_interceptors(
            tracer=tracing.get_tracer("cdtrack.worker") if tracing else None
        ),
        runtime=sdk_runtime(settings),
    )
    engine = create_engine_for(settings.read_model_url)
    sessions = session_factory(engine)
    read_model = ReadModelActivities(sessions)
    debrief = DebriefActivities(sessions)
    limits = WorkerLimits.from_settings(settings)
    health = WorkerHealth(client, task_queue=settings.task_queue)
    registry = CollectorRegistry()
    registry.register(DomainCollector(session_factory(read_only(engine))))
    try:
        async with asyncio.TaskGroup() as running:
            if settings.worker_health_port:
                running.create_task(
                    serve_health(
                        health,
                        registry=registry,
                        host=settings.worker_health_host,
                        port=settings.worker_health_port,
                        stop=stopping,
                    )
                )
            with ThreadPoolExecutor(
                max_workers=limits.activities, thread_name_prefix="activity"
            ) as executor:
                worker = build_worker(
                    client,
                    task_queue=settings.task_queue,
                    read_model=read_model,
                    notifications=notification_activities(settings, sessions),
                    debrief=debrief,
                    activity_executor=executor,
                    workflow_runner=workflow_runner(settings.workflow_sandbox),
                    audit=audit_activities(settings, sessions),
                    limits=limits,
                )
                health.attach(worker)
                async with worker:
                    await ensure_audit_running(client, settings=settings)
                    log.info(
                        "worker running",
                        task_queue=settings.task_queue,
                        identity=client.identity,
                        workflow_tasks=limits.workflow_tasks,
                        activities=limits.activities,
                        cached_workflows=limits.cached_workflows,
                        workflow_sandbox=settings.workflow_sandbox,
                    )
                    await stopping.wait()
    finally:
        stopping.set()
        engine.dispose()
        if tracing is not None:
            tracing.shutdown()
