"""Shared fixtures: read-model databases (SQLite, PostgreSQL), Temporal servers, a thread pool."""

from __future__ import annotations

import os
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

POSTGRES_URL = os.environ.get(
    "CDTRACK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'readmodel.db'}"
    upgrade(url)
    return url


@contextmanager
def empty_postgres_database(prefix: str = "cdtrack_t") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test, dropped afterwards."""
    with empty_postgres_database() as url:
        upgrade(url)
        yield url


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
