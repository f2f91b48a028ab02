"""The floor: raw Temporal Updates on a workflow that does nothing but count them.

Same server, same worker process, same number of Updates per workflow and the same concurrency as
the HTTP lifecycle, so the ratio between the two is what cdtrack adds on top of the engine.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.client import Client

from bench.lanes import in_lanes

FLOOR_TASK_QUEUE = "cdtrack-bench-floor"


@workflow.defn(name="BenchFloor")
class FloorWorkflow:
    """Accepts `step` Updates until one says it is the last; keeps only a counter."""

    def __init__(self) -> None:
        self._steps = 0
        self._finished = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._finished)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._steps

    @workflow.update
    def step(self, last: bool) -> int:
        self._steps += 1
        self._finished = last
        return self._steps


@dataclass
class FloorRun:
    """What the floor measured: wall time and each Update's round trip, in seconds."""

    workflows: int
    updates_per_workflow: int
    concurrency: int
    seconds: float = 0.0
    update_latencies: list[float] = field(default_factory=list)

    @property
    def updates(self) -> int:
        return len(self.update_latencies)


async def run_floor(
    client: Client, *, workflows: int, updates_per_workflow: int, concurrency: int
) -> FloorRun:
    """Start `workflows` floor workflows, `concurrency` at a time, each sent its Updates in turn."""
    result = FloorRun(workflows, updates_per_workflow, concurrency)
    run_id = uuid.uuid4().hex[:8]

    async def one_workflow(number: int) -> None:
        handle = await client.start_workflow(
            FloorWorkflow.run, id=f"bench-floor-{run_id}-{number}", task_queue=FLOOR_TASK_QUEUE
        )
        for step in range(1, updates_per_workflow + 1):
            started = time.perf_counter()
            await handle.execute_update(FloorWorkflow.step, step == updates_per_workflow)
            result.update_latencies.append(time.perf_counter() - started)
        await handle.result()

    result.seconds = await in_lanes(range(workflows), concurrency=concurrency, each=one_workflow)
    return result
