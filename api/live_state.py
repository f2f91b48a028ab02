"""An operation's live state: from the read model, or, for a row without it, from its workflow.

The projection writes the operation's state with its row before the action that changed it is
answered, so the read model shows every write its reader saw answered (read-your-writes) at the
cost of one read, with no workflow and no worker. Only rows written before the read model kept
the state (`store.timeline.operation_state` answers None) are asked of the workflow, as before:
a live one until its next event, a closed one for good, since nothing projects it again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from api.database import ReadModel
from api.workers import WorkerPresence, answer_in_time
from store.timeline import operation_state
from workflows.state import OperationState

Query = Callable[[str], Coroutine[Any, Any, OperationState]]


class LiveStates:
    """Where readers of an operation's state get it: the read model first, else its workflow."""

    def __init__(
        self,
        *,
        read_model: ReadModel,
        query: Query,
        workers: WorkerPresence,
        answer_seconds: float,
    ) -> None:
        self._read_model = read_model
        self._queries = SharedQueries(query)
        self._workers = workers
        self._answer_seconds = answer_seconds

    async def read(self, operation_id: str, *, arrived_at: float) -> OperationState:
        """The state, without its timeline and request ids, as of no earlier than `arrived_at`
        (`time.monotonic()` when the request came): from the read model; asked of the workflow
        only for a row without it, answered 503 when no worker can answer."""
        stored = await self._read_model.read(partial(operation_state, operation_id=operation_id))
        if stored is not None:
            return stored
        await self._workers.require()
        queried = await answer_in_time(
            self._queries.read(operation_id, arrived_at=arrived_at), seconds=self._answer_seconds
        )
        # The same either way: a reader never depends on what only the fallback would give.
        return queried.model_copy(update={"timeline": [], "applied": {}})


@dataclass
class _Queries:
    """The query in flight for one operation, and the one that follows it."""

    current: asyncio.Task[OperationState] | None = None
    sent_at: float = 0.0
    following: asyncio.Task[OperationState] | None = None


class SharedQueries:
    """Readers of the same operation share queries to its workflow, never one that is too old.

    A closed operation's workflow is replayed to answer a query: fifty people opening the same
    operation must cost one or two replays, not fifty. A reader joins the query in flight only
    if it was sent after the reader's request arrived, so it reflects every write the reader saw
    answered before (read-your-writes); otherwise it waits for the query that follows, sent as
    soon as the one in flight has answered, and shared by everyone who arrived meanwhile.
    """

    def __init__(self, query: Query) -> None:
        self._query = query
        self._operations: dict[str, _Queries] = {}

    async def read(self, operation_id: str, *, arrived_at: float) -> OperationState:
        queries = self._operations.setdefault(operation_id, _Queries())
        if queries.current is None:
            task = self._send(operation_id, queries)
        elif queries.sent_at >= arrived_at:
            task = queries.current
        else:
            if queries.following is None:
                queries.following = asyncio.create_task(self._follow(operation_id, queries))
            task = queries.following
        return await asyncio.shield(task)

    def _send(self, operation_id: str, queries: _Queries) -> asyncio.Task[OperationState]:
        task = asyncio.create_task(self._query(operation_id))
        queries.current, queries.sent_at = task, time.monotonic()
        task.add_done_callback(lambda done: self._answered(operation_id, queries, done))
        return task

    async def _follow(self, operation_id: str, queries: _Queries) -> OperationState:
        current = queries.current
        if current is not None:
            await asyncio.wait([current])
        queries.following = None
        return await self._send(operation_id, queries)

    def _answered(
        self, operation_id: str, queries: _Queries, task: asyncio.Task[OperationState]
    ) -> None:
        if queries.current is task:
            queries.current = None
            if queries.following is None:
                self._operations.pop(operation_id, None)
        if not task.cancelled():
            task.exception()  # retrieved: the readers that awaited it have it
