"""The debrief on the time-skipping server: the deadline writes assessment version 1, late input
version 2, the close the last one; every version stays in the read model."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from store.assessments import assessment, assessment_versions
from tests.workflows.operations import COORDINATOR, OperationDriver, officer, request_id
from tests.workflows.test_operation_workflow import (
    Harness,
    env,
    launched,
    sqlite_session_maker,
)
from workflows.commands import (
    AddRecommendationInput,
    CloseDebriefInput,
    ReportedSeizure,
    SubmitDebriefInput,
)
from workflows.events import EventKind
from workflows.starter import operation_handle
from workflows.state import OperationState

__all__ = ["env", "sqlite_session_maker"]


async def in_debrief(env: Harness) -> OperationDriver:
    operation = await launched(env)
    af, tj = (operation.agency_of(c) for c in ("AF", "TJ"))
    await operation.offer(1)
    await operation.acknowledge(1)
    await operation.offer(2)
    await operation.acknowledge(2)
    await operation.interdict_at_destination()
    await operation.seize_at_destination()
    await operation.conclude()
    assert (af, tj) == ("af-cnpa", "tj-dca")
    return operation


async def assessed(operation: OperationDriver, versions: int) -> OperationState:
    """The state once `versions` assessments are on the timeline (they follow the change)."""
    for _ in range(200):
        state = await operation.state()
        if state.debrief is not None and len(state.debrief.assessments) >= versions:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"no assessment version {versions}")


async def test_deadline_then_late_input_then_close_write_versions_and_keep_them(
    env: Harness, sqlite_session_maker: sessionmaker[Session]
) -> None:
    operation = await in_debrief(env)
    await operation.do(
        SubmitDebriefInput(
            actor=officer("kz-police"),
            request_id=request_id(),
            seizures=[
                ReportedSeizure(substance="heroin", quantity=12.1, place="Almaty", country="KZ")
            ],
        )
    )
    state = await operation.state()
    assert state.debrief is not None
    assert state.debrief.assessments == [], "nothing is assessed before the deadline"

    await env.sleep(timedelta(days=15))  # past the 14-day debrief deadline
    state = await assessed(operation, 1)
    kinds = [e.kind for e in state.timeline]
    assert kinds.index(EventKind.DEBRIEF_DEADLINE_PASSED) < kinds.index(EventKind.DEBRIEF_ASSESSED)
    with sqlite_session_maker() as session:
        first = assessment(session, operation_id=operation.operation_id)
        assert first is not None
        assert first.version == 1
        assert first.body["missing_inputs"] == ["af-cnpa", "tj-dca"]
        assert first.body["seizure_totals"][0]["quantity"] == 12.1

    await operation.do(
        SubmitDebriefInput(
            actor=officer("tj-dca"), request_id=request_id(), problems=["No interpreter"]
        )
    )
    state = await assessed(operation, 2)
    now = await env.get_current_time()
    await operation.do(
        AddRecommendationInput(
            actor=COORDINATOR,
            request_id=request_id(),
            text="Interpreter on call at the crossing",
            owner="tj-dca",
            due=now + timedelta(days=90),
        )
    )
    await assessed(operation, 3)
    await operation.do(CloseDebriefInput(actor=COORDINATOR, request_id=request_id()))
    result = await operation_handle(env.client, operation.operation_id).result()
    assert result.phase == "closed"
    state = await operation.state()
    assert state.debrief is not None
    assert [a.version for a in state.debrief.assessments] == [1, 2, 3, 4]
    assert state.timeline[-1].kind == "debrief.assessed"

    with sqlite_session_maker() as session:
        versions = assessment_versions(session, operation_id=operation.operation_id)
        assert [v[0] for v in versions] == [1, 2, 3, 4]
        seqs = [v[2] for v in versions]
        assert seqs == sorted(set(seqs)), "each version computed at a later point"
        kept = assessment(session, operation_id=operation.operation_id, version=1)
        assert kept is not None
        assert kept.body["missing_inputs"] == ["af-cnpa", "tj-dca"], "version 1 is kept as it was"
        last = assessment(session, operation_id=operation.operation_id)
        assert last is not None
        assert last.body["missing_inputs"] == ["af-cnpa"]
        assert last.body["phase"] == "closed"
        assert [r["owner"] for r in last.body["recommendations"]] == ["tj-dca"]
