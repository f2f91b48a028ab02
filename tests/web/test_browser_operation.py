"""In Chromium, on the real stack: an officer acknowledges a handover on a phone from the link a
notice carries (and, in Russian, no page of theirs is wider than the phone), the coordinator's
page shows the new custodian at once without a reload, a refused action shows the lifecycle's
reason, an invalid field its message, and an officer of an agency outside the operation finds
nothing of it in the page, the stream or the inbox."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page

from api.principal import Role
from cdtrack.walkthrough import Walkthrough, sample_plan
from i18n import Language
from tests.api.live import LiveStack
from tests.web.browser import (
    PHONE,
    assert_fits,
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

__all__ = [
    "browser_context",
    "chromium",
    "console_people",
    "live_database_url",
    "live_stack",
    "screenshots",
]

pytestmark = [pytest.mark.devserver, pytest.mark.postgres, pytest.mark.api_process]
SENDING = "AF-CNPA (Afghanistan)"
RECEIVING = "TJ-DCA (Tajikistan)"


def _offered_operation(live_stack: LiveStack) -> str:
    """An operation launched through the API, its first handover offered to tj-dca."""
    now = datetime.now(UTC)
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        walk = Walkthrough(http, live_stack.cast)
        plan = sample_plan(coordinator_agency="caricc", now=now, code_name="KESTREL")
        created = walk._call(live_stack.cast.coordinator, "POST", "/operations", plan)
        operation_id: str = created["operation_id"]
        for agency in ("af-cnpa", "tj-dca", "kz-police"):
            country = agency[:2].upper()
            authorisation: dict[str, Any] = {
                "decision": "granted",
                "country": country,
                "authority": f"Prosecutor's office ({country})",
                "reference": f"CD-{country}-1",
                "legal_basis": "national procedure law",
                "granted_at": (now - timedelta(hours=1)).isoformat(),
                "valid_until": (now + timedelta(days=30)).isoformat(),
                "substitution_allowed": True,
            }
            walk.step(
                agency, "record-authorisation", operation_id, {"authorisation": authorisation}
            )
            walk.step(agency, "confirm-participation", operation_id)
        walk.step(None, "launch-operation", operation_id)
        walk.step("af-cnpa", "offer-handover", operation_id, {"leg": 1})
    return operation_id


async def _sign_in(page: Page, base_url: str, person: Person, path: str) -> None:
    await sign_in_through(page, base_url, person, path=path)
    await page.wait_for_load_state()


async def _justify(page: Page, reason: str | None = None) -> None:
    await page.wait_for_url("**/justify**")
    if reason is not None:
        await page.get_by_label(reason).check()
    await page.get_by_role("button", name="Open the operation").click()
    await page.wait_for_load_state()


async def test_an_officer_acknowledges_on_a_phone_and_the_coordinator_sees_it_at_once(
    live_stack: LiveStack, console_people: People, browser_context: Any, screenshots: Path
) -> None:
    operation_id = await asyncio.to_thread(_offered_operation, live_stack)
    base = live_stack.base_url
    coordinator = console_people.add("caricc-watch", role=Role.COORDINATOR, agency="caricc")
    officer = console_people.add("tj-duty", role=Role.OFFICER, agency="tj-dca", country="TJ")
    colleague = console_people.add("tj-night", agency="tj-dca", country="TJ", name="Шарипов Рустам")
    outsider = console_people.add("nl-duty", role=Role.OFFICER, agency="nl-police", country="NL")

    # The coordinator watches the operation page.
    watching = await (await browser_context()).new_page()
    await _sign_in(watching, base, coordinator, f"/o/{operation_id}")
    await _justify(watching, "Monitoring the operation I coordinate")
    await watching.get_by_role("heading", name="Operation KESTREL").wait_for()
    # Agencies by directory name and country (the live stack names each by its id, upper-cased).
    assert (await watching.locator("#custodian").inner_text()).strip() == SENDING
    await watching.wait_for_function("() => document.querySelector('[sse-connect]') !== null")

    # The officer opens the notice's link on a phone: the inbox entry leads to the same page.
    phone = await browser_context(viewport=PHONE)
    page = await phone.new_page()
    link = f"/o/{operation_id}/handover?reason=handover_due"
    await _sign_in(page, base, officer, link)
    await _justify(page)  # the link's reason is preselected
    offer = page.locator("dl.offer")
    await offer.wait_for()
    assert "1: AF → TJ" in await offer.inner_text()
    assert SENDING in await offer.inner_text()
    assert "UTC" in await offer.inner_text()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await take_screenshot(page, screenshots / "officer-phone-handover.png", full_page=True)

    # A colleague in Dushanbe, in Russian: every page an officer opens fits the phone's width
    # (longer words, and deadlines with the local time beside UTC).
    russian = await (await browser_context(viewport=PHONE, locale="ru-RU")).new_page()
    await sign_in_page(
        russian, base, colleague, next_path="/preferences", language=Language.RUSSIAN
    )
    await russian.locator("#time_zone").select_option("Asia/Dushanbe")
    await russian.locator("main button[type=submit]").click()
    await russian.get_by_role("status").wait_for()
    for part in ("", "/checkpoint", "/authorisation", "/participation", "/handover"):
        await russian.goto(base + f"/o/{operation_id}{part}")
        if "/justify" in russian.url:
            await russian.locator("input[name=reason]").first.check()
            await russian.locator("form.narrow button[type=submit]").click()
            await russian.wait_for_url(base + f"/o/{operation_id}{part}")
        await russian.locator("h1").wait_for()
        await assert_fits(russian)
    assert "Asia/Dushanbe" in await russian.locator("dl.offer").inner_text()
    await russian.goto(base + "/")
    await russian.locator(".inbox").wait_for()
    await assert_fits(russian)
    stale = await phone.new_page()
    await stale.goto(base + link)
    await stale.get_by_role("button", name="Acknowledge the handover").wait_for()

    await page.get_by_role("button", name="Acknowledge the handover").click()
    await page.locator("#result").wait_for()
    acknowledged_at = time.monotonic()
    assert (await page.locator("#custodian").inner_text()).strip() == RECEIVING

    # Without a reload, the coordinator's page shows the new custodian within a second.
    await watching.wait_for_function(
        f"() => document.querySelector('#custodian').textContent.trim() === '{RECEIVING}'",
        timeout=3000,
    )
    assert time.monotonic() - acknowledged_at < 1.0
    await take_screenshot(watching, screenshots / "coordinator-operation.png", full_page=True)

    # The form of a page opened before shows the lifecycle's reason when sent after.
    await stale.get_by_role("button", name="Acknowledge the handover").click()
    refusal = stale.locator("#refusal")
    await refusal.wait_for()
    assert "already acknowledged" in await refusal.inner_text()

    # An invalid field: its message beside it, and what was typed kept.
    await page.goto(base + f"/o/{operation_id}/checkpoint")
    await page.get_by_label("Remarks").fill("lorry seen at the fuel station")
    await page.get_by_role("button", name="Report a checkpoint").click()
    await page.locator("#place-error").wait_for()
    assert await page.get_by_label("Remarks").input_value() == "lorry seen at the fuel station"
    assert await page.locator("#place").get_attribute("aria-invalid") == "true"

    # An agency outside the operation: "not found", and nothing of it anywhere.
    other = await (await browser_context(viewport=PHONE)).new_page()
    await _sign_in(other, base, outsider, link)
    body = await other.content()
    assert "No operation with this id is visible to you." in body
    assert "KESTREL" not in body
    assert "af-cnpa" not in body
    assert SENDING not in body
    stream = await other.request.get(base + f"/o/{operation_id}/events")
    assert stream.status == 404
    assert "KESTREL" not in await stream.text()
    await other.goto(base + "/")
    assert "KESTREL" not in await other.content()
    assert uuid.UUID(operation_id)
