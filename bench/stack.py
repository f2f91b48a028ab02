"""The bench's own embedded stack: dev server (WAL pragmas), read model, worker and API processes.

Nothing is shared with a running `cdtrack up`: every port is free when picked, the data directory
is temporary, and a PostgreSQL read model is a scratch database dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.principal import Role
from cdtrack import stack
from cdtrack.settings import Settings
from cdtrack.temporal import connect
from cdtrack.walkthrough import Cast, enrol_cast
from store import identity
from store.session import create_engine_for, session_factory

SERVICE_START_SECONDS = 60.0
CENTRE_AGENCY = "caricc"
# The API throttles each token (default 1200/minute); the bench's few tokens send far more, and it
# measures the API, not the throttle. Per second, so the moving window's bookkeeping per token
# stays about as long as a production limit lets it grow (the limit's count of entries).
BENCH_REQUEST_RATE_LIMIT = "1000000/second"


@dataclass
class BenchStack:
    settings: Settings
    base_url: str
    client: Client  # the product's client: pydantic payloads, encrypted
    floor_client: Client  # the engine's default converter, as a bare Temporal user would have
    sessions: sessionmaker[Session]
    worker_pid: int
    api_pid: int
    cast: Cast
    read_model: str  # "PostgreSQL 15.x" or "SQLite"
    log_dir: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    """A fresh database on the server `server_url` points at, dropped afterwards."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"cdtrack_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _service_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CDTRACK_DATA_DIR": str(settings.data_dir),
            "CDTRACK_TEMPORAL_ADDRESS": settings.temporal_address,
            "CDTRACK_TASK_QUEUE": settings.task_queue,
            "CDTRACK_API_HOST": settings.api_host,
            "CDTRACK_API_PORT": str(settings.api_port),
            "CDTRACK_PUBLIC_BASE_URL": settings.public_base_url,
            "CDTRACK_REQUEST_RATE_LIMIT": settings.request_rate_limit,
            # Several bench workers run side by side: no health port for them to contend for.
            "CDTRACK_WORKER_HEALTH_PORT": "0",
        }
    )
    if settings.database_url:
        env["CDTRACK_DATABASE_URL"] = settings.database_url
    return env


@asynccontextmanager
async def service_process(
    name: str,
    settings: Settings,
    *,
    log_dir: Path,
    log_name: str | None = None,
    module: str = "bench.services",
    arguments: Sequence[str] = (),
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m MODULE NAME ARGUMENTS...` (`bench.services` by default), ready when it says so,
    stopped with SIGTERM on exit."""
    log: IO[bytes]
    log_path = log_dir / f"{log_name or name}.log"
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            name,
            *arguments,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=_service_env(settings),
            start_new_session=True,
        )
    try:
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), SERVICE_START_SECONDS)
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            raise RuntimeError(f"the bench {name} did not start; see {log_path}")
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), stack.SHUTDOWN_GRACE_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()


def _read_model_name(sessions: sessionmaker[Session]) -> str:
    with sessions() as session:
        bind = session.get_bind()
        if bind.dialect.name == "postgresql":
            version = session.scalar(text("SHOW server_version")) or "?"
            return f"PostgreSQL {version.split()[0]}"
        return f"SQLite {session.scalar(text('select sqlite_version()'))} (WAL)"


def bench_token(
    sessions: sessionmaker[Session],
    *,
    agency_id: str,
    country: str,
    kind: identity.AgencyKind,
    agency_name: str,
    user_id: str,
    name: str,
    role: Role,
) -> str:
    """A token for a new user of the agency, registering the agency first if it is missing."""
    with sessions.begin() as session:
        if identity.get_agency(session, agency_id=agency_id) is None:
            identity.create_agency(
                session, agency_id=agency_id, country=country, kind=kind, name=agency_name
            )
        user = identity.create_user(
            session, user_id=user_id, name=name, role=role.value, agency_id=agency_id
        )
        return identity.issue_token(session, user_id=user.id, label="bench").token


def _admin_token(sessions: sessionmaker[Session], *, suffix: str) -> str:
    return bench_token(
        sessions,
        agency_id=CENTRE_AGENCY,
        country="KZ",
        kind=identity.AgencyKind.COORDINATION_CENTRE,
        agency_name="Coordination centre",
        user_id=f"bench-admin-{suffix}",
        name="Bench administrator",
        role=Role.ADMIN,
    )


async def wait_until_healthy(base_url: str) -> None:
    """Until `/health` says "ok": Temporal and the database up, and a worker polling.

    "degraded" (no worker seen yet, as just after start) is not enough: reads of an operation's
    live state and every action would answer 503 until a worker polls.
    """
    deadline = time.monotonic() + SERVICE_START_SECONDS
    async with httpx.AsyncClient(base_url=base_url) as http:
        while time.monotonic() < deadline:
            with suppress(httpx.HTTPError, ValueError):
                response = await http.get("/health")
                if response.status_code == 200 and response.json().get("status") == "ok":
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the bench API at {base_url} did not report a healthy stack")


@asynccontextmanager
async def bench_stack(
    *, postgres_url: str | None, keep_dir: Path | None
) -> AsyncIterator[BenchStack]:
    """Dev server, migrated read model, worker process and API process, all torn down on exit."""
    with tempfile.TemporaryDirectory(prefix="cdtrack-bench-") as scratch:
        data_dir = keep_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        with scratch_read_model(postgres_url) as database_url:
            api_port = free_port()
            settings = Settings(
                data_dir=data_dir,
                temporal_address=f"127.0.0.1:{free_port()}",
                task_queue="cdtrack-bench",
                database_url=database_url,
                api_host="127.0.0.1",
                api_port=api_port,
                public_base_url=f"http://127.0.0.1:{api_port}",
                request_rate_limit=BENCH_REQUEST_RATE_LIMIT,
            )
            # The key file is created once, here, before three processes would race to create it.
            settings.codec_key_ring()
            async with stack.dev_server(settings, ui=False):
                await asyncio.to_thread(stack.migrate_read_model, settings)
                engine = create_engine_for(settings.read_model_url)
                sessions = session_factory(engine)
                try:
                    async with (
                        service_process("worker", settings, log_dir=data_dir) as worker,
                        service_process("api", settings, log_dir=data_dir) as api,
                    ):
                        base_url = settings.public_base_url
                        await wait_until_healthy(base_url)
                        suffix = secrets.token_hex(3)
                        admin = _admin_token(sessions, suffix=suffix)
                        with httpx.Client(base_url=base_url, timeout=60) as http:
                            cast = await asyncio.to_thread(
                                enrol_cast, http, admin_token=admin, suffix=suffix
                            )
                        yield BenchStack(
                            settings=settings,
                            base_url=base_url,
                            client=await connect(settings),
                            floor_client=await Client.connect(
                                settings.temporal_address, namespace=settings.temporal_namespace
                            ),
                            sessions=sessions,
                            worker_pid=worker.pid,
                            api_pid=api.pid,
                            cast=cast,
                            read_model=_read_model_name(sessions),
                            log_dir=data_dir,
                        )
                finally:
                    engine.dispose()


@contextmanager
def scratch_read_model(postgres_url: str | None) -> Iterator[str | None]:
    """A scratch PostgreSQL database's URL, or None for SQLite under the data directory."""
    if postgres_url is None:
        yield None
        return
    with scratch_postgres(postgres_url) as url:
        yield url
