"""The operation workflow on the time-skipping test server: every lifecycle path, end to end."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from store.session import create_engine_for, session_factory
from store.timeline import timeline as read_model_timeline
from tests.factories import sample_plan
from tests.workflows.conftest import make_worker, record_history
from tests.workflows.operations import COORDINATOR, OperationDriver, officer, request_id
from workflows.commands import (
    AbortOperationInput,
    InterdictionKind,
    LaunchOperationInput,
    RefuseHandoverInput,
    ReportCompromiseInput,
    ReportSurveillanceLostInput,
    ReportSurveillanceRegainedInput,
    ResumeOperationInput,
    SuspendOperationInput,
)
from workflows.events import EventKind
from workflows.plan import ContingencyAction, ContingencyRules
from workflows.starter import ActionRefusedError, operation_handle
from workflows.state import Phase


@pytest.fixture
def sqlite_session_maker(sqlite_url: str) -> sessionmaker[Session]:
    return session_factory(create_engine_for(sqlite_url))


@dataclass
class Harness:
    """The time-skipping server and a worker on a fresh task queue."""

    env: WorkflowEnvironment
    task_queue: str

    @property
    def client(self) -> Client:
        return self.env.client

    async def sleep(self, duration: timedelta) -> None:
        await self.env.sleep(duration)

    async def get_current_time(self) -> datetime:
        return await self.env.get_current_time()


@pytest.fixture
async def env(
    time_skipping_env: WorkflowEnvironment,
    sqlite_session_maker: sessionmaker[Session],
    activity_executor: ThreadPoolExecutor,
) -> AsyncIterator[Harness]:
    harness = Harness(time_skipping_env, f"operations-{uuid.uuid4().hex}")
    worker = make_worker(
        time_skipping_env, sqlite_session_maker, activity_executor, harness.task_queue
    )
    async with worker:
        yield harness


async def start(env: Harness, **plan_changes: object) -> OperationDriver:
    now = await env.get_current_time()
    plan = sample_plan(now=now)
    if plan_changes:
        plan = plan.model_copy(update=plan_changes)
    return await OperationDriver.start(
        env.client,
        plan=plan,
        task_queue=env.task_queue,
        now=now,
    )


async def launched(env: Harness, **plan_changes: object) -> OperationDriver:
    operation = await start(env, **plan_changes)
    await operation.launch(now=await env.get_current_time())
    return operation


async def test_full_operation_afghanistan_tajikistan_kazakhstan_runs_to_closed(
    env: Harness, sqlite_session_maker: sessionmaker[Session]
) -> None:
    operation = await launched(env)
    await operation.run_to_closed(pause=env.sleep)
    result = await operation_handle(env.client, operation.operation_id).result()
    await record_history(env.client, operation.operation_id, "full_operation_closed")
    assert result.phase == "closed"
    state = await operation.state()
    assert state.phase is Phase.CLOSED
    assert [h.outcome for h in state.handovers] == ["acknowledged", "acknowledged"]
    assert state.seizures[0].quantity == 12.5
    kinds = [e.kind for e in state.timeline]
    assert kinds[0] == "operation.created"
    assert kinds.count(EventKind.HANDOVER_ACKNOWLEDGED) == 2
    # The close asks for the closing outcome assessment, the last thing on the timeline.
    assert kinds[-2:] == ["debrief.closed", "debrief.assessed"]
    assert state.timeline[-1].detail == {"version": 1, "at_seq": state.timeline[-2].seq}
    assert [e.seq for e in state.timeline] == list(range(1, len(state.timeline) + 1))

    with sqlite_session_maker() as session:
        projected = read_model_timeline(session, operation_id=operation.operation_id)
    assert projected == state.timeline


async def test_missed_acknowledgement_escalates_step_by_step_and_late_ack_stops_the_chain(
    env: Harness,
) -> None:
    operation = await launched(env)
    await operation.offer(1)
    await env.sleep(timedelta(minutes=29))
    assert "handover.acknowledgement_overdue" not in await operation.kinds()

    await env.sleep(timedelta(minutes=2))  # past the 30-minute deadline: reminder
    kinds = await operation.kinds()
    assert kinds[-1] == "handover.acknowledgement_overdue"

    await env.sleep(timedelta(minutes=10))  # national contact point
    state = await operation.state()
    escalations = [e for e in state.timeline if e.kind == "handover.escalated"]
    assert [e.detail["escalation"] for e in escalations] == ["contact_point"]

    late = await operation.acknowledge(1)
    assert late.event.detail["late_seconds"] >= 11 * 60
    assert "after its deadline" in late.event.summary
    await env.sleep(timedelta(hours=2))
    state = await operation.state()
    handover_events = [e.kind for e in state.timeline if e.kind.startswith("handover.")]
    assert handover_events == [
        "handover.offered",
        "handover.acknowledgement_overdue",
        "handover.escalated",
        "handover.acknowledged",
    ]
    assert state.phase is Phase.EXECUTION
    assert state.handovers[0].escalation_steps == 2


async def test_unacknowledged_handover_runs_the_whole_chain_into_the_contingency(
    env: Harness,
) -> None:
    operation = await launched(env)
    await operation.offer(1)
    await env.sleep(timedelta(minutes=30 + 35 + 1))
    state = await operation.state()
    steps = [e.detail.get("escalation") for e in state.timeline if e.kind.startswith("handover.")]
    assert steps == [None, "reminder", "contact_point", "coordinator", "contingency"]
    assert state.phase is Phase.INTERDICTION
    assert state.interdiction is not None
    assert state.interdiction.kind is InterdictionKind.EARLY
    assert state.interdiction.place == operation.plan.legs[0].crossing_point


async def test_surveillance_lost_and_regained_in_time(env: Harness) -> None:
    operation = await launched(env)
    af = operation.agency_of("AF")
    await operation.do(
        ReportSurveillanceLostInput(
            actor=officer(af),
            request_id=request_id(),
            last_known_place="Kunduz bus station",
            circumstances="courier changed vehicles",
        )
    )
    await env.sleep(timedelta(minutes=90))
    regained = await operation.do(
        ReportSurveillanceRegainedInput(actor=officer(af), request_id=request_id(), place="Kunduz")
    )
    assert regained.event.detail["gap_seconds"] >= 90 * 60
    await env.sleep(timedelta(hours=1))
    state = await operation.state()
    assert state.phase is Phase.EXECUTION
    assert state.surveillance_lost is None
    assert len(state.surveillance_gaps) == 1
    assert "surveillance.window_expired" not in [e.kind for e in state.timeline]


async def test_surveillance_window_expires_and_contingency_orders_interdiction(
    env: Harness,
) -> None:
    operation = await launched(env)
    af = operation.agency_of("AF")
    await operation.do(
        ReportSurveillanceLostInput(
            actor=officer(af),
            request_id=request_id(),
            last_known_place="Kunduz bus station",
            circumstances="lost in traffic",
        )
    )
    await env.sleep(timedelta(hours=2, minutes=1))
    state = await operation.state()
    assert state.timeline[-1].kind == "surveillance.window_expired"
    assert state.phase is Phase.INTERDICTION
    assert state.interdiction is not None
    assert state.interdiction.place == "Kunduz bus station"


async def test_surveillance_window_expiry_aborts_when_the_rule_says_abort(
    env: Harness,
) -> None:
    rules = ContingencyRules(on_surveillance_window_expired=ContingencyAction.ABORT)
    operation = await launched(env, contingency=rules)
    await operation.do(
        ReportSurveillanceLostInput(
            actor=officer(operation.agency_of("AF")),
            request_id=request_id(),
            last_known_place="Kunduz",
            circumstances="lost",
        )
    )
    await env.sleep(timedelta(hours=3))
    result = await operation_handle(env.client, operation.operation_id).result()
    await record_history(env.client, operation.operation_id, "surveillance_window_expired_aborted")
    assert result.phase == "aborted"


async def test_receiving_state_refuses_the_handover(env: Harness) -> None:
    operation = await launched(env)
    af, tj = operation.agency_of("AF"), operation.agency_of("TJ")
    await operation.offer(1)
    refused = await operation.do(
        RefuseHandoverInput(
            actor=officer(tj), request_id=request_id(), leg=1, reasons="no surveillance team free"
        )
    )
    assert refused.custodian == af
    with pytest.raises(
        ActionRefusedError, match=f"the handover of leg 1 was already refused by {tj}"
    ):
        await operation.acknowledge(1)
    await env.sleep(timedelta(hours=3))
    state = await operation.state()
    assert state.handover_offer is None
    assert state.handovers[0].outcome == "refused"
    assert not [e for e in state.timeline if e.kind == "handover.escalated"]


async def test_compromise_triggers_immediate_interdiction(env: Harness) -> None:
    operation = await launched(env)
    await operation.offer(1)
    compromised = await operation.do(
        ReportCompromiseInput(
            actor=officer(operation.agency_of("TJ")),
            request_id=request_id(),
            circumstances="courier's phone shows a photo of the tracker",
        )
    )
    assert compromised.phase is Phase.INTERDICTION
    state = await operation.state()
    assert state.interdiction is not None
    assert state.interdiction.kind is InterdictionKind.EMERGENCY
    assert state.handovers[0].outcome == "withdrawn"


async def test_suspend_and_resume(env: Harness) -> None:
    operation = await launched(env)
    af = operation.agency_of("AF")
    await operation.do(
        SuspendOperationInput(actor=COORDINATOR, request_id=request_id(), reason="border closed")
    )
    with pytest.raises(ActionRefusedError, match="suspended"):
        await operation.offer(1)
    await env.sleep(timedelta(hours=5))
    kinds = await operation.kinds()
    assert "checkpoint.overdue" not in kinds, "no silence alert while suspended"
    await operation.do(ResumeOperationInput(actor=COORDINATOR, request_id=request_id()))
    await env.sleep(timedelta(minutes=61))
    kinds = await operation.kinds()
    assert kinds[-2:] == ["operation.resumed", "checkpoint.overdue"]
    await operation.checkpoint(af, "Mazar-i-Sharif", "AF")
    await operation.offer(1)


async def test_abort_ends_the_operation(env: Harness) -> None:
    operation = await start(env)
    with pytest.raises(ActionRefusedError, match="only the coordinator"):
        await operation.do(
            AbortOperationInput(
                actor=officer(operation.agency_of("AF")), request_id=request_id(), reason="x"
            )
        )
    await operation.do(
        AbortOperationInput(actor=COORDINATOR, request_id=request_id(), reason="courier arrested")
    )
    result = await operation_handle(env.client, operation.operation_id).result()
    await record_history(env.client, operation.operation_id, "aborted_in_planning")
    assert result.phase == "aborted"
    assert result.outcome == "aborted: courier arrested"


async def test_retried_acknowledgement_is_applied_once_and_answers_the_same(
    env: Harness,
) -> None:
    operation = await launched(env)
    await operation.offer(1)
    first = await operation.acknowledge(1, request="ack-tj-leg-1")
    again = await operation.acknowledge(1, request="ack-tj-leg-1")
    assert again == first
    kinds = await operation.kinds()
    assert kinds.count("handover.acknowledged") == 1


async def test_launch_is_refused_until_the_legal_gate_is_passed(env: Harness) -> None:
    operation = await start(env)
    with pytest.raises(ActionRefusedError, match="no authorisation recorded for AF"):
        await operation.do(LaunchOperationInput(actor=COORDINATOR, request_id=request_id()))
    assert (await operation.state()).phase is Phase.PLANNING
    assert await operation.kinds() == ["operation.created"]


async def test_thousands_of_checkpoints_continue_as_new_and_lose_nothing(
    env: Harness, sqlite_session_maker: sessionmaker[Session]
) -> None:
    now = await env.get_current_time()
    operation = await OperationDriver.start(
        env.client,
        plan=sample_plan(now=now),
        task_queue=env.task_queue,
        now=now,
        history_event_limit=300,
        checkpoints_carried=40,
    )
    handle = operation_handle(env.client, operation.operation_id)
    first_run = (await handle.describe()).run_id
    await operation.launch(now=now)
    af = operation.agency_of("AF")
    for number in range(150):
        await operation.checkpoint(af, f"checkpoint {number}", "AF")
    await operation.offer(1)
    await operation.acknowledge(1)
    assert (await handle.describe()).run_id != first_run, "the operation continued as new"
    state = await operation.state()
    assert state.checkpoint_count == 150
    assert state.custodian == operation.agency_of("TJ")
    assert state.compacted_checkpoints > 0, "older checkpoints left the carried state"
    with sqlite_session_maker() as session:
        projected = read_model_timeline(session, operation_id=operation.operation_id)
    assert [e.seq for e in projected] == list(range(1, state.next_seq)), "the read model has all"
    assert len(projected) == len(state.timeline) + state.compacted_checkpoints
    assert sum(e.kind == "checkpoint.reported" for e in projected) == 150
    kept = {e.seq: e for e in projected}
    assert all(kept[e.seq] == e for e in state.timeline)
