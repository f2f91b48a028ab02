"""Scale on one box: many live operations, each with a deadline pending, on one worker process.

Operations are started and launched straight through Temporal (the API is measured elsewhere);
each launch starts the checkpoint-silence clock, so every operation has a deadline a few minutes
out. The worker's resident memory is sampled throughout, and once every deadline has passed the
timeline says when each one fired.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psutil
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from cdtrack.walkthrough import SAMPLE_AGENCIES, sample_plan
from store.models import TimelineEventRow
from workflows.commands import (
    Actor,
    ActorRole,
    AnyCommand,
    ConfirmParticipationInput,
    LaunchOperationInput,
    RecordAuthorisationInput,
)
from workflows.plan import AuthorisationGranted, OperationPlan
from workflows.starter import act, start_operation

ON_TIME = timedelta(seconds=5)
# After the last deadline, how long to let stragglers fire before they count as missing.
GRACE = timedelta(seconds=30)
MEMORY_SAMPLE_SECONDS = 0.5


@dataclass
class ScaleRun:
    operations: int
    deadline_after: timedelta
    start_seconds: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    rss_live: int = 0  # with every operation started and waiting on its deadline
    fired: int = 0
    on_time: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds after the deadline

    @property
    def all_on_time(self) -> bool:
        return self.on_time == self.operations


class MemorySampler:
    """Peak resident memory of one process, sampled on a thread while the block runs."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()

    def rss(self) -> int:
        rss: int = self._process.memory_info().rss
        self.peak = max(self.peak, rss)
        return rss

    @contextmanager
    def sampling(self) -> Iterator[MemorySampler]:
        def sample() -> None:
            while not self._stop.wait(MEMORY_SAMPLE_SECONDS):
                self.rss()

        thread = threading.Thread(target=sample, daemon=True, name="rss")
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


def _launch_commands(suffix: str, now: datetime) -> list[AnyCommand]:
    commands: list[AnyCommand] = []
    for agency in SAMPLE_AGENCIES:
        officer = Actor(
            agency=agency["id"], officer=f"bench-{agency['id']}", role=ActorRole.OFFICER
        )
        authorisation = AuthorisationGranted(
            country=agency["country"],
            authority=f"Prosecutor's office ({agency['country']})",
            reference=f"CD-{agency['country']}-BENCH",
            legal_basis="Controlled delivery under national procedure law",
            granted_at=now - timedelta(hours=1),
            valid_until=now + timedelta(days=30),
            substitution_allowed=True,
        )
        commands.append(
            RecordAuthorisationInput(
                actor=officer,
                request_id=f"auth-{agency['id']}-{suffix}",
                authorisation=authorisation,
            )
        )
        commands.append(
            ConfirmParticipationInput(actor=officer, request_id=f"confirm-{agency['id']}-{suffix}")
        )
    return commands


async def start_live_operations(
    client: Client,
    *,
    task_queue: str,
    coordinator_agency: str,
    operations: int,
    concurrency: int,
    deadline_after: timedelta,
) -> list[str]:
    """Create, authorise, confirm and launch `operations` operations; returns their ids."""
    coordinator = Actor(agency=coordinator_agency, officer="bench", role=ActorRole.COORDINATOR)
    prefix = uuid.uuid4().hex[:6].upper()
    pending = asyncio.Queue[int]()
    for number in range(operations):
        pending.put_nowait(number)
    started: list[str] = []

    async def one(number: int) -> None:
        now = datetime.now(UTC)
        plan = sample_plan(
            coordinator_agency=coordinator_agency, now=now, code_name=f"LIVE-{prefix}-{number}"
        )
        plan["checkpoint_interval"] = deadline_after.total_seconds()
        operation_id = await start_operation(
            client,
            plan=OperationPlan.model_validate(plan),
            created_by=coordinator,
            task_queue=task_queue,
            now=now,
        )
        suffix = f"{prefix}-{number}"
        for command in _launch_commands(suffix, now):
            await act(client, operation_id=operation_id, command=command)
        launch = LaunchOperationInput(actor=coordinator, request_id=f"launch-{suffix}")
        await act(client, operation_id=operation_id, command=launch)
        started.append(operation_id)

    async def lane() -> None:
        while not pending.empty():
            await one(pending.get_nowait())

    async with asyncio.TaskGroup() as lanes:
        for _ in range(concurrency):
            lanes.create_task(lane())
    return started


def deadline_lateness(
    sessions: sessionmaker[Session], *, operation_ids: list[str], deadline_after: timedelta
) -> dict[str, float | None]:
    """Per operation, seconds between its first checkpoint-silence deadline and the alert."""
    kinds = ("operation.launched", "checkpoint.overdue")
    firsts: dict[tuple[str, str], datetime] = {}
    with sessions() as session:
        for chunk in range(0, len(operation_ids), 500):
            query = (
                select(TimelineEventRow.operation_id, TimelineEventRow.kind, TimelineEventRow.at)
                .where(
                    TimelineEventRow.operation_id.in_(operation_ids[chunk : chunk + 500]),
                    TimelineEventRow.kind.in_(kinds),
                )
                .order_by(TimelineEventRow.seq)
            )
            for operation_id, kind, at in session.execute(query):
                firsts.setdefault((operation_id, kind), at)
    lateness: dict[str, float | None] = {}
    for operation_id in operation_ids:
        launched = firsts.get((operation_id, "operation.launched"))
        alerted = firsts.get((operation_id, "checkpoint.overdue"))
        if launched is None or alerted is None:
            lateness[operation_id] = None
            continue
        lateness[operation_id] = (alerted - (launched + deadline_after)).total_seconds()
    return lateness


async def run_scale(
    client: Client,
    *,
    sessions: sessionmaker[Session],
    worker_pid: int,
    task_queue: str,
    coordinator_agency: str,
    operations: int,
    concurrency: int,
    deadline_after: timedelta,
    say: Callable[[str], None],
) -> ScaleRun:
    result = ScaleRun(operations, deadline_after)
    memory = MemorySampler(worker_pid)
    result.rss_before = memory.rss()
    with memory.sampling():
        started = time.perf_counter()
        operation_ids = await start_live_operations(
            client,
            task_queue=task_queue,
            coordinator_agency=coordinator_agency,
            operations=operations,
            concurrency=concurrency,
            deadline_after=deadline_after,
        )
        result.start_seconds = time.perf_counter() - started
        result.rss_live = memory.rss()
        say(
            f"  {operations} operations live after {result.start_seconds:.0f} s; "
            f"waiting for their deadlines ({deadline_after.total_seconds():.0f} s after launch)"
        )
        last_deadline = started + result.start_seconds + deadline_after.total_seconds()
        await asyncio.sleep(max(0.0, last_deadline - time.perf_counter()) + GRACE.total_seconds())
    result.rss_peak = memory.peak
    lateness = deadline_lateness(
        sessions, operation_ids=operation_ids, deadline_after=deadline_after
    )
    result.lateness = [late for late in lateness.values() if late is not None]
    result.fired = len(result.lateness)
    result.on_time = sum(1 for late in result.lateness if late <= ON_TIME.total_seconds())
    return result
