"""Database engines and sessions for the read model; built on demand, never at import."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from store.files import private_sqlite_database

# Execution option marking an engine whose SQLite transactions only read (see `_begin`).
READ_ONLY: Final = "cdtrack_read_only"


def create_engine_for(url: str, **options: Any) -> Engine:
    if url.startswith("sqlite"):
        private_sqlite_database(url)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that never write.

    On SQLite those begin deferred, so any number read at once beside one writer (WAL).
    """
    return engine.execution_options(**{READ_ONLY: True})


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # The driver's own transaction handling would begin deferred, behind our back; `_begin` does.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _begin(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another writer committed in between (the busy timeout does not apply to it). Taking
    # the write lock at BEGIN makes writers queue for it instead, each for milliseconds.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
