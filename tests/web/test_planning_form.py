"""The coordinator's planning form in process: only coordinators get it; rows of substances, legs
and participants are added and removed by a plain form post, keeping what was typed; the plan
model's messages appear at their fields. Creating on the real stack: test_browser_planning.py."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.principal import Role
from tests.web.people import People, csrf_of, sign_in


def _field(page: str, name: str) -> str:
    """The value of an input, or the selected option of a select, by field name."""
    found = re.search(
        rf'<input id="{re.escape(name)}" name="{re.escape(name)}"[^>]*value="([^"]*)"', page
    )
    if found:
        return found.group(1)
    select = re.search(rf'<select id="{re.escape(name)}".*?</select>', page, re.S)
    assert select, f"no field {name}"
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return chosen.group(1) if chosen else ""


def _typed(page: str, **changes: str) -> dict[str, str]:
    names = re.findall(r'<(?:input|select|textarea) id="[^"]+" name="([^"]+)"', page)
    typed = {name: _field(page, name) for name in names if not name.endswith("tracker_ids")}
    return {"csrf_token": csrf_of(page), **typed, **changes}


def test_only_coordinators_plan(console: TestClient, people: People) -> None:
    sign_in(console, people.add("kz-officer", role=Role.OFFICER, agency="kz-police"))
    refused = console.get("/plan")
    assert refused.status_code == 403
    assert "This page is not part of your role." in refused.text
    assert 'id="plan-form"' not in refused.text


def test_legs_and_substances_are_added_and_removed_keeping_what_was_typed(
    console: TestClient, people: People
) -> None:
    people.add("kz-officer", role=Role.OFFICER, agency="kz-police", country="KZ")
    sign_in(console, people.add("planner", role=Role.COORDINATOR, agency="caricc"))
    page = console.get("/plan")
    assert page.status_code == 200
    assert 'name="legs.1.crossing_point"' not in page.text
    assert "KZ-POLICE (KZ)" in page.text  # the directory, by name

    typed = _typed(
        page.text,
        code_name="NIGHTJAR",
        **{"legs.0.to_country": "KZ", "legs.0.receiving_agency": "kz-police"},
        **{"legs.0.crossing_point": "Nizhny Panj", "change": "add:legs"},
    )
    added = console.post("/plan", data=typed)
    assert added.status_code == 200
    assert _field(added.text, "code_name") == "NIGHTJAR"
    assert _field(added.text, "legs.0.crossing_point") == "Nizhny Panj"
    # The new leg starts where the last one ends.
    assert _field(added.text, "legs.1.from_country") == "KZ"
    assert _field(added.text, "legs.1.sending_agency") == "kz-police"

    typed = _typed(added.text, **{"legs.1.crossing_point": "Khorgos", "change": "remove:legs:0"})
    removed = console.post("/plan", data=typed)
    assert 'name="legs.1.crossing_point"' not in removed.text
    assert _field(removed.text, "legs.0.crossing_point") == "Khorgos"

    typed = _typed(removed.text, **{"consignment.substances.0.name": "heroin"})
    more = console.post("/plan", data={**typed, "change": "add:consignment.substances"})
    assert _field(more.text, "consignment.substances.0.name") == "heroin"
    assert _field(more.text, "consignment.substances.1.name") == ""


def test_the_plan_models_messages_appear_at_their_fields(
    console: TestClient, people: People
) -> None:
    sign_in(console, people.add("planner", role=Role.COORDINATOR, agency="caricc"))
    page = console.get("/plan")
    typed = _typed(
        page.text,
        code_name="nightjar",
        **{"legs.0.from_country": "TJ", "legs.0.to_country": "TJ"},
        **{"legs.0.planned_departure": "2030-01-01T10:00"},
        **{"legs.0.planned_arrival": "2030-01-01T08:00"},
    )
    invalid = console.post("/plan", data=typed)
    assert invalid.status_code == 422
    assert 'id="code_name-error"' in invalid.text
    assert re.search(r'id="code_name" name="code_name"[^>]*aria-invalid="true"', invalid.text)
    assert _field(invalid.text, "code_name") == "nightjar"
    assert _field(invalid.text, "legs.0.planned_departure") == "2030-01-01T10:00"


def test_a_post_without_the_forms_token_changes_nothing(
    console: TestClient, people: People
) -> None:
    sign_in(console, people.add("planner", role=Role.COORDINATOR, agency="caricc"))
    refused = console.post("/plan", data={"code_name": "NIGHTJAR", "change": "add:legs"})
    assert refused.status_code == 403
    assert 'id="plan-form"' not in refused.text


def test_a_departure_in_the_past_is_refused_at_its_field_as_the_api_refuses_it(
    console: TestClient, people: People
) -> None:
    people.add("af-officer", role=Role.OFFICER, agency="af-cnpa", country="AF")
    people.add("tj-officer", role=Role.OFFICER, agency="tj-dca", country="TJ")
    sign_in(console, people.add("planner", role=Role.COORDINATOR, agency="caricc"))
    page = console.get("/plan")
    plan = {
        "code_name": "NIGHTJAR",
        "consignment.substances.0.name": "heroin",
        "consignment.substances.0.quantity": "12.5",
        "consignment.packaging": "bricks",
        "legs.0.from_country": "AF",
        "legs.0.to_country": "TJ",
        "legs.0.crossing_point": "Sherkhan Bandar",
        "legs.0.sending_agency": "af-cnpa",
        "legs.0.receiving_agency": "tj-dca",
        "legs.0.planned_departure": "2020-01-01T10:00",
        "legs.0.planned_arrival": "2020-01-01T16:00",
        "participants.0.agency": "af-cnpa",
        "participants.0.role": "origin",
        "participants.1.agency": "tj-dca",
        "participants.1.role": "destination",
        "lead_agency": "af-cnpa",
    }
    refused = console.post("/plan", data=_typed(page.text, **plan))
    assert refused.status_code == 422
    assert 'id="legs.0.planned_departure-error"' in refused.text
    assert "This departure (1 Jan 2020, 10:00) is already in the past." in refused.text
    assert _field(refused.text, "legs.0.planned_departure") == "2020-01-01T10:00"
    assert _field(refused.text, "participants.1.agency") == "tj-dca"
    # The summary names the field it links to.
    assert (
        '<a href="#legs.0.planned_departure">Planned departure: This departure (1 Jan 2020, '
        "10:00) is already in the past.</a>"
    ) in refused.text
    russian = console.post(
        "/plan", data=_typed(page.text, **plan), headers={"Accept-Language": "ru"}
    )
    assert "Это время отправления (1 янв. 2020, 10:00) уже прошло." in russian.text
    assert "is in the past" not in russian.text


def test_the_error_summary_names_each_field(console: TestClient, people: People) -> None:
    sign_in(console, people.add("planner", role=Role.COORDINATOR, agency="caricc"))
    page = console.get("/plan")
    empty = console.post("/plan", data={"csrf_token": csrf_of(page.text)})
    assert empty.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', empty.text, re.S)
    assert summary, "no error summary"
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary.group(0))
    assert ("code_name", "Code name: Fill in this field.") in links, links
    assert len({text for _, text in links}) == len(links), "each entry names its field"
