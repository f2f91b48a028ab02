"""The operation on the real Temporal dev server with the read model on PostgreSQL, and a worker
killed mid-operation."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from store.session import create_engine_for, session_factory
from store.timeline import timeline as read_model_timeline
from tests.factories import sample_plan
from tests.temporal_env import TEST_CODEC_KEY
from tests.workflows.conftest import make_worker
from tests.workflows.operations import OperationDriver
from workflows.events import EventKind
from workflows.starter import operation_handle


@pytest.fixture
def postgres_session_maker(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine_for(postgres_url)
    yield session_factory(engine)
    engine.dispose()


async def test_full_operation_on_dev_server_with_postgres_read_model(
    dev_server_env: WorkflowEnvironment,
    postgres_session_maker: sessionmaker[Session],
    activity_executor: ThreadPoolExecutor,
) -> None:
    task_queue = f"operations-{uuid.uuid4().hex}"
    worker = make_worker(dev_server_env, postgres_session_maker, activity_executor, task_queue)
    async with worker:
        now = datetime.now(UTC)
        operation = await OperationDriver.start(
            dev_server_env.client, plan=sample_plan(now=now), task_queue=task_queue, now=now
        )
        await operation.launch(now=now)
        await operation.run_to_closed()
        result = await operation_handle(dev_server_env.client, operation.operation_id).result()
        state = await operation.state()
    assert result.phase == "closed"
    with postgres_session_maker() as session:
        projected = read_model_timeline(session, operation_id=operation.operation_id)
    assert projected == state.timeline
    assert len(projected) == result.events


class WorkerProcess:
    """`cdtrack worker` in its own process, so the test can kill it like a crash would."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cdtrack = Path(sys.executable).parent / "cdtrack"
        self.process = subprocess.Popen(
            [str(cdtrack), "worker"], env=self.env, stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


async def test_killing_the_worker_mid_operation_loses_nothing_and_acknowledges_once(
    dev_server_env: WorkflowEnvironment,
    postgres_url: str,
    postgres_session_maker: sessionmaker[Session],
) -> None:
    task_queue = f"operations-{uuid.uuid4().hex}"
    target = dev_server_env.client.service_client.config.target_host
    env = {
        **os.environ,
        "CDTRACK_TEMPORAL_ADDRESS": target,
        "CDTRACK_TASK_QUEUE": task_queue,
        "CDTRACK_DATABASE_URL": postgres_url,
        "CDTRACK_CODEC_KEYS": json.dumps({"test-1": TEST_CODEC_KEY}),
        "CDTRACK_CODEC_ACTIVE_KEY_ID": "test-1",
        "CDTRACK_WORKER_HEALTH_PORT": "0",
    }
    first, second = WorkerProcess(env), WorkerProcess(env)
    first.start()
    try:
        now = datetime.now(UTC)
        operation = await OperationDriver.start(
            dev_server_env.client, plan=sample_plan(now=now), task_queue=task_queue, now=now
        )
        await operation.launch(now=now)
        await operation.offer(1)
        first.kill()

        # The acknowledgement arrives while no worker runs; it waits for the next one.
        acknowledgement = asyncio.create_task(operation.acknowledge(1, request="ack-leg-1"))
        await asyncio.sleep(2)
        assert not acknowledgement.done()
        second.start()
        answered = await asyncio.wait_for(acknowledgement, timeout=120)
        retried = await operation.acknowledge(1, request="ack-leg-1")
        assert retried == answered

        await operation.offer(2)
        await operation.acknowledge(2)
        state = await operation.state()
    finally:
        for worker in (first, second):
            if worker.process is not None and worker.process.poll() is None:
                worker.kill()

    kinds = [e.kind for e in state.timeline]
    assert kinds.count(EventKind.HANDOVER_ACKNOWLEDGED) == 2
    assert state.custodian == operation.agency_of("KZ")
    assert [h.leg for h in state.handovers] == [1, 2]
    with postgres_session_maker() as session:
        projected = read_model_timeline(session, operation_id=operation.operation_id)
    assert projected == state.timeline
