"""Live updates of an operation page: wake a stream when the operation changes, in any process.

On PostgreSQL one LISTEN connection per process hears the NOTIFY the projection sends in its
transaction (store/live.py) and wakes the streams of that operation; on SQLite (one process, no
NOTIFY) streams poll. Either way a stream re-reads the row, and the viewer's right to see it,
after every wake-up: a notification only says "look again", never what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

import psycopg
from sqlalchemy.engine import make_url

from store.live import CHANNEL

POLL_SECONDS: Final = 0.25  # SQLite, or PostgreSQL while the listener reconnects
SAFETY_POLL_SECONDS: Final = 5.0  # PostgreSQL: a look anyway, should a notification be lost
log = logging.getLogger(__name__)


class ChangeFeed:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._conninfo = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if url.get_backend_name() == "postgresql"
            else None
        )
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._listening = False

    async def wait(self, operation_id: str) -> None:
        """Return when the operation may have changed (or after a poll interval)."""
        if self._conninfo is None:
            await asyncio.sleep(POLL_SECONDS)
            return
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(self._conninfo))
        woken = asyncio.Event()
        self._waiting.setdefault(operation_id, set()).add(woken)
        try:
            timeout = SAFETY_POLL_SECONDS if self._listening else POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout)
        finally:
            waiting = self._waiting.get(operation_id, set())
            waiting.discard(woken)
            if not waiting:
                self._waiting.pop(operation_id, None)

    async def _listen(self, conninfo: str) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._listening = True
                    async for notice in connection.notifies():
                        for woken in self._waiting.get(notice.payload, ()):
                            woken.set()
            except (psycopg.Error, OSError):
                log.warning("live updates: the LISTEN connection failed; polling meanwhile")
            finally:
                self._listening = False
            await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
