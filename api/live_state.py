"""An operation's live state from its workflow, one query at a time however many ask at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from workflows.state import OperationState

Query = Callable[[str], Coroutine[Any, Any, OperationState]]


@dataclass
class _Queries:
    """The query in flight for one operation, and the one that follows it."""

    current: asyncio.Task[OperationState] | None = None
    sent_at: float = 0.0
    following: asyncio.Task[OperationState] | None = None


class LiveStates:
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
