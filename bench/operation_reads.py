"""Reading one operation through the API, one request at a time: under way, and closed.

Two operations are walked through the API first, as the lifecycle walks them: one to the first
handover (launched, in Tajikistan's custody), one to closed. Then `GET /api/v1/operations/{id}`
as the coordinator, each request sent when the last is answered: a few unmeasured first, then
the measured ones, the live operation first. Whatever the API does to answer (a workflow query,
the read model) is what is measured.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from bench.reads import REQUEST_TIMEOUT_SECONDS, walk_operation
from cdtrack.walkthrough import JUSTIFICATION, Cast, Walkthrough

WARM_UP_READS: Final = 5
# The live operation's walk stops once this action is answered: under way, in custody.
LIVE_AFTER: Final = "acknowledge-handover"


@dataclass
class OperationReadsRun:
    """Each read's round trip in seconds, of the live operation and of the closed one."""

    live: list[float] = field(default_factory=list)
    closed: list[float] = field(default_factory=list)
    live_phase: str = ""
    live_custodian: str = ""


class _HaltedError(Exception):
    """Stops the walkthrough where the live operation should stay; carries its id."""

    def __init__(self, operation_id: str) -> None:
        super().__init__(operation_id)
        self.operation_id = operation_id


class _WalkUntil(Walkthrough):
    """The sample walkthrough, halted once `action` has been answered the first time."""

    def __init__(self, http: httpx.Client, cast: Cast, *, action: str) -> None:
        super().__init__(http, cast)
        self._action = action

    def _call(self, token: str, method: str, path: str, body: Any = None) -> Any:
        answer = super()._call(token, method, path, body)
        if method == "POST" and path.endswith(f"/{self._action}"):
            raise _HaltedError(path.split("/")[2])
        return answer


def walk_live_operation(base_url: str, cast: Cast) -> str:
    """The sample walkthrough up to the first acknowledged handover; the operation's id."""
    code_name = f"BENCH-LIVE-{uuid.uuid4().hex[:6].upper()}"
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        try:
            _WalkUntil(http, cast, action=LIVE_AFTER).run(code_name=code_name)
        except _HaltedError as halted:
            return halted.operation_id
    raise RuntimeError(f"the walkthrough never sent {LIVE_AFTER}")


def _timed_reads(
    http: httpx.Client, *, token: str, operation_id: str, reads: int
) -> tuple[list[float], dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}", "X-Justification": JUSTIFICATION}
    path = f"/api/v1/operations/{operation_id}"
    latencies: list[float] = []
    answer: dict[str, Any] = {}
    for number in range(WARM_UP_READS + reads):
        started = time.perf_counter()
        response = http.get(path, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        if number >= WARM_UP_READS:
            latencies.append(elapsed)
        answer = response.json()
    return latencies, answer


def run_operation_reads(*, base_url: str, cast: Cast, reads: int) -> OperationReadsRun:
    """`reads` reads of a live operation, then as many of a closed one, one after another."""
    run = OperationReadsRun()
    live = walk_live_operation(base_url, cast)
    closed = walk_operation(base_url, cast)
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        run.live, answer = _timed_reads(
            http, token=cast.coordinator, operation_id=live, reads=reads
        )
        state = answer["state"]
        run.live_phase, run.live_custodian = state["phase"], state.get("custodian") or ""
        run.closed, answer = _timed_reads(
            http, token=cast.coordinator, operation_id=closed, reads=reads
        )
        if answer["state"]["phase"] != "closed":
            raise RuntimeError(f"the walked operation is {answer['state']['phase']}, not closed")
    return run
