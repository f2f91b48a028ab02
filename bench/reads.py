"""Reads per second through the HTTP API with many clients at once, and `/health` meanwhile.

One operation is walked through the API first (the sample walkthrough, to closed). Then C clients
on one event loop, sharing one `httpx.AsyncClient` whose pool holds a connection for each, read
it for a fixed time, each sending its next request as soon as the last is answered: the live
state, the timeline, the deliveries and the list of operations, in turn. Four clients in five read
as a participant (the operation's three officers and its coordinator, in turn); one in five as an
outsider, an officer of an agency in no operation, to whom the operation's routes answer 404 and
the list an empty page. Every answer is checked against what that caller should get.

Meanwhile a watcher in a thread of its own, with a connection of its own, asks `/health` every
100 ms: how long a load balancer's probe waits while the API is saturated with reads.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Final

import httpx
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from bench.cpu import CpuSplit, cpu_split
from bench.stack import bench_token, wait_until_healthy
from cdtrack.walkthrough import JUSTIFICATION, Cast, Walkthrough
from store import identity

PARTICIPANT: Final = "participant"
OUTSIDER: Final = "outsider"
# Client number n reads as an outsider when n % OUTSIDER_EVERY == OUTSIDER_EVERY - 1.
OUTSIDER_EVERY: Final = 5
OUTSIDER_AGENCY: Final = "bench-outsider"
HEALTH_INTERVAL_SECONDS: Final = 0.1
REQUEST_TIMEOUT_SECONDS: Final = 60.0
# The read routes, in the order each client cycles through them; `{id}` is the operation's id.
ROUTES: Final = {
    "operation": "/api/v1/operations/{id}",
    "timeline": "/api/v1/operations/{id}/timeline",
    "deliveries": "/api/v1/operations/{id}/deliveries",
    "list": "/api/v1/operations",
}


def expected_status(who: str, route: str) -> int:
    """What the caller must be answered: an outsider is told the operation does not exist."""
    if who == OUTSIDER and route != "list":
        return 404
    return 200


@dataclass
class ReadsRun:
    clients: int
    seconds: float = 0.0  # wall time from the first request sent to the last one answered
    # Latencies in seconds, and the statuses answered (0: no answer), keyed (route, who).
    latencies: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[tuple[str, str], Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    clients_by_who: Counter[str] = field(default_factory=Counter)
    health_latencies: list[float] = field(default_factory=list)
    health_not_ok: Counter[str] = field(default_factory=Counter)  # "503", "degraded", "timeout"
    cpu: CpuSplit = field(default_factory=CpuSplit)

    @property
    def reads(self) -> int:
        return sum(len(times) for times in self.latencies.values())

    @property
    def all_latencies(self) -> list[float]:
        return [seconds for times in self.latencies.values() for seconds in times]

    @property
    def odd_answers(self) -> int:
        """Answers neither 2xx nor 404, and requests with no answer at all."""
        return sum(
            count
            for answered in self.statuses.values()
            for status, count in answered.items()
            if not (200 <= status < 300 or status == 404)
        )

    @property
    def server_errors(self) -> int:
        return sum(
            count
            for answered in self.statuses.values()
            for status, count in answered.items()
            if status >= 500
        )

    @property
    def unexpected(self) -> int:
        """Answers other than the one the caller must get (a 200 to an outsider, a 404 to ...)."""
        return sum(
            count
            for (route, who), answered in self.statuses.items()
            for status, count in answered.items()
            if status != expected_status(who, route)
        )


def enrol_outsider(sessions: sessionmaker[Session]) -> str:
    """An officer of an agency that takes part in no operation; returns their token."""
    return bench_token(
        sessions,
        agency_id=OUTSIDER_AGENCY,
        country="UZ",
        kind=identity.AgencyKind.POLICE,
        agency_name="Agency in no operation",
        user_id=f"bench-outsider-{secrets.token_hex(3)}",
        name="Bench outsider",
        role=Role.OFFICER,
    )


def walk_operation(base_url: str, cast: Cast) -> str:
    """The sample walkthrough, creation to closed; the operation's id."""
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        return Walkthrough(http, cast).run(code_name=f"BENCH-READS-{uuid.uuid4().hex[:6].upper()}")


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Justification": JUSTIFICATION}


class _HealthWatcher(threading.Thread):
    """Asks `/health` every 100 ms until stopped, on a connection of its own."""

    def __init__(self, base_url: str, run: ReadsRun) -> None:
        super().__init__(name="health-watcher", daemon=True)
        self._base_url = base_url
        self._run = run
        self._halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self._base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
            next_at = time.perf_counter()
            while not self._halt.is_set():
                started = time.perf_counter()
                try:
                    response = http.get("/health")
                    answer = (
                        str(response.status_code)
                        if response.status_code != 200
                        else str(response.json().get("status"))
                    )
                except httpx.HTTPError as error:
                    answer = type(error).__name__
                self._run.health_latencies.append(time.perf_counter() - started)
                if answer != "ok":
                    self._run.health_not_ok[answer] += 1
                next_at += HEALTH_INTERVAL_SECONDS
                self._halt.wait(max(0.0, next_at - time.perf_counter()))

    def stop(self) -> None:
        self._halt.set()
        self.join()


async def _check_once(
    http: httpx.AsyncClient, *, readers: dict[str, str], operation_id: str
) -> None:
    """Every route once as each kind of caller, before the clock starts; refuses to measure a
    stack that answers them otherwise (a missing header, a token refused, a visible operation)."""
    for who, token in readers.items():
        for route, path in ROUTES.items():
            response = await http.get(path.format(id=operation_id), headers=_headers(token))
            if response.status_code != expected_status(who, route):
                raise RuntimeError(
                    f"GET {route} as {who} answered {response.status_code} before the run, "
                    f"not {expected_status(who, route)}: {response.text[:300]}"
                )


async def run_reads(
    *,
    base_url: str,
    cast: Cast,
    sessions: sessionmaker[Session],
    clients: int,
    seconds: float,
) -> ReadsRun:
    run = ReadsRun(clients=clients)
    operation_id = await asyncio.to_thread(walk_operation, base_url, cast)
    outsider = enrol_outsider(sessions)
    participants = itertools.cycle([*cast.officers.values(), cast.coordinator])
    await wait_until_healthy(base_url)

    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS
    ) as http:
        await _check_once(
            http,
            readers={PARTICIPANT: cast.officers["tj-dca"], OUTSIDER: outsider},
            operation_id=operation_id,
        )
        routes = list(ROUTES.items())

        async def client(number: int, deadline: float) -> None:
            who = OUTSIDER if number % OUTSIDER_EVERY == OUTSIDER_EVERY - 1 else PARTICIPANT
            headers = _headers(outsider if who == OUTSIDER else next(participants))
            run.clients_by_who[who] += 1
            for turn in itertools.count(number):
                if time.perf_counter() >= deadline:
                    return
                route, path = routes[turn % len(routes)]
                key = (route, who)
                started = time.perf_counter()
                try:
                    response = await http.get(path.format(id=operation_id), headers=headers)
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                run.latencies[key].append(time.perf_counter() - started)
                run.statuses[key][status] += 1

        watcher = _HealthWatcher(base_url, run)
        watcher.start()
        try:
            with cpu_split() as run.cpu:
                started = time.perf_counter()
                deadline = started + seconds
                await asyncio.gather(*(client(n, deadline) for n in range(clients)))
                run.seconds = time.perf_counter() - started
        finally:
            watcher.stop()
    return run
