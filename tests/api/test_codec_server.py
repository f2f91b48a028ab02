"""The codec server the Temporal UI decodes through: administrators only, from the UI's origin,
every decode and every refusal in the access log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.protobuf import json_format
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from api.principal import Role
from cdtrack.codec_server import create_codec_app
from cdtrack.settings import Settings
from store.access_log import list_access
from tests.api.conftest import TokenIssuer, bearer
from tests.factories import sample_plan
from workflows.commands import Actor, ActorRole
from workflows.starter import operation_handle, start_operation

pytestmark = pytest.mark.devserver

UI_ORIGIN = "http://temporal-ui.example:8080"
JUSTIFICATION = "Incident 4711: stuck workflow task"
CODE_NAME = "OSPREY-CODEC-7"


@pytest.fixture
def codec(api_settings: Settings) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"codec_ui_origin": UI_ORIGIN})
    with TestClient(create_codec_app(settings)) as client:
        yield client


@pytest.fixture
def read_model_url(sqlite_url: str) -> str:
    return sqlite_url


async def _started_input(env: WorkflowEnvironment) -> dict[str, Any]:
    """The encrypted input of a freshly started operation, as its history holds it."""
    now = datetime.now(UTC)
    operation_id = await start_operation(
        env.client,
        plan=sample_plan(now=now, code_name=CODE_NAME),
        created_by=Actor(agency="caricc", officer="liaison-1", role=ActorRole.COORDINATOR),
        task_queue=f"no-worker-{uuid.uuid4().hex}",
        now=now,
    )
    handle = operation_handle(env.client, operation_id)
    try:
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                payloads = event.workflow_execution_started_event_attributes.input
                return json_format.MessageToDict(payloads)
        raise AssertionError("no start event in the history")
    finally:
        await handle.terminate()


def _refusals(session_maker: sessionmaker[Session]) -> list[tuple[str | None, str | None]]:
    with session_maker() as session:
        return [
            (entry.reason_code, entry.user_id)
            for entry in list_access(session)
            if entry.action == "decode_payloads" and entry.outcome == "refused"
        ]


async def test_an_administrator_reads_a_workflow_input_and_the_decode_is_logged(
    codec: TestClient,
    dev_server_env: WorkflowEnvironment,
    token_for: TokenIssuer,
    session_maker: sessionmaker[Session],
) -> None:
    sealed = await _started_input(dev_server_env)
    assert CODE_NAME not in str(sealed)
    admin = token_for(agency="caricc", role=Role.ADMIN, name="Ops admin", user_id="ops-admin")

    answer = codec.post(
        "/decode",
        json=sealed,
        headers={
            **bearer(admin),
            "Origin": UI_ORIGIN,
            "X-Namespace": "default",
            "X-Justification": JUSTIFICATION,
        },
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == UI_ORIGIN
    decoded = json_format.ParseDict(answer.json(), Payloads())
    assert CODE_NAME in decoded.payloads[0].data.decode()
    with session_maker() as session:
        [entry] = [e for e in list_access(session) if e.action == "decode_payloads"]
    assert (entry.user_id, entry.category) == ("ops-admin", "consultation")
    assert entry.outcome == "allowed"
    assert entry.justification == JUSTIFICATION
    assert entry.detail == {"namespace": "default", "payloads": 1}

    # What it encodes, it decodes again: the UI's round trip.
    encoded = codec.post("/encode", json=answer.json(), headers=bearer(admin))
    assert encoded.status_code == 200
    assert CODE_NAME not in encoded.text


async def test_an_officer_a_missing_token_and_a_wrong_origin_are_refused_and_logged(
    codec: TestClient,
    dev_server_env: WorkflowEnvironment,
    token_for: TokenIssuer,
    session_maker: sessionmaker[Session],
) -> None:
    sealed = await _started_input(dev_server_env)
    officer = token_for(agency="kz-police", role=Role.OFFICER, name="Officer", user_id="kz-1")
    admin = token_for(agency="caricc", role=Role.ADMIN, name="Admin", user_id="admin-1")
    asked = {"X-Justification": JUSTIFICATION, "X-Namespace": "default"}

    as_officer = codec.post("/decode", json=sealed, headers={**bearer(officer), **asked})
    anonymous = codec.post("/decode", json=sealed, headers=asked)
    elsewhere = codec.post(
        "/decode", json=sealed, headers={**bearer(admin), **asked, "Origin": "https://evil.test"}
    )
    preflight = codec.options(
        "/decode",
        headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
    )
    unjustified = codec.post("/decode", json=sealed, headers=bearer(admin))

    assert as_officer.status_code == 403
    assert anonymous.status_code == 401
    assert elsewhere.status_code == 403
    assert "access-control-allow-origin" not in elsewhere.headers
    assert preflight.status_code == 400
    assert unjustified.status_code == 428
    for refused in (as_officer, anonymous, elsewhere, unjustified):
        assert CODE_NAME not in refused.text
    assert _refusals(session_maker) == [
        ("not_admin", "kz-1"),
        ("not_authenticated", None),
        ("origin_not_allowed", None),
        ("no_justification", "admin-1"),
    ]


def test_without_a_configured_origin_the_consoles_is_answered(api_settings: Settings) -> None:
    """`cdtrack up` serves the UI through the console, so the UI calls from the console's origin."""
    asked = {"Access-Control-Request-Method": "POST"}
    with TestClient(create_codec_app(api_settings)) as codec:
        console = codec.options("/decode", headers={**asked, "Origin": "http://127.0.0.1:8000"})
        ui_port = codec.options("/decode", headers={**asked, "Origin": "http://127.0.0.1:8233"})
    assert console.status_code == 200
    assert console.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
    assert ui_port.status_code == 400
