"""The tests run workflows in the SDK's strict sandbox, and that sandbox refuses nondeterminism.

Production runs the workflows without a sandbox (cdtrack.worker.workflow_runner); these tests
are why that is safe to do, so they check that the check itself is still there: the worker the
workflow tests use has the strict sandbox, and the sandbox refuses a workflow reading the clock,
randomness or a file, where the production runner lets it through.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError

from cdtrack.worker import workflow_runner
from store.session import create_engine_for, session_factory
from tests.workflows.conftest import STRICT_SANDBOX, make_worker
from tests.workflows.nondeterministic import CALLS, CarelessWorkflow

pytestmark = pytest.mark.devserver


async def _run_careless(env: WorkflowEnvironment, runner: WorkflowRunner, call: str) -> str:
    task_queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    # A refused call fails the run here (in production it would fail the task, retried forever).
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[CarelessWorkflow],
        workflow_runner=runner,
        workflow_failure_exception_types=[RestrictedWorkflowAccessError],
    ):
        return await env.client.execute_workflow(
            CarelessWorkflow.run, call, id=f"careless-{uuid.uuid4().hex}", task_queue=task_queue
        )


async def test_the_workflow_tests_worker_runs_the_strict_sandbox(
    dev_server_env: WorkflowEnvironment, sqlite_url: str, activity_executor: ThreadPoolExecutor
) -> None:
    engine = create_engine_for(sqlite_url)
    try:
        worker = make_worker(
            dev_server_env, session_factory(engine), activity_executor, "sandbox-check"
        )
        assert worker.config()["workflow_runner"] is STRICT_SANDBOX
    finally:
        engine.dispose()


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_the_strict_sandbox_refuses_a_nondeterministic_call(
    dev_server_env: WorkflowEnvironment, call: str
) -> None:
    with pytest.raises(WorkflowFailureError) as failed:
        await _run_careless(dev_server_env, STRICT_SANDBOX, call)

    refusal = str(failed.value.cause)
    assert f"Cannot access {call}" in refusal  # the function, or calling it (`.__call__`)
    assert "from inside a workflow" in refusal


async def test_without_the_sandbox_the_same_call_goes_through(
    dev_server_env: WorkflowEnvironment,
) -> None:
    # What production's runner does with it: nothing stops the clock being read at run time.
    answer = await _run_careless(dev_server_env, workflow_runner("off"), "datetime.datetime.now")

    assert abs(datetime.fromisoformat(answer) - datetime.now(UTC)) < timedelta(minutes=1)
