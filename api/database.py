"""The API's one way to the read model: each unit of work in a thread, in its own transaction.

A route never holds a session. It hands a function of a session to `read` or `write`, which runs it
in a thread (so a database wait never blocks the event loop), inside one transaction that ends
before the call returns (so no lock is held across an await). Reads run side by side; on SQLite
writers queue for its one write lock, each for the milliseconds of its own statements.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from store.session import read_only, session_factory

T = TypeVar("T")


class ReadModel:
    def __init__(self, engine: Engine, *, connections: int) -> None:
        self._writes = session_factory(engine)
        self._reads = session_factory(read_only(engine))
        # One thread per connection: a unit never waits in a thread for a pooled connection.
        self._limiter = anyio.CapacityLimiter(connections)

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a transaction that only reads."""
        return await anyio.to_thread.run_sync(_unit, self._reads, work, limiter=self._limiter)

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a transaction committed when it returns, rolled back when it raises."""
        return await anyio.to_thread.run_sync(_unit, self._writes, work, limiter=self._limiter)


def _unit(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with sessions.begin() as session:
        return work(session)
