"""Agencies' notification targets: registered by administrators, sealed at rest, never shown."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from tests.api.conftest import TokenIssuer, bearer

SECRET = "s3cr3t-bot-token"
TELEGRAM = f"tgram://123456789:{SECRET}/-1001234567890"


def _targets(agency: str) -> str:
    return f"/api/v1/agencies/{agency}/targets"


def test_a_target_is_sealed_at_rest_and_shown_only_masked(
    api: TestClient,
    admin_headers: dict[str, str],
    officer_headers: dict[str, str],
    session_maker: sessionmaker[Session],
) -> None:
    body = {"url": TELEGRAM, "purpose": "action_required", "language": "ru", "label": "Duty room"}
    created = api.post(_targets("kz-police"), json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    target = created.json()
    assert target["language"] == "ru"
    assert target["purpose"] == "action_required"
    assert target["active"] is True
    assert target["url_hint"].startswith("tgram://")
    assert SECRET not in created.text

    # The agency's own officer sees its targets, still masked.
    listed = api.get(_targets("kz-police"), headers=officer_headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [target["id"]]
    assert SECRET not in listed.text

    with session_maker() as session:
        stored = session.execute(text("SELECT url_sealed, url_hint FROM notification_targets"))
        sealed, hint = stored.one()
    assert SECRET not in sealed
    assert SECRET not in hint
    assert "123456789" not in sealed


def test_an_unusable_url_is_refused_with_the_schemes_to_use(
    api: TestClient, admin_headers: dict[str, str], officer_headers: dict[str, str]
) -> None:
    body = {"url": "carrier-pigeon://loft-7", "purpose": "escalation", "language": "en"}
    refused = api.post(_targets("kz-police"), json=body, headers=admin_headers)
    assert refused.status_code == 422
    assert "apprise" in refused.text
    assert "tgram://" in refused.text
    assert api.get(_targets("kz-police"), headers=admin_headers).json() == []


def test_only_administrators_add_and_only_the_agency_reads(
    api: TestClient,
    admin_headers: dict[str, str],
    officer_headers: dict[str, str],
    token_for: TokenIssuer,
) -> None:
    body = {"url": "json://127.0.0.1:9/hook", "purpose": "digest", "language": "en"}
    assert api.post(_targets("kz-police"), json=body, headers=officer_headers).status_code == 403
    outsider = bearer(token_for(agency="tj-dca", role=Role.OFFICER, name="Other", country="TJ"))
    assert api.get(_targets("kz-police"), headers=outsider).status_code == 403
    assert api.post(_targets("no-such-agency"), json=body, headers=admin_headers).status_code == 404


def test_a_retired_target_stays_listed_but_inactive(
    api: TestClient, admin_headers: dict[str, str], officer_headers: dict[str, str]
) -> None:
    body = {"url": "json://127.0.0.1:9/hook", "purpose": "escalation", "language": "en"}
    target = api.post(_targets("kz-police"), json=body, headers=admin_headers).json()
    retired = api.delete(f"{_targets('kz-police')}/{target['id']}", headers=admin_headers)
    assert retired.status_code == 200
    assert retired.json()["active"] is False
    assert retired.json()["retired_at"]
    again = api.delete(f"{_targets('caricc')}/{target['id']}", headers=admin_headers)
    assert again.status_code == 404
    listed = api.get(_targets("kz-police"), headers=admin_headers).json()
    assert [(t["id"], t["active"]) for t in listed] == [(target["id"], False)]
