"""Each figure of the outcome assessment against its definition, over random operations.

The runs are the lifecycle property test's: random commands, actors, times and timers, first
along the plan for a while so later phases are reached too. Whatever happened, the figures must
agree with each other and with what the timeline records.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.workflows.test_rules_properties import (
    COORDINATOR,
    PLAN,
    START,
    STEPS,
    Advance,
    Draft,
    FireTimer,
    Run,
)
from workflows import details
from workflows.assessment import TIME_TOLERANCE, OutcomeAssessment, assess
from workflows.commands import CheckpointStatus
from workflows.rules import compact_checkpoints, open_operation
from workflows.state import OperationState, Phase

RUNS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def run_of(head_start: int, steps: list[Draft | Advance | FireTimer]) -> Run:
    run = Run(
        state=open_operation(operation_id="op-a", plan=PLAN, created_by=COORDINATOR, now=START)
    )
    for step in [Advance(minutes=10)] * head_start + steps:
        if isinstance(step, FireTimer):
            run.fire_earliest_deadline()
        elif isinstance(step, Advance):
            run.now += timedelta(minutes=step.minutes)
            run.advance()
        else:
            run.now += timedelta(minutes=step.minutes)
            run.submit(run.command(step))
    return run


def assessed(
    state: OperationState, now: datetime, *, at_seq: int | None = None
) -> OutcomeAssessment:
    at = state.timeline[-1].seq if at_seq is None else at_seq
    return assess(state, version=1, at_seq=at, reason="test", now=now)


def execution_window(state: OperationState, now: datetime) -> tuple[datetime, datetime] | None:
    """From the launch to the interdiction, else to the end, else to now."""
    if state.launched_at is None:
        return None
    if state.interdiction is not None:
        return state.launched_at, state.interdiction.ordered_at
    return state.launched_at, state.ended_at or now


@RUNS
@given(head_start=st.integers(0, 14), steps=st.lists(STEPS, min_size=10, max_size=60))
def test_the_figures_of_any_operation_agree_with_each_other(
    head_start: int, steps: list[Draft | Advance | FireTimer]
) -> None:
    run = run_of(head_start, steps)
    state, now = run.state, run.now
    figures = assessed(state, now)
    watched = figures.surveillance

    # Execution is the span from the launch to the interdiction (or the end, or now).
    window = execution_window(state, now)
    executed = (window[1] - window[0]).total_seconds() if window else 0.0
    assert watched.execution_seconds == executed
    execution = [p for p in figures.phases if p.phase is Phase.EXECUTION]
    assert sum(p.duration_seconds for p in execution) == executed

    # Each gap lies inside the execution; the gaps add up; surveillance + gaps = execution.
    for gap in watched.gaps:
        assert window is not None
        assert window[0] <= gap.lost_at <= window[1]
        assert 0 <= gap.duration_seconds <= (window[1] - gap.lost_at).total_seconds()
    assert math.isclose(watched.gap_seconds, sum(g.duration_seconds for g in watched.gaps))
    assert math.isclose(
        watched.under_surveillance_seconds + watched.gap_seconds, executed, abs_tol=1e-6
    )
    assert watched.under_surveillance_seconds >= 0
    # Coverage is the share of the execution under surveillance.
    if executed > 0:
        expected = round(100 * watched.under_surveillance_seconds / executed, 2)
        assert watched.coverage_percent == expected
        assert 0 <= watched.coverage_percent <= 100
    else:
        assert watched.coverage_percent == 0.0
    assert figures.under_control == (
        state.launched_at is not None
        and not watched.gaps
        and state.compromised_at is None
        and state.phase is not Phase.FAILED
    )
    if figures.under_control:
        assert watched.coverage_percent == (100.0 if executed > 0 else 0.0)

    # A leg handed over earlier or later than planned beyond the tolerance is a deviation, and
    # only such a leg is one.
    tolerance = TIME_TOLERANCE.total_seconds()
    off_time = {
        leg.number
        for leg in figures.legs
        if leg.arrival_delay_seconds is not None and abs(leg.arrival_delay_seconds) > tolerance
    }
    reported = {
        int(d.params["leg"]) for d in figures.deviations if d.code in ("leg_late", "leg_early")
    }
    assert reported == off_time
    for deviation in figures.deviations:
        if deviation.code in ("leg_late", "leg_early"):
            leg = figures.legs[int(deviation.params["leg"]) - 1]
            assert leg.arrival_delay_seconds is not None
            assert (deviation.code == "leg_late") == (leg.arrival_delay_seconds > 0)
    launch_codes = {d.code for d in figures.deviations} & {"late_launch", "early_launch"}
    if state.launched_at is None:
        assert not launch_codes
    else:
        late = (state.launched_at - PLAN.legs[0].planned_departure).total_seconds()
        assert bool(launch_codes) == (abs(late) > tolerance)

    # Route deviations: one per checkpoint reported deviated, one per checkpoint off the route.
    checkpoints = [
        e.detail for e in state.timeline if isinstance(e.detail, details.CheckpointReported)
    ]
    deviated = [c for c in checkpoints if c.status is CheckpointStatus.DEVIATED]
    off_route = [c for c in checkpoints if c.country not in PLAN.route_countries]
    codes = [d.code for d in figures.deviations]
    assert codes.count("checkpoint_deviated") == len(deviated)
    assert codes.count("off_route_country") == len(off_route)
    assert watched.checkpoints == len(checkpoints)
    silences = [e for e in state.timeline if e.kind == "checkpoint.overdue"]
    assert watched.silence_alerts == len(silences)

    # Each leg is reported with its mode; this plan names only the consignment's.
    assert {leg.mode for leg in figures.legs} == {PLAN.consignment.mode}
    event(f"ended in {state.phase.value}")
    event("with surveillance gaps" if watched.gaps else "without surveillance gaps")
    event("with time deviations" if off_time else "without time deviations")


@RUNS
@given(
    head_start=st.integers(0, 14),
    steps=st.lists(STEPS, min_size=10, max_size=60),
    keep=st.integers(0, 3),
)
def test_compacting_checkpoints_changes_no_figure(
    head_start: int, steps: list[Draft | Advance | FireTimer], keep: int
) -> None:
    run = run_of(head_start, steps)
    compacted = compact_checkpoints(run.state, keep=keep)
    # The same moment of the operation, though compaction may have dropped its last event.
    at_seq = run.state.timeline[-1].seq
    assert assessed(compacted, run.now, at_seq=at_seq) == assessed(run.state, run.now)
