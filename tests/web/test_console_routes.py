"""Every console route is named here with who may use it; a route missing from the list fails.

The API's routes are walked by tests/api/test_access_matrix.py from the OpenAPI schema; the
console's pages are not in that schema, so this list covers them: nobody reaches one without
signing in, and a role's pages refuse the other roles.
"""

from __future__ import annotations

from enum import Enum
from urllib.parse import urlsplit

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from activities.notifications import console_link
from api.principal import Role
from tests.web.people import People, csrf_of, sign_in
from web import docs
from web.routes import ROUTERS, temporal_codec, temporal_ui
from web.routes.temporal_ui import FORWARDED_METHODS
from workflows.notices import Notice, NoticeAction


class Rule(Enum):
    ANYONE = "anyone, to sign in or read the API docs"
    SIGNING_IN = "a browser part-way through signing in"
    SIGNED_IN = "anyone signed in"
    OPERATION = "signed in, and only for an operation the person may see (else 404)"
    ANALYSIS = "analysts and coordinators (a 403 page for the other roles)"
    ADMIN = "administrators only (a 403 page for every other role)"
    COORDINATOR = "coordinators only (else 403)"
    UI_CODEC = (
        "administrators only, from the console's own origin, answered as the codec protocol "
        "answers: a JSON problem (401 without a session, 403 for every other role)"
    )


CONSOLE_ROUTES: dict[tuple[str, str], Rule] = {
    ("GET", "/docs"): Rule.ANYONE,
    ("GET", "/redoc"): Rule.ANYONE,
    ("GET", "/sign-in"): Rule.ANYONE,
    ("POST", "/sign-in"): Rule.ANYONE,
    ("GET", "/sign-in/oidc"): Rule.ANYONE,
    ("GET", "/sign-in/oidc/callback"): Rule.ANYONE,
    ("GET", "/sign-in/second-factor"): Rule.SIGNING_IN,
    ("GET", "/sign-in/second-factor/qr.svg"): Rule.SIGNING_IN,
    ("POST", "/sign-in/second-factor"): Rule.SIGNING_IN,
    ("POST", "/sign-out"): Rule.ANYONE,
    ("GET", "/"): Rule.SIGNED_IN,
    ("GET", "/preferences"): Rule.SIGNED_IN,
    ("POST", "/preferences"): Rule.SIGNED_IN,
    ("GET", "/o/{operation_id}/justify"): Rule.OPERATION,
    ("POST", "/o/{operation_id}/justify"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/debrief"): Rule.OPERATION,
    ("POST", "/o/{operation_id}/debrief/input"): Rule.OPERATION,
    ("POST", "/o/{operation_id}/debrief/deadline"): Rule.OPERATION,
    ("POST", "/o/{operation_id}/debrief/recommendations"): Rule.OPERATION,
    ("POST", "/o/{operation_id}/debrief/close"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/report"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/report/document"): Rule.OPERATION,
    ("GET", "/statistics"): Rule.ANALYSIS,
    ("GET", "/statistics/summary"): Rule.ANALYSIS,
    ("GET", "/o/{operation_id}"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/live"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/events"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/authorisation"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/participation"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/handover"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/checkpoint"): Rule.OPERATION,
    ("GET", "/o/{operation_id}/launch"): Rule.OPERATION,
    ("POST", "/o/{operation_id}/act/{kind}"): Rule.OPERATION,
    ("GET", "/admin"): Rule.ADMIN,
    ("GET", "/admin/agencies"): Rule.ADMIN,
    ("POST", "/admin/agencies"): Rule.ADMIN,
    ("GET", "/admin/agencies/{agency_id}"): Rule.ADMIN,
    ("GET", "/admin/users"): Rule.ADMIN,
    ("POST", "/admin/users"): Rule.ADMIN,
    ("GET", "/admin/users/{user_id}"): Rule.ADMIN,
    ("POST", "/admin/users/{user_id}/deactivate"): Rule.ADMIN,
    ("POST", "/admin/users/{user_id}/reset-second-factor"): Rule.ADMIN,
    ("POST", "/admin/users/{user_id}/tokens"): Rule.ADMIN,
    ("POST", "/admin/tokens/{token_id}/revoke"): Rule.ADMIN,
    ("GET", "/admin/access-log"): Rule.ADMIN,
    ("GET", "/admin/access-log/verify"): Rule.ADMIN,
    # Only where the embedded stack serves its Temporal UI (the console fixture has one).
    **{(method, "/temporal/{path:path}"): Rule.ADMIN for method in FORWARDED_METHODS},
    ("POST", "/temporal-codec/decode"): Rule.UI_CODEC,
    ("POST", "/temporal-codec/encode"): Rule.UI_CODEC,
    ("GET", "/plan"): Rule.COORDINATOR,
    ("POST", "/plan"): Rule.COORDINATOR,
}


def _console_routes() -> set[tuple[str, str]]:
    # What web/app.py includes: the docs pages, every router of web/routes, the Temporal UI and
    # its codec.
    return {
        (method, route.path)
        for router in (docs.router, *ROUTERS, temporal_ui.router, temporal_codec.router)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_every_console_route_is_named_with_its_rule() -> None:
    routes = _console_routes()
    missing = sorted(routes - set(CONSOLE_ROUTES))
    assert not missing, f"console routes missing from the list: {missing}"
    stale = sorted(set(CONSOLE_ROUTES) - routes)
    assert not stale, f"the list names console routes that do not exist: {stale}"


def test_every_notice_links_to_a_page_of_the_console() -> None:
    """A notice's link opens its page (`activities.notifications.CONSOLE_PAGES`), never a 404."""
    pages = {path for method, path in _console_routes() if method == "GET"}
    for action in NoticeAction:
        notice = Notice(
            key="k", operation_id="op-1", code_name="KESTREL", seq=1, action=action, recipients=()
        )
        link = urlsplit(console_link("https://cdtrack.example.org", notice))
        template = link.path.replace("/o/op-1", "/o/{operation_id}", 1)
        assert template in pages, f"{action.value} links to {link.path}, which is no page"


PATH_VALUES = {
    "operation_id": "op-not-visible",
    "kind": "offer_handover",
    "agency_id": "kz-police",
    "user_id": "officer-matrix",
    "token_id": "token-matrix",
    "path": "namespaces/default/workflows",
}


def _path(template: str) -> str:
    # A path parameter's converter ("{path:path}") is no format spec.
    return template.replace(":path}", "}").format(**PATH_VALUES)


def test_no_console_page_is_reached_without_signing_in(console: TestClient) -> None:
    for (method, template), rule in CONSOLE_ROUTES.items():
        if rule is Rule.ANYONE:
            continue
        answer = console.request(method, _path(template))
        if rule in {Rule.SIGNING_IN, Rule.UI_CODEC}:
            assert answer.status_code == 401, (method, template)
        elif method == "GET":
            assert answer.status_code == 303, (method, template)
            assert answer.headers["location"].startswith("/sign-in?next="), (method, template)
        else:
            assert answer.status_code in {303, 403}, (method, template)
            assert "location" not in answer.headers or answer.headers["location"].startswith(
                "/sign-in"
            )


def test_an_operation_nobody_may_see_is_not_found_for_everyone(
    console: TestClient, people: People
) -> None:
    sign_in(console, people.add("officer-matrix"))
    for (method, template), rule in CONSOLE_ROUTES.items():
        if rule is not Rule.OPERATION or method != "GET":
            continue
        answer = console.get(_path(template))
        assert answer.status_code == 404, template
        assert "No operation with this id is visible to you." in answer.text


def test_an_operation_nobody_may_see_is_not_found_for_its_forms_too(
    console: TestClient, people: People
) -> None:
    sign_in(console, people.add("officer-forms"))
    token = csrf_of(console.get("/preferences").text)
    for (method, template), rule in CONSOLE_ROUTES.items():
        if rule is not Rule.OPERATION or method != "POST":
            continue
        answer = console.post(_path(template), data={"csrf_token": token, "text": "x"})
        assert answer.status_code == 404, template
        assert "No operation with this id is visible to you." in answer.text


def test_analysis_pages_are_for_analysts_and_coordinators(
    console: TestClient, people: People
) -> None:
    pages = [path for (method, path), rule in CONSOLE_ROUTES.items() if rule is Rule.ANALYSIS]
    for role, allowed in ((Role.OFFICER, False), (Role.ADMIN, False), (Role.ANALYST, True)):
        console.cookies.clear()
        sign_in(console, people.add(f"{role.value}-analysis", role=role))
        answer = console.get("/statistics")
        if allowed:
            assert answer.status_code == 200, answer.text
            assert "No operation you may see has an outcome assessment yet." in answer.text
        else:
            for path in pages:
                refused = console.get(path)
                assert refused.status_code == 403, (role, path)
                assert "This page is not part of your role." in refused.text


def test_administration_refuses_every_other_role(console: TestClient, people: People) -> None:
    for role in (Role.OFFICER, Role.COORDINATOR, Role.ANALYST):
        sign_in(console, people.add(f"{role.value}-matrix", role=role))
        csrf = csrf_of(console.get("/").text)
        for (method, template), rule in CONSOLE_ROUTES.items():
            if rule is not Rule.ADMIN:
                continue
            answer = console.request(
                method, _path(template), data={"csrf_token": csrf} if method == "POST" else None
            )
            assert answer.status_code == 403, (role, method, template)
            assert "This page is not part of your role." in answer.text
        console.cookies.clear()
    sign_in(console, people.add("admin-matrix", role=Role.ADMIN, agency="caricc"))
    for (method, template), rule in CONSOLE_ROUTES.items():
        if rule is Rule.ADMIN and method == "GET":
            assert console.get(_path(template)).status_code == 200, template


def test_the_uis_codec_answers_administrators_only(console: TestClient, people: People) -> None:
    routes = [path for (_, path), rule in CONSOLE_ROUTES.items() if rule is Rule.UI_CODEC]
    from_the_ui = {"Origin": "http://127.0.0.1:8000"}
    for role in (Role.OFFICER, Role.COORDINATOR, Role.ANALYST):
        sign_in(console, people.add(f"{role.value}-codec-matrix", role=role))
        for path in routes:
            answer = console.post(path, json={"payloads": []}, headers=from_the_ui)
            assert answer.status_code == 403, (role, path)
            assert answer.json()["detail"] == "Decoding payloads needs the role admin."
        console.cookies.clear()
    sign_in(console, people.add("admin-codec-matrix", role=Role.ADMIN, agency="caricc"))
    for path in routes:
        answer = console.post(path, json={"payloads": []}, headers=from_the_ui)
        assert answer.status_code == 200, path
        assert answer.json() == {"payloads": []}


def test_coordinators_pages_refuse_the_other_roles(console: TestClient, people: People) -> None:
    sign_in(console, people.add("officer-planning"))
    for (method, template), rule in CONSOLE_ROUTES.items():
        if rule is not Rule.COORDINATOR or method != "GET":
            continue
        answer = console.get(_path(template))
        assert answer.status_code == 403, template
        assert "This page is not part of your role." in answer.text
