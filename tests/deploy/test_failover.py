"""Three `cdtrack worker` processes share a task queue on the real dev server; one is killed.

Thirty operations are in flight, each with a handover offered under a short deadline. While
half of them are being acknowledged and walked on, one worker is killed with SIGKILL. Every
operation still reaches closed, every deadline fires no later than the workflow task timeout
after it was due (plus the moment the server takes to hand a retried task on), every
acknowledgement is applied exactly once (a retry with the same request id answers the same),
and the read model's timelines are the workflows' own.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Final, TypeVar

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from store.session import create_engine_for, session_factory
from store.timeline import timeline as read_model_timeline
from tests.deploy.processes import WorkerProcess
from tests.factories import sample_plan
from tests.temporal_env import TEST_CODEC_KEY
from tests.workflows.operations import COORDINATOR, OperationDriver, officer, request_id
from workflows import details
from workflows.commands import CloseDebriefInput, SubmitDebriefInput
from workflows.events import EventKind
from workflows.starter import operation_handle
from workflows.timeline import detail_of

pytestmark = [pytest.mark.devserver, pytest.mark.postgres]

OPERATIONS: Final = 30
WORKERS: Final = 3
DEADLINE: Final = timedelta(seconds=8)
# Temporal's default workflow task timeout: how long a task a dead worker held waits to be retried.
WORKFLOW_TASK_TIMEOUT: Final = timedelta(seconds=10)
# A timer's task that the dead worker held is retried once that timeout expires; the server then
# needs a moment to hand it to a live worker, longer on a loaded machine.
DISPATCH_ALLOWANCE: Final = timedelta(seconds=2)
T = TypeVar("T")


@pytest.fixture
def sessions(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine_for(postgres_url)
    yield session_factory(engine)
    engine.dispose()


async def _all(calls: list[Callable[[], Awaitable[T]]], *, at_once: int = 10) -> list[T]:
    lanes = asyncio.Semaphore(at_once)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with lanes:
            return await call()

    return await asyncio.gather(*(one(call) for call in calls))


async def _walk_on_to_closed(operation: OperationDriver, *, acknowledgement: str) -> None:
    """From the first handover offered to closed: the rest of the sample operation."""
    af, tj, kz = (operation.agency_of(c) for c in ("AF", "TJ", "KZ"))
    await operation.acknowledge(1, request=acknowledgement)
    await operation.checkpoint(tj, "Dushanbe", "TJ")
    await operation.offer(2)
    await operation.acknowledge(2)
    await operation.interdict_at_destination()
    await operation.seize_at_destination()
    await operation.conclude()
    for agency in (af, tj, kz):
        await operation.do(
            SubmitDebriefInput(actor=officer(agency), request_id=request_id(), lessons=["ETA"])
        )
    await operation.do(CloseDebriefInput(actor=COORDINATOR, request_id=request_id()))


async def test_killing_one_of_three_workers_loses_no_operation_deadline_or_acknowledgement(
    dev_server_env: WorkflowEnvironment,
    postgres_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    client = dev_server_env.client
    task_queue = f"failover-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "CDTRACK_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "CDTRACK_TASK_QUEUE": task_queue,
        "CDTRACK_DATABASE_URL": postgres_url,
        "CDTRACK_CODEC_KEYS": json.dumps({"test-1": TEST_CODEC_KEY}),
        "CDTRACK_CODEC_ACTIVE_KEY_ID": "test-1",
        "CDTRACK_DATA_DIR": str(tmp_path),
        "CDTRACK_LOG_FORMAT": "json",
    }
    workers = [WorkerProcess(env, log=tmp_path / f"worker-{n}.log") for n in range(WORKERS)]
    for worker in workers:
        worker.start()
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            deadline = time.monotonic() + 60
            while not all([await worker.ready(http) for worker in workers]):
                assert time.monotonic() < deadline, "the workers never became ready"
                await asyncio.sleep(0.3)

        now = datetime.now(UTC)
        plan = sample_plan(now=now)
        short = [leg.model_copy(update={"acknowledgement_deadline": DEADLINE}) for leg in plan.legs]
        plan = plan.model_copy(update={"legs": short})

        async def started(number: int) -> OperationDriver:
            operation = await OperationDriver.start(
                client,
                plan=plan.model_copy(update={"code_name": f"FAILOVER-{number}"}),
                task_queue=task_queue,
                now=now,
            )
            await operation.launch(now=now)
            await operation.offer(1)
            return operation

        operations = await _all([partial(started, n) for n in range(OPERATIONS)])
        last_due = datetime.now(UTC) + DEADLINE
        prompt, late = operations[::2], operations[1::2]
        acknowledgements = {op.operation_id: f"ack-1-{op.operation_id}" for op in operations}

        walking = asyncio.gather(
            *(
                _walk_on_to_closed(op, acknowledgement=acknowledgements[op.operation_id])
                for op in prompt
            )
        )
        # Mid-walk, with Updates and activities of the prompt half in its hands.
        await asyncio.sleep(1.5)
        workers[0].kill()
        await asyncio.wait_for(walking, timeout=180)

        # The late half: every first deadline fires (the reminder), then they are acknowledged.
        fired_by = last_due + WORKFLOW_TASK_TIMEOUT
        await asyncio.sleep(max(0.0, (fired_by - datetime.now(UTC)).total_seconds()))
        await _all(
            [
                partial(_walk_on_to_closed, op, acknowledgement=acknowledgements[op.operation_id])
                for op in late
            ]
        )

        # An acknowledgement retried with its request id answers the same and changes nothing.
        for operation in operations[:4]:
            retry = acknowledgements[operation.operation_id]
            again = await operation.acknowledge(1, request=retry)
            # The answer it gave the first time: custody passed to the Tajik agency then.
            assert again.custodian == operation.agency_of("TJ")

        results = await _all(
            [operation_handle(client, op.operation_id).result for op in operations]
        )
        states = await _all([op.state for op in operations])
    finally:
        for worker in workers:
            worker.kill()

    assert [result.phase for result in results] == ["closed"] * OPERATIONS
    for operation, state in zip(operations, states, strict=True):
        kinds = [event.kind for event in state.timeline]
        assert kinds.count(EventKind.HANDOVER_ACKNOWLEDGED) == 2, operation.operation_id
        assert [record.outcome for record in state.handovers] == ["acknowledged"] * 2
        overdue_kind = EventKind.HANDOVER_ACKNOWLEDGEMENT_OVERDUE
        overdue = [
            detail_of(e, details.Escalation) for e in state.timeline if e.kind == overdue_kind
        ]
        for step in overdue:
            lateness = timedelta(seconds=step.overdue_seconds)
            assert timedelta(0) <= lateness <= WORKFLOW_TASK_TIMEOUT + DISPATCH_ALLOWANCE, step
        if operation in late:
            assert 1 in [step.leg for step in overdue], operation.operation_id
        with sessions() as session:
            projected = read_model_timeline(session, operation_id=operation.operation_id)
        assert projected == state.timeline, operation.operation_id
