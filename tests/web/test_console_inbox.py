"""An officer's home page is the agency's inbox: each due action linked to its page, soonest
deadline first, in the officer's language and zone; nothing of an operation the agency is not
in; every view logged as one consultation naming the operations it showed."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from store.access_log import list_access
from store.timeline import project_operation
from tests.web.people import People, csrf_of, sign_in
from tests.workflows.test_rules import AF, LAUNCH, accept, launched, offer, planned
from workflows.state import OperationState

ENTRY = re.compile(r'<li><a href="([^"]+)">(.*?)</a>\s*(.*?)</li>', re.DOTALL)
COUNTDOWN = re.compile(
    r'<time class="countdown" datetime="([^"]+)" data-left="([^"]*)" data-overdue="([^"]*)">'
    r"([^<]*)</time>"
)


def _projected(sessions: sessionmaker[Session], operation_id: str, state: OperationState) -> None:
    state = state.model_copy(update={"operation_id": operation_id})
    with sessions.begin() as session:
        project_operation(session, operation=state, events=state.timeline)


def _inbox(page: str) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(link, text, countdown) of each entry, in the page's order."""
    listed = re.search(r'<ol class="inbox">(.*?)</ol>', page, re.DOTALL)
    assert listed, "the page has no inbox list"
    entries = []
    for link, text, after in ENTRY.findall(listed.group(1)):
        countdown = COUNTDOWN.search(after)
        entries.append(
            (
                link,
                html.unescape(text),
                tuple(html.unescape(part) for part in countdown.groups()) if countdown else None,
            )
        )
    return entries


def test_the_inbox_lists_what_the_agency_must_do_soonest_first_and_logs_the_view(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _projected(console_sessions, "op-offered", accept(launched(), offer(AF), LAUNCH))
    _projected(console_sessions, "op-planned", planned())
    officer = people.add("tj-duty", role=Role.OFFICER, agency="tj-dca", country="TJ")
    sign_in(console, officer)

    page = console.get("/")
    assert page.status_code == 200, page.text
    departure = ("2026-03-04T06:00:00+00:00", "left", "overdue by", "06:00 UTC, 4 Mar 2026")
    assert _inbox(page.text) == [
        ("/o/op-planned/authorisation", "NIGHTJAR: Record your country's authorisation", departure),
        ("/o/op-planned/participation", "NIGHTJAR: Confirm participation", departure),
        (
            "/o/op-offered/handover",
            "NIGHTJAR: Acknowledge or refuse the handover (Leg 1)",
            ("2026-03-04T06:30:00+00:00", "left", "overdue by", "06:30 UTC, 4 Mar 2026"),
        ),
    ]
    with console_sessions() as session:
        [logged] = [e for e in list_access(session) if e.action == "console.inbox.read"]
    assert (logged.user_id, logged.category, logged.operation_id) == (
        officer.user_id,
        "consultation",
        None,
    )
    assert logged.justification == "The agency's own list of actions due"
    assert logged.detail == {"operation_ids": ["op-offered", "op-planned"]}

    saved = console.post(
        "/preferences",
        data={"language": "ru", "time_zone": "Asia/Tashkent", "csrf_token": csrf_of(page.text)},
    )
    assert saved.status_code == 303
    russian = _inbox(console.get("/").text)
    assert [(text, countdown) for _, text, countdown in russian][1:] == [
        (
            "NIGHTJAR: Подтвердить участие",
            (
                "2026-03-04T06:00:00+00:00",
                "осталось",
                "просрочено на",
                "06:00 UTC, 4 мар. 2026 (11:00 Asia/Tashkent)",
            ),
        ),
        (
            "NIGHTJAR: Примите передачу или откажитесь от неё (Участок 1)",
            (
                "2026-03-04T06:30:00+00:00",
                "осталось",
                "просрочено на",
                "06:30 UTC, 4 мар. 2026 (11:30 Asia/Tashkent)",
            ),
        ),
    ]


def test_an_agency_outside_every_operation_has_nothing_in_its_inbox(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _projected(console_sessions, "op-planned", planned())
    sign_in(console, people.add("nl-duty", role=Role.OFFICER, agency="nl-police", country="NL"))
    page = console.get("/")
    assert page.status_code == 200, page.text
    assert "Nothing is due from your agency now." in page.text
    assert "op-planned" not in page.text
    assert "NIGHTJAR" not in page.text


def test_an_entry_opens_its_page_with_the_same_deadline_counting_down(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _projected(console_sessions, "op-offered", accept(launched(), offer(AF), LAUNCH))
    sign_in(console, people.add("tj-duty", role=Role.OFFICER, agency="tj-dca", country="TJ"))
    [(link, _, listed)] = _inbox(console.get("/").text)

    asked = console.get(link)
    assert asked.status_code == 303
    form = console.get(asked.headers["location"])
    justified = console.post(
        "/o/op-offered/justify",
        data={"reason": "handover_due", "next": link, "csrf_token": csrf_of(form.text)},
    )
    assert justified.status_code == 303
    page = console.get(link)
    assert page.status_code == 200, page.text
    shown = COUNTDOWN.search(page.text)
    assert shown
    assert tuple(html.unescape(part) for part in shown.groups()) == listed
