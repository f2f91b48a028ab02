"""AccessLogAuditWorkflow: the access log's one sequencer, and where its signed heads are published.

A singleton (id `access-log-audit`): every few seconds (less often while nothing comes) it has
the sequencer activity integrate what is queued and sign a new head, from the head it carries.
Each result is in the workflow's history, outside the read model: that history is the published
checkpoint, and `latest_head` answers with the newest. The head and its compact range cross
continue-as-new.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (
        IntegrateEntriesInput,
        RunAccessLogAuditInput,
        SignedTreeHead,
    )
    from workflows.side_effects import AccessLogSequencer

AUDIT_WORKFLOW_ID: Final = "access-log-audit"

INTEGRATE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)


@workflow.defn(name="AccessLogAudit")
class AccessLogAuditWorkflow:
    @workflow.init
    def __init__(self, start: RunAccessLogAuditInput) -> None:
        self._head = start.head

    @workflow.run
    async def run(self, start: RunAccessLogAuditInput) -> None:
        busy = timedelta(seconds=start.batch_interval_seconds)
        idle = max(timedelta(seconds=start.idle_interval_seconds), busy)
        interval = busy
        batch_limit = IntegrateEntriesInput().batch_limit
        for _ in range(start.iterations_per_run):
            result = await workflow.execute_activity_method(
                AccessLogSequencer.integrate_access_log,
                IntegrateEntriesInput(head=self._head, batch_limit=batch_limit),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=INTEGRATE_RETRY,
            )
            if result.head is not None:
                self._head = result.head
            # A full batch means more is waiting: take it at once rather than fall behind. An
            # idle log is asked less and less often, so its history does not grow for nothing.
            if result.integrated >= batch_limit:
                continue
            interval = busy if result.integrated else min(interval * 2, idle)
            await workflow.sleep(interval)
        workflow.continue_as_new(start.model_copy(update={"head": self._head}))

    @workflow.query
    def latest_head(self) -> SignedTreeHead | None:
        return self._head
