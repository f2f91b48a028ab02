"""The embedded Temporal UI through the console: administrators only, its answers passed on, its
state-changing calls only from the console's own origin, page loads and changes logged; and
once on a real dev server started as `cdtrack up` starts it."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Final

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from cdtrack import stack
from cdtrack.settings import Settings
from store.access_log import AccessEntry, list_access
from tests.api.conftest import NO_TEMPORAL
from tests.test_stack import free_port
from tests.web.fake_ui import INLINE_SCRIPT, WORKFLOWS, FakeUI
from tests.web.people import People, sign_in
from web.app import create_app
from web.deps import COOKIE

CONSOLE_ORIGIN: Final = "http://127.0.0.1:8000"
TERMINATE: Final = "/temporal/api/v1/namespaces/default/workflows/op-1/terminate"


def entries_of(sessions: sessionmaker[Session], user_id: str) -> list[AccessEntry]:
    with sessions() as session:
        return list_access(session, user_id=user_id)


def test_nobody_reaches_the_ui_without_signing_in(console: TestClient, fake_ui: FakeUI) -> None:
    page = console.get("/temporal/namespaces/default/workflows?query=x")
    assert page.status_code == 303
    assert page.headers["location"] == (
        "/sign-in?next=%2Ftemporal%2Fnamespaces%2Fdefault%2Fworkflows%3Fquery%3Dx"
    )
    terminate = console.post(TERMINATE, headers={"Origin": CONSOLE_ORIGIN})
    assert terminate.status_code == 303
    assert terminate.headers["location"].startswith("/sign-in")
    assert fake_ui.received == []


def test_an_administrator_signing_in_lands_on_the_ui(
    console: TestClient, people: People, fake_ui: FakeUI
) -> None:
    landed = sign_in(console, people.add("admin-ui", role=Role.ADMIN), next_path="/temporal/")
    assert landed.headers["location"] == "/temporal/"
    assert "the fake Temporal UI" in console.get("/temporal/").text


def test_other_roles_get_the_refusal_and_the_ui_hears_nothing(
    console: TestClient, people: People, fake_ui: FakeUI
) -> None:
    sign_in(console, people.add("officer-ui"))
    assert 'href="/temporal/"' not in console.get("/").text
    for answer in (
        console.get("/temporal/"),
        console.post(TERMINATE, headers={"Origin": CONSOLE_ORIGIN}, json={"reason": "x"}),
    ):
        assert answer.status_code == 403
        assert "This page is not part of your role." in answer.text
    assert fake_ui.received == []


def test_an_administrator_gets_the_uis_answers_with_its_page_policy(
    console: TestClient, people: People, fake_ui: FakeUI, console_sessions: sessionmaker[Session]
) -> None:
    sign_in(console, people.add("admin-ui", role=Role.ADMIN, agency="caricc"))
    assert 'href="/temporal/">Temporal</a>' in console.get("/").text

    page = console.get("/temporal/")
    assert page.status_code == 200
    assert "the fake Temporal UI" in page.text
    digest = base64.b64encode(hashlib.sha256(INLINE_SCRIPT.encode()).digest()).decode()
    policy = page.headers["content-security-policy"]
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert "frame-ancestors 'none'" in policy
    # Its API and its codec are the console's own routes: nothing else is reached.
    assert "connect-src 'self';" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    # The UI's own CSRF cookie reaches the browser; the console's session never reaches the UI.
    assert "_csrf=ui-csrf-token" in page.headers["set-cookie"]
    assert console.cookies.get(COOKIE)
    assert all(COOKIE not in seen.headers.get("cookie", "") for seen in fake_ui.received)

    listed = console.get("/temporal/api/v1/namespaces/default/workflows")
    assert listed.status_code == 200
    assert listed.json() == WORKFLOWS
    missing = console.get("/temporal/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.text == "Not Found"

    views = [e for e in entries_of(console_sessions, "admin-ui") if e.action == "temporal_ui.view"]
    # One entry for the page; the API calls it makes are not pages.
    assert [(e.category, e.outcome, e.detail["path"]) for e in views] == [
        ("consultation", "allowed", "/temporal/")
    ]


def test_a_change_is_passed_on_only_from_the_consoles_own_origin(
    console: TestClient, people: People, fake_ui: FakeUI, console_sessions: sessionmaker[Session]
) -> None:
    sign_in(console, people.add("admin-change", role=Role.ADMIN, agency="caricc"))
    console.get("/temporal/")
    fake_ui.received.clear()

    for origin in ({"Origin": "http://attacker.example"}, {}):
        refused = console.post(TERMINATE, headers=origin, json={"reason": "leak"})
        assert refused.status_code == 403
        assert "did not come from the console's own pages" in refused.text
    assert fake_ui.received == []

    done = console.post(
        TERMINATE,
        headers={"Origin": CONSOLE_ORIGIN, "X-CSRF-TOKEN": "ui-csrf-token"},
        json={"reason": "operation aborted"},
    )
    assert done.status_code == 200
    [terminated] = fake_ui.received
    assert (terminated.method, terminated.path) == ("POST", TERMINATE)
    assert terminated.body == b'{"reason":"operation aborted"}'
    assert terminated.headers["x-csrf-token"] == "ui-csrf-token"
    assert terminated.headers["cookie"] == "_csrf=ui-csrf-token"

    changes = [
        (e.category, e.outcome, e.reason_code, e.detail.get("status"))
        for e in entries_of(console_sessions, "admin-change")
        if e.action == "temporal_ui.change"
    ]
    assert changes == [
        ("alteration", "refused", "origin_not_allowed", None),
        ("alteration", "refused", "origin_not_allowed", None),
        ("alteration", "allowed", None, 200),
    ]


def test_a_ui_that_does_not_answer_gets_a_page_saying_so(
    console_settings: Settings, people: People
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app = create_app(
        console_settings,
        temporal_client=NO_TEMPORAL,
        temporal_ui_transport=httpx.MockTransport(refuse),
    )
    with TestClient(app, base_url=CONSOLE_ORIGIN, follow_redirects=False) as client:
        sign_in(client, people.add("admin-ui-down", role=Role.ADMIN, agency="caricc"))
        answer = client.get("/temporal/")
    assert answer.status_code == 502
    assert "The Temporal UI does not answer." in answer.text


def test_without_an_embedded_ui_there_is_no_route_and_no_link(
    console_settings: Settings, people: People
) -> None:
    settings = console_settings.model_copy(update={"temporal_ui_url": None})
    app = create_app(settings, temporal_client=NO_TEMPORAL)
    with TestClient(app, base_url=CONSOLE_ORIGIN, follow_redirects=False) as client:
        sign_in(client, people.add("admin-no-ui", role=Role.ADMIN, agency="caricc"))
        assert 'href="/temporal/"' not in client.get("/").text
        assert client.get("/temporal/").status_code == 404


def listening_addresses(port: int) -> set[str]:
    """The addresses something on this machine listens on at `port`."""
    found = set()
    for connection in psutil.net_connections(kind="inet"):
        if connection.status == psutil.CONN_LISTEN and len(connection.laddr) == 2:
            ip, bound = connection.laddr
            if bound == port:
                found.add(ip)
    return found


@pytest.fixture
def ui_stack_settings(console_settings: Settings, tmp_path: Path) -> Settings:
    return console_settings.model_copy(
        update={
            "data_dir": tmp_path / "stack",
            "temporal_address": f"127.0.0.1:{free_port()}",
            "temporal_ui_port": free_port(),
            "temporal_ui_url": None,
        }
    )


@pytest.mark.devserver
@pytest.mark.parametrize("read_model_url", ["sqlite"], indirect=True)
async def test_the_real_ui_is_served_through_the_console_and_only_on_loopback(
    ui_stack_settings: Settings, people: People
) -> None:
    admin = people.add("admin-real-ui", role=Role.ADMIN, agency="caricc")
    codec_endpoint = ui_stack_settings.console_codec_endpoint
    async with stack.dev_server(
        ui_stack_settings, ui=True, codec_endpoint=codec_endpoint
    ) as server:
        assert server.ui_url is not None
        settings = ui_stack_settings.model_copy(update={"temporal_ui_url": server.ui_url})
        app = create_app(settings, temporal_client=NO_TEMPORAL)
        with TestClient(app, base_url=CONSOLE_ORIGIN, follow_redirects=False) as client:
            sign_in(client, admin)
            page = client.get("/temporal/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            # The UI's own index page, its assets linked under the console's /temporal/.
            assert '<html lang="en">' in page.text
            assert "/temporal/_app/immutable/entry/start." in page.text
            ui_settings = client.get("/temporal/api/v1/settings")
            assert ui_settings.status_code == 200
            # The UI decodes through the console, with the administrator's session.
            assert ui_settings.json()["Codec"]["Endpoint"] == "http://127.0.0.1:8000/temporal-codec"
        listening = listening_addresses(settings.temporal_ui_port)
        assert listening == {"127.0.0.1"}
