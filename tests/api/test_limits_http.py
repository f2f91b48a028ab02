"""Oversized and garbled requests are refused with the limit named, before Temporal is asked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from store.timeline import project_operation
from tests.api.conftest import TokenIssuer, bearer
from tests.factories import plan_at_limits, sample_plan
from workflows.commands import MAX_COMMAND_BYTES, Actor, ActorRole
from workflows.plan import MAX_PLAN_BYTES, MAX_TEXT_LENGTH
from workflows.rules import open_operation

OPERATIONS = "/api/v1/operations"


@pytest.fixture
def coordinator(token_for: TokenIssuer) -> dict[str, str]:
    token = token_for(agency="caricc", role=Role.COORDINATOR, name="Liaison officer")
    return bearer(token) | {"X-Justification": "Limits test"}


def plan(**consignment: Any) -> dict[str, Any]:
    body = sample_plan(now=datetime.now(UTC)).model_dump(mode="json")
    body["consignment"] |= consignment
    return body


def problem_fields(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {error["field"]: error["message"] for error in response.json()["errors"]}


def test_a_plan_with_25000_tracker_ids_is_refused_with_the_limit(
    api: TestClient, coordinator: dict[str, str]
) -> None:
    tracker_ids = [f"GPS-{number:05d}" for number in range(25_000)]
    response = api.post(OPERATIONS, json=plan(tracker_ids=tracker_ids), headers=coordinator)
    fields = problem_fields(response)
    assert "at most 200 items" in fields["body.consignment.tracker_ids"]


def test_a_plan_with_10000_substances_is_refused_with_the_limit(
    api: TestClient, coordinator: dict[str, str]
) -> None:
    substances = [{"name": f"substance {n}", "quantity": 1} for n in range(10_000)]
    response = api.post(OPERATIONS, json=plan(substances=substances), headers=coordinator)
    assert "at most 50 items" in problem_fields(response)["body.consignment.substances"]


def test_a_plan_too_large_as_a_whole_is_refused_with_its_size_and_the_limit(
    api: TestClient, coordinator: dict[str, str]
) -> None:
    body = plan_at_limits(now=datetime.now(UTC), character="\N{GRINNING FACE}")
    response = api.post(OPERATIONS, json=body, headers=coordinator)
    [message] = problem_fields(response).values()
    assert message.startswith("the plan is ")
    assert message.endswith(f"the limit is {MAX_PLAN_BYTES} bytes")


def test_a_nul_in_a_plan_is_refused_and_named(api: TestClient, coordinator: dict[str, str]) -> None:
    response = api.post(OPERATIONS, json=plan(packaging="bricks\x00"), headers=coordinator)
    fields = problem_fields(response)
    assert fields["body.consignment.packaging"] == "control character U+0000 is not allowed"


@pytest.fixture
def operation_id(session_maker: sessionmaker[Session]) -> str:
    """An operation the coordinator sees, in the read model only: Temporal is never reached."""
    now = datetime.now(UTC)
    state = open_operation(
        operation_id=str(uuid.uuid4()),
        plan=sample_plan(now=now),
        created_by=Actor(agency="caricc", officer="liaison", role=ActorRole.COORDINATOR),
        now=now,
    )
    with session_maker.begin() as session:
        project_operation(session, operation=state, events=state.timeline)
    return state.operation_id


def test_a_command_too_large_as_a_whole_is_refused_with_the_limit(
    api: TestClient, coordinator: dict[str, str], operation_id: str
) -> None:
    entries = ["x" * MAX_TEXT_LENGTH] * 40
    response = api.post(
        f"{OPERATIONS}/{operation_id}/submit-debrief",
        json={"problems": entries, "lessons": entries},
        headers=coordinator,
    )
    assert response.status_code == 422, response.text
    assert f"the limit is {MAX_COMMAND_BYTES} bytes" in response.json()["detail"]


def test_a_control_character_in_a_command_is_refused_and_named(
    api: TestClient, coordinator: dict[str, str], operation_id: str
) -> None:
    response = api.post(
        f"{OPERATIONS}/{operation_id}/abort-operation",
        json={"reason": "Courier arrested\x1b[2J"},
        headers=coordinator,
    )
    assert problem_fields(response) == {"body.reason": "control character U+001B is not allowed"}
