"""`python -m bench.runner`: what the workflow runner (the SDK's sandbox, or none) costs the worker.

A dev server and a read model of its own; for each runner configuration, a worker process that
runs only the operation workflow's worker with that runner, and the sample walkthrough sent
straight to Temporal (bench/direct.py, no API). For each run it reports the CPU the worker process
spent per operation (psutil, the warm-up operation left out), the server's beside it, and the
steering actions' latency. The configurations take turns, round after round, so a neighbour's load
on a shared box falls on all of them; the spread between rounds says how much that was.

The worker's CPU also holds what no runner changes (the read-model projection, the codec, the
SDK's core), and a loaded box blurs it; so the workflow code alone is measured too: one finished
operation's history replayed in this process with each runner, CPU per replay. A replay is what a
worker does for every new run it caches and for every query of a closed operation.

The worker process is `python -m bench.runner worker CONFIGURATION`, started by the measurement.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import typer
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.debrief import DebriefActivities
from activities.projection import ReadModelActivities
from bench.cpu import CpuSplit, cpu_split
from bench.direct import run_direct
from bench.lifecycle import LifecycleRun
from bench.results import percentile
from bench.services import announce_ready, log_to_stderr, stop_on_signals
from bench.stack import CENTRE_AGENCY, free_port, scratch_read_model, service_process
from cdtrack import stack
from cdtrack.settings import Settings, load_settings
from cdtrack.temporal import connect, data_converter
from cdtrack.walkthrough import SAMPLE_AGENCIES, Cast
from cdtrack.worker import WorkerLimits, build_worker, notification_activities, workflow_runner
from store.session import create_engine_for, session_factory
from workflows.operation import ControlledDeliveryWorkflow

# Everything the workflow modules import, beyond the standard library and temporalio (which the
# default restrictions pass through already). operation.py and audit.py import all of it under
# `imports_passed_through()` anyway: what passing it through here adds is the `workflows` package
# itself, so the workflow module is not executed again for each new run.
PASSED_THROUGH: Final = (
    "workflows",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_extensions",
    "typing_inspection",
    "pycountry",
)


def _passed_through() -> WorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    )


@dataclass(frozen=True)
class Configuration:
    name: str
    description: str
    runner: Callable[[], WorkflowRunner]


CONFIGURATIONS: Final = {
    configuration.name: configuration
    for configuration in (
        Configuration(
            "strict",
            "the SDK's default sandbox (CDTRACK_WORKFLOW_SANDBOX=strict)",
            lambda: workflow_runner("strict"),
        ),
        Configuration(
            "passthrough",
            "the default sandbox, the workflows package and its imports passed through",
            _passed_through,
        ),
        Configuration(
            "off",
            "no sandbox, UnsandboxedWorkflowRunner (CDTRACK_WORKFLOW_SANDBOX=off)",
            lambda: workflow_runner("off"),
        ),
    )
}

# The walkthrough picks its actors by token; straight to Temporal a token is only a name.
CAST: Final = Cast(
    coordinator="coordinator", officers={agency["id"]: agency["id"] for agency in SAMPLE_AGENCIES}
)

app = typer.Typer(add_completion=False)


@dataclass(frozen=True)
class RunnerRun:
    """One round of one configuration: its operations, and the CPU each process spent on them."""

    configuration: str
    round: int
    lifecycle: LifecycleRun
    cpu: CpuSplit
    load_before: float
    load_after: float

    def cpu_per_operation(self, role: str) -> float:
        return self.cpu.seconds.get(role, 0.0) / self.lifecycle.operations

    @property
    def action_p50(self) -> float:
        return percentile(self.lifecycle.action_latencies, 0.50)

    @property
    def action_p99(self) -> float:
        return percentile(self.lifecycle.action_latencies, 0.99)

    @property
    def per_minute(self) -> float:
        return self.lifecycle.operations / self.lifecycle.seconds * 60


@dataclass(frozen=True)
class ReplayRun:
    """One round of replays of the same history with one configuration."""

    configuration: str
    round: int
    replays: int
    cpu_seconds: float

    @property
    def per_replay(self) -> float:
        return self.cpu_seconds / self.replays


@dataclass
class Measured:
    runs: list[RunnerRun]
    replays: list[ReplayRun]
    history_events: int = 0


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def serve_worker(settings: Settings, configuration: Configuration) -> None:
    """The operation workflow's worker, as `cdtrack worker` builds it, with the runner given."""
    stop = stop_on_signals()
    client = await connect(settings)
    engine = create_engine_for(settings.read_model_url)
    sessions = session_factory(engine)
    limits = WorkerLimits.from_settings(settings)
    try:
        with ThreadPoolExecutor(
            max_workers=limits.activities, thread_name_prefix="activity"
        ) as executor:
            worker = build_worker(
                client,
                task_queue=settings.task_queue,
                read_model=ReadModelActivities(sessions),
                notifications=notification_activities(settings, sessions),
                debrief=DebriefActivities(sessions),
                activity_executor=executor,
                workflow_runner=configuration.runner(),
                limits=limits,
            )
            async with worker:
                announce_ready()
                await stop.wait()
    finally:
        engine.dispose()


async def measure(
    *,
    configurations: list[Configuration],
    operations: int,
    concurrency: int,
    rounds: int,
    replays: int,
    postgres_url: str | None,
) -> Measured:
    measured = Measured(runs=[], replays=[])
    history: WorkflowHistory | None = None
    with (
        tempfile.TemporaryDirectory(prefix="cdtrack-runner-") as scratch,
        scratch_read_model(postgres_url) as database_url,
    ):
        settings = Settings(
            data_dir=Path(scratch),
            temporal_address=f"127.0.0.1:{free_port()}",
            database_url=database_url,
            # The bench's workers serve no health port they would contend for.
            worker_health_port=0,
        )
        settings.codec_key_ring()
        async with stack.dev_server(settings, ui=False):
            await asyncio.to_thread(stack.migrate_read_model, settings)
            client = await connect(settings)
            for round_ in range(1, rounds + 1):
                for configuration in configurations:
                    say(f"round {round_}, {configuration.name}: {operations} operations ...")
                    run, finished = await _one_run(
                        client,
                        settings,
                        configuration,
                        round_=round_,
                        operations=operations,
                        concurrency=concurrency,
                    )
                    history = history or finished
                    say("  " + _describe(run))
                    measured.runs.append(run)
        assert history is not None
        measured.history_events = len(history.events)
        for round_ in range(1, rounds + 1):
            for configuration in configurations:
                replay = await _replay(
                    history, settings, configuration, round_=round_, replays=replays
                )
                say(
                    f"round {round_}, {configuration.name}: {replays} replays of "
                    f"{len(history.events)} events, {_ms(replay.per_replay)} of CPU each"
                )
                measured.replays.append(replay)
    return measured


async def _one_run(
    client: Client,
    settings: Settings,
    configuration: Configuration,
    *,
    round_: int,
    operations: int,
    concurrency: int,
) -> tuple[RunnerRun, WorkflowHistory]:
    """The measured operations, and the history of the warm-up operation (finished by then)."""
    # A task queue of its own: no other run's worker takes its tasks.
    task_queue = f"cdtrack-runner-{configuration.name}-{uuid.uuid4().hex[:6]}"
    own = settings.model_copy(update={"task_queue": task_queue})

    async def walk(count: int, lanes: int) -> LifecycleRun:
        return await run_direct(
            client,
            cast=CAST,
            task_queue=task_queue,
            coordinator_agency=CENTRE_AGENCY,
            operations=count,
            concurrency=lanes,
        )

    async with service_process(
        "worker",
        own,
        log_dir=settings.data_dir,
        log_name=f"worker-{configuration.name}-{round_}",
        module="bench.runner",
        arguments=[configuration.name],
    ):
        # Warm-up: the first operation pays for the worker's first polls and imports.
        await walk(1, 1)
        history = await _finished_history(client, task_queue=task_queue)
        load_before = os.getloadavg()[0]
        with cpu_split() as cpu:
            lifecycle = await walk(operations, concurrency)
        load_after = os.getloadavg()[0]
    run = RunnerRun(
        configuration=configuration.name,
        round=round_,
        lifecycle=lifecycle,
        cpu=cpu,
        load_before=load_before,
        load_after=load_after,
    )
    return run, history


async def _finished_history(client: Client, *, task_queue: str) -> WorkflowHistory:
    """The history of the one operation run on `task_queue` so far, once visibility lists it."""
    query = f'TaskQueue = "{task_queue}" AND ExecutionStatus = "Completed"'
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        async for execution in client.list_workflows(query):
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            return await handle.fetch_history()
        await asyncio.sleep(0.2)
    raise RuntimeError(f"no finished operation listed on {task_queue}")


async def _replay(
    history: WorkflowHistory,
    settings: Settings,
    configuration: Configuration,
    *,
    round_: int,
    replays: int,
) -> ReplayRun:
    """CPU of this process per replay of `history` with the configuration's runner."""
    replayer = Replayer(
        workflows=[ControlledDeliveryWorkflow],
        data_converter=data_converter(settings),
        workflow_runner=configuration.runner(),
    )
    # Once unmeasured: the first replay pays for the replayer's own start.
    await replayer.replay_workflow(history)

    async def copies() -> AsyncIterator[WorkflowHistory]:
        for number in range(replays):
            yield WorkflowHistory(f"{history.workflow_id}-{number}", history.events)

    started = time.process_time()
    async with replayer.workflow_replay_iterator(copies()) as results:
        async for result in results:
            if result.replay_failure is not None:
                raise result.replay_failure
    return ReplayRun(
        configuration=configuration.name,
        round=round_,
        replays=replays,
        cpu_seconds=time.process_time() - started,
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _describe(run: RunnerRun) -> str:
    return (
        f"worker {_ms(run.cpu_per_operation('worker'))}/operation, "
        f"server {_ms(run.cpu_per_operation('Temporal server'))}/operation, "
        f"actions p50 {_ms(run.action_p50)} p99 {_ms(run.action_p99)}, "
        f"{run.per_minute:.1f} operations/minute, "
        f"load {run.load_before:.2f} -> {run.load_after:.2f}"
    )


def _spread(values: list[float]) -> str:
    """Mean, and the lowest and highest round, in milliseconds."""
    mean = sum(values) / len(values)
    return f"{mean * 1000:.0f} ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"


def report(measured: Measured, *, configurations: list[Configuration]) -> str:
    """One row per configuration: each figure's mean over the rounds, and its range."""
    runs, replays = measured.runs, measured.replays
    first = runs[0].lifecycle
    lines = [
        f"Workflow runner: {first.operations} operations of the sample walkthrough per round "
        f"(21 actions each), {first.concurrency} at a time, straight to Temporal; "
        f"{len({run.round for run in runs})} rounds; CPU per operation from psutil, the warm-up "
        f"operation left out; replay: one finished operation's history "
        f"({measured.history_events} events) replayed {replays[0].replays} times per round in "
        "one process, its CPU per replay. Mean (lowest-highest round), milliseconds.",
        "",
        "| runner | worker CPU / operation | server CPU / operation | action p50 | action p99 "
        "| operations / minute | CPU / replay | load (1 min) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for configuration in configurations:
        mine = [run for run in runs if run.configuration == configuration.name]
        replayed = [replay for replay in replays if replay.configuration == configuration.name]
        if not mine:
            continue
        rates = [run.per_minute for run in mine]
        loads = [load for run in mine for load in (run.load_before, run.load_after)]
        lines.append(
            f"| {configuration.name}: {configuration.description} "
            f"| {_spread([run.cpu_per_operation('worker') for run in mine])} "
            f"| {_spread([run.cpu_per_operation('Temporal server') for run in mine])} "
            f"| {_spread([run.action_p50 for run in mine])} "
            f"| {_spread([run.action_p99 for run in mine])} "
            f"| {sum(rates) / len(rates):.1f} ({min(rates):.1f}-{max(rates):.1f}) "
            f"| {_spread([replay.per_replay for replay in replayed])} "
            f"| {min(loads):.2f}-{max(loads):.2f} |"
        )
    lines += ["", f"{os.cpu_count()} cores; load from os.getloadavg() around each round."]
    return "\n".join(lines)


@app.command()
def main(
    configuration: Annotated[
        list[str] | None,
        typer.Option(help=f"A runner to measure (default: all of {', '.join(CONFIGURATIONS)})."),
    ] = None,
    operations: Annotated[int, typer.Option(help="Measured operations per round.")] = 20,
    concurrency: Annotated[int, typer.Option(help="Operations in flight at once.")] = 4,
    rounds: Annotated[int, typer.Option(help="Rounds; each measures every runner once.")] = 2,
    replays: Annotated[int, typer.Option(help="Replays of the history per round.")] = 20,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="Put the read model on this PostgreSQL server, in a scratch database created "
            "and dropped; SQLite under a temporary directory when omitted."
        ),
    ] = None,
) -> None:
    """Measure each workflow runner on its own worker process, print one table."""
    names = configuration or list(CONFIGURATIONS)
    unknown = [name for name in names if name not in CONFIGURATIONS]
    if unknown:
        raise typer.BadParameter(f"unknown runner {unknown}; choose from {list(CONFIGURATIONS)}")
    chosen = [CONFIGURATIONS[name] for name in names]
    # Progress and the stack's log lines go to stderr; stdout carries only the table.
    log_to_stderr()
    measured = asyncio.run(
        measure(
            configurations=chosen,
            operations=operations,
            concurrency=concurrency,
            rounds=rounds,
            replays=replays,
            postgres_url=postgres_url,
        )
    )
    print(report(measured, configurations=chosen))


def _serve(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in CONFIGURATIONS:
        raise SystemExit(f"usage: python -m bench.runner worker {{{'|'.join(CONFIGURATIONS)}}}")
    log_to_stderr()
    asyncio.run(serve_worker(load_settings(), CONFIGURATIONS[argv[0]]))


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        _serve(sys.argv[2:])
    else:
        app()
