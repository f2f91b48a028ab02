"""Rendered documents kept by key, so a report asked for by many at once is rendered once."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Executor


class RenderedDocuments:
    """Rendering takes seconds of CPU: done in another process, once per key.

    Another process, not a thread: rendering holds the interpreter lock for long stretches,
    and a thread doing it would starve the event loop that answers everyone else. A key names
    what is rendered completely (an assessment's version, a language, a format), so a kept
    document never goes stale. Callers asking for a key being rendered wait for that one
    rendering; one who gives up (a closed connection) does not cancel it for the others.
    `render` must be picklable: a module-level function, or a partial of one.
    """

    def __init__(self, *, renderer: Executor, size: int) -> None:
        self._renderer = renderer
        self._size = size
        self._kept: OrderedDict[Hashable, bytes] = OrderedDict()
        self._rendering: dict[Hashable, asyncio.Future[bytes]] = {}

    async def get(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        task = self._rendering.get(key)
        if task is None:
            task = asyncio.get_running_loop().run_in_executor(self._renderer, render)
            self._rendering[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        return await asyncio.shield(task)

    def _settle(self, key: Hashable, task: asyncio.Future[bytes]) -> None:
        del self._rendering[key]
        if task.cancelled() or task.exception() is not None:
            return  # the next ask renders again; the waiting callers got the error
        self._kept[key] = task.result()
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
