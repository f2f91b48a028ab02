"""A person's action is followed by its request id from the API's log into the worker's.

The API serves in this process, `cdtrack worker` runs in a process of its own writing JSON log
lines to a file, both on the real dev server. Each request of a whole operation is sent with an
X-Request-ID of the test's choosing (one of them malformed); the worker's lines for the
activities a request caused (the read-model projection, the agencies' notices) carry the id the
API answered with, and the workflow's own work (the closing assessment) carries none. An
action whose projection fails keeps its id on every line of its retries.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.debrief import DebriefActivities
from api.principal import Role
from cdtrack.observability import REQUEST_ID_HEADER, RequestIdInterceptor, request_id_var
from cdtrack.walkthrough import Walkthrough, enrol_cast
from cdtrack.worker import build_worker, notification_activities
from store.session import create_engine_for, session_factory
from tests.api.conftest import issue_token
from tests.api.live import free_port, serving
from tests.deploy.processes import WorkerProcess
from tests.factories import sample_plan
from tests.temporal_env import TEST_CODEC_KEY, converter_for_tests, settings_for_tests
from tests.workflows.conftest import STRICT_SANDBOX
from tests.workflows.operations import OperationDriver
from tests.workflows.test_projection_retried import QUICK_RETRY, FailingReadModel
from workflows.operation import ControlledDeliveryWorkflow
from workflows.starter import operation_handle

pytestmark = [pytest.mark.devserver, pytest.mark.postgres]

# Sent with the launch: spaces and punctuation a log line must not take in.
MALFORMED: Final = "launch; not an id"


@dataclass(frozen=True)
class Exchange:
    """One request of the walk: the id the test sent and the id the API answered with."""

    method: str
    path: str
    sent: str
    answered: str


@pytest.fixture
def sessions(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine_for(postgres_url)
    yield session_factory(engine)
    engine.dispose()


def _walk(base_url: str, *, admin_token: str) -> tuple[str, list[Exchange]]:
    """The sample operation from creation to closed, each request with an id of our choosing."""
    exchanges: list[Exchange] = []

    def choose(request: httpx.Request) -> None:
        launching = request.url.path.endswith("/launch-operation")
        chosen = MALFORMED if launching else f"walk-{secrets.token_hex(8)}"
        request.headers[REQUEST_ID_HEADER] = chosen

    def note(response: httpx.Response) -> None:
        request = response.request
        exchanges.append(
            Exchange(
                method=request.method,
                path=request.url.path,
                sent=request.headers[REQUEST_ID_HEADER],
                answered=response.headers[REQUEST_ID_HEADER],
            )
        )

    hooks: dict[str, list[Any]] = {"request": [choose], "response": [note]}
    with httpx.Client(base_url=base_url, timeout=60, event_hooks=hooks) as http:
        cast = enrol_cast(http, admin_token=admin_token, suffix=secrets.token_hex(3))
        operation_id = Walkthrough(http, cast).run(code_name="REQID")
    return operation_id, exchanges


def _one(exchanges: list[Exchange], method: str, path_ends: str) -> Exchange:
    found = [e for e in exchanges if e.method == method and e.path.endswith(path_ends)]
    assert found, f"no {method} ...{path_ends} in the walk"
    return found[0]


async def _ready(worker: WorkerProcess) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        deadline = time.monotonic() + 60
        while not await worker.ready(http):
            assert worker.process is not None
            assert worker.process.poll() is None, f"the worker exited: {worker.log.read_text()}"
            assert time.monotonic() < deadline, "the worker never became ready"
            await asyncio.sleep(0.3)


async def test_a_request_id_is_followed_from_the_api_log_into_the_worker_log(
    dev_server_env: WorkflowEnvironment,
    postgres_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    log_lines: io.StringIO,
) -> None:
    client = dev_server_env.client
    target = client.service_client.config.target_host
    task_queue = f"reqid-{uuid.uuid4().hex}"
    worker = WorkerProcess(
        {
            **os.environ,
            "CDTRACK_TEMPORAL_ADDRESS": target,
            "CDTRACK_TASK_QUEUE": task_queue,
            "CDTRACK_DATABASE_URL": postgres_url,
            "CDTRACK_CODEC_KEYS": json.dumps({"test-1": TEST_CODEC_KEY}),
            "CDTRACK_CODEC_ACTIVE_KEY_ID": "test-1",
            "CDTRACK_DATA_DIR": str(tmp_path),
            "CDTRACK_LOG_FORMAT": "json",
            # Debug, to see the lines of the work no request caused too.
            "CDTRACK_LOG_LEVEL": "debug",
        },
        log=tmp_path / "worker.log",
    )
    settings = settings_for_tests(
        database_url=postgres_url,
        data_dir=tmp_path,
        temporal_address=target,
        task_queue=task_queue,
        api_port=free_port(),
    )
    admin = issue_token(sessions, agency="caricc", role=Role.ADMIN, name="Administrator")
    worker.start()
    try:
        await _ready(worker)
        with serving(settings) as base_url:
            operation_id, exchanges = await asyncio.to_thread(_walk, base_url, admin_token=admin)
        handle = operation_handle(client, operation_id)
        assert (await handle.result()).phase == "closed"
        history = await handle.fetch_history()
    finally:
        worker.kill()

    worker_text = worker.log.read_text()
    records = [json.loads(line) for line in worker_text.splitlines() if line.startswith("{")]
    activities = [r for r in records if r.get("logger") == "cdtrack.activity"]
    caused: dict[str, list[str]] = defaultdict(list)
    for line in activities:
        if "request_id" in line:
            caused[line["request_id"]].append(line["activity"])

    # The creation's own workflow task: its first projection and the notices to the agencies.
    creation = _one(exchanges, "POST", "/api/v1/operations")
    assert creation.answered == creation.sent
    assert set(caused[creation.answered]) == {"project_operation", "notify_agencies"}
    # An Update's handler: the projection it waits for and the notice of the offered handover.
    offer = _one(exchanges, "POST", "/offer-handover")
    assert offer.answered == offer.sent
    assert {"project_operation", "notify_agencies"} <= set(caused[offer.answered])
    acknowledgement = _one(exchanges, "POST", "/acknowledge-handover")
    assert "project_operation" in caused[acknowledgement.answered]
    # A malformed id is replaced by the API; the worker's lines carry the replacement.
    launch = _one(exchanges, "POST", "/launch-operation")
    assert re.fullmatch(r"[0-9a-f]{16}", launch.answered)
    assert "project_operation" in caused[launch.answered]
    assert MALFORMED not in worker_text
    assert MALFORMED not in log_lines.getvalue()
    # Only ids the API answered with, and the closing assessment (the workflow's own) has none.
    assert set(caused) <= {e.answered for e in exchanges}
    assessments = [line for line in activities if line["activity"] == "assess_operation"]
    assert assessments, "the operation was closed without its assessment"
    assert all("request_id" not in line for line in assessments)
    # What a request caused is written at info, for a production log to show it.
    assert all(line["level"] == "info" for line in activities if "request_id" in line)

    # The API's line for the same request: one id, from the API's log into the worker's.
    api_records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    routes = {r["request_id"]: r["route"] for r in api_records if r["event"] == "request"}
    assert routes[offer.answered] == "/api/v1/operations/{operation_id}/offer-handover"

    # Headers on the commands do not change replay, with or without the interceptors.
    for interceptors in ([], [RequestIdInterceptor()]):
        replayer = Replayer(
            workflows=[ControlledDeliveryWorkflow],
            data_converter=converter_for_tests(),
            interceptors=interceptors,
        )
        replayed = await replayer.replay_workflow(history)
        assert replayed.replay_failure is None


async def _checkpoint_failing_twice(
    worker: Worker, client: Client, read_model: FailingReadModel, *, chosen: str
) -> None:
    """A checkpoint reported with the request id `chosen`; its first two projections fail."""
    async with worker:
        now = datetime.now(UTC)
        operation = await OperationDriver.start(
            client,
            plan=sample_plan(now=now),
            task_queue=worker.task_queue,
            now=now,
            projection_retry=QUICK_RETRY,
        )
        await operation.launch(now=now)
        read_model.fail_next(2)
        # As the API's middleware does while a request runs.
        token = request_id_var.set(chosen)
        try:
            await operation.checkpoint(operation.agency_of("AF"), "Sherkhan Bandar", "AF")
        finally:
            request_id_var.reset(token)


async def test_an_action_whose_projection_fails_keeps_its_request_id_on_every_retry_line(
    dev_server_env: WorkflowEnvironment,
    sqlite_url: str,
    activity_executor: ThreadPoolExecutor,
    log_lines: io.StringIO,
) -> None:
    config = dev_server_env.client.config()
    config["interceptors"] = [RequestIdInterceptor()]
    client = Client(**config)
    engine = create_engine_for(sqlite_url)
    sessions = session_factory(engine)
    read_model = FailingReadModel(sessions)
    task_queue = f"reqid-retry-{uuid.uuid4().hex}"
    worker = build_worker(
        client,
        task_queue=task_queue,
        read_model=read_model,
        notifications=notification_activities(settings_for_tests(), sessions),
        debrief=DebriefActivities(sessions),
        activity_executor=activity_executor,
        workflow_runner=STRICT_SANDBOX,
    )
    chosen = f"checkpoint-{secrets.token_hex(6)}"
    try:
        await _checkpoint_failing_twice(worker, client, read_model, chosen=chosen)
    finally:
        engine.dispose()

    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    # Nothing else was sent with a request id: every id on a line is the checkpoint's.
    assert {r["request_id"] for r in records if "request_id" in r} == {chosen}
    acting = [r for r in records if r.get("request_id") == chosen]
    ended = [(r["outcome"], r.get("error")) for r in acting if r["logger"] == "cdtrack.activity"]
    assert ended == [
        ("failed", "ReadModelDownError"),
        ("failed", "ReadModelDownError"),
        ("completed", None),
    ]
    # The workflow's warning from the Update's handler and the SDK's own about each failure.
    retried = [r for r in acting if r["logger"] == "temporalio.workflow"]
    assert [r["level"] for r in retried] == ["warning", "warning"]
    assert all("read model projection" in r["event"] for r in retried)
    failed = [r for r in acting if r["logger"] == "temporalio.activity" and r["level"] == "warning"]
    assert len(failed) == 2
