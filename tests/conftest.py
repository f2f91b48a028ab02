"""Shared fixtures: read-model databases (SQLite, PostgreSQL), Temporal servers, a thread pool."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from store.migrate import upgrade
from store.session import create_engine_for, session_factory
from tests.temporal_env import binary, converter_for_tests, start_dev_server
from workflows.operation import PHASE_ATTRIBUTE

# Tests start hundreds of APIs, in process and as subprocesses that inherit this: each would
# spend seconds of CPU warming a renderer that most of them never use. The warm-up has its own
# test (tests/api/test_documents.py).
os.environ.setdefault("CDTRACK_API_WARM_RENDERER", "false")

POSTGRES_URL = os.environ.get(
    "CDTRACK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """Each test leaves the root logger's handlers as it found them: a CLI run in a test (typer's
    CliRunner) configures logging onto a stream the runner closes, which later tests would write
    to ("I/O operation on closed file")."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite read model of the test's own: a copy of the session's migrated one."""
    target = tmp_path / "readmodel.db"
    shutil.copy2(sqlite_template, target)
    return f"sqlite:///{target}"


# Migrated once per session and copied for each test: migrating costs a test about 0.2 s on
# SQLite and 0.3 s on PostgreSQL, hundreds of times a run. The migrations themselves are tested
# on empty databases (tests/store).
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("read-model-template") / "readmodel.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    # Everything in the database file itself, nothing left in a write-ahead log beside it.
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@contextmanager
def empty_postgres_database(
    prefix: str = "cdtrack_t", *, template: str | None = None
) -> Iterator[str]:
    """The URL of a new PostgreSQL database, empty or a copy of `template`, dropped afterwards."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
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


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test (a copy of the session's migrated
    template), dropped afterwards."""
    with empty_postgres_database(template=postgres_template) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The name of a database migrated once for the session, which each test's is copied from."""
    with empty_postgres_database(prefix="cdtrack_template") as url:
        upgrade(url)
        yield str(make_url(url).database)


@pytest.fixture(params=["sqlite", "postgres"])
def read_model_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def session_maker(read_model_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine_for(read_model_url)
    yield session_factory(engine)
    engine.dispose()


# One server per test: a server shared across tests stalls skipping time once an earlier test's
# worker has gone, so each test gets a clean clock.
@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=converter_for_tests(),
    )
    async with env:
        # The test server knows no custom search attribute until told, like a fresh cluster.
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    PHASE_ATTRIBUTE.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                },
            )
        )
        yield env


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    async with env:
        yield env


@pytest.fixture(scope="session")
def activity_executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        yield executor
