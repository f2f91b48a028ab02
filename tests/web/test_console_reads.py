"""The console's pages of one operation read it from the read model: no worker, no Temporal.

The operations exist only in the read model, written by the projection as a worker writes them;
the app's Temporal client fails any call it gets. The pages show what the state says (phase,
custodian, the actions offered, the debrief), the timeline from its own table. Only a row written
before the read model kept the state needs the operation's workflow: with no worker, 503.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from bench.report import long_operation
from store.models import OperationRow
from store.timeline import project_operation
from tests.web.people import People, csrf_of, sign_in
from tests.workflows.test_rules import (
    AF,
    LAUNCH,
    accept,
    handed_to_tajikistan,
    launched,
    offer,
    planned,
    timer_of,
)
from workflows.commands import HandoverDeadlineReached
from workflows.state import OperationState


def _projected(sessions: sessionmaker[Session], *states: OperationState) -> None:
    with sessions.begin() as session:
        for state in states:
            project_operation(session, operation=state, events=state.timeline)


def _opened(console: TestClient, operation_id: str, *, reason: str = "monitoring") -> None:
    """Through the justification form, once this session, as a person opens an operation."""
    form = console.get(f"/o/{operation_id}/justify")
    assert form.status_code == 200, form.text
    posted = console.post(
        f"/o/{operation_id}/justify",
        data={
            "reason": reason,
            "next": f"/o/{operation_id}",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert posted.status_code == 303, posted.text


def _text_of(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
    assert found, f"no #{element_id} in the page"
    return found.group(1).strip()


def test_operation_pages_are_served_with_no_worker_and_no_temporal(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    under_way = long_operation(events=40, operation_id="op-under-way", live=True)
    closed = long_operation(events=40, operation_id="op-closed")
    _projected(console_sessions, under_way, closed)
    sign_in(console, people.add("caricc-watch", role=Role.COORDINATOR, agency="caricc"))

    _opened(console, "op-under-way")
    page = console.get("/o/op-under-way")
    assert page.status_code == 200, page.text
    assert (_text_of(page.text, "phase"), _text_of(page.text, "custodian")) == (
        "execution",
        "kz-police",
    )
    # The coordinator's actions under way, offered by the rules from the stored state.
    assert "/o/op-under-way/act/order_interdiction" in page.text
    assert "Road marker" in page.text, "the newest events, from the timeline table"
    live = console.get("/o/op-under-way/live")
    assert live.status_code == 200, live.text
    assert _text_of(live.text, "custodian") == "kz-police"

    _opened(console, "op-closed")
    page = console.get("/o/op-closed")
    assert page.status_code == 200, page.text
    assert _text_of(page.text, "phase") == "closed"
    assert "Nothing is yours to do on this operation now." in page.text
    debrief = console.get("/o/op-closed/debrief")
    assert debrief.status_code == 200, debrief.text
    # Each agency's input, as the debrief in the stored state records it.
    assert "3 of 3 agencies" in debrief.text
    assert "still missing" not in debrief.text


def test_a_page_of_a_row_without_the_state_needs_the_workflow(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _projected(console_sessions, long_operation(events=40, operation_id="op-old"))
    with console_sessions.begin() as session:
        # As migration 0012 leaves a row it finds.
        session.execute(update(OperationRow).values(snapshot=None))
    sign_in(console, people.add("caricc-old", role=Role.COORDINATOR, agency="caricc"))
    _opened(console, "op-old")
    page = console.get("/o/op-old")
    assert page.status_code == 503, page.text
    assert "No worker is running operations now" in page.text


def _checked(form: str) -> list[str]:
    return re.findall(r'name="reason" value="([^"]+)" checked', form)


def test_the_justification_form_chooses_only_what_the_page_or_the_link_says(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _projected(console_sessions, long_operation(events=5, operation_id="op-justified", live=True))
    sign_in(console, people.add("caricc-justify", role=Role.COORDINATOR, agency="caricc"))
    path = "/o/op-justified"
    assert _checked(console.get(f"{path}/justify", params={"next": f"{path}/launch"}).text) == [
        "planning"
    ]
    linked = console.get(f"{path}/justify", params={"next": path, "reason": "debrief_review"})
    assert _checked(linked.text) == ["debrief_review"]
    # The operation's own page suggests nothing: the person says why, or is asked again.
    form = console.get(f"{path}/justify", params={"next": path})
    assert _checked(form.text) == []
    unchosen = console.post(
        f"{path}/justify", data={"next": path, "csrf_token": csrf_of(form.text)}
    )
    assert unchosen.status_code == 422
    assert "Choose a reason" in unchosen.text
    assert _checked(unchosen.text) == []


def test_the_authorisation_form_says_which_fields_each_decision_requires(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _projected(console_sessions, planned())
    sign_in(console, people.add("tj-authorises", role=Role.OFFICER, agency="tj-dca", country="TJ"))
    path = "/o/op-1/authorisation"
    form = console.get("/o/op-1/justify", params={"next": path})
    opened = console.post(
        "/o/op-1/justify",
        data={"reason": "action_due", "next": path, "csrf_token": csrf_of(form.text)},
    )
    assert opened.status_code == 303, opened.text
    page = console.get(path)
    assert page.status_code == 200, page.text
    labels = {
        name: " ".join(re.sub(r"<[^>]+>", "", label).split())
        for name, label in re.findall(
            r'<label for="(authorisation\.[a-z_]+)">(.*?)</label>', page.text, re.S
        )
    }
    assert labels["authorisation.authority"] == "Authority"
    for granted_only in ("reference", "legal_basis", "granted_at", "valid_until"):
        assert labels[f"authorisation.{granted_only}"].endswith("(required for a grant)"), labels
    assert labels["authorisation.reasons"].endswith("(required for a refusal)"), labels
    assert labels["authorisation.conditions"].endswith("(optional)"), labels


def test_the_russian_operation_page_reads_in_russian_words_and_numbers(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    offered = accept(launched(), offer(AF), LAUNCH)
    due, deadline = timer_of(offered, HandoverDeadlineReached)
    _projected(console_sessions, accept(offered, deadline, due))
    console.headers["Accept-Language"] = "ru"
    sign_in(console, people.add("tj-reads-ru", role=Role.OFFICER, agency="tj-dca", country="TJ"))
    _opened(console, "op-1", reason="custody")
    page = " ".join(console.get("/o/op-1").text.split())
    # The plan's handling code and substances in the reader's words, numbers as they write them.
    assert "H0 · Использовать только для предупреждения преступлений" in page
    assert "Use only to prevent" not in page
    assert re.search(r"героин 12,5 кг", page), "substance and quantity in Russian"
    # What a deadline did is said to be automatic, not done by an agency called cdtrack.
    assert "Автоматически (наступил срок)" in page
    assert "cdtrack (timer)" not in page


def test_a_participant_to_remove_is_chosen_by_name_among_the_operations_agencies(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _projected(console_sessions, planned())
    sign_in(console, people.add("caricc-removes", role=Role.COORDINATOR, agency="caricc"))
    _opened(console, "op-1", reason="planning")
    page = console.get("/o/op-1")
    form = re.search(r'<form[^>]*id="form-remove_participant".*?</form>', page.text, re.S)
    assert form, "removing a participant is offered in planning"
    chooser = re.search(r'<select id="agency" name="agency".*?</select>', form.group(0), re.S)
    assert chooser, "the agency is chosen, not typed"
    options = re.findall(r'<option value="([^"]+)"', chooser.group(0))
    assert options == ["af-cnpa", "tj-dca", "kz-police"]


def test_country_lists_put_the_route_first_with_the_viewers_own_country_chosen(
    console: TestClient, people: People, console_sessions: sessionmaker[Session]
) -> None:
    _projected(console_sessions, handed_to_tajikistan())
    sign_in(console, people.add("tj-reports", role=Role.OFFICER, agency="tj-dca", country="TJ"))
    _opened(console, "op-1", reason="custody")
    page = console.get("/o/op-1/checkpoint")
    assert page.status_code == 200, page.text
    chooser = re.search(r'<select id="country" name="country".*?</select>', page.text, re.S)
    assert chooser, "the checkpoint asks for its country"
    route = re.search(r'<optgroup label="On the route">(.*?)</optgroup>', chooser.group(0), re.S)
    assert route, "the route's countries come first"
    assert re.findall(r'<option value="([A-Z]{2})"', route.group(1)) == ["AF", "TJ", "KZ"]
    assert re.findall(r'<option value="([A-Z]{2})" selected', chooser.group(0)) == ["TJ"]
