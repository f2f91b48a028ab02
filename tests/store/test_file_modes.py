"""The read model's files are the owner's alone: 0600 files in a 0700 directory, WAL included."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from store.files import private_directory, private_file
from store.migrate import upgrade
from store.session import create_engine_for


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_read_model_and_its_wal_are_private(tmp_path: Path) -> None:
    database = tmp_path / "data" / "readmodel.db"
    url = f"sqlite:///{database}"
    upgrade(url)
    engine = create_engine_for(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        connection.execute(text("INSERT INTO probe VALUES (1)"))
        # Both files exist while a connection is open in WAL mode.
        assert mode(database.with_name("readmodel.db-wal")) == 0o600
        assert mode(database.with_name("readmodel.db-shm")) == 0o600
    engine.dispose()
    assert mode(database.parent) == 0o700
    assert mode(database) == 0o600


def test_an_existing_readable_database_is_narrowed(tmp_path: Path) -> None:
    database = tmp_path / "readmodel.db"
    database.touch(mode=0o644)
    database.with_name("readmodel.db-wal").touch(mode=0o644)
    database.chmod(0o644)
    private_file(database)
    assert mode(database) == 0o600
    assert mode(database.with_name("readmodel.db-wal")) == 0o600


def test_a_directory_that_already_exists_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    private_file(shared / "temporal.log")
    assert mode(shared) == 0o755
    assert mode(shared / "temporal.log") == 0o600
    assert mode(private_directory(tmp_path / "a" / "b")) == 0o700
