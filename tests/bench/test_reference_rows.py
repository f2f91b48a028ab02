"""The rows of `make bench` that hold the lifecycle to its floor and its reference."""

from __future__ import annotations

from bench.floor import FloorRun
from bench.lifecycle import LifecycleRun
from bench.operation_reads import OperationReadsRun
from bench.reference import OperationSizes, ReferenceRun, UpdateSizes
from bench.results import HighConcurrency, Row, markdown_table, summary_rows

SIZES = OperationSizes(
    start=2_048,
    updates=[UpdateSizes(argument=512, answer=512, projection_input=4_096, projection_result=141)]
    * 22,
)


def _floor(*, per_minute: float, p50: float, p99: float, concurrency: int = 4) -> FloorRun:
    """40 workflows at `per_minute`, 880 Updates: all but 9 take `p50`, those `p99`."""
    run = FloorRun(workflows=40, updates_per_workflow=22, concurrency=concurrency)
    run.seconds = 40 / per_minute * 60
    run.update_latencies = [p50] * 871 + [p99] * 9
    return run


def _reference(*, per_minute: float, p50: float, p99: float, concurrency: int = 4) -> ReferenceRun:
    run = ReferenceRun(workflows=40, updates_per_workflow=22, concurrency=concurrency, sizes=SIZES)
    run.seconds = 40 / per_minute * 60
    run.update_latencies = [p50] * 871 + [p99] * 9
    return run


def _lifecycle(*, per_minute: float, p50: float, p99: float, concurrency: int = 4) -> LifecycleRun:
    """40 operations at `per_minute`, 21 actions each: all but 9 take `p50`, those `p99`."""
    run = LifecycleRun(operations=40, concurrency=concurrency)
    run.seconds = 40 / per_minute * 60
    kinds = ["acknowledge-handover"] * 2 + ["record-authorisation"] * 19
    for number in range(40 * 21):
        run.record(kinds[number % 21], p99 if number % 90 == 89 else p50)
    return run


def _rows(**runs: object) -> dict[str, Row]:
    defaults: dict[str, object] = {
        "floor": None,
        "direct": None,
        "lifecycle": None,
        "listing": None,
        "report": None,
        "scale": None,
    }
    rows = summary_rows(**{**defaults, **runs})  # type: ignore[arg-type]
    return {row.measure.strip(): row for row in rows}


def test_the_lifecycle_is_given_as_a_share_of_the_floor_and_of_the_reference() -> None:
    rows = _rows(
        floor=_floor(per_minute=200, p50=0.050, p99=0.100),
        reference=_reference(per_minute=100, p50=0.080, p99=0.150),
        lifecycle=_lifecycle(per_minute=50, p50=0.090, p99=0.140),
    )

    reference = rows["1a. Reference: the floor plus the promises' unavoidable work"]
    assert reference.figure.startswith("100 workflows/min")
    assert reference.ratio == "0.50x floor"
    assert "payloads of an operation's sizes, encrypted (start 2.0 KiB" in reference.reference
    assert "projection 4.0 KiB" in reference.reference
    assert "one row written and committed before each answer" in reference.reference
    assert rows["Reference: Update round trip"].ratio == "p50 1.60x, p99 1.50x floor"

    lifecycle = rows["2. Lifecycle via HTTP"]
    assert lifecycle.ratio == "0.25x floor, 0.50x reference"
    assert (lifecycle.target, lifecycle.verdict) == (">= 0.6x floor", "MISSED")
    assert "| 2. Lifecycle via HTTP | 50.0 operations/min" in markdown_table(list(rows.values()))


def test_acknowledgement_is_met_only_with_p50_within_2x_and_p99_within_1_5x() -> None:
    floor = _floor(per_minute=200, p50=0.050, p99=0.100)
    within = _rows(floor=floor, lifecycle=_lifecycle(per_minute=150, p50=0.095, p99=0.145))
    slow_median = _rows(floor=floor, lifecycle=_lifecycle(per_minute=150, p50=0.110, p99=0.145))
    slow_tail = _rows(floor=floor, lifecycle=_lifecycle(per_minute=150, p50=0.095, p99=0.160))

    every = "3. Acknowledgement latency, every action"
    assert within[every].target == "p50 <= 2x, p99 <= 1.5x raw Update"
    assert within[every].ratio == "p50 1.90x, p99 1.45x floor"
    assert within[every].verdict == "met"
    assert slow_median[every].verdict == "MISSED"
    assert slow_tail[every].verdict == "MISSED"
    assert within["2. Lifecycle via HTTP"].verdict == "met"  # 0.75x the floor


def test_the_second_concurrency_is_held_to_the_floor_at_the_same_concurrency() -> None:
    rows = _rows(
        floor=_floor(per_minute=200, p50=0.050, p99=0.100),
        lifecycle=_lifecycle(per_minute=150, p50=0.090, p99=0.140),
        high=HighConcurrency(
            floor=_floor(per_minute=400, p50=0.080, p99=0.200, concurrency=16),
            reference=_reference(per_minute=200, p50=0.150, p99=0.300, concurrency=16),
            lifecycle=_lifecycle(per_minute=200, p50=0.300, p99=0.500, concurrency=16),
        ),
    )

    assert rows["2. Lifecycle via HTTP"].verdict == "met"  # 0.75x the floor at C = 4
    high = rows["Lifecycle via HTTP at C = 16"]
    assert high.ratio == "0.50x floor, 1.00x reference"
    assert "concurrency 16" in high.reference
    assert high.verdict == "MISSED"
    assert rows["Floor at C = 16"].figure == "400 workflows/min; Update p50 80.0 ms, p99 200.0 ms"
    assert rows["Reference at C = 16"].ratio == "0.50x floor"
    acknowledged = rows["Acknowledgement latency at C = 16, every action"]
    assert acknowledged.ratio == "p50 3.75x, p99 2.50x floor; p50 2.00x, p99 1.67x reference"
    assert acknowledged.verdict == "MISSED"


def test_reading_an_operation_is_judged_live_and_closed_apart() -> None:
    run = OperationReadsRun(
        live=[0.004] * 95 + [0.015] * 5,
        closed=[0.006] * 90 + [0.030] * 10,
        live_phase="execution",
        live_custodian="tj-dca",
    )
    rows = _rows(operation_reads=run)

    live = rows["10. Reading an operation under way"]
    assert live.figure == "p50 4.0 ms, p95 4.0 ms, p99 15.0 ms"
    assert "100 requests one after another after 5 unmeasured; execution, in tj-dca's custody" in (
        live.reference
    )
    assert (live.target, live.verdict) == ("p95 < 20 ms", "met")
    closed = rows["Reading a closed operation"]
    assert closed.figure == "p50 6.0 ms, p95 30.0 ms, p99 30.0 ms"
    assert closed.verdict == "MISSED"
