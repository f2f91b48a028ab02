"""An agency's inbox, read from the read model: what it must do now, soonest deadline first."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from store.inbox import Task, inbox
from store.timeline import project_operation
from tests.workflows.test_rules import (
    AF,
    KZ,
    LAUNCH,
    NOW,
    TJ,
    accept,
    confirm,
    granted,
    in_debrief,
    launched,
    offer,
    record,
    rid,
)
from tests.workflows.test_rules import planned as planned_state
from workflows.commands import SubmitDebriefInput
from workflows.state import OperationState


def project(sessions: sessionmaker[Session], state: OperationState, operation_id: str) -> None:
    state = state.model_copy(update={"operation_id": operation_id})
    with sessions.begin() as session:
        project_operation(session, operation=state, events=state.timeline)


def tasks(sessions: sessionmaker[Session], agency: str) -> list[tuple[str, Task]]:
    with sessions() as session:
        return [(entry.operation_id, entry.task) for entry in inbox(session, agency=agency)]


def test_planning_asks_each_agency_for_its_authorisation_and_its_confirmation(
    session_maker: sessionmaker[Session],
) -> None:
    project(session_maker, accept(planned_state(), confirm(TJ), NOW), "op-plan")
    assert tasks(session_maker, "kz-police") == [
        ("op-plan", Task.AUTHORISATION),
        ("op-plan", Task.PARTICIPATION),
    ]
    assert tasks(session_maker, "tj-dca") == [("op-plan", Task.AUTHORISATION)]
    assert tasks(session_maker, "nl-police") == []


def test_an_offer_is_in_the_receiving_agencys_inbox_with_its_deadline_after_sooner_tasks(
    session_maker: sessionmaker[Session],
) -> None:
    project(session_maker, planned_state(), "op-later")
    state = accept(launched(), offer(AF), LAUNCH)
    project(session_maker, state, "op-offered")
    with session_maker() as session:
        found = inbox(session, agency="tj-dca")
    # The planned operation is due to depart at LAUNCH, before the offer's deadline.
    assert [(e.operation_id, e.task, e.leg) for e in found] == [
        ("op-later", Task.AUTHORISATION, None),
        ("op-later", Task.PARTICIPATION, None),
        ("op-offered", Task.HANDOVER, 1),
    ]
    assert found[0].due_at == LAUNCH
    assert found[2].due_at == LAUNCH + timedelta(minutes=30)
    # The sender, now custodian, has its next checkpoint due; the destination nothing on it.
    assert ("op-offered", Task.CHECKPOINT) in tasks(session_maker, "af-cnpa")
    assert not [t for t in tasks(session_maker, KZ.agency) if t[0] == "op-offered"]


def test_a_recorded_authorisation_leaves_only_the_other_countries_asked_for_theirs(
    session_maker: sessionmaker[Session],
) -> None:
    state = accept(planned_state(), record(granted("TJ")), NOW)
    project(session_maker, state, "op-plan")
    assert tasks(session_maker, "tj-dca") == [("op-plan", Task.PARTICIPATION)]
    assert tasks(session_maker, "kz-police") == [
        ("op-plan", Task.AUTHORISATION),
        ("op-plan", Task.PARTICIPATION),
    ]


def test_a_submitted_debrief_input_leaves_only_the_other_agencies_asked_for_theirs(
    session_maker: sessionmaker[Session],
) -> None:
    state, concluded_at = in_debrief()
    state = accept(
        state, SubmitDebriefInput(actor=TJ, request_id=rid(), lessons=["ETA"]), concluded_at
    )
    project(session_maker, state, "op-debrief")
    assert tasks(session_maker, "tj-dca") == []
    with session_maker() as session:
        [entry] = inbox(session, agency=AF.agency)
    assert (entry.operation_id, entry.task) == ("op-debrief", Task.DEBRIEF)
    assert entry.due_at is not None
    assert entry.due_at > concluded_at
