"""Every error is an RFC 9457 problem, and none carries a stack trace."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.principal import Role
from api.problems import ProblemError
from tests.api.conftest import AppFactory, TokenIssuer, bearer
from tests.factories import sample_plan

PROBLEM_JSON = "application/problem+json"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["type"]
    return problem


def test_unknown_route_and_unknown_agency(api: TestClient, admin_headers: dict[str, str]) -> None:
    _problem(api.get("/api/v1/nothing-here"), 404)
    problem = _problem(api.get("/api/v1/agencies/nowhere", headers=admin_headers), 404)
    assert problem["detail"] == "No agency 'nowhere' is registered."


def test_a_departure_in_the_past_names_its_field(api: TestClient, token_for: TokenIssuer) -> None:
    for agency, country in (("af-cnpa", "AF"), ("tj-dca", "TJ"), ("kz-police", "KZ")):
        token_for(agency=agency, role=Role.OFFICER, name=f"{agency} officer", country=country)
    coordinator = token_for(agency="caricc", role=Role.COORDINATOR, name="Liaison officer")
    plan = sample_plan(now=datetime.now(UTC) - timedelta(days=2, hours=1))
    sent = {**bearer(coordinator), "X-Justification": "planning operation NIGHTJAR"}
    response = api.post("/api/v1/operations", json=plan.model_dump(mode="json"), headers=sent)
    problem = _problem(response, 422)
    departure = plan.legs[0].planned_departure.isoformat()
    assert problem["errors"] == [
        {
            "field": "body.legs[0].planned_departure",
            "message": f"departure {departure} is in the past",
        }
    ]
    assert problem["detail"] == f"leg 1 departure {departure} is in the past"


def test_wrong_method(api: TestClient) -> None:
    _problem(api.put("/api/v1/agencies"), 405)


def test_validation_errors_name_each_field(api: TestClient, admin_headers: dict[str, str]) -> None:
    response = api.post("/api/v1/users", json={"role": "chief"}, headers=admin_headers)
    problem = _problem(response, 422)
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(fields) == {"body.name", "body.role", "body.agency_id"}
    assert fields["body.name"] == "Field required"
    assert "officer" in fields["body.role"]
    assert "body.role" in problem["detail"]


def test_query_parameter_errors_name_the_parameter(
    api: TestClient, admin_headers: dict[str, str]
) -> None:
    response = api.get("/api/v1/agencies", params={"country": "Atlantis"}, headers=admin_headers)
    assert [e["field"] for e in _problem(response, 422)["errors"]] == ["query.country"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/audit/entries", "after_id"),
        ("/api/v1/operations", "page_size"),
        ("/api/v1/operations", "page"),
    ],
)
def test_numbers_beyond_what_is_stored_are_a_422_not_an_overflow(
    api: TestClient, admin_headers: dict[str, str], path: str, parameter: str
) -> None:
    headers = {**admin_headers, "X-Justification": "Checking the bounds of a query"}
    response = api.get(path, params={parameter: str(2**70)}, headers=headers)
    problem = _problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == [f"query.{parameter}"]
    assert "less than or equal" in problem["errors"][0]["message"]


@pytest.mark.parametrize("body", ['{"id": "kz-customs", ', "not json at all", '{"a": 1}}'])
def test_malformed_json_is_a_clear_422(
    api: TestClient, admin_headers: dict[str, str], body: str
) -> None:
    response = api.post(
        "/api/v1/agencies",
        content=body,
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    problem = _problem(response, 422)
    assert "not valid JSON" in problem["detail"]
    assert problem["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", "name=Drug Control Agency"), ("application/x-www-form-urlencoded", "id=x")],
)
def test_a_body_that_is_not_json_is_a_415_and_changes_nothing(
    api: TestClient, admin_headers: dict[str, str], content_type: str, body: str
) -> None:
    before = api.get("/api/v1/agencies", headers=admin_headers).json()
    response = api.post(
        "/api/v1/agencies", content=body, headers={**admin_headers, "Content-Type": content_type}
    )
    problem = _problem(response, 415)
    assert "send it as JSON" in problem["detail"]
    assert api.get("/api/v1/agencies", headers=admin_headers).json() == before
    # A JSON media type with parameters, or of a +json kind, is read as JSON.
    charset = api.post(
        "/api/v1/agencies",
        content="{",
        headers={**admin_headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert charset.status_code == 422


def test_problem_error_keeps_its_members(app_factory: AppFactory) -> None:
    app = app_factory()

    @app.get("/refused")
    def refused() -> None:
        raise ProblemError(409, "Handover already acknowledged", "Leg 2 was acknowledged at 14:02")

    with TestClient(app) as client:
        problem = _problem(client.get("/refused"), 409)
    assert problem == {
        "type": "about:blank",
        "title": "Handover already acknowledged",
        "status": 409,
        "detail": "Leg 2 was acknowledged at 14:02",
    }


def test_unexpected_failure_is_a_500_without_stack_trace(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_factory()

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("connection string postgresql://secret@db")

    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="api.problems"),
    ):
        response = client.get("/broken")
    problem = _problem(response, 500)
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert problem["instance"].startswith("urn:uuid:")
    # The log keeps what the answer leaves out, under the occurrence id the caller was given.
    logged = [r for r in caplog.records if r.name == "api.problems"]
    assert logged
    assert problem["instance"] in logged[0].getMessage()
    assert logged[0].exc_info is not None


def test_openapi_documents_errors_as_problems(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    assert schema["info"]["title"] == "cdtrack"
    assert schema["info"]["description"]
    post = schema["paths"]["/api/v1/agencies"]["post"]["responses"]
    for status in ("401", "403", "409", "422"):
        assert post[status]["content"][PROBLEM_JSON]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
