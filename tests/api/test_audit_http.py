"""GET /audit/entries and /audit/verify: the new columns, and tampering reported as findings."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from cdtrack.settings import Settings
from store.access_log import (
    AccessCategory,
    append_access,
    frontier_of,
    integrate_pending,
    publish_head,
)


def _logged_and_signed(sessions: sessionmaker[Session], settings: Settings) -> None:
    with sessions.begin() as session:
        append_access(
            session,
            accessor=None,
            action="operation.command",
            category=AccessCategory.ALTERATION,
            operation_id="op-1",
            justification=None,
            outcome="refused",
            reason_code="lifecycle_refused",
            rule="launch",
        )
    with sessions.begin() as session:
        head = integrate_pending(
            session,
            frontier=frontier_of(None),
            signer=settings.audit_signer(),
            now=datetime.now(UTC),
        )
    assert head is not None
    publish_head(settings.audit_heads_path, head)


def test_entries_name_reason_code_and_rule_and_verify_reports_findings(
    api: TestClient,
    api_settings: Settings,
    session_maker: sessionmaker[Session],
    admin_headers: dict[str, str],
) -> None:
    _logged_and_signed(session_maker, api_settings)
    entries = api.get("/api/v1/audit/entries", headers=admin_headers).json()
    refused = [e for e in entries if e["action"] == "operation.command"]
    assert [(e["reason_code"], e["rule"], e["detail"]) for e in refused] == [
        ("lifecycle_refused", "launch", {})
    ]

    intact = api.get("/api/v1/audit/verify", headers=admin_headers).json()
    assert intact["intact"] is True, intact["findings"]
    assert intact["checked_against"]["source"] == str(api_settings.audit_heads_path)
    assert intact["checked_against"]["checkpoint"].startswith("cdtrack/access-log\n")

    with session_maker.begin() as session:
        # An insider empties the heads and the log; the heads file is out of their reach.
        for table in ("access_log_queue", "access_log_leaves", "access_log_heads", "access_log"):
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                for trigger in session.scalars(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).all():
                    session.execute(text(f"DROP TRIGGER {trigger}"))
            session.execute(text(f"DELETE FROM {table}"))
    broken = api.get("/api/v1/audit/verify", headers=admin_headers).json()
    assert broken["intact"] is False
    kinds = {finding["kind"] for finding in broken["findings"]}
    assert {"wiped", "unguarded"} <= kinds


def test_entries_are_filtered_by_user_category_and_period(
    api: TestClient,
    api_settings: Settings,
    session_maker: sessionmaker[Session],
    admin_headers: dict[str, str],
) -> None:
    _logged_and_signed(session_maker, api_settings)
    entries = "/api/v1/audit/entries"
    altered = api.get(entries, params={"category": "alteration"}, headers=admin_headers).json()
    assert [e["action"] for e in altered] == ["operation.command"]
    assert api.get(entries, params={"category": "erasure"}, headers=admin_headers).json() == []
    assert api.get(entries, params={"user_id": "nobody"}, headers=admin_headers).json() == []
    future = {"since": "2999-01-01T00:00:00Z"}
    assert api.get(entries, params=future, headers=admin_headers).json() == []
    until_now = {"until": datetime.now(UTC).isoformat(), "category": "alteration"}
    assert len(api.get(entries, params=until_now, headers=admin_headers).json()) == 1
    for beyond in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "2026-01-01T00:00"):
        refused = api.get(entries, params={"since": beyond}, headers=admin_headers)
        assert refused.status_code == 422, beyond
