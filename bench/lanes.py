"""Work spread over lanes: every item taken in turn by whichever of `concurrency` lanes is free."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def in_lanes(
    items: Iterable[T], *, concurrency: int, each: Callable[[T], Awaitable[None]]
) -> float:
    """`each` of every item, at most `concurrency` at a time; the wall seconds it all took."""
    pending = asyncio.Queue[T]()
    for item in items:
        pending.put_nowait(item)

    async def lane() -> None:
        while not pending.empty():
            await each(pending.get_nowait())

    started = time.perf_counter()
    async with asyncio.TaskGroup() as lanes:
        for _ in range(concurrency):
            lanes.create_task(lane())
    return time.perf_counter() - started
