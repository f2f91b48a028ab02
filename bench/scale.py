"""Scale on one box: many live operations, each with a deadline pending, on one worker process.

Each operation is authorised, confirmed and launched by the lifecycle rules here, in the bench,
and its workflow started from that launched state: the path continue-as-new takes, so the worker
holds exactly what a launched operation holds, without eight steering actions per operation
(those are what the lifecycle measurement costs). The launch starts the checkpoint-silence clock,
so every operation has a deadline a few minutes out. The worker's resident memory is sampled
throughout, and once every deadline has passed the read model says when each one fired.
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

from bench.lanes import in_lanes
from cdtrack.walkthrough import SAMPLE_AGENCIES, sample_authorisation, sample_plan
from store.models import TimelineEventRow
from workflows.commands import (
    Actor,
    ActorRole,
    AnyCommand,
    ConfirmParticipationInput,
    LaunchOperationInput,
    RecordAuthorisationInput,
)
from workflows.messages import RunOperationInput
from workflows.operation import ControlledDeliveryWorkflow
from workflows.plan import AuthorisationGranted, OperationPlan
from workflows.rules import Accepted, decide, open_operation
from workflows.starter import workflow_id
from workflows.state import OperationState

ON_TIME = timedelta(seconds=5)
MEMORY_SAMPLE_SECONDS = 0.5


@dataclass
class ScaleRun:
    operations: int
    deadline_after: timedelta
    deadline_spread: timedelta
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
        authorisation = AuthorisationGranted.model_validate(
            sample_authorisation(agency["country"], now=now)
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


def deadline_window(after: timedelta, spread: timedelta) -> str:
    first = after.total_seconds()
    return f"{first:.0f}-{first + spread.total_seconds():.0f} s"


def launched_state(
    *, operation_id: str, plan: OperationPlan, coordinator: Actor, now: datetime, suffix: str
) -> OperationState:
    """The operation as the rules leave it after its authorisations, confirmations and launch."""
    state = open_operation(operation_id=operation_id, plan=plan, created_by=coordinator, now=now)
    launch = LaunchOperationInput(actor=coordinator, request_id=f"launch-{suffix}")
    for command in [*_launch_commands(suffix, now), launch]:
        decision = decide(state, command, now=now)
        if not isinstance(decision, Accepted):
            raise RuntimeError(f"the rules refused {command.kind}: {decision.reason}")
        state = decision.state
    return state


async def start_live_operations(
    client: Client,
    *,
    task_queue: str,
    coordinator_agency: str,
    operations: int,
    concurrency: int,
    deadline_after: timedelta,
    deadline_spread: timedelta,
) -> dict[str, datetime]:
    """Start `operations` launched operations; returns each one's checkpoint deadline.

    The deadlines lie between `deadline_after` and `deadline_after + deadline_spread` after each
    launch, evenly spread, as live operations' deadlines would be rather than all at one instant.
    """
    coordinator = Actor(agency=coordinator_agency, officer="bench", role=ActorRole.COORDINATOR)
    prefix = uuid.uuid4().hex[:6].upper()
    deadlines: dict[str, datetime] = {}

    async def one(number: int) -> None:
        now = datetime.now(UTC)
        plan = sample_plan(
            coordinator_agency=coordinator_agency, now=now, code_name=f"LIVE-{prefix}-{number}"
        )
        interval = deadline_after + deadline_spread * (number / max(operations - 1, 1))
        plan["checkpoint_interval"] = interval.total_seconds()
        operation_id = str(uuid.uuid4())
        state = launched_state(
            operation_id=operation_id,
            plan=OperationPlan.model_validate(plan),
            coordinator=coordinator,
            now=now,
            suffix=f"{prefix}-{number}",
        )
        await client.start_workflow(
            ControlledDeliveryWorkflow.run,
            RunOperationInput(operation_id=operation_id, carried_state=state),
            id=workflow_id(operation_id),
            task_queue=task_queue,
        )
        assert state.checkpoint_clock is not None
        deadlines[operation_id] = state.checkpoint_clock + interval

    await in_lanes(range(operations), concurrency=concurrency, each=one)
    return deadlines


def deadline_lateness(
    sessions: sessionmaker[Session], *, deadlines: dict[str, datetime]
) -> dict[str, float | None]:
    """Per operation, seconds from its checkpoint deadline to the alert; None if none fired."""
    alerts: dict[str, datetime] = {}
    operation_ids = list(deadlines)
    with sessions() as session:
        for chunk in range(0, len(operation_ids), 500):
            query = (
                select(TimelineEventRow.operation_id, TimelineEventRow.at)
                .where(
                    TimelineEventRow.operation_id.in_(operation_ids[chunk : chunk + 500]),
                    TimelineEventRow.kind == "checkpoint.overdue",
                )
                .order_by(TimelineEventRow.seq)
            )
            for operation_id, at in session.execute(query):
                alerts.setdefault(operation_id, at)
    return {
        operation_id: (alerts[operation_id] - due).total_seconds()
        if operation_id in alerts
        else None
        for operation_id, due in deadlines.items()
    }


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
    deadline_spread: timedelta,
    grace: timedelta,
    say: Callable[[str], None],
) -> ScaleRun:
    """Start the operations, keep watching the worker's memory, and read when deadlines fired.

    `grace` is how long after the last deadline stragglers may still fire before they count as
    missing; any that fire in it are still reported late.
    """
    result = ScaleRun(operations, deadline_after, deadline_spread)
    memory = MemorySampler(worker_pid)
    result.rss_before = memory.rss()
    with memory.sampling():
        started = time.perf_counter()
        deadlines = await start_live_operations(
            client,
            task_queue=task_queue,
            coordinator_agency=coordinator_agency,
            operations=operations,
            concurrency=concurrency,
            deadline_after=deadline_after,
            deadline_spread=deadline_spread,
        )
        result.start_seconds = time.perf_counter() - started
        result.rss_live = memory.rss()
        say(
            f"  {operations} operations live after {result.start_seconds:.0f} s; "
            f"waiting for their deadlines "
            f"({deadline_window(deadline_after, deadline_spread)} after launch)"
        )
        last_deadline = max(deadlines.values()) + grace
        await asyncio.sleep(max(0.0, (last_deadline - datetime.now(UTC)).total_seconds()))
    result.rss_peak = memory.peak
    lateness = deadline_lateness(sessions, deadlines=deadlines)
    result.lateness = [late for late in lateness.values() if late is not None]
    result.fired = len(result.lateness)
    result.on_time = sum(1 for late in result.lateness if late <= ON_TIME.total_seconds())
    return result
