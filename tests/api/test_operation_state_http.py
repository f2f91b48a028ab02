"""`GET /operations/{id}` answers from the read model: no worker, no Temporal, the same answer.

The operations here exist only in the read model, written by the projection as a worker writes
them; the app's Temporal client fails any call it gets. Only a row written before the read model
kept the state needs the operation's workflow, and with no worker it answers 503.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from bench.report import long_operation
from store.access_log import AccessEntry
from store.models import OperationRow
from store.timeline import project_operation
from tests.api.conftest import TokenIssuer, bearer
from tests.factories import sample_plan
from workflows.commands import Actor, ActorRole
from workflows.rules import open_operation
from workflows.state import OperationState

JUSTIFICATION = "Reading the operation I coordinate"


@pytest.fixture
def coordinator(token_for: TokenIssuer) -> dict[str, str]:
    token = token_for(agency="caricc", role=Role.COORDINATOR, name="Liaison officer")
    return bearer(token) | {"X-Justification": JUSTIFICATION}


def _projected(sessions: sessionmaker[Session], state: OperationState) -> str:
    with sessions.begin() as session:
        project_operation(session, operation=state, events=state.timeline)
    return state.operation_id


def _reads_logged(sessions: sessionmaker[Session]) -> list[tuple[str | None, str, str | None]]:
    with sessions() as session:
        entries = session.scalars(
            select(AccessEntry)
            .where(AccessEntry.action == "operation.read")
            .order_by(AccessEntry.id)
        )
        return [(e.operation_id, e.outcome, e.justification) for e in entries]


def test_closed_under_way_and_planned_operations_are_read_with_no_temporal_at_all(
    api: TestClient, session_maker: sessionmaker[Session], coordinator: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    closed = long_operation(events=40, operation_id="op-closed")
    under_way = long_operation(events=40, operation_id="op-under-way", live=True)
    planned = open_operation(
        operation_id="op-planned",
        plan=sample_plan(now=now),
        created_by=Actor(agency="caricc", officer="liaison", role=ActorRole.COORDINATOR),
        now=now,
    )
    for state in (closed, under_way, planned):
        _projected(session_maker, state)

    answers = {
        state.operation_id: api.get(f"/api/v1/operations/{state.operation_id}", headers=coordinator)
        for state in (closed, under_way, planned)
    }
    for state in (closed, under_way, planned):
        answer = answers[state.operation_id]
        assert answer.status_code == 200, answer.text
        # Everything the workflow holds but its timeline and its request ids.
        read = OperationState.model_validate(answer.json()["state"])
        assert read == state.model_copy(update={"timeline": [], "applied": {}})
    closed_state = answers["op-closed"].json()["state"]
    assert closed_state["phase"] == "closed"
    assert [s["quantity"] for s in closed_state["seizures"]] == [12.5]
    assert answers["op-under-way"].json()["state"]["custodian"] == "kz-police"
    assert answers["op-under-way"].json()["launch_blockers"] == []
    assert "no authorisation recorded for AF" in answers["op-planned"].json()["launch_blockers"]
    # Each read is logged as before, naming the operation and the justification.
    assert _reads_logged(session_maker) == [
        (operation_id, "allowed", JUSTIFICATION)
        for operation_id in ("op-closed", "op-under-way", "op-planned")
    ]


def test_a_row_projected_before_it_kept_the_state_is_asked_of_its_workflow(
    api: TestClient, session_maker: sessionmaker[Session], coordinator: dict[str, str]
) -> None:
    operation_id = _projected(session_maker, long_operation(events=40, operation_id="op-old"))
    with session_maker.begin() as session:
        # As migration 0012 leaves a row it finds.
        session.execute(
            update(OperationRow).where(OperationRow.id == operation_id).values(snapshot=None)
        )
    answer = api.get(f"/api/v1/operations/{operation_id}", headers=coordinator)
    # The workflow is asked; no worker polls (this app cannot even reach Temporal).
    assert answer.status_code == 503, answer.text
    assert "No worker is running operations now" in answer.json()["detail"]
    assert int(answer.headers["Retry-After"]) > 0
    assert _reads_logged(session_maker) == []
