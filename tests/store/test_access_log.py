"""The access log: every tampering is found and named, nobody rewrites it, appends never fork."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.principal import Principal, Role
from cdtrack.cli import app
from store.access_log import AccessCategory, append_access, verify_chain
from store.session import create_engine_for, session_factory

OFFICER = Principal(
    user_id="a.nurlanov", name="Aidos Nurlanov", role=Role.OFFICER, agency="kz-police"
)


@pytest.fixture
def engine(read_model_url: str) -> Iterator[Engine]:
    engine = create_engine_for(read_model_url)
    yield engine
    engine.dispose()


def _fill(sessions: sessionmaker[Session], count: int = 5) -> None:
    for n in range(count):
        with sessions.begin() as session:
            append_access(
                session,
                accessor=OFFICER.accessor(),
                action="operation.read",
                category=AccessCategory.CONSULTATION,
                operation_id=f"op-{n % 2}",
                justification="Preparing the handover at the Almaty checkpoint",
            )


def _tamper(engine: Engine, *statements: str) -> None:
    """Change the log behind the application's back, as someone with the database files could."""
    with engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("ALTER TABLE access_log DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER access_log_no_update"))
            connection.execute(text("DROP TRIGGER access_log_no_delete"))
        for statement in statements:
            connection.execute(text(statement))
        if postgres:
            connection.execute(text("ALTER TABLE access_log ENABLE TRIGGER USER"))


def test_an_intact_log_verifies(engine: Engine) -> None:
    sessions = session_factory(engine)
    _fill(sessions)
    with sessions() as session:
        report = verify_chain(session)
    assert (report.intact, report.entries) == (True, 5)


@pytest.mark.parametrize(
    ("statements", "broken_at", "problem"),
    [
        (["UPDATE access_log SET justification = 'curiosity' WHERE seq = 3"], 3, "modified"),
        (["DELETE FROM access_log WHERE seq = 2"], 2, "missing"),
        (["DELETE FROM access_log WHERE seq = 5"], 5, "deleted"),
        (
            [
                "UPDATE access_log SET seq = 100 WHERE seq = 2",
                "UPDATE access_log SET seq = 2 WHERE seq = 3",
                "UPDATE access_log SET seq = 3 WHERE seq = 100",
            ],
            2,
            "does not follow",
        ),
    ],
    ids=["modified", "deleted", "last-deleted", "reordered"],
)
def test_tampering_is_named_at_the_first_broken_entry(
    engine: Engine, statements: list[str], broken_at: int, problem: str
) -> None:
    sessions = session_factory(engine)
    _fill(sessions)
    _tamper(engine, *statements)
    with sessions() as session:
        report = verify_chain(session)
    assert report.broken_at == broken_at
    assert problem in (report.problem or "")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_log SET justification = 'x'",
        "DELETE FROM access_log",
        "TRUNCATE access_log",
    ],
)
def test_the_log_cannot_be_rewritten(engine: Engine, statement: str) -> None:
    if statement.startswith("TRUNCATE") and engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _fill(session_factory(engine), count=2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with session_factory(engine)() as session:
        assert verify_chain(session).entries == 2


def test_concurrent_appends_keep_one_chain(engine: Engine) -> None:
    sessions = session_factory(engine)
    failures: list[BaseException] = []

    def append_many() -> None:
        try:
            _fill(sessions, count=25)
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=append_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    with sessions() as session:
        report = verify_chain(session)
    assert (report.intact, report.entries) == (True, 100)


def test_cli_verify_exits_one_naming_the_entry(
    engine: Engine, read_model_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(session_factory(engine))
    monkeypatch.setenv("CDTRACK_DATABASE_URL", read_model_url)
    intact = CliRunner().invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0
    assert "access log intact: 5 entries" in intact.output
    _tamper(engine, "UPDATE access_log SET action = 'operation.list' WHERE seq = 4")
    broken = CliRunner().invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "entry 4" in broken.output
