"""The access log: every tampering is found and named, nobody rewrites it, appends never fork."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from activities.audit import AuditActivities
from api.principal import Principal, Role
from cdtrack.cli import app
from store.access_log import (
    AccessCategory,
    AccessEntry,
    FindingKind,
    LeafRow,
    LogReport,
    PublishedHead,
    append_access,
    entry_leaf_hash,
    frontier_of,
    integrate_pending,
    prove_inclusion,
    publish_head,
    read_published_heads,
    verify_log,
)
from store.checkpoint import LogSigner, check_inclusion_proof
from store.merkle import tree_root
from store.session import create_engine_for, session_factory
from workflows.messages import IntegrateEntriesInput, SignedTreeHead

OFFICER = Principal(
    user_id="a.nurlanov", name="Aidos Nurlanov", role=Role.OFFICER, agency="kz-police"
)
SEED = bytes(range(32))
SIGNER = LogSigner(origin="test/access-log", seed=SEED)
LOG_TABLES = ("access_log", "access_log_leaves", "access_log_heads")


class Log:
    """A log on one database, its sequencer, and the heads it published to a heads file."""

    def __init__(self, engine: Engine, heads_file: Path) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.heads_file = heads_file
        self.head: SignedTreeHead | None = None

    def fill(self, count: int = 2) -> None:
        for n in range(count):
            with self.sessions.begin() as session:
                append_access(
                    session,
                    accessor=OFFICER.accessor(),
                    action="operation.read",
                    category=AccessCategory.CONSULTATION,
                    operation_id=f"op-{n % 2}",
                    justification="Preparing the handover at the Almaty checkpoint",
                )

    def integrate(self) -> SignedTreeHead:
        with self.sessions.begin() as session:
            head = integrate_pending(
                session, frontier=frontier_of(self.head), signer=SIGNER, now=datetime.now(UTC)
            )
        assert head is not None
        publish_head(self.heads_file, head)
        self.head = head
        return head

    def batches(self, *sizes: int) -> None:
        for size in sizes:
            self.fill(size)
            self.integrate()

    def verify(self, *, now: datetime | None = None) -> LogReport:
        published = [
            PublishedHead(str(self.heads_file), head)
            for head in read_published_heads(self.heads_file)
        ]
        with self.sessions() as session:
            return verify_log(
                session,
                verifier=SIGNER.verifier,
                published=published,
                now=now or datetime.now(UTC),
            )


@pytest.fixture
def engine(read_model_url: str) -> Iterator[Engine]:
    engine = create_engine_for(read_model_url)
    yield engine
    engine.dispose()


@pytest.fixture
def log(engine: Engine, tmp_path: Path) -> Log:
    return Log(engine, tmp_path / "heads.jsonl")


def _kinds(report: LogReport) -> set[FindingKind]:
    return {finding.kind for finding in report.findings}


def _message(report: LogReport, kind: FindingKind) -> str:
    return " | ".join(f.message for f in report.findings if f.kind is kind)


def _disable_guard(connection: Connection) -> list[str]:
    """What an owner does first: triggers off (PostgreSQL) or dropped (SQLite, kept to restore)."""
    if connection.dialect.name == "postgresql":
        for table in LOG_TABLES:
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        return []
    triggers = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    ).all()
    for name, _ in triggers:
        connection.execute(text(f"DROP TRIGGER {name}"))
    return [str(sql) for _, sql in triggers]


def _restore_guard(connection: Connection, dropped: list[str]) -> None:
    if connection.dialect.name == "postgresql":
        for table in LOG_TABLES:
            connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    for sql in dropped:
        connection.execute(text(sql))


def _tamper(engine: Engine, *statements: str, recompute: bool = False) -> None:
    """Change the log behind the application's back, as the tables' owner could, triggers off.

    With `recompute`, every stored leaf hash is made to match the entries again and every
    head row in the database gets the root of its leaves (an insider cannot re-sign them).
    """
    with engine.begin() as connection:
        dropped = _disable_guard(connection)
        for statement in statements:
            connection.execute(text(statement))
        if recompute:
            with Session(bind=connection) as session:
                rows = session.execute(
                    select(LeafRow, AccessEntry)
                    .join(AccessEntry, AccessEntry.id == LeafRow.entry_id)
                    .order_by(LeafRow.leaf_index)
                ).all()
                hashes = [entry_leaf_hash(entry) for _, entry in rows]
                for (leaf, _), hashed in zip(rows, hashes, strict=True):
                    connection.execute(
                        text("UPDATE access_log_leaves SET leaf_hash = :h WHERE leaf_index = :i"),
                        {"h": base64.b64encode(hashed).decode(), "i": leaf.leaf_index},
                    )
                sizes = connection.scalars(text("SELECT tree_size FROM access_log_heads")).all()
                for size in sizes:
                    root = base64.b64encode(tree_root(hashes[:size])).decode()
                    connection.execute(
                        text("UPDATE access_log_heads SET root_hash = :r WHERE tree_size = :s"),
                        {"r": root, "s": size},
                    )
        _restore_guard(connection, dropped)


def test_an_intact_log_verifies_against_the_published_heads(log: Log) -> None:
    log.batches(2, 2, 1)
    report = log.verify()
    assert report.intact, report.describe()
    assert (report.entries, report.size) == (5, 5)
    assert report.checked_against is not None
    assert report.checked_against.source == str(log.heads_file)
    assert log.head is not None
    assert report.root == log.head.root_hash
    assert "access log intact: 5 entries" in report.describe()


def test_an_edited_entry_with_every_hash_recomputed_is_found_between_two_heads(log: Log) -> None:
    log.batches(2, 2, 2)
    _tamper(
        log.engine, "UPDATE access_log SET justification = 'curiosity' WHERE id = 3", recompute=True
    )
    report = log.verify()
    assert FindingKind.EDITED in _kinds(report)
    edited = _message(report, FindingKind.EDITED)
    assert "leaves 3 to 4" in edited
    assert "the head of 2 entries still matches" in edited
    # The database's heads were given new roots, which their signatures do not cover.
    assert FindingKind.FORGED_HEAD in _kinds(report)


def test_a_deletion_with_the_rest_renumbered_is_named(log: Log) -> None:
    log.batches(2, 2, 2)
    _tamper(
        log.engine,
        "DELETE FROM access_log_leaves WHERE entry_id = 3",
        "DELETE FROM access_log WHERE id = 3",
        *(f"UPDATE access_log SET id = {n - 1} WHERE id = {n}" for n in (4, 5, 6)),
        *(
            f"UPDATE access_log_leaves SET leaf_index = {n - 2}, entry_id = {n - 1} "
            f"WHERE entry_id = {n}"
            for n in (4, 5, 6)
        ),
        "DELETE FROM access_log_heads WHERE tree_size = 6",
        recompute=True,
    )
    report = log.verify()
    assert FindingKind.DELETED in _kinds(report)
    deleted = _message(report, FindingKind.DELETED)
    assert "the log holds 5 leaves where a head of 6 entries was published" in deleted
    assert "leaves 3 to 4" in deleted


def test_a_deletion_without_renumbering_is_named(log: Log) -> None:
    log.batches(2, 2, 2)
    _tamper(
        log.engine,
        "DELETE FROM access_log_leaves WHERE entry_id = 3",
        "DELETE FROM access_log WHERE id = 3",
    )
    report = log.verify()
    assert _kinds(report) == {FindingKind.DELETED}
    assert "leaf 3 gone: deleted without renumbering" in _message(report, FindingKind.DELETED)


def test_a_truncated_tail_with_the_heads_set_back_is_named(log: Log) -> None:
    log.batches(2, 2, 2)
    _tamper(
        log.engine,
        "DELETE FROM access_log_leaves WHERE leaf_index >= 4",
        "DELETE FROM access_log WHERE id > 4",
        "DELETE FROM access_log_heads WHERE tree_size > 4",
    )
    report = log.verify()
    assert _kinds(report) == {FindingKind.TRUNCATED}
    truncated = _message(report, FindingKind.TRUNCATED)
    assert "the log holds 4 entries but a head of 6 entries was published" in truncated
    assert "entries 5 to 6 were deleted" in truncated
    assert "the database's heads were set back to 4 entries" in truncated


def test_a_wiped_log_is_named(log: Log) -> None:
    log.batches(3, 3)
    _tamper(
        log.engine,
        "DELETE FROM access_log_queue",
        "DELETE FROM access_log_leaves",
        "DELETE FROM access_log_heads",
        "DELETE FROM access_log",
    )
    report = log.verify()
    assert _kinds(report) == {FindingKind.WIPED}
    assert "the log is empty but a head of 6 entries was published" in report.describe()


def test_an_entry_rewritten_with_the_triggers_off_between_two_heads_is_named(log: Log) -> None:
    log.batches(2, 2)
    _tamper(log.engine, "UPDATE access_log SET action = 'operation.list' WHERE id = 1")
    # The sequencer signs on from the compact range it carried: the rewrite is not signed in.
    log.batches(2)
    report = log.verify()
    edited = _message(report, FindingKind.EDITED)
    assert "entry 1 (leaf 1) was edited" in edited
    assert "leaves 1 to 2" in edited
    assert FindingKind.UNGUARDED_HEAD not in _kinds(report)


def test_an_entry_rewritten_unchanged_with_the_triggers_off_is_noticed_on_postgres(
    log: Log,
) -> None:
    log.batches(2, 2)
    _tamper(log.engine, "UPDATE access_log SET action = action WHERE id = 2")
    log.batches(1)
    report = log.verify()
    if log.engine.dialect.name != "postgresql":
        # Nothing differs and SQLite keeps no row versions: there is nothing to find.
        assert report.intact
        return
    assert _kinds(report) == {FindingKind.REWRITTEN}
    assert "entry 2 (leaf 2) was rewritten after it was integrated" in report.describe()


def test_a_head_signed_with_the_triggers_off_is_named_and_so_is_the_guard_now(log: Log) -> None:
    log.batches(2)
    with log.engine.begin() as connection:
        dropped = _disable_guard(connection)
    log.batches(1)
    unguarded = log.verify()
    assert {FindingKind.UNGUARDED_HEAD, FindingKind.UNGUARDED} <= _kinds(unguarded)
    assert "the head of 3 entries signed at" in _message(unguarded, FindingKind.UNGUARDED_HEAD)
    with log.engine.begin() as connection:
        _restore_guard(connection, dropped)
    assert _kinds(log.verify()) == {FindingKind.UNGUARDED_HEAD}


def test_a_forged_published_head_and_entries_left_queued_are_named(log: Log) -> None:
    log.batches(2)
    assert log.head is not None
    forged = log.head.model_copy(update={"tree_size": 3})
    log.fill(1)
    with log.sessions() as session:
        report = verify_log(
            session,
            verifier=SIGNER.verifier,
            published=[PublishedHead("elsewhere", forged)],
            now=datetime.now(UTC) + timedelta(hours=1),
        )
    assert _kinds(report) == {FindingKind.FORGED_HEAD, FindingKind.STALE_QUEUE}
    assert "is the audit workflow running?" in _message(report, FindingKind.STALE_QUEUE)


@pytest.mark.parametrize("table", LOG_TABLES)
@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET {column} = {column}", "DELETE FROM {table}"]
)
def test_the_log_cannot_be_rewritten(log: Log, table: str, statement: str) -> None:
    log.batches(2)
    column = {"access_log": "action", "access_log_leaves": "leaf_hash"}.get(table, "origin")
    with pytest.raises(DBAPIError, match="append-only"), log.engine.begin() as connection:
        connection.execute(text(statement.format(table=table, column=column)))
    assert log.verify().intact


@pytest.mark.parametrize("table", LOG_TABLES)
def test_the_log_cannot_be_truncated_on_postgres(postgres_url: str, table: str) -> None:
    engine = create_engine_for(postgres_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {table} CASCADE"))
    finally:
        engine.dispose()


def test_the_application_role_appends_and_sequences_but_cannot_rewrite(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SET ROLE cdtrack_app"))
            connection.commit()
            as_app = Log(engine, tmp_path / "heads.jsonl")
            as_app.sessions = sessionmaker(bind=connection, expire_on_commit=False)
            as_app.batches(2, 1)
            assert as_app.verify().intact
            refused = [
                *(f"UPDATE {table} SET {col} = {col}" for table, col in _columns()),
                *(f"DELETE FROM {table}" for table in LOG_TABLES),
                *(f"TRUNCATE {table}" for table in (*LOG_TABLES, "access_log_queue")),
                *(f"ALTER TABLE {table} DISABLE TRIGGER USER" for table in LOG_TABLES),
                "UPDATE access_log_queue SET entry_id = entry_id",
            ]
            for statement in refused:
                with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
                    connection.execute(text(statement))
                connection.rollback()
    finally:
        engine.dispose()


APP_PRIVILEGES = {
    **dict.fromkeys(("access_log", "access_log_leaves", "access_log_heads"), "INSERT SELECT"),
    "access_log_queue": "DELETE INSERT SELECT",
    **dict.fromkeys(
        ("notification_deliveries", "outcome_assessments", "idempotency_keys"),
        "INSERT SELECT",
    ),
    # An event a lost workflow task projected is rewritten by the task that completed.
    "timeline_events": "INSERT SELECT UPDATE",
    **dict.fromkeys(
        (
            "operations",
            "operation_participants",
            "operation_legs",
            "agencies",
            "users",
            "api_tokens",
            "notification_targets",
            "user_credentials",
            "console_sessions",
        ),
        "DELETE INSERT SELECT UPDATE",
    ),
    "alembic_version": "SELECT",
}


def test_the_application_role_holds_exactly_what_the_migrations_grant(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            granted = connection.execute(
                text(
                    "SELECT table_name, string_agg(privilege_type, ' ' ORDER BY privilege_type) "
                    "FROM information_schema.role_table_grants WHERE grantee = 'cdtrack_app' "
                    "AND table_catalog = current_database() GROUP BY table_name"
                )
            ).all()
    finally:
        engine.dispose()
    assert dict(granted) == APP_PRIVILEGES


def _columns() -> list[tuple[str, str]]:
    return [
        ("access_log", "action"),
        ("access_log_leaves", "leaf_hash"),
        ("access_log_heads", "origin"),
    ]


def test_concurrent_appends_never_fork_or_lose_an_entry(log: Log) -> None:
    failures: list[BaseException] = []
    appending = threading.Event()
    appending.set()

    def append_many() -> None:
        try:
            log.fill(25)
        except BaseException as failure:
            failures.append(failure)

    def sequence_meanwhile() -> None:
        try:
            while appending.is_set():
                with log.sessions.begin() as session:
                    head = integrate_pending(
                        session,
                        frontier=frontier_of(log.head),
                        signer=SIGNER,
                        now=datetime.now(UTC),
                    )
                if head is not None:
                    publish_head(log.heads_file, head)
                    log.head = head
        except BaseException as failure:
            failures.append(failure)

    sequencer = threading.Thread(target=sequence_meanwhile)
    sequencer.start()
    threads = [threading.Thread(target=append_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    appending.clear()
    sequencer.join()
    log.fill(1)
    log.integrate()
    assert not failures
    report = log.verify()
    assert report.intact, report.describe()
    assert (report.entries, report.size) == (101, 101)
    with log.sessions() as session:
        integrated = session.scalars(select(LeafRow.entry_id)).all()
    assert sorted(integrated) == list(range(1, 102))
    assert len(read_published_heads(log.heads_file)) >= 2


def test_a_retried_sequencer_returns_the_committed_head_instead_of_integrating_twice(
    log: Log,
) -> None:
    log.batches(2)
    sequencer = AuditActivities(log.sessions, signer=SIGNER, heads_file=log.heads_file)
    log.fill(3)
    request = IntegrateEntriesInput(head=log.head)
    first = sequencer.integrate_access_log(request)
    # The first attempt's result was lost: the same input comes again.
    again = sequencer.integrate_access_log(request)
    assert (first.integrated, again.integrated, again.already_integrated) == (3, 0, True)
    assert again.head == first.head
    assert [h.tree_size for h in read_published_heads(log.heads_file)] == [2, 5]
    idle = sequencer.integrate_access_log(IntegrateEntriesInput(head=first.head))
    assert (idle.integrated, idle.head) == (0, first.head)
    # A fresh workflow (no head) takes up the newest signed head instead of starting over.
    log.fill(1)
    fresh = sequencer.integrate_access_log(IntegrateEntriesInput())
    assert fresh.head is not None
    assert fresh.head.tree_size == 6
    log.head = fresh.head
    assert log.verify().intact


def test_an_inclusion_proof_checks_with_the_public_key_alone(log: Log) -> None:
    log.batches(3, 4)
    assert log.head is not None
    with log.sessions() as session:
        proof = prove_inclusion(session, entry_id=5, head=log.head, verifier=SIGNER.verifier)
    proof = json.loads(json.dumps(proof))  # as an oversight body receives it
    vkey = SIGNER.verifier.vkey()
    assert proof["leaf_index"] == 4
    assert json.loads(proof["entry"])["id"] == 5
    assert check_inclusion_proof(proof, vkey=vkey)

    other = LogSigner(origin="test/access-log", seed=bytes(32)).verifier.vkey()
    edited_entry = {**proof, "entry": proof["entry"].replace("operation.read", "operation.list")}
    edited_path = {**proof, "audit_path": [proof["audit_path"][0], *proof["audit_path"][:-1]]}
    moved = {**proof, "leaf_index": 3}
    assert not check_inclusion_proof(proof, vkey=other)
    assert not check_inclusion_proof(edited_entry, vkey=vkey)
    assert not check_inclusion_proof(edited_path, vkey=vkey)
    assert not check_inclusion_proof(moved, vkey=vkey)


def test_cli_verify_prove_and_public_key(
    log: Log, read_model_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDTRACK_DATABASE_URL", read_model_url)
    monkeypatch.setenv("CDTRACK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDTRACK_AUDIT_SIGNING_KEY", base64.b64encode(SEED).decode())
    monkeypatch.setenv("CDTRACK_AUDIT_ORIGIN", SIGNER.origin)
    monkeypatch.setenv("CDTRACK_AUDIT_HEADS_FILE", str(log.heads_file))
    log.batches(3, 2)
    runner = CliRunner()

    vkey = runner.invoke(app, ["audit", "public-key"])
    assert vkey.exit_code == 0
    assert vkey.stdout.strip() == SIGNER.verifier.vkey()

    intact = runner.invoke(app, ["audit", "verify", "--no-temporal"])
    assert intact.exit_code == 0, intact.output
    assert "access log intact: 5 entries" in intact.stdout

    proved = runner.invoke(app, ["audit", "prove", "2", "--no-temporal"])
    assert proved.exit_code == 0, proved.output
    assert check_inclusion_proof(json.loads(proved.stdout), vkey=vkey.stdout.strip())

    _tamper(log.engine, "UPDATE access_log SET action = 'operation.list' WHERE id = 4")
    broken = runner.invoke(app, ["audit", "verify", "--no-temporal"])
    assert broken.exit_code == 1
    assert "entry 4 (leaf 4) was edited" in broken.output
