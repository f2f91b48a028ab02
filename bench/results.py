"""Turning measurements into the one table the bench prints: machine, figures, ratios, targets."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

import psutil

from bench.access_log import AccessLogRun
from bench.console import ConsoleRun
from bench.floor import FloorRun
from bench.lifecycle import LifecycleRun
from bench.listing import ListingRun
from bench.operation_reads import WARM_UP_READS, OperationReadsRun
from bench.reads import HEALTH_INTERVAL_SECONDS, ReadsRun
from bench.reference import OperationSizes, ReferenceRun, UpdateSizes
from bench.report import ReportRun
from bench.scale import ON_TIME, ScaleRun, deadline_window
from bench.workers import WorkersRun

GIB = 1024**3
MIB = 1024**2


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample at or above `fraction` of them."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def first_output_line(command: list[str]) -> str:
    """The first line a command prints, or "" when it cannot run."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return ""
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def machine_description(*, read_model: str, temporal_binary: str) -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            names = [
                line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    temporal = first_output_line([temporal_binary, "--version"])
    return [
        f"CPU: {cpu}, {os.cpu_count()} logical cores; "
        f"memory {psutil.virtual_memory().total / GIB:.1f} GiB",
        f"OS: {platform.system()} {platform.release()}; Python {platform.python_version()}",
        f"Temporal: {temporal} (dev server, SQLite file, WAL, synchronous=NORMAL); "
        f"temporalio {version('temporalio')}",
        f"Read model: {read_model}",
        # Other work on the box skews every figure; the load average says how much there was.
        "Load average (1, 5, 15 min) at the end: "
        + ", ".join(f"{load:.2f}" for load in os.getloadavg()),
    ]


@dataclass
class HighConcurrency:
    """The floor, the reference and the HTTP lifecycle again at the second concurrency."""

    floor: FloorRun | None = None
    reference: ReferenceRun | None = None
    lifecycle: LifecycleRun | None = None


@dataclass(frozen=True)
class Row:
    measure: str
    figure: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def per_minute(run: FloorRun) -> float:
    return run.workflows / run.seconds * 60


def kib(size: float) -> str:
    return f"{size / 1024:.1f} KiB"


def _throughput_ratio(
    operations_per_minute: float, *, floor: FloorRun | None, reference: FloorRun | None
) -> str:
    """Operations per minute as a share of each base's workflows per minute, named after it."""
    parts = [
        f"{operations_per_minute / per_minute(base):.2f}x {name}"
        for name, base in (("floor", floor), ("reference", reference))
        if base is not None
    ]
    return ", ".join(parts)


def _latency_ratio(
    samples: list[float], *, floor: FloorRun | None, reference: FloorRun | None
) -> str:
    """A latency's p50 and p99 as multiples of each base's Update round trip, named after it."""
    parts = [
        f"p50 {percentile(samples, 0.5) / percentile(base.update_latencies, 0.5):.2f}x, "
        f"p99 {percentile(samples, 0.99) / percentile(base.update_latencies, 0.99):.2f}x {name}"
        for name, base in (("floor", floor), ("reference", reference))
        if base is not None
    ]
    return "; ".join(parts)


def _sizes(sizes: OperationSizes) -> str:
    """What the reference's payloads were: the start's size and per Update the medians."""
    updates = sizes.updates

    def median(size: Callable[[UpdateSizes], int]) -> str:
        return kib(percentile([float(size(update)) for update in updates], 0.5))

    projections = [update.projection_input for update in updates]
    return (
        f"payloads of an operation's sizes, encrypted (start {kib(sizes.start)}; per Update "
        f"median argument {median(lambda u: u.argument)}, answer {median(lambda u: u.answer)}, "
        f"projection {median(lambda u: u.projection_input)} "
        f"({min(projections) / 1024:.1f}-{kib(max(projections))})); "
        "one row written and committed before each answer"
    )


def floor_rows(floor: FloorRun) -> list[Row]:
    return [
        Row(
            "1. Floor: raw Updates on a trivial workflow",
            f"{per_minute(floor):.0f} workflows/min, {floor.updates / floor.seconds:.1f} Updates/s",
            f"{floor.workflows} x (start + {floor.updates_per_workflow} Updates), "
            f"concurrency {floor.concurrency}",
        ),
        Row(
            "   Floor: Update round trip",
            f"p50 {ms(percentile(floor.update_latencies, 0.5))}, "
            f"p99 {ms(percentile(floor.update_latencies, 0.99))}",
            f"{floor.updates} Updates",
        ),
    ]


def _at_concurrency(run: FloorRun, *, name: str, floor: FloorRun | None) -> Row:
    """One row for the floor or the reference at the second concurrency, figure and latency."""
    latencies = run.update_latencies
    return Row(
        f"   {name} at C = {run.concurrency}",
        f"{per_minute(run):.0f} workflows/min; Update p50 {ms(percentile(latencies, 0.5))}, "
        f"p99 {ms(percentile(latencies, 0.99))}",
        f"{run.workflows} x (start + {run.updates_per_workflow} Updates), "
        f"concurrency {run.concurrency}",
        "" if floor is None else f"{per_minute(run) / per_minute(floor):.2f}x floor",
    )


def reference_rows(reference: ReferenceRun, *, floor: FloorRun | None) -> list[Row]:
    latencies = reference.update_latencies
    return [
        Row(
            "1a. Reference: the floor plus the promises' unavoidable work",
            f"{per_minute(reference):.0f} workflows/min, "
            f"{reference.updates / reference.seconds:.1f} Updates/s",
            f"{reference.workflows} x (start + {reference.updates_per_workflow} Updates), "
            f"concurrency {reference.concurrency}; "
            + (_sizes(reference.sizes) if reference.sizes is not None else ""),
            "" if floor is None else f"{per_minute(reference) / per_minute(floor):.2f}x floor",
        ),
        Row(
            "   Reference: Update round trip",
            f"p50 {ms(percentile(latencies, 0.5))}, p99 {ms(percentile(latencies, 0.99))}",
            f"{reference.updates} Updates",
            _latency_ratio(latencies, floor=floor, reference=None),
        ),
    ]


def lifecycle_row(
    lifecycle: LifecycleRun,
    *,
    floor: FloorRun | None,
    reference: FloorRun | None,
    label: str = "2. Lifecycle via HTTP",
) -> Row:
    operations_per_minute = lifecycle.operations / lifecycle.seconds * 60
    actions = lifecycle.action_latencies
    verdict = target = ""
    if floor is not None:
        target = ">= 0.6x floor"
        verdict = _verdict(operations_per_minute / per_minute(floor) >= 0.6)
    return Row(
        label,
        f"{operations_per_minute:.1f} operations/min, "
        f"{len(actions) / lifecycle.seconds:.1f} actions/s",
        f"{lifecycle.operations} operations (3 countries, 2 handovers, "
        f"{len(actions) // max(lifecycle.operations, 1)} actions), "
        f"concurrency {lifecycle.concurrency}",
        _throughput_ratio(operations_per_minute, floor=floor, reference=reference),
        target,
        verdict,
    )


def acknowledgement_row(
    label: str, samples: list[float], *, floor: FloorRun | None, reference: FloorRun | None
) -> Row:
    """Met when p50 is at most twice the raw Update's and p99 at most 1.5 times, same run."""
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    verdict = target = ""
    if floor is not None:
        target = "p50 <= 2x, p99 <= 1.5x raw Update"
        floor_p50 = percentile(floor.update_latencies, 0.5)
        floor_p99 = percentile(floor.update_latencies, 0.99)
        verdict = _verdict(p50 <= 2 * floor_p50 and p99 <= 1.5 * floor_p99)
    return Row(
        label,
        f"p50 {ms(p50)}, p99 {ms(p99)}",
        f"{len(samples)} requests",
        _latency_ratio(samples, floor=floor, reference=reference),
        target,
        verdict,
    )


def summary_rows(
    *,
    floor: FloorRun | None,
    direct: LifecycleRun | None,
    lifecycle: LifecycleRun | None,
    listing: ListingRun | None,
    report: ReportRun | None,
    scale: ScaleRun | None,
    access_log: AccessLogRun | None = None,
    reads: ReadsRun | None = None,
    workers: WorkersRun | None = None,
    console: ConsoleRun | None = None,
    reference: ReferenceRun | None = None,
    high: HighConcurrency | None = None,
    operation_reads: OperationReadsRun | None = None,
) -> list[Row]:
    """Every row of the table; each ratio and verdict from figures of the same run."""
    high = high or HighConcurrency()
    rows: list[Row] = []
    if floor is not None:
        rows += floor_rows(floor)
    if high.floor is not None:
        rows.append(_at_concurrency(high.floor, name="Floor", floor=None))
    if reference is not None:
        rows += reference_rows(reference, floor=floor)
    if high.reference is not None:
        rows.append(_at_concurrency(high.reference, name="Reference", floor=high.floor))
    if direct is not None:
        per_min = direct.operations / direct.seconds * 60
        actions = direct.action_latencies
        rows.append(
            Row(
                "1b. Same lifecycle straight to Temporal (no HTTP)",
                f"{per_min:.1f} operations/min; action p50 {ms(percentile(actions, 0.5))}, "
                f"p99 {ms(percentile(actions, 0.99))}",
                f"{direct.operations} operations, concurrency {direct.concurrency}",
                "; ".join(
                    part
                    for part in (
                        _throughput_ratio(per_min, floor=floor, reference=reference),
                        _latency_ratio(actions, floor=floor, reference=reference),
                    )
                    if part
                ),
            )
        )
    if lifecycle is not None:
        rows.append(lifecycle_row(lifecycle, floor=floor, reference=reference))
    if high.lifecycle is not None:
        rows.append(
            lifecycle_row(
                high.lifecycle,
                floor=high.floor,
                reference=high.reference,
                label=f"   Lifecycle via HTTP at C = {high.lifecycle.concurrency}",
            )
        )
    if lifecycle is not None:
        rows.append(
            acknowledgement_row(
                "3. Acknowledgement latency, every action",
                lifecycle.action_latencies,
                floor=floor,
                reference=reference,
            )
        )
        rows.append(
            acknowledgement_row(
                "   Acknowledgement latency, acknowledge-handover",
                lifecycle.latencies["acknowledge-handover"],
                floor=floor,
                reference=reference,
            )
        )
    if high.lifecycle is not None:
        rows.append(
            acknowledgement_row(
                f"   Acknowledgement latency at C = {high.lifecycle.concurrency}, every action",
                high.lifecycle.action_latencies,
                floor=high.floor,
                reference=high.reference,
            )
        )
    if listing is not None:
        samples = listing.all_latencies
        p95 = percentile(samples, 0.95)
        rows.append(
            Row(
                "4. Listing and filtering via HTTP",
                f"p50 {ms(percentile(samples, 0.5))}, p95 {ms(p95)}",
                f"{listing.operations_seeded} operations seeded in {listing.seed_seconds:.0f} s; "
                f"{len(samples)} requests, {len(listing.latencies)} kinds; "
                f"API floor GET /me p50 {ms(percentile(listing.me_latencies, 0.5))}, "
                f"p95 {ms(percentile(listing.me_latencies, 0.95))}",
                "",
                "p95 < 50 ms",
                _verdict(p95 < 0.050),
            )
        )
    if report is not None:
        if report.unavailable is not None:
            rows.append(
                Row(
                    "5. Debrief report (PDF)",
                    report.unavailable,
                    f"{report.events} events",
                    "",
                    "< 2 s",
                    "n/a",
                )
            )
        else:
            assert report.seconds is not None
            assert report.peak_bytes is not None
            rows.append(
                Row(
                    "5. Debrief report (PDF)",
                    f"{report.seconds:.2f} s ({report.first_seconds or 0:.2f} s first), "
                    f"peak {report.peak_bytes / MIB:.0f} MiB",
                    f"{report.events} events",
                    "",
                    "< 2 s",
                    _verdict(report.seconds < 2.0),
                )
            )
    if scale is not None:
        memory_ok = scale.rss_peak < GIB
        rows.append(
            Row(
                "6. Scale: start live operations",
                f"{scale.operations} in {scale.start_seconds:.0f} s "
                f"({scale.operations / scale.start_seconds:.1f}/s)",
                "workflows started already launched (by the rules, in the bench)",
            )
        )
        rows.append(
            Row(
                "   Scale: worker resident memory",
                f"peak {scale.rss_peak / MIB:.0f} MiB (all live: {scale.rss_live / MIB:.0f} MiB)",
                f"before: {scale.rss_before / MIB:.0f} MiB",
                "",
                "< 1 GiB",
                _verdict(memory_ok),
            )
        )
        late = scale.lateness
        rows.append(
            Row(
                "   Scale: deadlines on time",
                f"{scale.on_time}/{scale.operations} within {ON_TIME.total_seconds():.0f} s"
                + (
                    f"; late by p50 {percentile(late, 0.5):.2f} s, max {max(late):.2f} s"
                    if late
                    else ""
                ),
                f"checkpoint silence "
                f"{deadline_window(scale.deadline_after, scale.deadline_spread)} after launch; "
                f"{scale.fired} fired",
                "",
                "every one within 5 s",
                _verdict(scale.all_on_time),
            )
        )
    if access_log is not None:
        rows += access_log_rows(access_log)
    if reads is not None:
        rows += reads_rows(reads)
    if workers is not None:
        rows.append(
            Row(
                "8. Workers: lifecycle throughput",
                f"1 worker {workers.per_minute(workers.one):.1f} operations/min, "
                f"2 workers {workers.per_minute(workers.two):.1f} operations/min",
                f"{workers.one.operations} operations via HTTP at concurrency "
                f"{workers.one.concurrency}, each; worker processes on one task queue",
                f"{workers.ratio:.2f}x",
                ">= 1.8x where the server is not the bottleneck",
                _verdict(workers.ratio >= 1.8),
            )
        )
    if console is not None:
        rows += console_rows(console)
    if operation_reads is not None:
        rows += operation_reads_rows(operation_reads)
    return rows


def operation_reads_rows(run: OperationReadsRun) -> list[Row]:
    """Reading an operation, live and closed: each p95 under 20 ms."""
    custody = f", in {run.live_custodian}'s custody" if run.live_custodian else ""
    rows = []
    for label, samples, which in (
        ("10. Reading an operation under way", run.live, f"{run.live_phase}{custody}"),
        ("    Reading a closed operation", run.closed, "closed"),
    ):
        p95 = percentile(samples, 0.95)
        rows.append(
            Row(
                label,
                f"p50 {ms(percentile(samples, 0.5))}, p95 {ms(p95)}, "
                f"p99 {ms(percentile(samples, 0.99))}",
                f"GET /api/v1/operations/{{id}} as its coordinator, {len(samples)} requests one "
                f"after another after {WARM_UP_READS} unmeasured; {which}",
                "",
                "p95 < 20 ms",
                _verdict(p95 < 0.020),
            )
        )
    return rows


def console_rows(run: ConsoleRun) -> list[Row]:
    page, inbox = run.page_latencies, run.inbox_latencies
    live, sent = run.live_after_answer, run.live_after_send
    page_p95, inbox_p95, sent_p95 = (percentile(s, 0.95) for s in (page, inbox, sent))
    closed = run.closed_page_latencies
    closed_p95 = percentile(closed, 0.95)

    def state(samples: list[float]) -> str:
        return (
            f"the API's read of its live state (from the read model, no page) p50 "
            f"{ms(percentile(samples, 0.5))}, p95 {ms(percentile(samples, 0.95))}"
        )

    return [
        Row(
            "9. Console: operation page",
            f"p50 {ms(percentile(page, 0.5))}, p95 {ms(page_p95)}",
            f"GET /o/{{id}} signed in, an operation under way of {run.page_events} timeline "
            f"events (a page of 25 shown), {len(page)} requests one after another; "
            + state(run.state_latencies),
            "",
            "p95 < 100 ms",
            _verdict(page_p95 < 0.100),
        ),
        Row(
            "   Console: operation page, closed operation",
            f"p50 {ms(percentile(closed, 0.5))}, p95 {ms(closed_p95)}",
            "the same of a closed operation (its workflow no longer in the worker's cache); "
            + state(run.closed_state_latencies),
            "",
            "p95 < 100 ms",
            _verdict(closed_p95 < 0.100),
        ),
        Row(
            "   Console: officer's inbox",
            f"p50 {ms(percentile(inbox, 0.5))}, p95 {ms(inbox_p95)}",
            f"GET / of an agency in {run.inbox_operations} live operations "
            f"({run.inbox_entries} entries), {len(inbox)} requests; the API's CPU "
            f"{ms(run.inbox_api_cpu)} per request",
            "",
            "p95 < 50 ms",
            _verdict(inbox_p95 < 0.050),
        ),
        Row(
            "   Console: acknowledgement to the live page",
            f"p50 {ms(percentile(sent, 0.5))}, p95 {ms(sent_p95)}",
            f"from sending it to the API to the SSE `changed` event naming it; {len(sent)} "
            f"acknowledgements over {run.live_operations} operations; from the API's answer "
            f"p50 {ms(percentile(live, 0.5))}, p95 {ms(percentile(live, 0.95))}",
            "",
            "p95 < 1 s",
            _verdict(sent_p95 < 1.0),
        ),
    ]


def access_log_rows(run: AccessLogRun) -> list[Row]:
    samples = run.append_latencies
    rate = run.integrated / run.integrate_seconds if run.integrate_seconds else math.nan
    return [
        Row(
            "7. Access-log append cost per request (append + commit)",
            f"p50 {ms(percentile(samples, 0.5))}, p99 {ms(percentile(samples, 0.99))}",
            f"{len(samples)} appends one after another, each its own transaction; "
            f"{run.concurrent_appends / run.concurrent_seconds:.0f} appends/s with "
            f"{run.concurrency} threads",
        ),
        Row(
            "   Access log: sequencer integration",
            f"{rate:.0f} entries/s",
            f"{run.integrated} queued entries integrated and signed in batches of 5,000",
        ),
    ]


def reads_rows(run: ReadsRun) -> list[Row]:
    samples = run.all_latencies
    health = run.health_latencies
    who = ", ".join(f"{count} {kind}" for kind, count in sorted(run.clients_by_who.items()))
    not_ok = ", ".join(f"{count} {answer}" for answer, count in run.health_not_ok.items())
    rate = run.reads / run.seconds if run.seconds else math.nan
    clean = run.server_errors == 0 and run.unexpected == 0
    return [
        Row(
            f"8. Reads per second at C = {run.clients}",
            f"{rate:.0f} reads/s",
            f"{run.reads} reads in {run.seconds:.1f} s of one closed operation (live state, "
            f"timeline, deliveries, list in turn) by {run.clients} clients ({who})",
        ),
        Row(
            f"   Reads at C = {run.clients}: latency",
            f"p50 {ms(percentile(samples, 0.5))}, p95 {ms(percentile(samples, 0.95))}, "
            f"p99 {ms(percentile(samples, 0.99))}",
            "every read, from sending it to its answer",
        ),
        Row(
            f"   Reads at C = {run.clients}: answers other than 2xx/404",
            f"{run.odd_answers} ({run.server_errors} 5xx)",
            f"{run.unexpected} not the caller's due (due: 200 to a participant, 404 to an "
            "outsider on the operation's routes)",
            "",
            "no 5xx, none undue",
            _verdict(clean),
        ),
        Row(
            f"   Reads at C = {run.clients}: slowest /health",
            f"{ms(max(health)) if health else 'none'}",
            f"{len(health)} polls every {HEALTH_INTERVAL_SECONDS * 1000:.0f} ms meanwhile, p50 "
            f"{ms(percentile(health, 0.5))}; not ok: {not_ok or 'none'}",
        ),
    ]


def reads_detail(run: ReadsRun) -> str:
    lines = [
        f"| Read at C = {run.clients} | count | answers | p50 | p95 | p99 |",
        "|---|---|---|---|---|---|",
    ]
    for (route, who), samples in sorted(run.latencies.items(), key=lambda item: item[0][::-1]):
        answers = ", ".join(
            f"{count} x {status or 'no answer'}"
            for status, count in sorted(run.statuses[(route, who)].items())
        )
        lines.append(
            f"| {route} ({who}) | {len(samples)} | {answers} | {ms(percentile(samples, 0.5))} | "
            f"{ms(percentile(samples, 0.95))} | {ms(percentile(samples, 0.99))} |"
        )
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    header = Row("Measure", "Figure", "Setting / reference", "Ratio", "Target", "Verdict")
    lines = []
    for number, row in enumerate([header, *rows]):
        cells = [row.measure, row.figure, row.reference, row.ratio, row.target, row.verdict]
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append("|" + "---|" * len(cells))
    return "\n".join(lines)


def listing_detail(listing: ListingRun) -> str:
    lines = ["| Listing query (page of 50) | p50 | p95 |", "|---|---|---|"]
    for name, samples in listing.latencies.items():
        lines.append(
            f"| {name} | {ms(percentile(samples, 0.5))} | {ms(percentile(samples, 0.95))} |"
        )
    return "\n".join(lines)


def lifecycle_detail(lifecycle: LifecycleRun) -> str:
    lines = ["| HTTP request | count | p50 | p99 |", "|---|---|---|---|"]
    for name, samples in sorted(lifecycle.latencies.items()):
        lines.append(
            f"| {name} | {len(samples)} | {ms(percentile(samples, 0.5))} | "
            f"{ms(percentile(samples, 0.99))} |"
        )
    return "\n".join(lines)
