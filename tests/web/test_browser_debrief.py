"""In Chromium, on the real stack: the debrief through the console, in Russian.

An agency's officer submits its debrief input, the coordinator adds a recommendation and closes
the debrief, the outcome assessment appears with its versions and its report downloads in both
languages, and an analyst reads the statistics. Every page is checked for English left in the
Russian console and by axe-core against WCAG 2.1 AA, and the officer's pages for fitting the
phone's width; the English pages give the README its screenshots, one per kind of user.
"""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Page
from pypdf import PdfReader

from api.principal import Role
from cdtrack.walkthrough import Walkthrough
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
    sign_in_through,
    take_screenshot,
)
from tests.web.people import People

__all__ = [
    "browser_context",
    "chromium",
    "console_people",
    "live_database_url",
    "live_stack",
    "screenshots",
]

pytestmark = [pytest.mark.devserver, pytest.mark.postgres, pytest.mark.api_process]

WCAG_21_AA: Final = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# What a Russian page may show in Latin letters: data, not messages. Code names, agency and
# user ids, the substance as the plan names it, and the names of the standards and formats.
LATIN: Final = re.compile(r"[A-Za-z][A-Za-z'-]+")
NOT_MESSAGES: Final = {"cdtrack", "UTC", "PDF", "heroin", "English", "KZ", "AF", "TJ"}
# What the sample walkthrough's events name in Latin letters: authorities and places.
WALKTHROUGH_DATA: Final = {
    "Prosecutor's",
    "office",
    "Kunduz",
    "Dushanbe",
    "Almaty",
    "warehouse",
}


async def assert_accessible(page: Page) -> None:
    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


async def assert_no_english(page: Page, *, data: set[str], within: str = "body") -> None:
    """Every word in Latin letters on the page (text, titles, labels, alternative texts), or in
    its element `within`, is one of `data` or NOT_MESSAGES: a message left untranslated fails,
    whatever its source."""
    shown = await page.evaluate(
        """(within) => {
             const root = document.querySelector(within);
             return [within === "body" ? document.title : "", root.innerText,
               ...[...root.querySelectorAll('[alt],[aria-label],[title],[placeholder]')]
                 .flatMap(e => [e.getAttribute('alt'), e.getAttribute('aria-label'),
                                e.getAttribute('title'), e.getAttribute('placeholder')])
                 .filter(Boolean)].join('\\n');
           }""",
        within,
    )
    allowed = NOT_MESSAGES | data
    pieces = re.split(r"[\s,.;:()«»\"/·→|]+", shown)
    english = sorted({word for word in pieces if LATIN.fullmatch(word) and word not in allowed})
    english = [w for w in english if not any(w.startswith(d) or d.startswith(w) for d in data)]
    assert not english, f"{page.url} shows English: {english}"


async def justify(page: Page) -> None:
    """The reason asked once per operation: the first one offered."""
    await page.locator("input[name=reason]").first.check()
    await page.locator("form.narrow button[type=submit]").click()


def walk_to_debrief(live_stack: LiveStack, code_name: str) -> str:
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        # H1: analysts may see it, so the statistics page has something to show.
        return Walkthrough(http, live_stack.cast).run_to_debrief(code_name=code_name, handling="H1")


def local_input(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


async def test_the_debrief_in_russian_and_the_report_in_both_languages(
    live_stack: LiveStack, console_people: People, browser_context: Any
) -> None:
    operation_id = await asyncio.to_thread(walk_to_debrief, live_stack, "KESTREL")
    base = live_stack.base_url
    officer = console_people.add("af-officer", agency="af-cnpa", country="AF")
    coordinator = console_people.add("caricc-coord", role=Role.COORDINATOR, agency="caricc")
    analyst = console_people.add("caricc-analyst", role=Role.ANALYST, agency="caricc")
    data = {
        "KESTREL",
        "af-cnpa",
        "tj-dca",
        "kz-police",
        "caricc",
        "af-officer",
        "caricc-coord",
        "caricc-analyst",
        "CARICC",
        "AF-CNPA",
        "TJ-DCA",
        "KZ-POLICE",
    }

    # The officer, on a phone, in Russian: sign-in, justification, debrief, input submitted.
    phone = await (await browser_context(viewport=PHONE, locale="ru-RU")).new_page()
    await phone.goto(base + "/sign-in")
    await assert_no_english(phone, data=data)
    await assert_accessible(phone)
    await sign_in_through(
        phone, base, officer, language=Language.RUSSIAN, path=f"/o/{operation_id}/debrief"
    )
    await phone.wait_for_url(re.compile(r"/justify"))
    await assert_no_english(phone, data=data)
    await assert_accessible(phone)
    await justify(phone)
    await phone.get_by_role("heading", name="Разбор операции KESTREL").wait_for()
    await assert_no_english(phone, data=data)
    await assert_accessible(phone)
    # The long Russian terms of the summary wrap: the deadline and the count stay on screen.
    await assert_fits(phone)
    # Sent with nothing in it (by mistake), the input is refused: the agency is not yet heard.
    await phone.get_by_role("button", name="Представить материалы разбора").click()
    await phone.locator("#refusal").get_by_text("материалы разбора пусты").wait_for()
    await assert_no_english(phone, data=data)
    await phone.get_by_label("Извлечённые уроки").fill("Сообщать время прибытия курьера заранее")
    # The seizure's country is one of the route's, the officer's own chosen for them; left as it
    # is, with nothing else of a seizure typed, no seizure is recorded.
    country = phone.locator("#seizure_country")
    assert await country.input_value() == "AF"
    assert await country.locator("option").count() == 3
    await phone.get_by_role("button", name="Представить материалы разбора").click()
    await phone.get_by_text("Материалы разбора вашего ведомства приняты.").wait_for()
    await assert_no_english(phone, data=data)
    await assert_fits(phone)
    # The officer's inbox, in Russian too; the operation page passes axe-core.
    await phone.goto(base + "/")
    await phone.locator("h1").wait_for()
    await assert_no_english(phone, data=data)
    await assert_accessible(phone)
    await assert_fits(phone)
    await phone.goto(base + f"/o/{operation_id}")
    await phone.locator("h1").wait_for()
    await assert_accessible(phone)
    await assert_fits(phone)
    # Each timeline line is written in Russian from its event, not the rules' English summary.
    await phone.locator(".timeline li").first.wait_for()
    await assert_no_english(phone, data=data | WALKTHROUGH_DATA, within=".timeline")

    # The coordinator: a due date typed wrongly is answered at its field, what was typed kept.
    desk = await (await browser_context(locale="ru-RU")).new_page()
    await sign_in_through(
        desk, base, coordinator, language=Language.RUSSIAN, path=f"/o/{operation_id}/debrief"
    )
    await justify(desk)
    await desk.get_by_role("heading", name="Разбор операции KESTREL").wait_for()
    await assert_no_english(desk, data=data)
    await assert_accessible(desk)
    recommendation = "Договориться о едином канале связи на границе"  # noqa: RUF001
    await desk.get_by_label("Рекомендация", exact=True).fill(recommendation)
    await desk.get_by_role("button", name="Добавить рекомендацию").click()
    await desk.locator("#due-error").get_by_text("Укажите дату и время.").wait_for()
    assert await desk.get_by_label("Рекомендация", exact=True).input_value() == recommendation
    await assert_no_english(desk, data=data)
    await assert_accessible(desk)
    # A deadline before the current one: the lifecycle refuses, and says why in Russian at the
    # field, the error summary linking to it.
    deadline = desk.get_by_label("Новый срок (UTC)")
    await deadline.fill(local_input(datetime.now(UTC)))
    await desk.get_by_role("button", name="Продлить срок").click()
    said = desk.locator("#deadline-error")
    await said.get_by_text("Новый срок должен быть позже текущего").wait_for()
    assert await said.locator("[lang=en]").count() == 0
    assert await desk.locator(".error-summary a[href='#deadline']").count() == 1
    assert await desk.locator("#refusal").count() == 0
    assert await deadline.get_attribute("aria-invalid") == "true"
    await assert_no_english(desk, data=data)
    await assert_accessible(desk)
    await desk.get_by_label("Рекомендация", exact=True).fill(recommendation)
    await desk.get_by_label("Срок исполнения (UTC)").fill(
        local_input(datetime.now(UTC) + timedelta(days=30))
    )
    await desk.get_by_role("button", name="Добавить рекомендацию").click()
    await desk.get_by_text("Рекомендация добавлена.").wait_for()
    await desk.get_by_text(recommendation).wait_for()
    await desk.get_by_role("button", name="Закрыть разбор").click()
    await desk.get_by_text("Разбор закрыт.").wait_for()

    # The outcome assessment follows the close: its page, its versions, its report.
    await desk.goto(base + f"/o/{operation_id}/report")
    for _ in range(60):
        if await desk.get_by_role("link", name="PDF на русском").count():
            break
        await asyncio.sleep(0.5)
        await desk.reload()
    await desk.get_by_role("heading", name="Итоговая оценка операции KESTREL").wait_for()
    await desk.get_by_role("heading", name="Версии").wait_for()
    # What the report lists beside the findings: the deviations from the plan.
    await desk.get_by_role("heading", name="Отклонения от плана").wait_for()
    await assert_no_english(desk, data=data)
    await assert_accessible(desk)
    texts = {}
    for link, language in (("PDF на русском", "ru"), ("PDF на английском", "en")):
        # Rendering a PDF takes seconds of CPU (more on a loaded machine).
        async with desk.expect_download(timeout=120_000) as started:
            await desk.get_by_role("link", name=link).click()
        download = await started.value
        assert download.suggested_filename == f"KESTREL-debrief-v1-{language}.pdf"
        body = Path(await download.path()).read_bytes()
        assert body.startswith(b"%PDF-")
        texts[language] = " ".join(
            page.extract_text() for page in PdfReader(io.BytesIO(body)).pages
        )
    assert "Отчёт по итогам операции" in texts["ru"]
    assert "Debrief report" in texts["en"]
    assert recommendation in texts["ru"]
    await desk.get_by_role("link", name="Открыть веб-страницей на русском").click()
    await desk.get_by_role("heading", name="Отчёт по итогам операции").wait_for()

    # The analyst: statistics over what they may see, then the assessment from there.
    analysis = await (await browser_context(locale="ru-RU")).new_page()
    await sign_in_through(analysis, base, analyst, path="/statistics", language=Language.RUSSIAN)
    await analysis.get_by_role("heading", name="Статистика", exact=True).wait_for()
    await analysis.get_by_role("link", name="KESTREL").wait_for()
    await assert_no_english(analysis, data=data)
    await assert_accessible(analysis)
    charts = analysis.locator(".charts img")
    assert await charts.count() == 2
    for index in range(2):
        width = await charts.nth(index).evaluate("img => img.naturalWidth")
        assert width > 0, "a chart did not render"
    await analysis.get_by_role("link", name="KESTREL").click()
    await justify(analysis)
    await analysis.get_by_role("heading", name="Итоговая оценка операции KESTREL").wait_for()
    await assert_no_english(analysis, data=data)


async def test_screenshots_of_the_console_for_each_kind_of_user(
    live_stack: LiveStack, console_people: People, browser_context: Any, screenshots: Path
) -> None:
    """In English, for the README: what each kind of user works with."""
    operation_id = await asyncio.to_thread(walk_to_debrief, live_stack, "NIGHTJAR")
    base = live_stack.base_url
    cast = {
        "officer": (
            console_people.add("tj-duty", name="Duty officer", agency="tj-dca", country="TJ"),
            f"/o/{operation_id}/debrief",
            PHONE,
        ),
        "coordinator": (
            console_people.add(
                "caricc-liaison", name="Liaison officer", role=Role.COORDINATOR, agency="caricc"
            ),
            f"/o/{operation_id}/debrief",
            None,
        ),
        "analyst": (
            console_people.add("caricc-stats", name="Analyst", role=Role.ANALYST, agency="caricc"),
            "/statistics",
            None,
        ),
        "administrator": (
            console_people.add("ops-admin", name="Administrator", role=Role.ADMIN, agency="caricc"),
            "/",
            None,
        ),
    }
    for kind, (person, path, viewport) in cast.items():
        context = await browser_context(viewport=viewport or {"width": 1280, "height": 900})
        page = await context.new_page()
        await page.goto(base + path)
        await page.get_by_label("User id").fill(person.user_id)
        await page.get_by_label("Password").fill(person.password)
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_label("Code").fill(person.fresh_code())
        await page.get_by_role("button", name="Sign in").click()
        if "/justify" in page.url or await page.locator("input[name=reason]").count():
            await assert_accessible(page)
            await justify(page)
        await page.locator("h1").wait_for()
        await assert_accessible(page)
        await take_screenshot(page, screenshots / f"{kind}.png", full_page=viewport is PHONE)
