"""A read model that fails for a while: every event still reaches it, and nothing answers before."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.projection import ReadModelActivities
from store.access_log import list_access
from store.timeline import timeline as read_model_timeline
from tests.factories import sample_plan
from tests.workflows.conftest import make_worker
from tests.workflows.operations import COORDINATOR, OperationDriver, request_id
from tests.workflows.test_operation_workflow import Harness, sqlite_session_maker
from workflows.commands import CloseDebriefInput
from workflows.messages import ProjectionRetryPolicy, ProjectOperationInput, ProjectOperationResult
from workflows.starter import operation_handle
from workflows.state import OperationState

__all__ = ["sqlite_session_maker"]

# Short waits between attempts: the test server skips no time while an Update is awaited.
QUICK_RETRY = ProjectionRetryPolicy(first_retry_seconds=0.05, maximum_retry_seconds=0.2)


class ReadModelDownError(Exception):
    pass


class FailingReadModel(ReadModelActivities):
    """The real projection, failing its next attempts first, as a read model that is down."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        self._lock = threading.Condition()
        self._failures_left = 0
        self.failed = 0

    def fail_next(self, attempts: int) -> None:
        with self._lock:
            self._failures_left = attempts

    def wait_for_failures(self, count: int) -> None:
        with self._lock:
            assert self._lock.wait_for(lambda: self.failed >= count, timeout=30)

    @activity.defn(name="project_operation")
    def project_operation(self, projection: ProjectOperationInput) -> ProjectOperationResult:
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                self.failed += 1
                self._lock.notify_all()
                raise ReadModelDownError("the read model is down")
        return super().project_operation(projection)


@pytest.fixture
def read_model(sqlite_session_maker: sessionmaker[Session]) -> FailingReadModel:
    return FailingReadModel(sqlite_session_maker)


@pytest.fixture
async def env(
    time_skipping_env: WorkflowEnvironment,
    sqlite_session_maker: sessionmaker[Session],
    activity_executor: ThreadPoolExecutor,
    read_model: FailingReadModel,
) -> AsyncIterator[Harness]:
    harness = Harness(time_skipping_env, f"projection-{uuid.uuid4().hex}")
    worker = make_worker(
        time_skipping_env,
        sqlite_session_maker,
        activity_executor,
        harness.task_queue,
        read_model=read_model,
    )
    async with worker:
        yield harness


async def launched(env: Harness) -> OperationDriver:
    now = await env.get_current_time()
    operation = await OperationDriver.start(
        env.client,
        plan=sample_plan(now=now),
        task_queue=env.task_queue,
        now=now,
        projection_retry=QUICK_RETRY,
    )
    await operation.launch(now=now)
    return operation


def assert_all_projected(sessions: sessionmaker[Session], state: OperationState) -> None:
    with sessions() as session:
        projected = read_model_timeline(session, operation_id=state.operation_id)
    assert projected == state.timeline


async def test_an_update_answers_only_once_its_event_is_in_the_read_model(
    env: Harness,
    read_model: FailingReadModel,
    sqlite_session_maker: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="temporalio.workflow")
    operation = await launched(env)
    read_model.fail_next(3)

    answer = await operation.checkpoint(operation.agency_of("AF"), "Sherkhan Bandar", "AF")

    assert read_model.failed == 3
    seq = answer.event.seq
    with sqlite_session_maker() as session:
        projected = read_model_timeline(session, operation_id=operation.operation_id)
        logged = list_access(session, operation_id=operation.operation_id, limit=1_000)
    assert projected[-1].seq == seq, "answered before its event was projected"
    assert [e.detail["event_seq"] for e in logged].count(seq) == 1, "its access-log entry, once"
    failures = [r for r in caplog.records if r.name == "temporalio.workflow"]
    assert len(failures) == 3
    for attempt, record in enumerate(failures, 1):
        assert record.levelno == logging.WARNING
        assert f"up to seq {seq} failed (attempt {attempt})" in record.getMessage()
        assert "Sherkhan" not in record.getMessage(), "no operational detail in the log"

    await operation.run_to_closed()
    await operation_handle(env.client, operation.operation_id).result()
    assert_all_projected(sqlite_session_maker, await operation.state())


async def test_the_run_does_not_end_while_its_projection_keeps_failing(
    env: Harness, read_model: FailingReadModel, sqlite_session_maker: sessionmaker[Session]
) -> None:
    operation = await launched(env)
    await operation.run_to_debriefed()
    handle = operation_handle(env.client, operation.operation_id)
    read_model.fail_next(1_000_000)

    close = asyncio.create_task(
        operation.do(CloseDebriefInput(actor=COORDINATOR, request_id=request_id()))
    )
    await asyncio.to_thread(read_model.wait_for_failures, 8)
    assert not close.done(), "the close answered with its event unprojected"
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    with sqlite_session_maker() as session:
        kinds = [e.kind for e in read_model_timeline(session, operation_id=operation.operation_id)]
    assert "debrief.closed" not in kinds

    read_model.fail_next(0)
    await close
    result = await handle.result()
    assert result.phase == "closed"
    state = await operation.state()
    assert [e.kind for e in state.timeline][-2:] == ["debrief.closed", "debrief.assessed"]
    assert_all_projected(sqlite_session_maker, state)
