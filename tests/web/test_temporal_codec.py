"""The codec the embedded Temporal UI decodes through, on the console's own origin: a signed-in
administrator reads the plaintext of a payload the project's codec encrypted, each decode a
consultation in the access log; no session, another role and another origin are refused and
logged; without the embedded UI there is no such route."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from fastapi.testclient import TestClient
from google.protobuf import json_format
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.common.v1 import Payload, Payloads

from api.principal import Role
from cdtrack.codec import ENCRYPTED_ENCODING, EncryptionCodec
from cdtrack.settings import Settings
from store.access_log import AccessEntry, list_access
from tests.api.conftest import NO_TEMPORAL
from tests.web.people import People, sign_in
from web.app import create_app
from web.routes.temporal_codec import UI_JUSTIFICATION

CONSOLE_ORIGIN: Final = "http://127.0.0.1:8000"
DECODE: Final = "/temporal-codec/decode"
ENCODE: Final = "/temporal-codec/encode"
# What a workflow's input carries: it must never be readable in a refused answer.
PLAIN_INPUT: Final = {"code_name": "OSPREY-UI-CODEC", "lead_agency": "kz-police"}
FROM_THE_UI: Final = {"Origin": CONSOLE_ORIGIN, "X-Namespace": "default"}


def sealed_input(settings: Settings) -> dict[str, Any]:
    """A workflow input as the worker's codec sends it to Temporal, in the protocol's JSON."""
    active, keys = settings.codec_key_ring()
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(PLAIN_INPUT).encode())
    sealed = asyncio.run(EncryptionCodec(active_key_id=active, keys=keys).encode([plain]))
    document: dict[str, Any] = json_format.MessageToDict(Payloads(payloads=sealed))
    return document


def payloads_of(answer: dict[str, Any]) -> list[Payload]:
    return list(json_format.ParseDict(answer, Payloads()).payloads)


@contextmanager
def console_of(settings: Settings) -> Iterator[TestClient]:
    """The console on settings of a test's own (the `console` fixture has the test defaults)."""
    app = create_app(settings, temporal_client=NO_TEMPORAL)
    with TestClient(app, base_url=CONSOLE_ORIGIN, follow_redirects=False) as client:
        yield client


def decodes_of(sessions: sessionmaker[Session]) -> list[AccessEntry]:
    with sessions() as session:
        return [e for e in list_access(session) if e.action == "decode_payloads"]


def test_an_administrator_reads_the_plaintext_and_the_decode_is_a_consultation(
    console: TestClient,
    console_settings: Settings,
    people: People,
    console_sessions: sessionmaker[Session],
) -> None:
    sealed = sealed_input(console_settings)
    assert PLAIN_INPUT["code_name"] not in json.dumps(sealed)
    sign_in(console, people.add("admin-codec", role=Role.ADMIN, agency="caricc"))

    answer = console.post(DECODE, json=sealed, headers=FROM_THE_UI)

    assert answer.status_code == 200, answer.text
    [decoded] = payloads_of(answer.json())
    assert decoded.metadata["encoding"] == b"json/plain"
    assert json.loads(decoded.data) == PLAIN_INPUT
    [entry] = decodes_of(console_sessions)
    assert (entry.user_id, entry.category, entry.outcome) == (
        "admin-codec",
        "consultation",
        "allowed",
    )
    assert entry.justification == UI_JUSTIFICATION
    assert entry.detail == {"namespace": "default", "payloads": 1}

    # A signal's input typed in the UI goes to the workflow encrypted, and reads back.
    encoded = console.post(ENCODE, json=answer.json(), headers=FROM_THE_UI)
    assert encoded.status_code == 200, encoded.text
    [resealed] = payloads_of(encoded.json())
    assert resealed.metadata["encoding"] == ENCRYPTED_ENCODING
    assert PLAIN_INPUT["code_name"] not in encoded.text
    again = console.post(DECODE, json=encoded.json(), headers=FROM_THE_UI)
    assert json.loads(payloads_of(again.json())[0].data) == PLAIN_INPUT


def test_the_configured_ui_justification_is_the_one_logged(
    console_settings: Settings, people: People, console_sessions: sessionmaker[Session]
) -> None:
    settings = console_settings.model_copy(
        update={"codec_ui_justification": "Incident 4711: stuck workflow task"}
    )
    with console_of(settings) as client:
        sign_in(client, people.add("admin-codec-reason", role=Role.ADMIN, agency="caricc"))
        answer = client.post(DECODE, json=sealed_input(settings), headers=FROM_THE_UI)
    assert answer.status_code == 200, answer.text
    [entry] = decodes_of(console_sessions)
    assert entry.justification == "Incident 4711: stuck workflow task"


def test_no_session_another_role_and_another_origin_are_refused_and_logged(
    console: TestClient,
    console_settings: Settings,
    people: People,
    console_sessions: sessionmaker[Session],
) -> None:
    sealed = sealed_input(console_settings)
    anonymous = console.post(DECODE, json=sealed, headers=FROM_THE_UI)

    sign_in(console, people.add("officer-codec"))
    as_officer = console.post(DECODE, json=sealed, headers=FROM_THE_UI)
    console.cookies.clear()

    sign_in(console, people.add("admin-codec-away", role=Role.ADMIN, agency="caricc"))
    elsewhere = console.post(
        DECODE, json=sealed, headers={**FROM_THE_UI, "Origin": "http://attacker.example"}
    )
    no_origin = console.post(DECODE, json=sealed, headers={"X-Namespace": "default"})
    encode_elsewhere = console.post(
        ENCODE, json=sealed, headers={**FROM_THE_UI, "Origin": "http://attacker.example"}
    )

    assert anonymous.status_code == 401
    assert "Sign in to the console as an administrator" in anonymous.json()["detail"]
    assert as_officer.status_code == 403
    assert as_officer.json()["detail"] == "Decoding payloads needs the role admin."
    for refused in (elsewhere, no_origin, encode_elsewhere):
        assert refused.status_code == 403
        assert refused.json()["detail"] == "Requests from this origin are not accepted."
    for refused in (anonymous, as_officer, elsewhere, no_origin, encode_elsewhere):
        assert PLAIN_INPUT["code_name"] not in refused.text
    with console_sessions() as session:
        refusals = [
            (e.action, e.reason_code, e.user_id, e.detail)
            for e in list_access(session)
            if e.action in {"decode_payloads", "encode_payloads"}
        ]
    namespace = {"namespace": "default"}
    assert refusals == [
        ("decode_payloads", "not_authenticated", None, namespace),
        ("decode_payloads", "not_admin", "officer-codec", namespace),
        ("decode_payloads", "origin_not_allowed", "admin-codec-away", namespace),
        ("decode_payloads", "origin_not_allowed", "admin-codec-away", namespace),
        ("encode_payloads", "origin_not_allowed", "admin-codec-away", namespace),
    ]
    assert all(e.outcome == "refused" for e in decodes_of(console_sessions))


def test_without_an_embedded_ui_there_is_no_codec_route(
    console_settings: Settings, people: People
) -> None:
    settings = console_settings.model_copy(update={"temporal_ui_url": None})
    with console_of(settings) as client:
        sign_in(client, people.add("admin-no-codec", role=Role.ADMIN, agency="caricc"))
        for path in (DECODE, ENCODE):
            answer = client.post(path, json=sealed_input(settings), headers=FROM_THE_UI)
            assert answer.status_code == 404, path
