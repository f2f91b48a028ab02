"""Outcome assessment versions in the read model: idempotent writes, every version kept."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.debrief import DebriefActivities
from store.assessments import assessment, assessment_versions
from store.timeline import project_operation
from tests.activities.known_operation import DEADLINE, RECOMMENDED, known_operation
from workflows.messages import AssessOperationInput

KNOWN = known_operation()


def test_a_retry_writes_no_second_version_and_every_version_is_kept(
    session_maker: sessionmaker[Session],
) -> None:
    first_state, later_state = KNOWN.at_deadline, KNOWN.after_late_input
    with session_maker.begin() as session:
        project_operation(session, operation=later_state, events=later_state.timeline)
    activities = DebriefActivities(session_maker)
    run = ActivityEnvironment().run
    first = AssessOperationInput(
        operation=first_state,
        version=1,
        at_seq=first_state.timeline[-1].seq,
        reason="after debrief.deadline_passed",
        requested_at=DEADLINE,
    )
    assert run(activities.assess_operation, first).model_dump() == {"version": 1, "written": True}
    assert run(activities.assess_operation, first).model_dump() == {"version": 1, "written": False}
    second = AssessOperationInput(
        operation=later_state,
        version=2,
        at_seq=later_state.timeline[-1].seq,
        reason="after debrief.recommendation_added",
        requested_at=RECOMMENDED,
    )
    assert run(activities.assess_operation, second).version == 2
    clash = second.model_copy(update={"at_seq": second.at_seq + 1})
    with pytest.raises(ApplicationError, match="version 2 of op-known was computed at event"):
        run(activities.assess_operation, clash)

    with session_maker() as session:
        assert [v[0] for v in assessment_versions(session, operation_id="op-known")] == [1, 2]
        latest = assessment(session, operation_id="op-known")
        assert latest is not None
        assert latest.version == 2
        assert latest.body["missing_inputs"] == []
        kept = assessment(session, operation_id="op-known", version=1)
        assert kept is not None
        assert kept.body["missing_inputs"] == ["tj-dca"]
        with pytest.raises(DBAPIError):
            session.execute(text("UPDATE outcome_assessments SET reason = 'edited'"))
        session.rollback()
        with pytest.raises(DBAPIError):
            session.execute(text("DELETE FROM outcome_assessments"))
