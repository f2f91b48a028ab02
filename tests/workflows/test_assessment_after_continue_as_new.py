"""An operation past continue-as-new is assessed as if nothing had been compacted.

Continue-as-new drops old checkpoint reports from the carried timeline; the facts the outcome
assessment needs of them (a checkpoint off the route, say) must survive in the state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from store.assessments import assessment
from store.timeline import timeline as read_model_timeline
from tests.factories import sample_plan
from tests.workflows.operations import COORDINATOR, OperationDriver, officer, request_id
from tests.workflows.test_operation_workflow import Harness, env, sqlite_session_maker
from workflows.assessment import OutcomeAssessment, assess
from workflows.commands import CheckpointStatus, CloseDebriefInput, ReportCheckpointInput
from workflows.starter import operation_handle

__all__ = ["env", "sqlite_session_maker"]


async def test_the_assessment_after_continue_as_new_equals_the_uncompacted_one(
    env: Harness, sqlite_session_maker: sessionmaker[Session]
) -> None:
    now = await env.get_current_time()
    operation = await OperationDriver.start(
        env.client,
        plan=sample_plan(now=now),
        task_queue=env.task_queue,
        now=now,
        history_event_limit=300,
        checkpoints_carried=20,
    )
    handle = operation_handle(env.client, operation.operation_id)
    first_run = (await handle.describe()).run_id
    await operation.launch(now=now)
    af = operation.agency_of("AF")
    # Two route deviations first, so that compaction is sure to drop their reports.
    for place, country, status in (
        ("Kunduz bypass", "AF", CheckpointStatus.DEVIATED),
        ("Termez", "UZ", CheckpointStatus.ON_SCHEDULE),
    ):
        await operation.do(
            ReportCheckpointInput(
                actor=officer(af),
                request_id=request_id(),
                place=place,
                country=country,
                status=status,
                observed_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
    for number in range(120):
        await operation.checkpoint(af, f"checkpoint {number}", "AF")
    await operation.run_to_debriefed()
    await operation.do(CloseDebriefInput(actor=COORDINATOR, request_id=request_id()))
    await handle.result()
    assert (await handle.describe()).run_id != first_run, "the operation continued as new"
    state = await operation.state()
    assert state.compacted_checkpoints > 0
    carried = [e for e in state.timeline if e.kind == "checkpoint.reported"]
    assert all(e.detail["place"] not in ("Kunduz bypass", "Termez") for e in carried)

    with sqlite_session_maker() as session:
        written = assessment(session, operation_id=operation.operation_id)
        whole = read_model_timeline(session, operation_id=operation.operation_id)
    assert written is not None
    kept = OutcomeAssessment.model_validate(written.body)
    # The same operation, its timeline whole and no fact kept aside: what it was before.
    uncompacted = state.model_copy(
        update={"timeline": [e for e in whole if e.seq <= kept.at_seq], "facts": None}
    )
    expected = assess(
        uncompacted,
        version=kept.version,
        at_seq=kept.at_seq,
        reason=kept.reason,
        now=kept.computed_at,
    )
    assert kept == expected
    assert [d.text for d in kept.deviations if d.kind == "route"] == [
        "Checkpoint Kunduz bypass (AF) reported a deviation from the route",
        "Checkpoint in UZ, which is not on the planned route",
    ]
