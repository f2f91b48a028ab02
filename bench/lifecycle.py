"""Operations walked through the HTTP API, several at once, each request timed.

Each operation is the sample walkthrough (three countries, two handovers): creation, 21 steering
actions and a final read. Every steering action is one workflow Update behind the API, and
creation is one more (the read-your-writes `synchronise`), so the floor sends 22 per workflow.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from cdtrack.walkthrough import Cast, Walkthrough

ACTIONS_PER_OPERATION = 21
# The action routes plus creation's `synchronise`: the Updates one operation costs the workflow.
UPDATES_PER_OPERATION = ACTIONS_PER_OPERATION + 1


@dataclass
class LifecycleRun:
    """Wall time, and every request's latency in seconds keyed by what it was."""

    operations: int
    concurrency: int
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, request: str, seconds: float) -> None:
        with self._lock:
            self.latencies[request].append(seconds)

    @property
    def action_latencies(self) -> list[float]:
        """Every steering action's latency: from sending it to the API acknowledging it."""
        return [
            seconds
            for request, times in self.latencies.items()
            if request not in ("create", "read")
            for seconds in times
        ]


class TimedWalkthrough(Walkthrough):
    """The sample walkthrough, with each HTTP request's round trip recorded."""

    def __init__(self, http: httpx.Client, cast: Cast, *, run: LifecycleRun) -> None:
        super().__init__(http, cast)
        self._run = run
        self.actions = 0

    def _call(self, token: str, method: str, path: str, body: Any = None) -> Any:
        started = time.perf_counter()
        answer = self._untimed_call(token, method, path, body)
        elapsed = time.perf_counter() - started
        if method == "POST" and path == "/operations":
            self._run.record("create", elapsed)
        elif method == "POST":
            self._run.record(path.rsplit("/", 1)[-1], elapsed)
            self.actions += 1
        elif path.startswith("/operations/"):
            self._run.record("read", elapsed)
        return answer

    def _untimed_call(self, token: str, method: str, path: str, body: Any) -> Any:
        """What is timed: the walkthrough's own call, over HTTP."""
        return super()._call(token, method, path, body)


def run_lifecycle(*, base_url: str, cast: Cast, operations: int, concurrency: int) -> LifecycleRun:
    """`operations` sample operations from creation to closed, `concurrency` at a time."""
    result = LifecycleRun(operations, concurrency)
    prefix = uuid.uuid4().hex[:6].upper()

    def one_operation(number: int) -> None:
        with httpx.Client(base_url=base_url, timeout=120) as http:
            walk = TimedWalkthrough(http, cast, run=result)
            walk.run(code_name=f"BENCH-{prefix}-{number}")
        if walk.actions != ACTIONS_PER_OPERATION:
            raise RuntimeError(
                f"the walkthrough sent {walk.actions} actions, the floor is sized for "
                f"{ACTIONS_PER_OPERATION}: update ACTIONS_PER_OPERATION"
            )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="operation") as lanes:
        for done in [lanes.submit(one_operation, n) for n in range(operations)]:
            done.result()
    result.seconds = time.perf_counter() - started
    return result
