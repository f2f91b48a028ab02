"""In Chromium, on the real stack: every administration page, and its forms answering a mistake,
passes axe-core's WCAG 2.1 AA rules, in English and in Russian."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from api.principal import Role
from api.schemas.agencies import masked_url
from i18n import Language
from store.access_log import AccessCategory, append_access
from store.notifications import add_target
from tests.api.live import LiveStack
from tests.web.browser import (
    browser_context,
    chromium,
    console_people,
    live_database_url,
    live_stack,
    sign_in_page,
    sign_in_through,
)
from tests.web.people import People
from tests.web.test_browser_debrief import assert_accessible
from workflows.notices import Purpose

__all__ = ["browser_context", "chromium", "console_people", "live_database_url", "live_stack"]

pytestmark = [pytest.mark.devserver, pytest.mark.postgres]

HOOK = "json://hooks.example.org/duty?:apikey=s3cr3t-key"


def _records(live_stack: LiveStack) -> None:
    """A notification target to mask and an access-log entry to list."""
    with live_stack.sessions.begin() as session:
        add_target(
            session,
            box=live_stack.settings.secret_box(),
            agency_id="kz-police",
            url=HOOK,
            url_hint=masked_url(HOOK),
            purpose=Purpose.ACTION_REQUIRED,
            language=Language.RUSSIAN,
            label="Duty room hook",
        )
        append_access(
            session,
            accessor=None,
            action="operation.read",
            category=AccessCategory.CONSULTATION,
            operation_id="op-audited",
            justification="debrief analysis",
        )


async def _every_page(page: Page, base: str, admin_id: str) -> None:
    for path in (
        "/admin",
        "/admin/agencies",
        "/admin/agencies/kz-police",
        "/admin/users",
        f"/admin/users/{admin_id}",
        "/admin/access-log?operation_id=op-audited",
        "/admin/access-log/verify",
    ):
        await page.goto(base + path)
        await page.locator("h1").wait_for()
        await assert_accessible(page)


async def test_every_administration_page_passes_axe_core(
    live_stack: LiveStack, console_people: People, browser_context: Any
) -> None:
    _records(live_stack)
    base = live_stack.base_url
    admin = console_people.add("ops-admin", role=Role.ADMIN, agency="caricc")
    page = await (await browser_context()).new_page()
    await sign_in_page(page, base, admin, next_path="/admin")
    await _every_page(page, base, admin.user_id)

    # The forms as they answer a mistake: the error summary and each message at its field.
    await page.goto(base + "/admin/agencies")
    await page.get_by_label("Id", exact=True).fill("uz-customs")
    await page.get_by_label("Name", exact=True).fill("State Customs Committee")
    await page.get_by_label("Country (ISO code, e.g. KZ)").fill("Uzbekistan")
    await page.get_by_role("button", name="Register").click()
    await page.locator("#country-error").wait_for()
    await assert_accessible(page)
    await page.goto(base + "/admin/users")
    await page.get_by_label("Id", exact=True).fill("u.karimov")
    await page.get_by_label("Full name").fill("Ulugbek Karimov")
    await page.get_by_label("Initial password").fill("short")
    await page.get_by_role("button", name="Register").click()
    await page.locator("#password-error").wait_for()
    await assert_accessible(page)
    # A new API token, shown once.
    await page.goto(base + f"/admin/users/{admin.user_id}")
    await page.get_by_role("button", name="Issue an API token").click()
    await page.locator("code.secret").wait_for()
    await assert_accessible(page)

    russian = await (await browser_context(locale="ru-RU")).new_page()
    administrator = console_people.add("ops-admin-ru", role=Role.ADMIN, agency="caricc")
    await sign_in_through(russian, base, administrator, path="/admin", language=Language.RUSSIAN)
    await russian.wait_for_url(base + "/admin")
    await _every_page(russian, base, administrator.user_id)
