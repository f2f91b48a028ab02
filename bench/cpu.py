"""CPU seconds each process of the bench stack spent during a phase: where an operation's cost goes.

On a box with few cores the processes compete; the split says which one an operation loads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil


@dataclass
class CpuSplit:
    """CPU seconds (user + system) per process role, and the wall seconds they were spent in."""

    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def describe(self, *, per: int, unit: str) -> str:
        parts = [f"{role} {used / per * 1000:.0f} ms" for role, used in self.seconds.items()]
        busy = sum(self.seconds.values()) / self.wall if self.wall else 0.0
        return f"CPU per {unit}: " + ", ".join(parts) + f" (the stack kept {busy:.2f} cores busy)"


def _role(process: psutil.Process) -> str | None:
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return None
    if "temporal" in command and "start-dev" in command:
        return "Temporal server"
    if "bench.services worker" in command or "bench.runner worker" in command:
        return "worker"
    if "bench.services api" in command:
        return "API"
    return None


def _usage() -> dict[str, float]:
    me = psutil.Process(os.getpid())
    used: dict[str, float] = {}
    for process in [me, *me.children(recursive=True)]:
        role = "bench driver" if process.pid == me.pid else _role(process)
        if role is None:
            continue
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        used[role] = used.get(role, 0.0) + times.user + times.system
    return used


@contextmanager
def cpu_split() -> Iterator[CpuSplit]:
    """Measure the CPU each role of the stack uses while the block runs."""
    split = CpuSplit()
    before = _usage()
    started = time.perf_counter()
    try:
        yield split
    finally:
        after = _usage()
        split.wall = time.perf_counter() - started
        order = ["Temporal server", "worker", "API", "bench driver"]
        split.seconds = {
            role: after[role] - before.get(role, 0.0) for role in order if role in after
        }
