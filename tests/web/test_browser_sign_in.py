"""In Chromium, on the real stack: a person signs in on a phone and lands where they were going;
`/docs` renders with no asset from anywhere but cdtrack."""

from __future__ import annotations

from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.async_api import Request, Response

from api.principal import Role
from tests.api.live import LiveStack
from tests.web.browser import (
    PHONE,
    browser_context,
    chromium,
    console_people,
    live_database_url,
    live_stack,
    sign_in_page,
)
from tests.web.people import People

__all__ = ["browser_context", "chromium", "console_people", "live_database_url", "live_stack"]

pytestmark = [pytest.mark.devserver, pytest.mark.postgres, pytest.mark.api_process]


async def test_an_officer_enrols_a_second_factor_on_a_phone_and_lands_where_they_were_going(
    live_stack: LiveStack, console_people: People, browser_context: object
) -> None:
    officer = console_people.add("kz-duty-1", role=Role.OFFICER, agency="kz-police", enrolled=False)
    context = await browser_context(viewport=PHONE)  # type: ignore[operator]
    page = await context.new_page()
    answers: list[Response] = []
    page.on("response", lambda answer: answers.append(answer))

    await page.goto(live_stack.base_url + "/preferences")
    assert "/sign-in" in page.url
    await page.get_by_label("User id").fill(officer.user_id)
    await page.get_by_label("Password").fill(officer.password)
    await page.get_by_role("button", name="Continue").click()

    # First sign-in: the QR code is an image cdtrack serves, and the key is shown for typing.
    qr = page.get_by_role("img", name="QR code of your second factor secret")
    await qr.wait_for()
    await page.wait_for_function(
        "() => { const qr = document.querySelector('img.qr');"
        " return qr.complete && qr.naturalWidth > 0; }"
    )
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    await page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(live_stack.base_url + "/preferences")
    await page.get_by_role("heading", name="Preferences").wait_for()

    pages = [answer for answer in answers if answer.request.resource_type == "document"]
    assert pages
    for answer in pages:
        headers = await answer.all_headers()
        assert "script-src 'self'" in headers["content-security-policy"], answer.url
        assert "unsafe-inline" not in headers["content-security-policy"], answer.url
        assert headers["x-frame-options"] == "DENY", answer.url
        assert headers["cache-control"] == "no-store", answer.url

    # The page fits the phone's width: nothing to scroll sideways.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]


async def test_a_second_sign_in_asks_for_the_code_only(
    live_stack: LiveStack, console_people: People, browser_context: object
) -> None:
    coordinator = console_people.add("caricc-liaison", role=Role.COORDINATOR, agency="caricc")
    context = await browser_context()  # type: ignore[operator]
    page = await context.new_page()
    await sign_in_page(page, live_stack.base_url, coordinator, next_path="/")
    await page.get_by_role("heading", name="Welcome, caricc-liaison").wait_for()


async def test_the_api_docs_render_from_assets_cdtrack_serves(
    live_stack: LiveStack, browser_context: object
) -> None:
    context = await browser_context()  # type: ignore[operator]
    page = await context.new_page()
    requested: list[Request] = []
    answered: list[Response] = []
    page.on("request", lambda request: requested.append(request))
    page.on("response", lambda answer: answered.append(answer))
    # Nothing but cdtrack may be reached: a request elsewhere is refused, as on a closed network.
    origin = urlsplit(live_stack.base_url).netloc
    await context.route(
        "**/*",
        lambda route: (
            route.continue_() if urlsplit(route.request.url).netloc == origin else route.abort()
        ),
    )

    await page.goto(live_stack.base_url + "/docs")
    await page.get_by_role("heading", name="cdtrack").first.wait_for()
    await page.get_by_text("/api/v1/operations").first.wait_for()
    await page.goto(live_stack.base_url + "/redoc")
    await page.get_by_role("heading", name="cdtrack").first.wait_for()

    # ReDoc's side menu names its maker with a logo from its CDN: the CSP refuses that image,
    # and the page works without it. Nothing the page runs or is styled by comes from elsewhere.
    outside = [
        (r.url, r.resource_type)
        for r in requested
        if urlsplit(r.url).scheme in {"http", "https"}
        and urlsplit(r.url).netloc != origin
        and r.resource_type != "image"
    ]
    assert not outside, f"assets from elsewhere: {outside}"
    failed = [(a.url, a.status) for a in answered if a.status >= 400]
    assert not failed, failed
    scripts = [a.url for a in answered if a.request.resource_type == "script"]
    assert any(url.endswith("swagger-ui-bundle.js") for url in scripts)
    assert any(url.endswith("redoc.standalone.js") for url in scripts)
