"""The browser-test harness: a real stack (Temporal dev server, worker, API process serving the
console, PostgreSQL read model) and Debian's Chromium driven by Playwright.

Use it from a test module with `from tests.web.browser import *` names listed in `__all__`:

- `live_stack` (tests/api/live.py) is the stack; `console_people` registers people on it who
  sign in with a password and TOTP (`tests/web/people.py`);
- `chromium` is one browser for the test session; `browser_context(viewport=PHONE)` opens a
  fresh context (its own cookies) per person;
- `sign_in_page(page, base_url, person, next_path, language)` signs in through the forms, as a
  person does, and lands on `next_path`; `sign_in_through` leaves where it lands to the caller;
- `assert_fits(page)` fails when the page is wider than its viewport (it scrolls sideways on a
  phone), naming the elements that stick out;
- `screenshots` is where a test puts the README's screenshots (`take_screenshot`): the test's own
  directory, or docs/screenshots when CDTRACK_WRITE_SCREENSHOTS=1 (`make screenshots`), so an
  ordinary run takes and checks them and leaves the git tree as it was.

Chromium comes from Debian (`apt-get install chromium`), never from `playwright install`; the
browser tests fail, never skip, when it is missing (tests/web/conftest.py says how to get it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from i18n import Language
from tests.api.live import LiveStack, live_database_url, live_stack
from tests.web.people import People, Person

__all__ = [
    "DUTY_ROOM",
    "PHONE",
    "assert_fits",
    "browser_context",
    "chromium",
    "console_people",
    "live_database_url",
    "live_stack",
    "screenshots",
    "sign_in_page",
    "sign_in_through",
    "take_screenshot",
]

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
PHONE: Final = {"width": 360, "height": 740}
DUTY_ROOM: Final = {"width": 1920, "height": 1080}

SCREENSHOTS: Final = Path(__file__).parents[2] / "docs" / "screenshots"
WRITE_SCREENSHOTS: Final = "CDTRACK_WRITE_SCREENSHOTS"
# A page that rendered is tens of kilobytes as PNG; a blank one, a few.
RENDERED_BYTES: Final = 10_000

ContextFactory = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def browser_context(chromium: Browser) -> AsyncIterator[ContextFactory]:
    """`await browser_context(viewport=PHONE, locale="ru-RU")`: a fresh context, closed after."""
    opened: list[BrowserContext] = []

    async def open_context(
        *, viewport: dict[str, int] = DUTY_ROOM, locale: str = "en-GB", timezone_id: str = "UTC"
    ) -> BrowserContext:
        context = await chromium.new_context(
            viewport=viewport,  # type: ignore[arg-type]
            locale=locale,
            timezone_id=timezone_id,
        )
        context.set_default_timeout(15_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        await context.close()


@pytest.fixture
def console_people(live_stack: LiveStack) -> People:
    return People(live_stack.sessions, live_stack.settings)


# The sign-in forms' labels and buttons, as a person reads them in each language: user id,
# password, continue, code, sign in.
SIGN_IN_WORDS: Final = {
    Language.ENGLISH: ("User id", "Password", "Continue", "Code", "Sign in"),
    Language.RUSSIAN: ("Идентификатор пользователя", "Пароль", "Продолжить", "Код", "Вход"),
}


async def sign_in_through(
    page: Page, base_url: str, person: Person, *, path: str, language: Language = Language.ENGLISH
) -> None:
    """Open `path`, get sent to sign in, give password and code in the forms of `language`;
    where the person lands (`path`, or the justification first) is the caller's to wait for."""
    user_id, password, proceed, code, enter = SIGN_IN_WORDS[language]
    await page.goto(base_url + path)
    await page.get_by_label(user_id).fill(person.user_id)
    await page.get_by_label(password).fill(person.password)
    await page.get_by_role("button", name=proceed).click()
    await page.get_by_label(code).fill(person.fresh_code())
    await page.get_by_role("button", name=enter).click()


async def sign_in_page(
    page: Page,
    base_url: str,
    person: Person,
    *,
    next_path: str = "/",
    language: Language = Language.ENGLISH,
) -> None:
    """Open `next_path`, get sent to sign in, give password and code, land on `next_path`."""
    await sign_in_through(page, base_url, person, path=next_path, language=language)
    await page.wait_for_url(base_url + next_path)


# The innermost elements whose right edge is past the viewport's.
STICKING_OUT: Final = """() => {
  const width = document.documentElement.clientWidth;
  const out = (e) => e.getBoundingClientRect().right > width + 0.5;
  return [...document.querySelectorAll("body *")]
    .filter((e) => out(e) && ![...e.children].some(out))
    .slice(0, 10)
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}: ` +
      `${Math.round(e.getBoundingClientRect().right)} px, ` +
      `"${e.textContent.trim().replace(/\\s+/g, " ").slice(0, 60)}"`);
}"""


async def assert_fits(page: Page) -> None:
    """The page is no wider than its viewport: nothing to scroll to sideways."""
    width = await page.evaluate("window.innerWidth")
    scrolled = await page.evaluate("document.documentElement.scrollWidth")
    if scrolled > width:
        sticking_out = "\n".join(await page.evaluate(STICKING_OUT))
        raise AssertionError(f"{page.url} is {scrolled} px wide on {width} px:\n{sticking_out}")


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """docs/screenshots when asked for (CDTRACK_WRITE_SCREENSHOTS=1), else the test's directory."""
    if os.environ.get(WRITE_SCREENSHOTS) == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


async def take_screenshot(page: Page, path: Path, *, full_page: bool = False) -> None:
    """A screenshot of the page as it is now, checked to show something."""
    await page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > RENDERED_BYTES, f"{path.name} of {page.url} is blank"
