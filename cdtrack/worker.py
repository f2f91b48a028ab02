"""The Temporal worker: runs operation workflows and the activities they ask for."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import structlog
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.debrief import DebriefActivities
from activities.notifications import NotificationActivities
from activities.projection import ReadModelActivities
from cdtrack.settings import Settings
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
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ControlledDeliveryWorkflow],
        activities=[
            read_model.project_operation,
            notifications.notify_agencies,
            debrief.assess_operation,
        ],
        activity_executor=activity_executor,
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
            )
            async with worker:
                log.info("worker running", task_queue=settings.task_queue)
                await (stop or asyncio.Event()).wait()
    finally:
        engine.dispose()
