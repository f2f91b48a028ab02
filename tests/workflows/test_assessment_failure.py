"""An outcome assessment that fails for good: on the timeline, told to the coordinator over real
HTTP, and tried again on the next change (time-skipping server)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.debrief import ASSESSMENT_CONFLICT, DebriefActivities
from store.assessments import assessment_versions
from store.migrate import upgrade
from store.session import create_engine_for, session_factory
from tests.receivers import register_directory
from tests.workflows.conftest import make_worker
from tests.workflows.operations import officer, request_id
from tests.workflows.test_notifications_delivered import Stage
from workflows.commands import SubmitDebriefInput
from workflows.events import EventKind
from workflows.messages import AssessOperationInput, AssessOperationResult

FAILED = "the outcome assessment could not be written"


class FailingAssessment(DebriefActivities):
    """The real assessment activity, failing for good (not retryable) while told to."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        self._lock = threading.Lock()
        self.failing = False
        self.attempts = 0

    @activity.defn(name="assess_operation")
    def assess_operation(self, request: AssessOperationInput) -> AssessOperationResult:
        with self._lock:
            self.attempts += 1
            if self.failing:
                raise ApplicationError(
                    "the read model refused the version",
                    type=ASSESSMENT_CONFLICT,
                    non_retryable=True,
                )
        return super().assess_operation(request)


@pytest.fixture
async def failing_stage(
    time_skipping_env: WorkflowEnvironment,
    sqlite_url: str,
    httpserver: HTTPServer,
    activity_executor: ThreadPoolExecutor,
    tmp_path: Path,
) -> AsyncIterator[tuple[Stage, FailingAssessment]]:
    upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url)
    sessions = session_factory(engine)
    register_directory(sessions, httpserver)
    stage = Stage(time_skipping_env, sessions, httpserver)
    debrief = FailingAssessment(sessions)
    worker = make_worker(
        time_skipping_env, sessions, activity_executor, stage.task_queue, debrief=debrief
    )
    try:
        async with worker:
            yield stage, debrief
    finally:
        engine.dispose()


async def test_a_failed_assessment_is_on_the_timeline_told_and_retried_on_the_next_change(
    failing_stage: tuple[Stage, FailingAssessment],
) -> None:
    stage, debrief = failing_stage
    operation = await stage.launched(await stage.start())
    for leg in (1, 2):
        await operation.offer(leg)
        await operation.acknowledge(leg)
    await operation.interdict_at_destination()
    await operation.conclude()
    debrief.failing = True
    await stage.env.sleep(timedelta(days=15))  # the debrief deadline asks for version 1

    kinds = await operation.kinds()
    for _ in range(100):
        if EventKind.DEBRIEF_ASSESSMENT_FAILED in kinds:
            break
        await asyncio.sleep(0.1)
        kinds = await operation.kinds()
    assert kinds[-2:] == [EventKind.DEBRIEF_DEADLINE_PASSED, EventKind.DEBRIEF_ASSESSMENT_FAILED]
    state = await operation.state()
    assert state.timeline[-1].summary == (
        "Outcome assessment version 1 could not be written; the next change tries again"
    )
    [told] = [m for m in await stage.heard("caricc", 2) if FAILED in m]
    assert told.startswith("Alert on operation NIGHTJAR")
    # Nothing changed: not tried again, however long it waits.
    attempts = debrief.attempts
    await stage.env.sleep(timedelta(days=3))
    assert debrief.attempts == attempts
    with stage.sessions() as session:
        assert assessment_versions(session, operation_id=operation.operation_id) == []

    debrief.failing = False
    await operation.do(
        SubmitDebriefInput(actor=officer("tj-dca"), request_id=request_id(), lessons=["ETA"])
    )
    for _ in range(100):
        kinds = await operation.kinds()
        if kinds[-1] == EventKind.DEBRIEF_ASSESSED:
            break
        await asyncio.sleep(0.1)
    assert kinds[-2:] == [EventKind.DEBRIEF_INPUT_SUBMITTED, EventKind.DEBRIEF_ASSESSED]
    with stage.sessions() as session:
        versions = assessment_versions(session, operation_id=operation.operation_id)
    assert [version for version, *_ in versions] == [1]
