"""Sessions, CSRF, throttled sign-in and headers of the console, over HTTP on SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from cdtrack.settings import Settings
from store.console import ConsoleSessionRow
from tests.api.conftest import NO_TEMPORAL
from tests.web.people import People, csrf_of, sign_in
from web.app import create_app


def _preference(client: TestClient, *, csrf: str | None, zone: str) -> Any:
    data = {"language": "ru", "time_zone": zone}
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post("/preferences", data=data)


def test_a_form_without_the_session_csrf_token_is_refused_and_changes_nothing(
    console: TestClient, people: People
) -> None:
    sign_in(console, people.add("officer-csrf"))
    form = console.get("/preferences")
    assert form.status_code == 200

    for csrf in (None, "forged-token"):
        refused = _preference(console, csrf=csrf, zone="Asia/Almaty")
        assert refused.status_code == 403
        assert "expired or was not sent from this console" in refused.text
    assert "selected>Asia/Almaty" not in console.get("/preferences").text

    accepted = _preference(console, csrf=csrf_of(form.text), zone="Asia/Almaty")
    assert accepted.status_code == 303
    # Saved: the page now speaks Russian, the viewer's choice.
    page = console.get("/preferences")
    assert "selected>Asia/Almaty" in page.text
    assert "Настройки" in page.text


def test_a_session_is_refused_after_sign_out(console: TestClient, people: People) -> None:
    sign_in(console, people.add("officer-out"))
    page = console.get("/")
    assert page.status_code == 200
    token = console.cookies.get("cdtrack_session")
    assert console.post("/sign-out", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    # The old cookie, presented again, is worth nothing.
    console.cookies.set("cdtrack_session", token or "")
    refused = console.get("/")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/sign-in")


def test_a_session_is_refused_once_its_user_is_deactivated(
    console: TestClient, people: People
) -> None:
    officer = people.add("officer-gone")
    sign_in(console, officer)
    assert console.get("/").status_code == 200
    people.deactivate(officer)
    refused = console.get("/")
    assert refused.status_code == 303
    assert refused.headers["location"] == "/sign-in?next=%2F"


def test_a_session_is_refused_after_its_idle_timeout(
    console_settings: Settings, people: People
) -> None:
    settings = console_settings.model_copy(update={"console_idle_timeout_seconds": 1.5})
    app = create_app(settings, temporal_client=NO_TEMPORAL)
    with TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
        sign_in(client, people.add("officer-idle"))
        assert client.get("/").status_code == 200
        time.sleep(2)
        refused = client.get("/")
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/sign-in")


def _last_seen(
    sessions: sessionmaker[Session], user_id: str, *, set_to: datetime | None = None
) -> datetime:
    with sessions.begin() as session:
        row = session.scalars(
            select(ConsoleSessionRow).where(ConsoleSessionRow.user_id == user_id)
        ).one()
        if set_to is not None:
            row.last_seen_at = set_to
        return row.last_seen_at


def test_a_session_in_use_has_its_last_use_written_at_most_every_thirty_seconds(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    officer = people.add("officer-busy")
    sign_in(console, officer)
    # Written 10 s ago: a request now leaves it (no write on every request of a busy page).
    recent = _last_seen(
        console_sessions, officer.user_id, set_to=datetime.now(UTC) - timedelta(seconds=10)
    )
    assert console.get("/").status_code == 200
    assert _last_seen(console_sessions, officer.user_id) == recent
    # Written 40 s ago: a request now writes it, so the idle timeout counts from this request.
    before = datetime.now(UTC)
    _last_seen(console_sessions, officer.user_id, set_to=before - timedelta(seconds=40))
    assert console.get("/").status_code == 200
    assert _last_seen(console_sessions, officer.user_id) >= before


def _try_password(client: TestClient, user_id: str, password: str) -> Any:
    form = client.get("/sign-in")
    return client.post(
        "/sign-in",
        data={"user_id": user_id, "password": password, "csrf_token": csrf_of(form.text)},
    )


def test_the_sixth_wrong_password_is_refused_even_with_the_right_one(
    console: TestClient, people: People
) -> None:
    officer = people.add("officer-guessed")
    for _ in range(5):
        wrong = _try_password(console, officer.user_id, "not the password at all")
        assert wrong.status_code == 401
        assert "not right" in wrong.text
    refused = _try_password(console, officer.user_id, officer.password)
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.text
    assert console.get("/").status_code == 303  # not signed in


def test_sign_in_lands_only_on_a_path_of_this_site(console: TestClient, people: People) -> None:
    officer = people.add("officer-next")
    done = sign_in(console, officer, next_path="//evil.example/phish")
    assert done.headers["location"] == "/"


def test_a_wrong_code_does_not_sign_in(console: TestClient, people: People) -> None:
    officer = people.add("officer-code")
    form = console.get("/sign-in")
    console.post(
        "/sign-in",
        data={
            "user_id": officer.user_id,
            "password": officer.password,
            "csrf_token": csrf_of(form.text),
        },
    )
    second = console.get("/sign-in/second-factor")
    wrong = console.post(
        "/sign-in/second-factor", data={"code": "000000", "csrf_token": csrf_of(second.text)}
    )
    assert wrong.status_code == 401
    assert console.get("/").status_code == 303


def test_every_console_page_sends_the_strict_headers(console: TestClient, people: People) -> None:
    sign_in(console, people.add("officer-headers", role=Role.COORDINATOR, agency="caricc"))
    for path in ("/", "/preferences", "/sign-in", "/no-such-page"):
        answer = console.get(path)
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path
        assert "frame-ancestors 'none'" in policy, path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert answer.headers["referrer-policy"] == "no-referrer", path
        assert answer.headers["cache-control"] == "no-store", path
    cookie = next(c for c in console.cookies.jar if c.name == "cdtrack_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
