"""Migration 0008: entries of the hash-chained log stay readable and become the first leaves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from store.access_log import frontier_of, integrate_pending, list_access, verify_log
from store.checkpoint import LogSigner
from store.migrate import alembic_config
from store.session import create_engine_for, session_factory
from tests.conftest import empty_postgres_database

SIGNER = LogSigner(origin="test/access-log", seed=bytes(range(32)))


@pytest.fixture(params=["sqlite", "postgres"])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no migration applied yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with empty_postgres_database("cdtrack_m") as url:
        yield url


OLD_ENTRY = (
    "INSERT INTO access_log (seq, at, user_id, user_name, agency, role, action, category, "
    "operation_id, recipients, justification, outcome, reason, detail, prev_hash, hash) VALUES "
    "(:seq, :at, 'a.nurlanov', 'Aidos Nurlanov', 'kz-police', 'officer', :action, "
    "'consultation', 'op-1', '[]', 'Handover at Almaty', :outcome, :reason, :detail, :prev, :hash)"
)


def test_old_entries_are_kept_queued_and_integrated_in_their_order(blank_url: str) -> None:
    command.upgrade(alembic_config(blank_url), "0006")
    engine = create_engine_for(blank_url)
    with engine.begin() as connection:
        for seq, (action, outcome, reason, detail) in enumerate(
            [
                ("operation.read", "allowed", None, "{}"),
                ("operation.command", "refused", "lifecycle_refused", '{"rule": "launch"}'),
                ("report.disclose", "allowed", None, '{"version": 1}'),
            ],
            start=1,
        ):
            connection.execute(
                text(OLD_ENTRY),
                {
                    "seq": seq,
                    "at": datetime(2026, 11, 30, 9, seq, tzinfo=UTC),
                    "action": action,
                    "outcome": outcome,
                    "reason": reason,
                    "detail": detail,
                    "prev": "0" * 64,
                    "hash": f"{seq:064d}",
                },
            )
    command.upgrade(alembic_config(blank_url), "head")

    sessions = session_factory(engine)
    with sessions.begin() as session:
        kept = list_access(session)
        head = integrate_pending(
            session, frontier=frontier_of(None), signer=SIGNER, now=datetime.now(UTC)
        )
        appended_after = session.execute(text("SELECT count(*) FROM access_log_queue")).scalar()
    assert [(e.id, e.action, e.reason_code, e.rule, e.detail) for e in kept] == [
        (1, "operation.read", None, None, {}),
        (2, "operation.command", "lifecycle_refused", "launch", {}),
        (3, "report.disclose", None, None, {"version": 1}),
    ]
    assert kept[0].at == datetime(2026, 11, 30, 9, 1, tzinfo=UTC)
    assert head is not None
    assert (head.tree_size, appended_after) == (3, 0)
    with sessions() as session:
        assert verify_log(session, verifier=SIGNER.verifier, now=datetime.now(UTC)).intact
        heads = session.execute(text("SELECT count(*) FROM access_log_heads")).scalar()
    assert heads == 1
    engine.dispose()
