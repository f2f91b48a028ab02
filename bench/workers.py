"""Lifecycle throughput with one worker process, then with a second one beside it.

The same walkthrough as the lifecycle measure, at the same concurrency, first with the stack's
one worker, then with a second `python -m bench.services worker` polling the same task queue:
what a second worker process buys when the server is not the bottleneck.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Final

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.lifecycle import LifecycleRun, run_lifecycle
from bench.stack import BenchStack, service_process

POLLERS_SECONDS: Final = 30.0


@dataclass(frozen=True)
class WorkersRun:
    one: LifecycleRun
    two: LifecycleRun

    @staticmethod
    def per_minute(run: LifecycleRun) -> float:
        return run.operations / run.seconds * 60

    @property
    def ratio(self) -> float:
        return self.per_minute(self.two) / self.per_minute(self.one)


async def _pollers(client: Client, *, task_queue: str) -> int:
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len({poller.identity for poller in described.pollers})


async def _until_polling(client: Client, *, task_queue: str, workers: int) -> None:
    deadline = time.monotonic() + POLLERS_SECONDS
    while await _pollers(client, task_queue=task_queue) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {workers} workers poll {task_queue}")
        await asyncio.sleep(0.5)


async def run_workers(stack: BenchStack, *, operations: int, concurrency: int) -> WorkersRun:
    async def lifecycle() -> LifecycleRun:
        return await asyncio.to_thread(
            run_lifecycle,
            base_url=stack.base_url,
            cast=stack.cast,
            operations=operations,
            concurrency=concurrency,
        )

    task_queue = stack.settings.task_queue
    one = await lifecycle()
    async with service_process(
        "worker", stack.settings, log_dir=stack.log_dir, log_name="second-worker"
    ):
        await _until_polling(stack.client, task_queue=task_queue, workers=2)
        two = await lifecycle()
    return WorkersRun(one=one, two=two)
