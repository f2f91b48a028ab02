"""An outcome assessment that fails for good: on the timeline, told to the coordinator over real
HTTP, and tried again on the next change, or after the close on a timer until it is written
(time-skipping server)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.debrief import ASSESSMENT_CONFLICT, DebriefActivities
from store.assessments import assessment, assessment_versions
from store.migrate import upgrade
from store.session import create_engine_for, session_factory
from tests.receivers import received_by, register_directory
from tests.workflows.conftest import make_worker, replayer
from tests.workflows.operations import COORDINATOR, OperationDriver, officer, request_id
from tests.workflows.test_notifications_delivered import Stage
from workflows.commands import CloseDebriefInput, RetryAssessmentInput, SubmitDebriefInput
from workflows.events import EventKind
from workflows.messages import AssessmentRetryPolicy, AssessOperationInput, AssessOperationResult
from workflows.starter import operation_handle

FAILED = "the outcome assessment could not be written"


class FailingAssessment(DebriefActivities):
    """The real assessment activity, failing for good (not retryable) while told to."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        self._lock = threading.Lock()
        self.failing = False
        self.attempts = 0
        self.asked_at: list[datetime] = []

    @activity.defn(name="assess_operation")
    def assess_operation(self, request: AssessOperationInput) -> AssessOperationResult:
        with self._lock:
            self.attempts += 1
            self.asked_at.append(request.requested_at)
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


async def _in_debrief(stage: Stage, **options: object) -> OperationDriver:
    """An operation handed over twice, interdicted at its destination and concluded."""
    operation = await stage.launched(await stage.start(options=options))
    for leg in (1, 2):
        await operation.offer(leg)
        await operation.acknowledge(leg)
    await operation.interdict_at_destination()
    await operation.conclude()
    return operation


async def test_a_failed_assessment_is_on_the_timeline_told_and_retried_on_the_next_change(
    failing_stage: tuple[Stage, FailingAssessment],
) -> None:
    stage, debrief = failing_stage
    operation = await _in_debrief(stage)
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


CLOSING_FAILED = "the closing outcome assessment could not be written"
# Minutes, not hours, so the time-skipping server reaches several attempts quickly.
QUICK_ASSESSMENT_RETRY = AssessmentRetryPolicy(first_retry_seconds=60, maximum_retry_seconds=600)


async def _closed_while_failing(
    stage: Stage, debrief: FailingAssessment, **options: object
) -> OperationDriver:
    """An operation whose debrief is closed while every assessment fails; its failure recorded."""
    operation = await _in_debrief(stage, **options)
    debrief.failing = True
    await operation.do(CloseDebriefInput(actor=COORDINATOR, request_id=request_id()))
    for _ in range(100):
        if EventKind.DEBRIEF_ASSESSMENT_FAILED in await operation.kinds():
            break
        await asyncio.sleep(0.1)
    return operation


async def _skip(stage: Stage, duration: timedelta, *, step: timedelta) -> None:
    """Skip `duration` a `step` at a time: each skip is one call to the test server, and a call
    that spans many attempts can outlast its timeout on a loaded machine."""
    for _ in range(round(duration / step)):
        await stage.env.sleep(step)


async def _told(stage: Stage, phrase: str) -> list[str]:
    """The coordinator's notices saying `phrase`, once the first has come (real HTTP)."""
    for _ in range(100):
        told = [m for m in received_by(stage.receiver, "caricc") if phrase in m]
        if told:
            return told
        await asyncio.sleep(0.1)
    raise AssertionError(f"the coordinator was not told {phrase!r}")


async def _assert_final_version_after(
    stage: Stage, operation: OperationDriver, *before: EventKind
) -> None:
    """Version 1 is written last, after the events `before`, and is the final one: labelled by
    the close."""
    kinds = await operation.kinds()
    assert kinds[-len(before) - 1 :] == [*before, EventKind.DEBRIEF_ASSESSED]
    with stage.sessions() as session:
        written = assessment(session, operation_id=operation.operation_id)
        assert written is not None
        assert (written.version, written.reason) == (1, f"after {EventKind.DEBRIEF_CLOSED}")


async def test_a_failed_closing_assessment_keeps_the_run_open_until_it_is_written(
    failing_stage: tuple[Stage, FailingAssessment],
) -> None:
    stage, debrief = failing_stage
    operation = await _closed_while_failing(stage, debrief, assessment_retry=QUICK_ASSESSMENT_RETRY)
    handle = operation_handle(stage.env.client, operation.operation_id)
    state = await operation.state()
    assert state.phase.value == "closed"
    assert [e.kind for e in state.timeline][-2:] == [
        EventKind.DEBRIEF_CLOSED,
        EventKind.DEBRIEF_ASSESSMENT_FAILED,
    ]
    assert state.timeline[-1].summary == (
        "Outcome assessment version 1 could not be written; it is tried again until it is written"
    )
    [told] = await _told(stage, CLOSING_FAILED)
    assert told.startswith("Alert on operation NIGHTJAR")

    # An outage of hours: tried again and again, but recorded and told only the first time.
    attempts = debrief.attempts
    await _skip(stage, timedelta(hours=3), step=timedelta(minutes=30))
    # Each wait as long as it has been failing, up to the longest: 1, 1, 2, 4, 8, 10, 10 minutes.
    waits = [later - earlier for earlier, later in pairwise(debrief.asked_at[attempts - 1 :])]
    assert [round(wait / timedelta(minutes=1)) for wait in waits[:7]] == [1, 1, 2, 4, 8, 10, 10]
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    kinds = await operation.kinds()
    assert kinds.count(EventKind.DEBRIEF_ASSESSMENT_FAILED) == 1
    assert len(await _told(stage, CLOSING_FAILED)) == 1

    debrief.failing = False
    # The next attempt comes within the longest wait (a handle not started here skips no time).
    await stage.env.sleep(timedelta(seconds=QUICK_ASSESSMENT_RETRY.maximum_retry_seconds))
    assert (await handle.result()).phase == "closed"
    await _assert_final_version_after(
        stage, operation, EventKind.DEBRIEF_CLOSED, EventKind.DEBRIEF_ASSESSMENT_FAILED
    )
    await _told(stage, "the debrief is closed and the debrief report is final")
    assert len(await _told(stage, CLOSING_FAILED)) == 1
    # Its history, timers and all, replays on the same code.
    replayed = await replayer().replay_workflow(await handle.fetch_history())
    assert replayed.replay_failure is None


async def test_a_long_outage_after_the_close_continues_as_new_with_the_failure_carried(
    failing_stage: tuple[Stage, FailingAssessment],
) -> None:
    stage, debrief = failing_stage
    operation = await _closed_while_failing(
        stage,
        debrief,
        assessment_retry=AssessmentRetryPolicy(first_retry_seconds=1, maximum_retry_seconds=2),
        history_event_limit=100,
    )
    handle = operation_handle(stage.env.client, operation.operation_id)
    closed_in = (await handle.describe()).run_id
    # The coordinator told first: a delivery still under way holds the server's clock still.
    await _told(stage, CLOSING_FAILED)
    attempts = debrief.attempts
    # Waits of seconds: where the clock is held anyway (a busy machine), they come in real time
    # and the half minute still holds the attempts; waits of minutes would outlast the call.
    await _skip(stage, timedelta(seconds=32), step=timedelta(seconds=4))
    # Every two seconds for half a minute: sixteen attempts, more than one run could hold.
    assert debrief.attempts >= attempts + 12
    assert (await handle.describe()).run_id != closed_in, "the closed run continued as new"
    history = await handle.fetch_history()
    assert len(history.events) < 200
    assert (await operation.kinds()).count(EventKind.DEBRIEF_ASSESSMENT_FAILED) == 1
    assert len(await _told(stage, CLOSING_FAILED)) == 1

    debrief.failing = False
    await stage.env.sleep(timedelta(seconds=2))
    assert (await handle.result()).phase == "closed"
    with stage.sessions() as session:
        versions = assessment_versions(session, operation_id=operation.operation_id)
    assert [(version, reason) for version, _, _, reason in versions] == [
        (1, f"after {EventKind.DEBRIEF_CLOSED}")
    ]


async def test_the_coordinator_has_a_failed_closing_assessment_tried_at_once(
    failing_stage: tuple[Stage, FailingAssessment],
) -> None:
    stage, debrief = failing_stage
    operation = await _closed_while_failing(stage, debrief)  # the first timer: five minutes
    failed_at = (await operation.state()).timeline[-1].at
    debrief.failing = False
    await operation.do(RetryAssessmentInput(actor=COORDINATOR, request_id=request_id()))
    result = await operation_handle(stage.env.client, operation.operation_id).result()

    assert result.phase == "closed"
    assert debrief.asked_at[-1] - failed_at < timedelta(minutes=1), "not on the timer"
    await _assert_final_version_after(
        stage, operation, EventKind.DEBRIEF_ASSESSMENT_FAILED, EventKind.DEBRIEF_ASSESSMENT_RETRIED
    )
