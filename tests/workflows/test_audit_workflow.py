"""The audit workflow on the dev server: entries appended are integrated and their head recorded."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.audit import AuditActivities
from store.access_log import (
    AccessCategory,
    PublishedHead,
    append_access,
    head_is_signed,
    read_published_heads,
    verify_log,
)
from store.checkpoint import LogSigner
from tests.workflows.conftest import make_worker
from workflows.audit import AccessLogAuditWorkflow
from workflows.messages import RunAccessLogAuditInput, SignedTreeHead

SIGNER = LogSigner(origin="test/access-log", seed=bytes(range(32)))


def _append(sessions: sessionmaker[Session], count: int) -> None:
    # One transaction, so the sequencer sees all of them at once and signs one head for them.
    with sessions.begin() as session:
        for _ in range(count):
            append_access(
                session,
                accessor=None,
                action="operation.read",
                category=AccessCategory.CONSULTATION,
                operation_id="op-1",
                justification="Checking the crossing point",
            )


async def _head_of(handle: WorkflowHandle[Any, Any], size: int) -> SignedTreeHead:
    async with asyncio.timeout(30):
        while True:
            head: SignedTreeHead | None = await handle.query(AccessLogAuditWorkflow.latest_head)
            if head is not None and head.tree_size >= size:
                return head
            await asyncio.sleep(0.2)


async def _continued_as_new(handle: WorkflowHandle[Any, Any], run_id: str | None) -> None:
    async with asyncio.timeout(30):
        while True:
            if (await handle.describe()).run_id != run_id:
                return
            await asyncio.sleep(0.2)


async def test_appended_entries_get_a_signed_head_in_the_workflow_history(
    dev_server_env: WorkflowEnvironment,
    session_maker: sessionmaker[Session],
    activity_executor: ThreadPoolExecutor,
    tmp_path: Path,
) -> None:
    task_queue = f"audit-{uuid.uuid4().hex}"
    heads_file = tmp_path / "heads.jsonl"
    audit = AuditActivities(session_maker, signer=SIGNER, heads_file=heads_file)
    worker = make_worker(dev_server_env, session_maker, activity_executor, task_queue, audit=audit)
    async with worker:
        handle = await dev_server_env.client.start_workflow(
            AccessLogAuditWorkflow.run,
            RunAccessLogAuditInput(
                batch_interval_seconds=0.2, idle_interval_seconds=0.5, iterations_per_run=5
            ),
            id=f"access-log-audit-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        first_run = handle.result_run_id
        await asyncio.to_thread(_append, session_maker, 3)
        head = await _head_of(handle, 3)
        history = await handle.fetch_history()
        # The head carried over continue-as-new: a later run answers with it and extends it.
        await _continued_as_new(handle, first_run)
        await asyncio.to_thread(_append, session_maker, 2)
        later = await _head_of(handle, 5)
        await handle.terminate("test over")

    assert head.tree_size == 3
    assert head_is_signed(head, SIGNER.verifier)
    completed = [
        event
        for event in history.events
        if event.HasField("activity_task_completed_event_attributes")
    ]
    assert completed, "the sequencer's result, the checkpoint, is in the history"
    assert later.tree_size == 5
    assert [h.tree_size for h in read_published_heads(heads_file)] == [3, 5]
    with session_maker() as session:
        report = verify_log(
            session,
            verifier=SIGNER.verifier,
            published=[PublishedHead("audit workflow", later)],
            now=datetime.now(UTC),
        )
    assert report.intact, report.describe()
    assert report.checked_against == PublishedHead("audit workflow", later)
