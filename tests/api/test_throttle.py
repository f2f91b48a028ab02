"""Throttles: guessing tokens stops being answered, and one token cannot flood the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.principal import Role
from tests.api.conftest import AppFactory, TokenIssuer, bearer


def _wrong_secret(token: str) -> str:
    scheme, prefix, secret = token.split("_", 2)
    return f"{scheme}_{prefix}_{'x' * len(secret)}"


def test_after_ten_failures_even_the_right_token_is_refused(
    app_factory: AppFactory, token_for: TokenIssuer
) -> None:
    token = token_for(agency="kz-police", role=Role.OFFICER, name="Kazakh officer")
    other = token_for(agency="tj-dca", role=Role.OFFICER, name="Tajik officer", country="TJ")
    with TestClient(app_factory()) as client:
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        for _ in range(10):
            assert client.get("/api/v1/me", headers=bearer(_wrong_secret(token))).status_code == 401
        refused = client.get("/api/v1/me", headers=bearer(token))
        # The address is throttled too: another caller's token from it waits as well.
        from_same_address = client.get("/api/v1/me", headers=bearer(other))
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Too many failed authentications" in refused.json()["detail"]
    assert from_same_address.status_code == 429


def test_a_token_over_its_request_rate_waits_and_others_do_not(
    app_factory: AppFactory, token_for: TokenIssuer
) -> None:
    busy = token_for(agency="kz-police", role=Role.OFFICER, name="Kazakh officer")
    calm = token_for(agency="tj-dca", role=Role.OFFICER, name="Tajik officer", country="TJ")
    with TestClient(app_factory(request_rate_limit="5/minute")) as client:
        answers = [client.get("/api/v1/me", headers=bearer(busy)).status_code for _ in range(6)]
        other = client.get("/api/v1/me", headers=bearer(calm))
        last = client.get("/api/v1/me", headers=bearer(busy))
    assert answers == [200] * 5 + [429]
    assert last.status_code == 429
    assert int(last.headers["Retry-After"]) > 0
    assert "Too many requests with this token (limit 5 per 1 minute)" in last.json()["detail"]
    assert other.status_code == 200
