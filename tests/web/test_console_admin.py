"""The administration pages over HTTP, on SQLite and PostgreSQL: an administrator manages agencies,
users, second factors, API tokens and reads the access log; every other role is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from api.schemas.agencies import masked_url
from cdtrack.settings import Settings
from i18n import Language
from store import identity
from store.access_log import (
    AccessCategory,
    Accessor,
    append_access,
    frontier_of,
    integrate_pending,
    publish_head,
)
from store.notifications import add_target
from tests.api.conftest import bearer
from tests.web.people import PASSWORD, People, Person, csrf_of, sign_in
from workflows.notices import Purpose

ADMIN_PAGES = (
    "/admin",
    "/admin/agencies",
    "/admin/agencies/kz-police",
    "/admin/users",
    "/admin/users/officer-seen",
    "/admin/access-log",
    "/admin/access-log/verify",
)


def _admin(console: TestClient, people: People) -> Person:
    admin = people.add("admin-one", role=Role.ADMIN, agency="caricc")
    sign_in(console, admin)
    return admin


def _csrf(console: TestClient, page: str = "/admin") -> str:
    return csrf_of(console.get(page).text)


def _user_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(identity.list_users(session))


@pytest.mark.parametrize("role", [Role.OFFICER, Role.COORDINATOR, Role.ANALYST])
def test_other_roles_are_refused_every_administration_page_and_form(
    console: TestClient, people: People, console_sessions: sessionmaker[Session], role: Role
) -> None:
    people.add("officer-seen")
    sign_in(console, people.add(f"not-admin-{role.value}", role=role))
    for page in ADMIN_PAGES:
        answer = console.get(page)
        assert answer.status_code == 403, page
        assert "This page is not part of your role." in answer.text
    before = _user_count(console_sessions)
    csrf = csrf_of(console.get("/").text)
    posts = {
        "/admin/agencies": {"id": "xx-police", "name": "X", "country": "KZ", "kind": "police"},
        "/admin/users": {"id": "sneaky", "name": "S", "role": "admin", "agency_id": "kz-police"},
        "/admin/users/officer-seen/deactivate": {},
        "/admin/users/officer-seen/reset-second-factor": {},
        "/admin/users/officer-seen/tokens": {"label": "mine now"},
        "/admin/tokens/any/revoke": {},
    }
    for path, data in posts.items():
        refused = console.post(path, data={**data, "csrf_token": csrf})
        assert refused.status_code == 403, path
    assert _user_count(console_sessions) == before
    with console_sessions() as session:
        seen = identity.get_user(session, user_id="officer-seen")
        assert seen is not None
        assert seen.active
        assert identity.get_agency(session, agency_id="xx-police") is None
        assert identity.list_tokens(session, user_id="officer-seen") == []


def test_an_administrator_registers_an_agency_and_a_user_who_then_signs_in(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _admin(console, people)
    form = console.get("/admin/agencies")
    assert form.status_code == 200
    assert "caricc" in form.text

    typed = {"id": "uz-customs", "name": "State Customs Committee", "kind": "customs"}
    invalid = console.post(
        "/admin/agencies", data={**typed, "country": "Uzbekistan", "csrf_token": csrf_of(form.text)}
    )
    assert invalid.status_code == 422
    assert 'id="country-error"' in invalid.text
    assert 'value="State Customs Committee"' in invalid.text  # what was typed is kept
    with console_sessions() as session:
        assert identity.get_agency(session, agency_id="uz-customs") is None

    made = console.post(
        "/admin/agencies", data={**typed, "country": "UZ", "csrf_token": csrf_of(invalid.text)}
    )
    assert made.status_code == 303
    assert made.headers["location"] == "/admin/agencies/uz-customs"
    assert "State Customs Committee" in console.get("/admin/agencies/uz-customs").text
    again = console.post(
        "/admin/agencies", data={**typed, "country": "UZ", "csrf_token": _csrf(console)}
    )
    assert again.status_code == 409
    assert "An agency with this id is registered already." in again.text

    user = {"id": "u.karimov", "name": "Ulugbek Karimov", "role": "officer"}
    unknown = console.post(
        "/admin/users",
        data={**user, "agency_id": "nowhere", "password": PASSWORD, "csrf_token": _csrf(console)},
    )
    assert unknown.status_code == 422
    assert "No agency with this id is registered; register it first." in unknown.text
    short = console.post(
        "/admin/users",
        data={**user, "agency_id": "uz-customs", "password": "short", "csrf_token": _csrf(console)},
    )
    assert short.status_code == 422
    assert "A password needs at least 12 characters." in short.text
    assert _user_count(console_sessions) == 1  # only the administrator

    created = console.post(
        "/admin/users",
        data={
            **user,
            "agency_id": "uz-customs",
            "password": PASSWORD,
            "csrf_token": _csrf(console),
        },
    )
    assert created.status_code == 303
    assert "u.karimov" in console.get("/admin/users").text

    # The new user signs in with that password and is asked to enrol a second factor.
    newcomer = TestClient(console.app, base_url="http://127.0.0.1:8000", follow_redirects=False)
    sign_in_form = newcomer.get("/sign-in")
    step = newcomer.post(
        "/sign-in",
        data={
            "user_id": "u.karimov",
            "password": PASSWORD,
            "next": "/",
            "csrf_token": csrf_of(sign_in_form.text),
        },
    )
    assert step.status_code == 303
    assert "/sign-in/second-factor/qr.svg" in newcomer.get("/sign-in/second-factor").text


def test_a_form_without_the_csrf_token_changes_nothing(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _admin(console, people)
    people.add("officer-kept")
    for csrf in ("", "forged"):
        refused = console.post("/admin/users/officer-kept/deactivate", data={"csrf_token": csrf})
        assert refused.status_code == 403
    with console_sessions() as session:
        kept = identity.get_user(session, user_id="officer-kept")
        assert kept is not None
        assert kept.active


def test_a_deactivated_user_is_refused_at_once_and_an_administrator_cannot_deactivate_self(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    admin = _admin(console, people)
    officer = people.add("officer-leaving")
    browser = TestClient(console.app, base_url="http://127.0.0.1:8000", follow_redirects=False)
    sign_in(browser, officer)
    assert browser.get("/").status_code == 200
    with console_sessions.begin() as session:
        token = identity.issue_token(session, user_id="officer-leaving").token
        admin_token = identity.issue_token(session, user_id=admin.user_id).token
    assert console.get("/api/v1/me", headers=bearer(token)).status_code == 200

    done = console.post(
        "/admin/users/officer-leaving/deactivate", data={"csrf_token": _csrf(console)}
    )
    assert done.status_code == 303
    page = console.get(done.headers["location"])
    assert "The user is deactivated" in page.text
    refused = browser.get("/")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/sign-in")
    # Reactivated (through the API), the person starts afresh: the token and the session held
    # before stay ended.
    reactivated = console.patch(
        "/api/v1/users/officer-leaving", json={"active": True}, headers=bearer(admin_token)
    )
    assert reactivated.status_code == 200, reactivated.text
    assert console.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert browser.get("/").status_code == 303

    self_harm = console.post(
        f"/admin/users/{admin.user_id}/deactivate", data={"csrf_token": _csrf(console)}
    )
    assert self_harm.status_code == 409
    assert "Administrators cannot demote or deactivate themselves." in self_harm.text
    assert console.get("/admin").status_code == 200


def test_a_reset_second_factor_forces_enrolment_at_the_next_sign_in(
    console: TestClient, people: People
) -> None:
    _admin(console, people)
    officer = people.add("officer-lost-phone")
    phone = TestClient(console.app, base_url="http://127.0.0.1:8000", follow_redirects=False)
    sign_in(phone, officer)
    assert "enrolled</dd>" in console.get("/admin/users/officer-lost-phone").text

    reset = console.post(
        "/admin/users/officer-lost-phone/reset-second-factor", data={"csrf_token": _csrf(console)}
    )
    assert reset.status_code == 303
    page = console.get(reset.headers["location"])
    assert "enrols a new one at the next sign-in" in page.text
    assert "enrolled at the next sign-in" in page.text
    # The session open on the lost phone is ended.
    assert phone.get("/").status_code == 303

    form = phone.get("/sign-in")
    phone.post(
        "/sign-in",
        data={
            "user_id": officer.user_id,
            "password": officer.password,
            "next": "/",
            "csrf_token": csrf_of(form.text),
        },
    )
    second = phone.get("/sign-in/second-factor")
    assert second.status_code == 200
    assert "/sign-in/second-factor/qr.svg" in second.text  # enrolling a new factor
    old_code = phone.post(
        "/sign-in/second-factor",
        data={"code": officer.fresh_code(), "csrf_token": csrf_of(second.text)},
    )
    assert old_code.status_code == 401  # the old secret's code no longer signs in


def test_an_api_token_is_shown_once_works_and_is_refused_once_revoked(
    console: TestClient, people: People
) -> None:
    _admin(console, people)
    people.add("officer-scripts")
    issued = console.post(
        "/admin/users/officer-scripts/tokens",
        data={"label": "duty laptop", "csrf_token": _csrf(console)},
    )
    assert issued.status_code == 200
    found = re.search(r'<code class="secret">([^<]+)</code>', issued.text)
    assert found is not None
    token = found.group(1)
    bearer = {"Authorization": f"Bearer {token}"}
    assert console.get("/api/v1/me", headers=bearer).json()["user_id"] == "officer-scripts"

    page = console.get("/admin/users/officer-scripts")
    assert token not in page.text
    assert "duty laptop" in page.text
    revoke = re.search(r'action="(/admin/tokens/[^"]+/revoke)"', page.text)
    assert revoke is not None
    done = console.post(revoke.group(1), data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    assert "The API token is revoked." in console.get(done.headers["location"]).text
    assert console.get("/api/v1/me", headers=bearer).status_code == 401
    assert (
        console.post(
            "/admin/tokens/no-such/revoke", data={"csrf_token": _csrf(console)}
        ).status_code
        == 404
    )


def test_notification_targets_are_masked_as_the_api_masks_them(
    console: TestClient,
    people: People,
    console_sessions: sessionmaker[Session],
    console_settings: Settings,
) -> None:
    admin = _admin(console, people)
    secret_url = "json://hooks.example.org/duty?:apikey=s3cr3t-key"
    with console_sessions.begin() as session:
        add_target(
            session,
            box=console_settings.secret_box(),
            agency_id="caricc",
            url=secret_url,
            url_hint=masked_url(secret_url),
            purpose=Purpose.ACTION_REQUIRED,
            language=Language.RUSSIAN,
            label="Duty room hook",
        )
    page = console.get("/admin/agencies/caricc")
    assert page.status_code == 200
    assert "s3cr3t-key" not in page.text
    assert "Duty room hook" in page.text
    issued = console.post(
        f"/admin/users/{admin.user_id}/tokens", data={"label": "", "csrf_token": _csrf(console)}
    )
    found = re.search(r'<code class="secret">([^<]+)</code>', issued.text)
    assert found is not None
    api = console.get(
        "/api/v1/agencies/caricc/targets", headers={"Authorization": f"Bearer {found.group(1)}"}
    ).json()
    [hint] = [target["url_hint"] for target in api]
    assert "s3cr3t-key" not in hint
    assert f"<code>{hint}</code>" in page.text
    assert console.get("/admin/agencies/nowhere").status_code == 404


def _log(sessions: sessionmaker[Session], count: int, **fields: object) -> None:
    with sessions.begin() as session:
        for n in range(count):
            append_access(
                session,
                accessor=None,
                action=str(fields.get("action", "operation.read")),
                category=AccessCategory(str(fields.get("category", "consultation"))),
                operation_id=str(fields.get("operation_id", f"op-{n}")),
                justification="debrief analysis",
            )


def test_the_access_log_is_filtered_and_paged(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _admin(console, people)
    _log(console_sessions, 60, operation_id="op-paged")
    _log(console_sessions, 2, operation_id="op-altered", category="alteration", action="x.alter")

    first = console.get("/admin/access-log", params={"operation_id": "op-paged"})
    assert first.status_code == 200
    assert first.text.count("<td>op-paged</td>") == 50
    ids = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", first.text)]
    assert ids == sorted(ids, reverse=True), "the newest entry first"
    following = re.search(r'href="(/admin/access-log\?[^"]+)">Older entries', first.text)
    assert following is not None
    second = console.get(following.group(1).replace("&amp;", "&"))
    assert second.text.count("<td>op-paged</td>") == 10
    older = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", second.text)]
    assert max(older) < min(ids)
    assert "Older entries" not in second.text

    altered = console.get("/admin/access-log", params={"category": "alteration"})
    assert altered.text.count("<td>x.alter</td>") == 2
    assert "op-paged" not in altered.text
    assert (
        "No entry matches."
        in console.get("/admin/access-log", params={"user_id": "nobody-at-all"}).text
    )
    future = console.get("/admin/access-log", params={"since": "2999-01-01T00:00"})
    assert "No entry matches." in future.text
    past = console.get("/admin/access-log", params={"until": "2000-01-01T00:00"})
    assert "No entry matches." in past.text
    assert console.get("/admin/access-log", params={"category": "gossip"}).status_code == 422
    assert console.get("/admin/access-log", params={"since": "yesterday"}).status_code == 422


def test_the_verification_shows_intact_then_each_tampering(
    console: TestClient,
    people: People,
    console_sessions: sessionmaker[Session],
    console_settings: Settings,
) -> None:
    _admin(console, people)
    _log(console_sessions, 3)
    with console_sessions.begin() as session:
        head = integrate_pending(
            session,
            frontier=frontier_of(None),
            signer=console_settings.audit_signer(),
            now=datetime.now(UTC),
        )
    assert head is not None
    publish_head(console_settings.audit_heads_path, head)
    intact = console.get("/admin/access-log/verify")
    assert intact.status_code == 200
    assert "The access log is intact." in intact.text

    with console_sessions.begin() as session:
        for table in ("access_log_queue", "access_log_leaves", "access_log_heads", "access_log"):
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                for trigger in session.scalars(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).all():
                    session.execute(text(f"DROP TRIGGER {trigger}"))
            session.execute(text(f"DELETE FROM {table}"))
    broken = console.get("/admin/access-log/verify")
    assert "The access log does not match its signed heads." in broken.text
    assert "<strong>wiped</strong>" in broken.text
    assert "<strong>unguarded</strong>" in broken.text


def test_agencies_are_named_with_their_country_not_by_id(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _admin(console, people)
    with console_sessions.begin() as session:
        identity.create_agency(
            session,
            agency_id="tj-dca",
            country="TJ",
            kind=identity.AgencyKind.DRUG_CONTROL,
            name="Drug Control Agency",
        )
        for agency in ("tj-dca", "xx-gone"):  # the second one is not in the directory
            append_access(
                session,
                accessor=Accessor(user_id="tj-duty", name=None, agency=agency, role="officer"),
                action="operation.read",
                category=AccessCategory.CONSULTATION,
                operation_id="op-named",
                justification="debrief analysis",
            )
    people.add("tj-duty", agency="tj-dca", country="TJ")
    named = "Drug Control Agency (Tajikistan)"

    assert f"<td>{named}</td>" in console.get("/admin/users").text
    assert f">{named}</option>" in console.get("/admin/users").text
    assert f"<dd>{named}</dd>" in console.get("/admin/users/tj-duty").text
    log = console.get("/admin/access-log", params={"operation_id": "op-named"}).text
    assert f"tj-duty · {named}" in log
    assert "tj-duty · xx-gone" in log
    # Each page's header names the signed-in person's own agency.
    assert "admin-one · CARICC (Kazakhstan)" in console.get("/admin").text

    console.post("/preferences", data={"language": "ru", "csrf_token": _csrf(console)})
    assert "<td>Drug Control Agency (Таджикистан)</td>" in console.get("/admin/users").text
