"""Every invalid plan answers 422 naming its field: model validators and the route's own checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from store.timeline import project_operation
from tests.api.conftest import TokenIssuer, bearer
from tests.factories import sample_plan
from workflows.commands import Actor, ActorRole
from workflows.rules import open_operation

Change = Callable[[dict[str, Any]], None]


@pytest.fixture
def coordinator(token_for: TokenIssuer) -> dict[str, str]:
    for agency, country in (("af-cnpa", "AF"), ("tj-dca", "TJ"), ("kz-police", "KZ")):
        token_for(agency=agency, role=Role.OFFICER, name=f"{agency} officer", country=country)
    return bearer(token_for(agency="caricc", role=Role.COORDINATOR, name="Liaison officer"))


def _plan(change: Change) -> dict[str, Any]:
    plan = sample_plan(now=datetime.now(UTC)).model_dump(mode="json")
    change(plan)
    return plan


def _lead_elsewhere(plan: dict[str, Any]) -> None:
    plan["lead_agency"] = "nl-police"


def _broken_chain(plan: dict[str, Any]) -> None:
    plan["legs"][1]["from_country"] = "UZ"


def _wrong_side(plan: dict[str, Any]) -> None:
    plan["legs"][0]["receiving_agency"] = "kz-police"


def _twice(plan: dict[str, Any]) -> None:
    plan["participants"].append(dict(plan["participants"][0]))


def _h3_unexplained(plan: dict[str, Any]) -> None:
    plan["handling"] = {"code": "H3"}


def _other_coordinator(plan: dict[str, Any]) -> None:
    plan["coordinator_agency"] = "other-centre"


def _unregistered(plan: dict[str, Any]) -> None:
    plan["participants"][1]["agency"] = "tj-unknown"
    plan["legs"][0]["receiving_agency"] = "tj-unknown"
    plan["legs"][1]["sending_agency"] = "tj-unknown"


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        (_lead_elsewhere, "body.lead_agency", "lead agency nl-police is not a participant"),
        (_broken_chain, "body.legs[1].from_country", "do not chain"),
        (_wrong_side, "body.legs[0].receiving_agency", "belongs to KZ, not TJ"),
        (_twice, "body.participants[3].agency", "listed twice"),
        (_h3_unexplained, "body.handling.restrictions", "H3 needs the restriction"),
        (_other_coordinator, "body.coordinator_agency", "must be your own agency (caricc)"),
        (_unregistered, "body.participants[1].agency", "tj-unknown is not registered"),
    ],
)
def test_a_plan_error_names_its_field(
    api: TestClient, coordinator: dict[str, str], change: Change, field: str, says: str
) -> None:
    response = api.post("/api/v1/operations", json=_plan(change), headers=coordinator)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    errors = problem["errors"]
    assert errors is not None
    assert field in [e["field"] for e in errors], errors
    message = next(e["message"] for e in errors if e["field"] == field)
    assert says in message
    assert field in problem["detail"]
    reason = {"X-Justification": "Checking that nothing was created"}
    listed = api.get("/api/v1/operations", headers={**coordinator, **reason})
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == 0, "nothing was created"


def test_an_authorisation_without_its_decision_says_which_field_is_missing(
    api: TestClient, token_for: TokenIssuer, session_maker: sessionmaker[Session]
) -> None:
    officer = bearer(token_for(agency="tj-dca", role=Role.OFFICER, name="Officer", country="TJ"))
    creator = Actor(agency="caricc", officer="lo-almaty", role=ActorRole.COORDINATOR)
    now = datetime.now(UTC)
    state = open_operation(
        operation_id="op-1", plan=sample_plan(now=now), created_by=creator, now=now
    )
    with session_maker.begin() as session:
        project_operation(session, operation=state, events=state.timeline)
    response = api.post(
        "/api/v1/operations/op-1/record-authorisation",
        json={"authorisation": {"country": "TJ", "authority": "Prosecutor's Office"}},
        headers=officer,
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error == {
        "field": "body.authorisation",
        "message": "decision is missing: it says which kind of value this is",
    }
