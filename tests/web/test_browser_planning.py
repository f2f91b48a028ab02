"""In Chromium, on the real stack: a coordinator plans a two-country operation in the planning
form (an invalid field first shows its message there), the agencies record their authorisations
and confirm in their own browsers, the coordinator launches from the launch page, the sending
agency offers the handover, and the receiving agency's webhook gets the notice whose link opens
the handover page. The planning form and the launch page pass axe-core's WCAG 2.1 AA rules."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page
from pytest_httpserver import HTTPServer

from api.principal import Role
from i18n import Language
from store.notifications import add_target
from tests.api.live import LiveStack
from tests.receivers import received_by
from tests.web.browser import (
    PHONE,
    browser_context,
    chromium,
    console_people,
    live_database_url,
    live_stack,
    screenshots,
    sign_in_page,
    sign_in_through,
    take_screenshot,
)
from tests.web.people import People, Person
from tests.web.test_browser_debrief import assert_accessible
from workflows.notices import Purpose

__all__ = [
    "browser_context",
    "chromium",
    "console_people",
    "live_database_url",
    "live_stack",
    "screenshots",
]

pytestmark = [pytest.mark.devserver, pytest.mark.postgres, pytest.mark.api_process]

LINK = re.compile(r"https?://[^\s/]+(/o/[0-9a-f-]+/handover\?reason=handover_due)")


def field(page: Page, name: str) -> Locator:
    return page.locator(f'[id="{name}"]')


def local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")  # the browsers run in UTC


def register_webhook(live_stack: LiveStack, receiver: HTTPServer, agency: str) -> None:
    receiver.expect_request(f"/{agency}", method="POST").respond_with_data("ok")
    with live_stack.sessions.begin() as session:
        add_target(
            session,
            box=live_stack.settings.secret_box(),
            agency_id=agency,
            url=f"json://127.0.0.1:{receiver.port}/{agency}",
            purpose=Purpose.ACTION_REQUIRED,
            language=Language.ENGLISH,
            label=f"{agency} duty room",
        )


async def plan_the_operation(page: Page, departure: datetime) -> None:
    await page.get_by_label("Code name").fill("osprey")  # lower case: refused
    await field(page, "consignment.substances.0.name").fill("heroin")
    await field(page, "consignment.substances.0.quantity").fill("2.5")
    await page.get_by_label("Packaging").fill("tyre")
    await page.get_by_label("Concealment").fill("inside the spare tyre")
    await page.get_by_label("Markers and trackers").fill("GPS-77\nUV-ink")
    await page.get_by_label("Transport mode", exact=True).select_option("road")
    await field(page, "legs.0.from_country").select_option(label="Afghanistan")
    await field(page, "legs.0.to_country").select_option(label="Tajikistan")
    await field(page, "legs.0.crossing_point").fill("Sherkhan Bandar")
    await field(page, "legs.0.sending_agency").select_option("af-cnpa")
    await field(page, "legs.0.receiving_agency").select_option("tj-dca")
    await field(page, "legs.0.carrier").fill("Pamir Freight")
    await field(page, "legs.0.tracking_number").fill("WB-1044")
    await field(page, "legs.0.planned_departure").fill(local(departure))
    await field(page, "legs.0.planned_arrival").fill(local(departure + timedelta(hours=6)))
    await field(page, "participants.0.agency").select_option("af-cnpa")
    await field(page, "participants.0.role").select_option("origin")
    await field(page, "participants.1.agency").select_option("tj-dca")
    await field(page, "participants.1.role").select_option("destination")
    await page.get_by_label("Lead agency").select_option("af-cnpa")
    await page.get_by_label("Checkpoint interval (minutes)").fill("45")


async def authorise_and_confirm(page: Page, base: str, officer: Person, path: str) -> None:
    now = datetime.now(UTC)
    await sign_in_through(page, base, officer, path=path)
    await page.wait_for_url("**/justify**")
    await page.get_by_role("button", name="Open the operation").click()
    await page.get_by_label("Decision").select_option("granted")
    await page.get_by_label("Authority", exact=True).fill("Prosecutor's office")
    await page.get_by_label("Reference number").fill(f"CD-{officer.agency}-1")
    await page.get_by_label("Legal basis").fill("national procedure law")
    await page.get_by_label("Granted at").fill(local(now - timedelta(hours=1)))
    await page.get_by_label("Valid until").fill(local(now + timedelta(days=30)))
    await page.get_by_role("button", name="Record the authorisation").click()
    await page.locator("#result").wait_for()
    await page.goto(base + path.replace("/authorisation", "/participation"))
    await page.get_by_role("button", name="Confirm participation").click()
    await page.locator("#result").wait_for()


async def test_a_coordinator_plans_the_agencies_agree_and_the_handover_notice_opens_its_page(
    live_stack: LiveStack,
    console_people: People,
    browser_context: Any,
    httpserver: HTTPServer,
    screenshots: Path,
) -> None:
    base = live_stack.base_url
    coordinator = console_people.add("caricc-plan", role=Role.COORDINATOR, agency="caricc")
    sending = console_people.add("af-duty", role=Role.OFFICER, agency="af-cnpa", country="AF")
    receiving = console_people.add("tj-duty", role=Role.OFFICER, agency="tj-dca", country="TJ")
    register_webhook(live_stack, httpserver, "tj-dca")

    # The coordinator plans, on a phone; adding and removing a leg keeps what was typed.
    planning = await (await browser_context(viewport=PHONE)).new_page()
    await sign_in_page(planning, base, coordinator, next_path="/plan")
    departure = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    await plan_the_operation(planning, departure)
    await planning.get_by_role("button", name="Add a leg").click()
    await field(planning, "legs.1.from_country").wait_for()
    assert await field(planning, "legs.1.from_country").input_value() == "TJ"
    await planning.get_by_role("button", name="Remove leg 2").click()
    await field(planning, "legs.1.from_country").wait_for(state="detached")
    assert await field(planning, "legs.0.crossing_point").input_value() == "Sherkhan Bandar"

    # An invalid field: its message at the field, what was typed kept.
    await planning.get_by_role("button", name="Create the operation").click()
    await field(planning, "code_name-error").wait_for()
    assert await field(planning, "code_name").get_attribute("aria-invalid") == "true"
    assert await field(planning, "legs.0.crossing_point").input_value() == "Sherkhan Bandar"
    assert await field(planning, "legs.0.planned_departure").input_value() == local(departure)
    assert await planning.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await assert_accessible(planning)
    await take_screenshot(planning, screenshots / "coordinator-planning.png", full_page=True)

    await planning.get_by_label("Code name").fill("OSPREY")
    await planning.get_by_role("button", name="Create the operation").click()
    await planning.wait_for_url("**/justify**")
    await planning.get_by_role("button", name="Open the operation").click()  # "planning" chosen
    await planning.get_by_role("heading", name="Launch the operation").wait_for()
    assert re.search(r"/o/[0-9a-f-]+/launch", planning.url), planning.url
    operation_id = planning.url.split("/o/")[1].split("/")[0]
    blockers = await planning.locator("#blockers").inner_text()
    # Each country and agency by name, as the rest of the console names them.
    assert "no authorisation recorded for Afghanistan" in blockers, blockers
    assert "no authorisation recorded for Tajikistan" in blockers, blockers
    assert "af-cnpa" not in blockers, blockers
    await assert_accessible(planning)

    # Each agency records its authorisation and confirms, in its own browser.
    af = await (await browser_context()).new_page()
    tj = await (await browser_context(viewport=PHONE)).new_page()
    path = f"/o/{operation_id}/authorisation?reason=action_due"
    await authorise_and_confirm(af, base, sending, path)
    await authorise_and_confirm(tj, base, receiving, path)

    # Nothing blocks the launch any more: the coordinator launches from the launch page.
    await planning.reload()
    await planning.get_by_text("Nothing blocks the launch.").wait_for()
    await planning.get_by_role("button", name="Launch the operation").click()
    await planning.locator("#result").wait_for()

    # The sending agency offers the handover of leg 1.
    await af.goto(base + f"/o/{operation_id}/handover")
    await af.get_by_role("button", name="Offer the handover").click()
    await af.locator("#result").wait_for()

    # The receiving agency's duty room hears of it, and the notice's link opens the offer.
    link = None
    for _ in range(300):
        found = [LINK.search(m) for m in received_by(httpserver, "tj-dca")]
        link = next((m.group(1) for m in found if m and operation_id in m.group(1)), None)
        if link:
            break
        await asyncio.sleep(0.1)
    assert link, received_by(httpserver, "tj-dca")
    await tj.goto(base + link)
    offer = tj.locator("dl.offer")
    await offer.wait_for()
    assert "1: AF → TJ" in await offer.inner_text()
    assert "AF-CNPA (Afghanistan)" in await offer.inner_text()
    await tj.get_by_role("button", name="Acknowledge the handover").wait_for()
