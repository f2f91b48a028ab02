"""On the live stack, an officer whose action the lifecycle refuses reads why in their language:
the workflow's refusal, its details carried through the API's problem to the console's page. A
Russian officer reads no English; an English one reads the rules' words as the API gives them."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime
from typing import Final

import httpx
import pytest

from api.principal import Role
from cdtrack.walkthrough import JUSTIFICATION, sample_plan
from tests.api.live import LiveStack
from tests.web.browser import console_people, live_database_url, live_stack
from tests.web.people import People, Person, csrf_of, sign_in

__all__ = ["console_people", "live_database_url", "live_stack"]

pytestmark = [pytest.mark.devserver, pytest.mark.postgres]

REFUSAL: Final = re.compile(r'<p id="refusal">(.*?)</p>', re.DOTALL)
ITEM: Final = re.compile(r"<li>([^<]*)</li>")
BLOCKED: Final = ("разрешение не внесено", "ожидается подтверждение участия")
LATIN: Final = re.compile(r"[A-Za-z][A-Za-z'_-]+")
# Latin letters that are data: the live stack names each agency by its id, upper-cased.
DATA: Final = {"CARICC", "AF-CNPA", "TJ-DCA", "KZ-POLICE", "UTC"}


def create_operation(live_stack: LiveStack) -> str:
    token = live_stack.cast.coordinator
    plan = sample_plan(coordinator_agency="caricc", now=datetime.now(UTC), code_name="MERLIN")
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        created = http.post(
            "/api/v1/operations",
            json=plan,
            headers={"Authorization": f"Bearer {token}", "X-Justification": JUSTIFICATION},
        )
    assert created.status_code == 201, created.text
    operation_id: str = created.json()["operation_id"]
    return operation_id


def opened(client: httpx.Client, person: Person, operation_id: str) -> str:
    """Signed in and the operation's handover page opened (its justification given): its CSRF."""
    sign_in(client, person, next_path=f"/o/{operation_id}/handover")
    form = client.get(f"/o/{operation_id}/justify")
    assert form.status_code == 200, form.text
    first = re.search(r'name="reason" value="([^"]+)"', form.text)
    assert first, "the justification form offers no reason"
    justified = client.post(
        f"/o/{operation_id}/justify",
        data={
            "reason": first.group(1),
            "next": f"/o/{operation_id}/handover",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert justified.status_code == 303, justified.text
    page = client.get(f"/o/{operation_id}/handover")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def refusal_shown(
    client: httpx.Client, operation_id: str, kind: str, fields: dict[str, str], csrf: str
) -> str:
    answer = client.post(f"/o/{operation_id}/act/{kind}", data={**fields, "csrf_token": csrf})
    assert answer.status_code == 409, answer.text
    found = REFUSAL.search(answer.text)
    assert found, "the page shows no refusal"
    return html.unescape(" ".join(found.group(1).split()))


def english_words(text: str) -> list[str]:
    plain = re.sub(r"<[^>]+>", " ", text)
    return [word for word in LATIN.findall(plain) if word not in DATA]


async def test_a_refused_action_reads_in_the_officers_language(
    live_stack: LiveStack, console_people: People
) -> None:
    await asyncio.to_thread(_refused_in_both_languages, live_stack, console_people)


def _refused_in_both_languages(live_stack: LiveStack, people: People) -> None:
    operation_id = create_operation(live_stack)
    russian = people.add("tj-duty-ru", role=Role.OFFICER, agency="tj-dca", country="TJ")
    english = people.add("tj-duty-en", role=Role.OFFICER, agency="tj-dca", country="TJ")
    base = live_stack.base_url
    ru = {"Accept-Language": "ru-RU,ru;q=0.9"}
    with httpx.Client(base_url=base, timeout=60, headers=ru) as client:
        csrf = opened(client, russian, operation_id)

        # A handover acknowledged while the operation is still planned: no handover is offered.
        early = refusal_shown(client, operation_id, "acknowledge_handover", {"leg": "1"}, csrf)
        assert early == (
            "Правила операции не допускают это действие: текущий этап операции — планирование, "
            "а это действие допускается только на этапе: исполнение или приостановлена"  # noqa: RUF001
        )

        # The coordinator's launch, asked for by an officer: the coordinator by name.
        launch = refusal_shown(client, operation_id, "launch_operation", {}, csrf)
        assert launch == (
            "Правила операции не допускают это действие: это может сделать только координатор "
            "(CARICC (Казахстан))"
        )
        assert not english_words(early + launch), early + launch

        # What blocks the launch, on its page and the operation's, in Russian as well: each
        # country's missing authorisation, and the agencies yet to confirm.
        for path in (f"/o/{operation_id}/launch", f"/o/{operation_id}"):
            shown = client.get(path)
            assert shown.status_code == 200, shown.text
            items = [html.unescape(item) for item in ITEM.findall(shown.text)]
            blockers = [item for item in items if any(b in item for b in BLOCKED)]
            assert "Афганистан: разрешение не внесено" in blockers, (path, items)
            assert len(blockers) == 4, (path, blockers)
            assert not english_words(" ".join(blockers)), blockers

    with httpx.Client(base_url=base, timeout=60, headers={"Accept-Language": "en"}) as client:
        csrf = opened(client, english, operation_id)
        early = refusal_shown(client, operation_id, "acknowledge_handover", {"leg": "1"}, csrf)
        assert early == (
            "The operation's rules refused this action: the operation is planning; this is "
            "allowed only while it is execution or suspended"
        )
        launch = refusal_shown(client, operation_id, "launch_operation", {}, csrf)
        assert launch == (
            "The operation's rules refused this action: only the coordinator (CARICC "
            "(Kazakhstan)) may do this"
        ), launch

    coordinator = people.add("caricc-duty", role=Role.COORDINATOR, agency="caricc", country="KZ")
    with httpx.Client(base_url=base, timeout=60, headers=ru) as client:
        csrf = opened(client, coordinator, operation_id)
        # An action of the operation's own page, not of a notice's: refused beside its form.
        resumed = refusal_shown(client, operation_id, "resume_operation", {}, csrf)
        assert resumed.startswith("Правила операции не допускают это действие: "), resumed
        assert not english_words(resumed), resumed
