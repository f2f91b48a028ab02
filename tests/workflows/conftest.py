"""Temporal environments and a running worker for the operation workflow tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.projection import ReadModelActivities
from cdtrack.worker import build_worker
from tests.temporal_env import binary, converter_for_tests
from workflows.operation import PHASE_ATTRIBUTE
from workflows.starter import operation_handle


# One server per test: a server shared across tests stalls skipping time once an earlier test's
# worker has gone, so each test gets a clean clock.
@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=converter_for_tests(),
    )
    async with env:
        # The test server knows no custom search attribute until told, like a fresh cluster.
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    PHASE_ATTRIBUTE.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                },
            )
        )
        yield env


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=converter_for_tests(),
        search_attributes=[PHASE_ATTRIBUTE],
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
        ],
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
def activity_executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        yield executor


KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
HISTORIES = Path(__file__).parent / "histories"


async def record_history(client: Client, operation_id: str, name: str) -> None:
    """Keep a finished workflow's history for the replay test (make record-histories)."""
    if not os.environ.get("CDTRACK_RECORD_HISTORIES"):
        return
    history = await operation_handle(client, operation_id).fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json())


def make_worker(
    env: WorkflowEnvironment,
    session_maker: sessionmaker[Session],
    executor: ThreadPoolExecutor,
    task_queue: str,
) -> Worker:
    return build_worker(
        env.client,
        task_queue=task_queue,
        read_model=ReadModelActivities(session_maker),
        activity_executor=executor,
    )
