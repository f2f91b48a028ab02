"""The Temporal worker: operation workflows, the access log's audit workflow, their activities."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from activities.audit import AuditActivities
from activities.debrief import DebriefActivities
from activities.notifications import NotificationActivities
from activities.projection import ReadModelActivities
from cdtrack.settings import Settings
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
    audit: AuditActivities | None = None,
) -> Worker:
    activities: list[Callable[..., Any]] = [
        read_model.project_operation,
        notifications.notify_agencies,
        debrief.assess_operation,
    ]
    if audit is not None:
        activities.append(audit.integrate_access_log)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ControlledDeliveryWorkflow, AccessLogAuditWorkflow],
        activities=activities,
        activity_executor=activity_executor,
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
    """Run until `stop` is set (or forever); open operations resume where they were."""
    from cdtrack.temporal import connect
    from store.session import create_engine_for, session_factory

    client = await connect(settings)
    engine = create_engine_for(settings.read_model_url)
    sessions = session_factory(engine)
    read_model = ReadModelActivities(sessions)
    debrief = DebriefActivities(sessions)
    try:
        with ThreadPoolExecutor(max_workers=16, thread_name_prefix="activity") as executor:
            worker = build_worker(
                client,
                task_queue=settings.task_queue,
                read_model=read_model,
                notifications=notification_activities(settings, sessions),
                debrief=debrief,
                activity_executor=executor,
                audit=audit_activities(settings, sessions),
            )
            async with worker:
                await ensure_audit_running(client, settings=settings)
                log.info("worker running", task_queue=settings.task_queue)
                await (stop or asyncio.Event()).wait()
    finally:
        engine.dispose()
