"""Sampling profiles of the bench's worker and API processes (py-spy), taken during some phases.

py-spy samples the target from outside without touching its code. It samples whichever thread
holds the GIL (`--gil`), so the profile says where Python spends CPU, in the event loop or in a
thread pool alike, and time spent waiting does not drown it. A profiled run perturbs its own
figures: use it to find the cost, and a run without it for the table.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

TOP_FRAMES = 40


def _py_spy() -> str:
    return str(Path(sys.executable).parent / "py-spy")


@asynccontextmanager
async def profiled(pids: dict[str, int], *, out_dir: Path | None) -> AsyncIterator[None]:
    """Record collapsed stacks of each named process while the block runs; summarise after."""
    if out_dir is None:
        yield
        return
    recorders: dict[str, asyncio.subprocess.Process] = {}
    for name, pid in pids.items():
        recorders[name] = await asyncio.create_subprocess_exec(
            _py_spy(),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--nonblocking",
            "--gil",
            "--output",
            str(out_dir / f"{name}.collapsed"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    try:
        yield
    finally:
        for recorder in recorders.values():
            recorder.send_signal(signal.SIGINT)
        for name, recorder in recorders.items():
            await recorder.wait()
            collapsed = out_dir / f"{name}.collapsed"
            if collapsed.exists():
                (out_dir / f"{name}.top.txt").write_text(summarise(collapsed))


def summarise(collapsed: Path) -> str:
    """The frames where most samples were seen (inclusive), and where they were spent (self)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(TOP_FRAMES)]
    lines += ["", "self:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in own.most_common(TOP_FRAMES)]
    return "\n".join(lines) + "\n"
