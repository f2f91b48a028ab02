"""A live stack for HTTP tests: the API under uvicorn on a real port, a worker, the dev server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.principal import Role
from cdtrack.settings import Settings
from cdtrack.walkthrough import SAMPLE_AGENCIES, Cast
from store.session import create_engine_for, session_factory
from tests.api.conftest import issue_token
from tests.temporal_env import settings_for_tests, start_dev_server
from tests.workflows.conftest import make_worker
from web.app import create_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(settings: Settings, *, tracing: TracerProvider | None = None) -> Iterator[str]:
    """The API on a real socket, in its own thread and event loop, as a deployment runs it."""
    config = uvicorn.Config(
        create_app(settings, tracing=tracing),
        host="127.0.0.1",
        port=settings.api_port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.api_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@asynccontextmanager
async def serving_process(
    settings: Settings, *, command: list[str] | None = None
) -> AsyncIterator[str]:
    """The API as `cdtrack api` runs it (or `command`), in a process of its own: killed at the
    end."""
    environment = {
        **os.environ,
        **{
            f"CDTRACK_{name.upper()}": value
            for name, value in {
                "database_url": settings.read_model_url,
                "temporal_address": settings.temporal_address,
                "task_queue": settings.task_queue,
                "api_port": str(settings.api_port),
                "data_dir": str(settings.data_dir),
                "codec_keys": json.dumps(
                    {k: v.get_secret_value() for k, v in settings.codec_keys.items()}
                ),
                "codec_active_key_id": settings.codec_active_key_id or "",
            }.items()
        },
    }
    command = command or [str(Path(sys.executable).parent / "cdtrack"), "api", "--no-migrate"]
    # A session of its own, so the API's rendering processes go with it at the end.
    process = subprocess.Popen(command, env=environment, start_new_session=True)  # noqa: ASYNC220
    base_url = f"http://127.0.0.1:{settings.api_port}"
    deadline = time.monotonic() + 60
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
            while True:
                try:
                    # Up, and seeing the worker poll: a request now reaches a workflow.
                    if (await http.get("/health")).json().get("status") == "ok":
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API process did not start")
                await asyncio.sleep(0.2)
        yield base_url
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group may have ended already
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@dataclass
class LiveStack:
    base_url: str
    settings: Settings
    sessions: sessionmaker[Session]
    cast: Cast

    def token(self, *, agency: str, role: Role, name: str, country: str = "KZ") -> str:
        return issue_token(self.sessions, agency=agency, role=role, name=name, country=country)


@pytest.fixture
def live_database_url(request: pytest.FixtureRequest) -> str:
    """The live stack's read model: PostgreSQL as in production, or ("sqlite") the embedded one."""
    url: str = request.getfixturevalue(f"{getattr(request, 'param', 'postgres')}_url")
    return url


# Where a live stack on a dev server of its own ("own-temporal") keeps that server's database.
TEMPORAL_DATABASE = "temporal.db"


@pytest.fixture
async def live_stack(
    request: pytest.FixtureRequest,
    dev_server_env: WorkflowEnvironment,
    live_database_url: str,
    tmp_path: Path,
    activity_executor: ThreadPoolExecutor,
) -> AsyncIterator[LiveStack]:
    """The stack on the session's dev server, or ("own-temporal", indirect) on a dev server of
    the test's own that keeps its history in `tmp_path / TEMPORAL_DATABASE`."""
    async with AsyncExitStack() as temporal:
        env = dev_server_env
        if getattr(request, "param", "shared-temporal") == "own-temporal":
            env = await start_dev_server(database=tmp_path / TEMPORAL_DATABASE)
            await temporal.enter_async_context(env)
        # A process of its own where the API's responsiveness is measured: in a thread, it
        # would share the interpreter lock with the worker and the test's own clients.
        separate = request.node.get_closest_marker("api_process") is not None
        async for stack in _live_stack(
            env, live_database_url, tmp_path, activity_executor, api_process=separate
        ):
            yield stack


async def _live_stack(
    dev_server_env: WorkflowEnvironment,
    live_database_url: str,
    tmp_path: Path,
    activity_executor: ThreadPoolExecutor,
    *,
    api_process: bool,
) -> AsyncIterator[LiveStack]:
    task_queue = f"operations-{uuid.uuid4().hex}"
    settings = settings_for_tests(
        database_url=live_database_url,
        data_dir=tmp_path,
        temporal_address=dev_server_env.client.service_client.config.target_host,
        task_queue=task_queue,
        api_port=free_port(),
    )
    engine = create_engine_for(live_database_url)
    sessions = session_factory(engine)
    coordinator = issue_token(
        sessions, agency="caricc", role=Role.COORDINATOR, name="Liaison officer", country="KZ"
    )
    officers = {
        agency["id"]: issue_token(
            sessions,
            agency=agency["id"],
            role=Role.OFFICER,
            name=f"Duty officer {agency['id']}",
            country=agency["country"],
        )
        for agency in SAMPLE_AGENCIES
    }
    worker = make_worker(dev_server_env, sessions, activity_executor, task_queue)
    try:
        async with worker, AsyncExitStack() as serving_api:
            if api_process:
                base_url = await serving_api.enter_async_context(serving_process(settings))
            else:
                base_url = serving_api.enter_context(serving(settings))
            yield LiveStack(base_url, settings, sessions, Cast(coordinator, officers))
    finally:
        engine.dispose()
