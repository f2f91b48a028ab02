"""`python -m bench` (`make bench`): one run, one table, each figure beside its floor and target."""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bench.access_log import AccessLogRun, run_access_log
from bench.console import ConsoleRun, run_console
from bench.cpu import CpuSplit, cpu_split
from bench.direct import run_direct
from bench.floor import FloorRun, run_floor
from bench.lifecycle import UPDATES_PER_OPERATION, LifecycleRun, run_lifecycle
from bench.listing import ListingRun, run_listing
from bench.operation_reads import OperationReadsRun, run_operation_reads
from bench.payloads import operation_sizes
from bench.profile import profiled
from bench.reads import ReadsRun, run_reads
from bench.reference import OperationSizes, ReferenceRun, run_reference
from bench.report import ReportRun, measure_debrief_report
from bench.results import (
    HighConcurrency,
    lifecycle_detail,
    listing_detail,
    machine_description,
    markdown_table,
    reads_detail,
    summary_rows,
)
from bench.scale import ScaleRun, run_scale
from bench.stack import CENTRE_AGENCY, BenchStack, bench_stack
from bench.workers import WorkersRun, run_workers
from cdtrack.stack import temporal_binary

app = typer.Typer(add_completion=False)


class Measure(StrEnum):
    ACCESS_LOG = "access-log"
    CONSOLE = "console"
    DIRECT = "direct"
    HIGH_CONCURRENCY = "high-concurrency"
    LIFECYCLE = "lifecycle"
    LISTING = "listing"
    OPERATION_READS = "operation-reads"
    READS = "reads"
    REFERENCE = "reference"
    REPORT = "report"
    SCALE = "scale"
    WORKERS = "workers"


@dataclass(frozen=True)
class BenchOptions:
    operations: int = 40
    concurrency: int = 4
    high_concurrency: int = 16
    operation_reads: int = 100
    listing_operations: int = 10_000
    listing_repeats: int = 30
    report_events: int = 5_000
    live_operations: int = 1_000
    live_concurrency: int = 16
    access_log_appends: int = 2_000
    read_clients: int = 50
    read_seconds: float = 30.0
    deadline_after: timedelta = timedelta(minutes=2)
    deadline_spread: timedelta = timedelta(minutes=2)
    deadline_grace: timedelta = timedelta(seconds=20)
    worker_operations: int = 40
    worker_concurrency: int = 8
    console_events: int = 5_000
    console_inbox_operations: int = 200
    console_live_operations: int = 10
    console_repeats: int = 30
    skip: frozenset[Measure] = frozenset()
    profile: bool = False


DEFAULTS = BenchOptions()
QUICK = BenchOptions(
    operations=4,
    concurrency=2,
    high_concurrency=4,
    operation_reads=20,
    listing_operations=300,
    listing_repeats=3,
    report_events=200,
    live_operations=10,
    live_concurrency=5,
    access_log_appends=100,
    read_clients=50,
    read_seconds=3.0,
    deadline_after=timedelta(seconds=5),
    deadline_spread=timedelta(seconds=5),
    deadline_grace=timedelta(seconds=5),
    worker_operations=4,
    worker_concurrency=4,
    console_events=500,
    console_inbox_operations=50,
    console_live_operations=2,
    console_repeats=10,
)


@dataclass
class Results:
    floor: FloorRun | None = None
    reference: ReferenceRun | None = None
    direct: LifecycleRun | None = None
    lifecycle: LifecycleRun | None = None
    high: HighConcurrency = field(default_factory=HighConcurrency)
    operation_reads: OperationReadsRun | None = None
    listing: ListingRun | None = None
    report: ReportRun | None = None
    scale: ScaleRun | None = None
    access_log: AccessLogRun | None = None
    reads: ReadsRun | None = None
    workers: WorkersRun | None = None
    console: ConsoleRun | None = None
    cpu: dict[str, CpuSplit] = field(default_factory=dict)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def measure_engine(
    stack: BenchStack,
    options: BenchOptions,
    results: Results,
    *,
    concurrency: int,
    sizes: OperationSizes,
    at: str = "",
) -> tuple[FloorRun, ReferenceRun | None]:
    """The floor, then the reference, at `concurrency`: what the lifecycle at it is held to.

    `at` names the concurrency in the progress lines and the CPU split ("" for the first).
    """
    say(f"Floor{at}: {options.operations} workflows x {UPDATES_PER_OPERATION} Updates ...")
    with cpu_split() as results.cpu[f"floor workflow{at}"]:
        floor = await run_floor(
            stack.floor_client,
            workflows=options.operations,
            updates_per_workflow=UPDATES_PER_OPERATION,
            concurrency=concurrency,
        )
    reference = None
    if Measure.REFERENCE not in options.skip:
        if len(sizes.updates) != UPDATES_PER_OPERATION:
            raise RuntimeError(
                f"the sample operation sent {len(sizes.updates)} Updates, the floor "
                f"{UPDATES_PER_OPERATION}: update ACTIONS_PER_OPERATION"
            )
        say(f"Reference{at}: {options.operations} workflows x {UPDATES_PER_OPERATION} Updates ...")
        with cpu_split() as results.cpu[f"reference workflow{at}"]:
            reference = await run_reference(
                stack.client, sizes=sizes, workflows=options.operations, concurrency=concurrency
            )
    return floor, reference


async def measure(stack: BenchStack, options: BenchOptions) -> Results:
    results = Results()
    sizes = await operation_sizes(stack.client.data_converter, coordinator_agency=CENTRE_AGENCY)
    results.floor, results.reference = await measure_engine(
        stack, options, results, concurrency=options.concurrency, sizes=sizes
    )
    pids = {"api": stack.api_pid, "worker": stack.worker_pid}
    async with profiled(pids, out_dir=stack.log_dir if options.profile else None):
        if Measure.DIRECT not in options.skip:
            say(f"Lifecycle straight to Temporal: {options.operations} operations ...")
            with cpu_split() as results.cpu["operation, straight to Temporal"]:
                results.direct = await run_direct(
                    stack.client,
                    cast=stack.cast,
                    task_queue=stack.settings.task_queue,
                    coordinator_agency=CENTRE_AGENCY,
                    operations=options.operations,
                    concurrency=options.concurrency,
                )
        if Measure.LIFECYCLE not in options.skip:
            say(f"Lifecycle via HTTP: {options.operations} operations ...")
            with cpu_split() as results.cpu["operation via HTTP"]:
                results.lifecycle = await asyncio.to_thread(
                    run_lifecycle,
                    base_url=stack.base_url,
                    cast=stack.cast,
                    operations=options.operations,
                    concurrency=options.concurrency,
                )
    if Measure.HIGH_CONCURRENCY not in options.skip:
        # The floor and the reference again at this concurrency, just before the lifecycle at
        # it: each ratio compares runs at the same concurrency, minutes apart at most.
        high = options.high_concurrency
        results.high.floor, results.high.reference = await measure_engine(
            stack, options, results, concurrency=high, sizes=sizes, at=f" at C = {high}"
        )
        if Measure.LIFECYCLE not in options.skip:
            say(f"Lifecycle via HTTP at C = {high}: {options.operations} operations ...")
            with cpu_split() as results.cpu[f"operation via HTTP at C = {high}"]:
                results.high.lifecycle = await asyncio.to_thread(
                    run_lifecycle,
                    base_url=stack.base_url,
                    cast=stack.cast,
                    operations=options.operations,
                    concurrency=high,
                )
    if Measure.OPERATION_READS not in options.skip:
        say(
            f"Reading an operation: one walked to its first handover, one to closed, each read "
            f"{options.operation_reads} times ..."
        )
        results.operation_reads = await asyncio.to_thread(
            run_operation_reads,
            base_url=stack.base_url,
            cast=stack.cast,
            reads=options.operation_reads,
        )
    if Measure.WORKERS not in options.skip:
        say(
            f"Workers: {options.worker_operations} operations at C = "
            f"{options.worker_concurrency} on one worker process, then on two ..."
        )
        results.workers = await run_workers(
            stack, operations=options.worker_operations, concurrency=options.worker_concurrency
        )
    if Measure.READS not in options.skip:
        say(
            f"Reads: one operation walked, then {options.read_clients} clients reading it "
            f"for {options.read_seconds:.0f} s ..."
        )
        results.reads = await run_reads(
            base_url=stack.base_url,
            cast=stack.cast,
            sessions=stack.sessions,
            clients=options.read_clients,
            seconds=options.read_seconds,
        )
    if Measure.CONSOLE not in options.skip:
        say(
            f"Console: operation page of {options.console_events} events, inbox of "
            f"{options.console_inbox_operations} operations, live delay over "
            f"{options.console_live_operations} operations ..."
        )
        results.console = await run_console(
            base_url=stack.base_url,
            settings=stack.settings,
            client=stack.client,
            cast=stack.cast,
            sessions=stack.sessions,
            coordinator_agency=CENTRE_AGENCY,
            page_events=options.console_events,
            inbox_operations=options.console_inbox_operations,
            live_operations=options.console_live_operations,
            repeats=options.console_repeats,
        )
    if Measure.LISTING not in options.skip:
        say(f"Listing: seeding {options.listing_operations} operations, then listing ...")
        results.listing = await asyncio.to_thread(
            run_listing,
            base_url=stack.base_url,
            cast=stack.cast,
            sessions=stack.sessions,
            coordinator_agency=CENTRE_AGENCY,
            operations=options.listing_operations,
            repeats=options.listing_repeats,
        )
    if Measure.REPORT not in options.skip:
        say(f"Debrief report of {options.report_events} events ...")
        results.report = measure_debrief_report(events=options.report_events)
    if Measure.SCALE not in options.skip:
        say(f"Scale: {options.live_operations} live operations on one worker ...")
        results.scale = await run_scale(
            stack.client,
            sessions=stack.sessions,
            worker_pid=stack.worker_pid,
            task_queue=stack.settings.task_queue,
            coordinator_agency=CENTRE_AGENCY,
            operations=options.live_operations,
            concurrency=options.live_concurrency,
            deadline_after=options.deadline_after,
            deadline_spread=options.deadline_spread,
            grace=options.deadline_grace,
            say=say,
        )
    return results


async def bench(options: BenchOptions, *, postgres_url: str | None, keep_dir: Path | None) -> str:
    started = time.perf_counter()
    say("Starting the bench stack (dev server, read model, worker, API) ...")
    async with bench_stack(postgres_url=postgres_url, keep_dir=keep_dir) as stack:
        results = await measure(stack, options)
        machine = machine_description(
            read_model=stack.read_model, temporal_binary=str(temporal_binary())
        )
    if Measure.ACCESS_LOG not in options.skip:
        say(f"Access log: {options.access_log_appends} appends, then the sequencer ...")
        results.access_log = await asyncio.to_thread(
            run_access_log,
            postgres_url=postgres_url,
            appends=options.access_log_appends,
            concurrency=options.concurrency,
        )
    rows = summary_rows(
        floor=results.floor,
        direct=results.direct,
        lifecycle=results.lifecycle,
        listing=results.listing,
        report=results.report,
        scale=results.scale,
        access_log=results.access_log,
        reads=results.reads,
        workers=results.workers,
        console=results.console,
        reference=results.reference,
        high=results.high,
        operation_reads=results.operation_reads,
    )
    command = shlex.join(["python", "-m", "bench", *sys.argv[1:]])
    parts = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {time.perf_counter() - started:.0f} s: "
        f"`{command}`",
        "",
        *(f"- {line}" for line in machine),
        "",
        markdown_table(rows),
    ]
    if results.cpu:
        parts += [""]
        parts += [
            f"- {split.describe(per=options.operations, unit=unit)}"
            for unit, split in results.cpu.items()
        ]
    if results.reads is not None and results.reads.reads:
        unit = f"read at C = {results.reads.clients}"
        parts += [] if results.cpu else [""]
        parts += [f"- {results.reads.cpu.describe(per=results.reads.reads, unit=unit)}"]
    if results.lifecycle is not None:
        parts += ["", lifecycle_detail(results.lifecycle)]
    if results.listing is not None:
        parts += ["", listing_detail(results.listing)]
    if results.reads is not None:
        parts += ["", reads_detail(results.reads)]
    return "\n".join(parts)


@app.command()
def main(
    operations: Annotated[
        int, typer.Option(help="Operations walked through HTTP (N).")
    ] = DEFAULTS.operations,
    concurrency: Annotated[
        int, typer.Option(help="Operations in flight at once (C).")
    ] = DEFAULTS.concurrency,
    high_concurrency: Annotated[
        int,
        typer.Option(
            help="The second C: the floor, the reference and the HTTP lifecycle again, N each."
        ),
    ] = DEFAULTS.high_concurrency,
    operation_reads: Annotated[
        int, typer.Option(help="Reads of a live and of a closed operation, one at a time.")
    ] = DEFAULTS.operation_reads,
    listing_operations: Annotated[
        int, typer.Option(help="Operations seeded into the read model for listing.")
    ] = DEFAULTS.listing_operations,
    listing_repeats: Annotated[
        int, typer.Option(help="Requests per listing query.")
    ] = DEFAULTS.listing_repeats,
    report_events: Annotated[
        int, typer.Option(help="Timeline events in the report.")
    ] = DEFAULTS.report_events,
    live_operations: Annotated[
        int, typer.Option(help="Live operations with a pending deadline on one worker.")
    ] = DEFAULTS.live_operations,
    live_concurrency: Annotated[
        int, typer.Option(help="Operations being started at once in the scale run.")
    ] = DEFAULTS.live_concurrency,
    deadline_after: Annotated[
        int, typer.Option(help="Seconds from launch to the earliest live operation's deadline.")
    ] = int(DEFAULTS.deadline_after.total_seconds()),
    deadline_spread: Annotated[
        int, typer.Option(help="Live operations' deadlines spread over this many seconds more.")
    ] = int(DEFAULTS.deadline_spread.total_seconds()),
    read_clients: Annotated[
        int, typer.Option(help="Clients reading one operation at once through HTTP.")
    ] = DEFAULTS.read_clients,
    read_seconds: Annotated[
        float, typer.Option(help="Seconds the clients read for.")
    ] = DEFAULTS.read_seconds,
    console_events: Annotated[
        int, typer.Option(help="Timeline events of the operation the console's page shows.")
    ] = DEFAULTS.console_events,
    console_inbox_operations: Annotated[
        int, typer.Option(help="Live operations in the inbox of one agency.")
    ] = DEFAULTS.console_inbox_operations,
    console_live_operations: Annotated[
        int, typer.Option(help="Operations whose two acknowledgements are timed to the live page.")
    ] = DEFAULTS.console_live_operations,
    skip: Annotated[list[Measure] | None, typer.Option(help="Leave a measurement out.")] = None,
    quick: Annotated[
        bool, typer.Option(help="A smoke run (two to three minutes); replaces every size above.")
    ] = False,
    profile: Annotated[
        bool,
        typer.Option(
            help="Sample the API and worker with py-spy during the lifecycle phases; profiles "
            "go to the data directory (see --keep-dir). Perturbs that run's figures."
        ),
    ] = False,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="Put the read model on this PostgreSQL server, in a scratch database the bench "
            "creates and drops; SQLite under the data directory when omitted."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Also write the results (Markdown) to this file.")
    ] = None,
    keep_dir: Annotated[
        Path | None, typer.Option(help="Keep the stack's data and logs here instead of a temp dir.")
    ] = None,
) -> None:
    """Start an embedded stack, measure, print one table; the floor is measured in the same run."""
    options = BenchOptions(
        operations=operations,
        concurrency=concurrency,
        high_concurrency=high_concurrency,
        operation_reads=operation_reads,
        listing_operations=listing_operations,
        listing_repeats=listing_repeats,
        report_events=report_events,
        live_operations=live_operations,
        live_concurrency=live_concurrency,
        deadline_after=timedelta(seconds=deadline_after),
        deadline_spread=timedelta(seconds=deadline_spread),
        read_clients=read_clients,
        read_seconds=read_seconds,
        console_events=console_events,
        console_inbox_operations=console_inbox_operations,
        console_live_operations=console_live_operations,
    )
    if quick:
        options = QUICK
    options = replace(options, skip=frozenset(skip or []), profile=profile)
    text = asyncio.run(bench(options, postgres_url=postgres_url, keep_dir=keep_dir))
    print(text)
    if output is not None:
        output.write_text(text + "\n")


if __name__ == "__main__":
    app()
