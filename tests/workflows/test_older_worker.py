"""An action the worker that takes it does not know (one of the release before, while a new one
is rolled out) is told apart from a refusal by the rules, and changes nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows.commands import Actor, ActorRole, RetryAssessmentInput
from workflows.starter import ActionNotYetKnownError, act, operation_handle, workflow_id


@workflow.defn(name="ControlledDelivery", sandboxed=False)
class ReleaseBefore:
    """The operation's workflow as a release without the coordinator's retry of the assessment."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


async def test_an_action_the_older_worker_lacks_is_not_yet_known(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    task_queue = f"release-before-{uuid.uuid4().hex}"
    operation_id = uuid.uuid4().hex
    async with Worker(client, task_queue=task_queue, workflows=[ReleaseBefore]):
        await client.start_workflow(
            "ControlledDelivery", id=workflow_id(operation_id), task_queue=task_queue
        )
        retry = RetryAssessmentInput(
            actor=Actor(agency="caricc", officer="coordinator-1", role=ActorRole.COORDINATOR),
            request_id="retry-1",
        )
        with pytest.raises(ActionNotYetKnownError) as raised:
            async with asyncio.timeout(20):
                await act(client, operation_id=operation_id, command=retry)
        assert raised.value.kind == "retry_assessment"
        handle = operation_handle(client, operation_id)
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        history = await handle.fetch_history()
        assert not [
            e
            for e in history.events
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        await handle.terminate("test done")
