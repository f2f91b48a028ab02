"""Migration 0008: entries of the hash-chained log stay readable and become the first leaves."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from store.access_log import frontier_of, integrate_pending, list_access, verify_log
from store.checkpoint import LogSigner
from store.migrate import alembic_config
from store.session import create_engine_for, session_factory
from tests.conftest import POSTGRES_URL

SIGNER = LogSigner(origin="test/access-log", seed=bytes(range(32)))


@pytest.fixture(params=["sqlite", "postgres"])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no migration applied yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"cdtrack_m_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"!!! PostgreSQL is unreachable at {POSTGRES_URL}: {error.orig} !!!")
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
