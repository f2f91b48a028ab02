"""The same sample walkthrough sent straight to Temporal, no HTTP: what the workflow alone costs.

Between the floor and the HTTP lifecycle this separates the workflow's own cost (rules, encrypted
pydantic payloads, the read-model projection before each answer) from the API's (authentication,
need-to-know, access log). Each call the walkthrough would make over HTTP becomes the workflow
call the API would make for it; the walkthrough's lanes are threads, the Temporal client lives on
the bench's event loop, and each call crosses over to it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client

from api.schemas.operations import ACTIONS
from bench.lifecycle import ACTIONS_PER_OPERATION, LifecycleRun, TimedWalkthrough
from cdtrack.walkthrough import Cast
from workflows.commands import Actor, ActorRole
from workflows.plan import OperationPlan
from workflows.starter import act, read_state, start_operation, synchronise


class DirectWalkthrough(TimedWalkthrough):
    """The sample walkthrough, each step a workflow call on the bench's loop, timed."""

    def __init__(
        self,
        client: Client,
        cast: Cast,
        *,
        loop: asyncio.AbstractEventLoop,
        task_queue: str,
        coordinator_agency: str,
        run: LifecycleRun,
    ) -> None:
        # No HTTP: the client below answers every call the walkthrough makes.
        super().__init__(httpx.Client(), cast, run=run)
        self._client = client
        self._loop = loop
        self._task_queue = task_queue
        self._coordinator_agency = coordinator_agency
        self._actors = {cast.coordinator: self._actor(coordinator_agency, ActorRole.COORDINATOR)}
        for agency, token in cast.officers.items():
            self._actors[token] = self._actor(agency, ActorRole.OFFICER)

    @staticmethod
    def _actor(agency: str, role: ActorRole) -> Actor:
        return Actor(agency=agency, officer=f"bench-{agency}", role=role)

    def _untimed_call(self, token: str, method: str, path: str, body: Any) -> Any:
        """What is timed: the call answered by the workflow itself, on the bench's loop."""
        return asyncio.run_coroutine_threadsafe(
            self._answer(self._actors[token], method, path, body), self._loop
        ).result()

    async def _answer(self, actor: Actor, method: str, path: str, body: Any) -> Any:
        if (method, path) == ("GET", "/me"):
            return {"agency": self._coordinator_agency}
        if (method, path) == ("POST", "/operations"):
            operation_id = await start_operation(
                self._client,
                plan=OperationPlan.model_validate(body),
                created_by=actor,
                task_queue=self._task_queue,
                now=datetime.now(UTC),
            )
            await synchronise(self._client, operation_id=operation_id)
            return {"operation_id": operation_id}
        _, _, operation_id, *action = path.split("/")
        if method == "GET":
            state = await read_state(self._client, operation_id=operation_id)
            return {"state": state.model_dump(mode="json")}
        kind = action[0].replace("-", "_")
        command = ACTIONS[kind].model_validate(
            {**body, "actor": actor, "request_id": uuid.uuid4().hex}
        )
        result = await act(self._client, operation_id=operation_id, command=command)
        return result.model_dump(mode="json")


async def run_direct(
    client: Client,
    *,
    cast: Cast,
    task_queue: str,
    coordinator_agency: str,
    operations: int,
    concurrency: int,
) -> LifecycleRun:
    """`operations` sample operations from creation to closed through Temporal only."""
    result = LifecycleRun(operations, concurrency)
    loop = asyncio.get_running_loop()
    prefix = uuid.uuid4().hex[:6].upper()

    def one_operation(number: int) -> None:
        walk = DirectWalkthrough(
            client,
            cast,
            loop=loop,
            task_queue=task_queue,
            coordinator_agency=coordinator_agency,
            run=result,
        )
        try:
            walk.run(code_name=f"DIRECT-{prefix}-{number}")
        finally:
            walk.http.close()
        if walk.actions != ACTIONS_PER_OPERATION:
            raise RuntimeError(f"the walkthrough sent {walk.actions} actions")

    def all_operations() -> None:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="direct") as lanes:
            for done in [lanes.submit(one_operation, n) for n in range(operations)]:
                done.result()

    started = time.perf_counter()
    await asyncio.to_thread(all_operations)
    result.seconds = time.perf_counter() - started
    return result
