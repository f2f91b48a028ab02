"""A worker for the operation workflow tests, and recorded histories for the replay test.

The tests' worker runs the workflows in the SDK's strict sandbox whatever production runs them
with: a nondeterministic call in workflow code (the clock, randomness, I/O) fails the tests.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker, WorkflowRunner

from activities.audit import AuditActivities
from activities.debrief import DebriefActivities
from activities.projection import ReadModelActivities
from cdtrack.worker import build_worker, notification_activities, workflow_runner
from tests.temporal_env import converter_for_tests, settings_for_tests
from workflows.operation import ControlledDeliveryWorkflow
from workflows.starter import operation_handle

HISTORIES = Path(__file__).parent / "histories"
STRICT_SANDBOX: Final[WorkflowRunner] = workflow_runner("strict")


async def record_history(client: Client, operation_id: str, name: str) -> None:
    """Keep a finished workflow's history for the replay test (make record-histories)."""
    if not os.environ.get("CDTRACK_RECORD_HISTORIES"):
        return
    history = await operation_handle(client, operation_id).fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json())


def replayer() -> Replayer:
    """A replayer of the operation workflow in the strict sandbox, as in the workflow tests.

    The rules module is passed through the sandbox, so a workflow replayed in it sees a rule a
    test changed.
    """
    return Replayer(
        workflows=[ControlledDeliveryWorkflow],
        data_converter=converter_for_tests(),
        workflow_runner=STRICT_SANDBOX,
    )


def make_worker(
    env: WorkflowEnvironment,
    session_maker: sessionmaker[Session],
    executor: ThreadPoolExecutor,
    task_queue: str,
    *,
    public_base_url: str = "http://127.0.0.1:8000",
    audit: AuditActivities | None = None,
    read_model: ReadModelActivities | None = None,
    debrief: DebriefActivities | None = None,
) -> Worker:
    settings = settings_for_tests(public_base_url=public_base_url)
    return build_worker(
        env.client,
        task_queue=task_queue,
        read_model=read_model or ReadModelActivities(session_maker),
        notifications=notification_activities(settings, session_maker),
        debrief=debrief or DebriefActivities(session_maker),
        activity_executor=executor,
        workflow_runner=STRICT_SANDBOX,
        audit=audit,
    )
