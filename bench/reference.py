"""The reference: the floor plus the work an operation's promises cannot do without.

Two promises cost every action something whatever the code around them: Temporal's history is
encrypted (cdtrack's data converter, pydantic payloads through the AES codec), and an action is
answered only once the read model holds it (read-your-writes). So `BenchReference` is the floor's
workflow with both: it starts with an input and each Update carries and answers payloads as large
as an operation's (sizes measured by `bench/payloads.py`), and before answering each Update runs
one local activity that inserts one row into a scratch table on the read-model database and
commits. Same N, C and Updates per workflow as the floor; the lifecycle's ratio to it says how
close the product comes to what its own promises allow.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from bench.floor import FloorRun
from bench.lanes import in_lanes

with workflow.unsafe.imports_passed_through():
    from bench.reference_rows import (
        PADDING,
        ReferenceRows,
        ReferenceStepPlan,
        StartReferenceInput,
        TakeReferenceStepInput,
        TakeReferenceStepResult,
        WriteReferenceRowInput,
        WriteReferenceRowResult,
    )

REFERENCE_TASK_QUEUE = "cdtrack-bench-reference"
# One attempt: a failed write fails the Update and the run, rather than hiding in a retry.
WRITE_ATTEMPT = RetryPolicy(maximum_attempts=1)


@workflow.defn(name="BenchReference")
class ReferenceWorkflow:
    """Takes the Updates its start input plans; each writes its row, then answers."""

    @workflow.init
    def __init__(self, start: StartReferenceInput) -> None:
        self._plan = start.steps
        self._taken = 0

    @workflow.run
    async def run(self, start: StartReferenceInput) -> int:
        await workflow.wait_condition(lambda: self._taken >= len(self._plan))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._taken

    @workflow.update
    async def step(self, step: TakeReferenceStepInput) -> TakeReferenceStepResult:
        if self._taken >= len(self._plan):
            raise ApplicationError(
                f"only {len(self._plan)} Updates were planned", non_retryable=True
            )
        self._taken += 1
        number = self._taken
        plan = self._plan[number - 1]
        await workflow.execute_local_activity_method(
            ReferenceRows.write_row,
            WriteReferenceRowInput(
                workflow_id=workflow.info().workflow_id,
                step=number,
                result_padding=plan.row_result,
                padding=PADDING * plan.row_input,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=WRITE_ATTEMPT,
        )
        return TakeReferenceStepResult(step=number, padding=PADDING * plan.answer)


@dataclass(frozen=True)
class UpdateSizes:
    """Bytes of one Update's encoded payloads: what it carries, answers, and writes before."""

    argument: int
    answer: int
    projection_input: int
    projection_result: int


@dataclass(frozen=True)
class OperationSizes:
    """An operation's encoded payloads, its start input and each Update in the order sent."""

    start: int
    updates: list[UpdateSizes]


@dataclass
class ReferenceRun(FloorRun):
    """The floor's figures, for workflows whose payloads were `sizes` (as an operation's)."""

    sizes: OperationSizes | None = None


async def encoded_size(converter: DataConverter, value: Any) -> int:
    """Bytes of `value`'s payload as it reaches the server: converted, then through the codec."""
    (payload,) = await converter.encode([value])
    return payload.ByteSize()


async def padding_for(converter: DataConverter, message: Callable[[int], Any], size: int) -> int:
    """The padding length at which `message(length)` encodes to `size` bytes, or the nearest.

    Padding adds a byte a character, but the payload's length prefixes grow a byte at times, so
    the first guess is corrected until it lands (the codec does not compress: no shortcut there).
    """
    length = max(0, size - await encoded_size(converter, message(0)))
    for _ in range(4):
        miss = size - await encoded_size(converter, message(length))
        if miss == 0 or length + miss < 0:
            break
        length += miss
    return length


async def reference_inputs(
    converter: DataConverter, sizes: OperationSizes, *, workflow_id: str
) -> tuple[StartReferenceInput, list[TakeReferenceStepInput]]:
    """A start input and the Updates to send, each padded to the operation's size for it."""
    plans: list[ReferenceStepPlan] = []
    arguments: list[TakeReferenceStepInput] = []
    for number, update in enumerate(sizes.updates, start=1):
        row_result = await padding_for(
            converter,
            lambda length: WriteReferenceRowResult(padding=PADDING * length),
            update.projection_result,
        )

        def row_input(
            length: int, number: int = number, row_result: int = row_result
        ) -> WriteReferenceRowInput:
            return WriteReferenceRowInput(
                workflow_id=workflow_id,
                step=number,
                result_padding=row_result,
                padding=PADDING * length,
            )

        def answer(length: int, number: int = number) -> TakeReferenceStepResult:
            return TakeReferenceStepResult(step=number, padding=PADDING * length)

        plans.append(
            ReferenceStepPlan(
                answer=await padding_for(converter, answer, update.answer),
                row_input=await padding_for(converter, row_input, update.projection_input),
                row_result=row_result,
            )
        )
        argument = await padding_for(
            converter,
            lambda length: TakeReferenceStepInput(padding=PADDING * length),
            update.argument,
        )
        arguments.append(TakeReferenceStepInput(padding=PADDING * argument))
    start = await padding_for(
        converter,
        lambda length: StartReferenceInput(steps=plans, padding=PADDING * length),
        sizes.start,
    )
    return StartReferenceInput(steps=plans, padding=PADDING * start), arguments


async def run_reference(
    client: Client,
    *,
    sizes: OperationSizes,
    workflows: int,
    concurrency: int,
    task_queue: str = REFERENCE_TASK_QUEUE,
) -> ReferenceRun:
    """`workflows` reference workflows, `concurrency` at a time, each sent its Updates in turn.

    `client` must use cdtrack's data converter, as the worker serving the reference does.
    """
    result = ReferenceRun(workflows, len(sizes.updates), concurrency, sizes=sizes)
    run_id = uuid.uuid4().hex[:8]
    # Ids of one length, so one set of paddings fits every workflow of the run.
    ids = [f"bench-reference-{run_id}-{number:05d}" for number in range(workflows)]
    start, arguments = await reference_inputs(client.data_converter, sizes, workflow_id=ids[0])

    async def one_workflow(workflow_id: str) -> None:
        handle = await client.start_workflow(
            ReferenceWorkflow.run, start, id=workflow_id, task_queue=task_queue
        )
        for argument in arguments:
            started = time.perf_counter()
            await handle.execute_update(ReferenceWorkflow.step, argument)
            result.update_latencies.append(time.perf_counter() - started)
        await handle.result()

    result.seconds = await in_lanes(ids, concurrency=concurrency, each=one_workflow)
    return result
