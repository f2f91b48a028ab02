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
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

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


def _stacks(collapsed: Path) -> Iterator[tuple[list[str], int]]:
    """Each stack of a collapsed profile (its frames, outermost first) and its samples."""
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            yield stack.split(";"), int(count_text)


def summarise(collapsed: Path) -> str:
    """The frames where most samples were seen (inclusive), and where they were spent (self)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(collapsed):
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples", "", "where it goes (each sample counted once, first match):"]
    lines += [f"{share:6.1%}  {name}" for name, share in breakdown(collapsed)]
    lines += ["", "inclusive:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(TOP_FRAMES)]
    lines += ["", "self:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in own.most_common(TOP_FRAMES)]
    return "\n".join(lines) + "\n"


# What a sample was doing, by the first frame of its stack (outermost first) that names a part
# of the work; checked in this order, so the projection inside an activity counts as projection.
PARTS: Final = (
    ("read-model projection (local activity)", ("ReadModelActivities.project_operation",)),
    ("notifications (activity)", ("NotificationActivities.notify_agencies",)),
    ("other activities", ("_execute_sync_activity", "_execute_activity")),
    ("workflow code (rules, state copies, handlers)", ("_WorkflowInstanceImpl.activate",)),
    (
        "sandbox: running code inside it (activation, serialization context, new instances)",
        ("workflow_sandbox",),
    ),
    ("payload conversion and encryption", ("PayloadVisitor", "decode_activation", "_codec")),
    ("HTTP: authentication", ("authenticate",)),
    ("HTTP: need-to-know", ("visible_for", "visible_operation")),
    ("HTTP: access log", ("record_access",)),
    ("HTTP: the Temporal call", ("execute_update", "query_workflow", "start_workflow")),
    ("HTTP: framework (routing, dependencies, validation, middleware)", ("fastapi", "starlette")),
    ("event loop and SDK plumbing", ("asyncio", "temporalio")),
)


def breakdown(collapsed: Path) -> list[tuple[str, float]]:
    """Each part's share of the samples, largest first; the rest is "other"."""
    counts: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(collapsed):
        total += count
        counts[_part_of(frames)] += count
    if total == 0:
        return []
    return [(name, n / total) for name, n in counts.most_common()]


def _part_of(frames: list[str]) -> str:
    for name, markers in PARTS:
        if any(marker in frame for frame in frames for marker in markers):
            return name
    return "other"


if __name__ == "__main__":
    # python -m bench.profile DIR: the summaries of the collapsed stacks a --profile run kept.
    for path in sorted(Path(sys.argv[1]).glob("*.collapsed")):
        print(f"== {path.stem}")
        print(summarise(path))
