"""The agency directory, users and their tokens, as administrators and officers use them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import bearer

KZ_CUSTOMS = {
    "id": "kz-customs",
    "country": "kz",
    "kind": "customs",
    "name": "State Revenue Committee of Kazakhstan, Customs",
    "contact_email": "duty@customs.example.kz",
    "national_contact_point": True,
}


def _register(api: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return api.post("/api/v1/agencies", json=body, headers=headers)


def test_register_read_and_list_agencies(
    api: TestClient, admin_headers: dict[str, str], officer_headers: dict[str, str]
) -> None:
    created = _register(api, admin_headers, KZ_CUSTOMS)
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith("/api/v1/agencies/kz-customs")
    agency = created.json()
    assert agency["country"] == "KZ"
    assert agency["national_contact_point"] is True
    assert agency["contact_phone"] is None
    assert agency["created_at"]

    # Any authenticated caller may read the directory.
    one = api.get("/api/v1/agencies/kz-customs", headers=officer_headers)
    assert one.status_code == 200
    assert one.json() == agency
    listed = api.get("/api/v1/agencies", headers=officer_headers).json()
    assert {a["id"] for a in listed} == {"caricc", "kz-police", "kz-customs"}
    customs = api.get("/api/v1/agencies", params={"kind": "customs"}, headers=officer_headers)
    assert [a["id"] for a in customs.json()] == ["kz-customs"]
    elsewhere = api.get("/api/v1/agencies", params={"country": "tj"}, headers=officer_headers)
    assert elsewhere.json() == []


def test_directory_needs_authentication(api: TestClient) -> None:
    assert api.get("/api/v1/agencies").status_code == 401


def test_duplicate_agency_is_a_conflict(api: TestClient, admin_headers: dict[str, str]) -> None:
    assert _register(api, admin_headers, KZ_CUSTOMS).status_code == 201
    again = _register(api, admin_headers, {**KZ_CUSTOMS, "name": "Another name"})
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "kz-customs" in again.json()["detail"]


def test_invalid_agency_names_each_field(api: TestClient, admin_headers: dict[str, str]) -> None:
    body = {**KZ_CUSTOMS, "id": "KZ Customs!", "country": "XX", "kind": "army"}
    response = _register(api, admin_headers, body)
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(fields) == {"body.id", "body.country", "body.kind"}
    assert "ISO 3166-1 alpha-2" in fields["body.country"]


def test_unknown_agency_of_a_user_names_the_field(
    api: TestClient, admin_headers: dict[str, str]
) -> None:
    body = {"name": "Someone", "role": "officer", "agency_id": "nowhere-police"}
    response = api.post("/api/v1/users", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.agency_id"]


def test_user_lifecycle_through_the_api(
    api: TestClient, admin_headers: dict[str, str], officer_headers: dict[str, str]
) -> None:
    body = {
        "id": "a.nurlanov",
        "name": "Aidos Nurlanov",
        "role": "officer",
        "agency_id": "kz-police",
    }
    created = api.post("/api/v1/users", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.json()["active"] is True
    assert api.post("/api/v1/users", json=body, headers=admin_headers).status_code == 409

    issued = api.post(
        "/api/v1/users/a.nurlanov/tokens", json={"label": "laptop"}, headers=admin_headers
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    assert token.startswith("cdt_")
    assert issued.json()["token_prefix"] == token.split("_")[1]
    assert api.get("/api/v1/me", headers=bearer(token)).json()["user_id"] == "a.nurlanov"
    listed = api.get("/api/v1/users/a.nurlanov/tokens", headers=admin_headers).json()
    assert [t["label"] for t in listed] == ["laptop"]
    assert "token" not in listed[0]

    promoted = api.patch(
        "/api/v1/users/a.nurlanov", json={"role": "coordinator"}, headers=admin_headers
    )
    assert promoted.json()["role"] == "coordinator"
    assert api.get("/api/v1/me", headers=bearer(token)).json()["role"] == "coordinator"

    deactivated = api.patch(
        "/api/v1/users/a.nurlanov", json={"active": False}, headers=admin_headers
    )
    assert deactivated.status_code == 200
    assert deactivated.json()["active"] is False
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_unknown_user_and_token_are_not_found(
    api: TestClient, admin_headers: dict[str, str]
) -> None:
    assert api.get("/api/v1/users/nobody", headers=admin_headers).status_code == 404
    assert (
        api.post("/api/v1/users/nobody/tokens", json={}, headers=admin_headers).status_code == 404
    )
    assert api.patch("/api/v1/users/nobody", json={}, headers=admin_headers).status_code == 404
    assert api.post("/api/v1/tokens/nothing/revoke", headers=admin_headers).status_code == 404


def test_administrator_may_not_lock_themselves_out(
    api: TestClient, admin_headers: dict[str, str]
) -> None:
    me = api.get("/api/v1/me", headers=admin_headers).json()["user_id"]
    for change in ({"active": False}, {"role": "officer"}):
        response = api.patch(f"/api/v1/users/{me}", json=change, headers=admin_headers)
        assert response.status_code == 409
    assert api.get("/api/v1/me", headers=admin_headers).json()["role"] == "admin"


def test_every_request_body_has_an_example(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    checked = 0
    for path, item in schema["paths"].items():
        if not path.startswith(("/api/v1/agencies", "/api/v1/users", "/api/v1/tokens")):
            continue
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            assert components[ref].get("examples"), f"{method.upper()} {path}: {ref} has no example"
            checked += 1
    assert checked == 5
