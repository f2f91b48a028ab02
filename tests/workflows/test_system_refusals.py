"""A timer's command the rules refuse fails the workflow task, visibly, instead of being skipped."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

import workflows.rules
from tests.temporal_env import converter_for_tests
from tests.workflows.test_operation_workflow import Harness, env, launched, sqlite_session_maker
from workflows.commands import AnyCommand
from workflows.reasons import because
from workflows.rules import Decision, Refused
from workflows.starter import operation_handle
from workflows.state import OperationState

__all__ = ["env", "sqlite_session_maker"]


async def failed_tasks(handle: WorkflowHandle[Any, Any]) -> list[Failure]:
    history = await handle.fetch_history()
    return [
        e.workflow_task_failed_event_attributes.failure
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


async def test_a_refused_deadline_fails_the_workflow_task_and_the_run_waits(
    env: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide = workflows.rules.decide

    def refusing_the_deadline(
        state: OperationState, command: AnyCommand, *, now: datetime
    ) -> Decision:
        if command.kind == "handover_deadline_reached":
            return Refused("refused for the test", because("refused for the test"))
        return decide(state, command, now=now)

    # The rules module is passed through the sandbox, so the workflow sees the double.
    monkeypatch.setattr(workflows.rules, "decide", refusing_the_deadline)
    operation = await launched(env)
    handle = operation_handle(env.client, operation.operation_id)
    await operation.offer(1)
    # Past the acknowledgement deadline; the server stops skipping time once the task fails.
    skipping = asyncio.create_task(env.sleep(timedelta(minutes=31)))
    try:
        async with asyncio.timeout(20):
            failed = await failed_tasks(handle)
            while not failed:
                await asyncio.sleep(0.1)
                failed = await failed_tasks(handle)
    finally:
        skipping.cancel()
    refusal = await converter_for_tests().decode_failure(failed[-1])
    assert "the rules refused handover_deadline_reached" in str(refusal)
    assert "refused for the test" not in str(refusal), "the rules' reason stays out of it"
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
