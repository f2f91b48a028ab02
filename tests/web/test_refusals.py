"""A refused action as the console shows it: in Russian, the rules' reason after the lead-in with
agencies by name and countries, phases and actions in Russian words; in English, the rules' own
words as today; without a template (an older worker), the English after the lead-in."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta
from pathlib import Path
from typing import Final

import pytest

from api.problems import Problem
from api.workers import NO_WORKER, NOT_YET_KNOWN, unavailable
from i18n import Language, extract
from store.identity import AgencyName
from tests.workflows.test_rules import (
    AF,
    COORDINATOR,
    LAUNCH,
    NOW,
    TJ,
    acknowledge,
    launch,
    launched,
    planned,
)
from web.language import Clock, console_texts
from web.refusals import OPERATION_ENDED, UNAVAILABLE, Refusal, reason_text, refusal_of
from web.templating import View, environment
from workflows.commands import AnyCommand
from workflows.reasons import EXTRACTION_KEYWORDS, PARAMETERS, Parameter, Reason, because
from workflows.rules import Refused, RoleRefused, decide
from workflows.state import OperationState

RULES = Path(__file__).parents[2] / "workflows" / "rules"
LEAD_IN: Final = "Правила операции не допускают это действие:"
DIRECTORY: Final = {
    "caricc": AgencyName(id="caricc", name="ЦАРИКЦ", country="KZ"),
    "af-cnpa": AgencyName(id="af-cnpa", name="Полиция по борьбе с наркотиками", country="AF"),  # noqa: RUF001
    "tj-dca": AgencyName(id="tj-dca", name="Агентство по контролю за наркотиками", country="TJ"),
    "kz-police": AgencyName(id="kz-police", name="Полиция", country="KZ"),
}
# Latin letters that are data, not messages: the moments' zone.
NOT_ENGLISH: Final = {"UTC"}


def view(language: Language) -> View:
    return View(language=language, clock=Clock(console_texts(language), UTC)).naming(DIRECTORY)


def english_words(text: str) -> list[str]:
    return [word for word in re.findall(r"[A-Za-z][A-Za-z'_-]+", text) if word not in NOT_ENGLISH]


def refused(state: OperationState, command: AnyCommand) -> tuple[Refused, Refusal]:
    """The rules' refusal, and what the console makes of it after the workflow's details (JSON)
    and the API's problem carried it."""
    decision = decide(state, command, now=LAUNCH + timedelta(minutes=1))
    assert isinstance(decision, Refused), decision
    details = json.loads(json.dumps(decision.why.as_details()))
    problem = Problem(title="Conflict", status=409, detail=decision.reason, reason=details)
    return decision, refusal_of(problem)


def shown(refusal: Refusal, language: Language) -> str:
    macro = '{% from "macros.html" import refusal_reason %}{{ refusal_reason(refusal, view) }}'
    page = environment(language).from_string(macro)
    return " ".join(page.render(refusal=refusal, view=view(language)).split())


def test_a_handover_not_offered_is_refused_in_russian() -> None:
    _, refusal = refused(launched(), acknowledge(TJ))
    text = shown(refusal, Language.RUSSIAN)
    assert text == f"{LEAD_IN} передача на участке 1 не предлагалась"
    assert "lang=" not in text


def test_the_phase_and_the_phases_allowed_are_said_in_russian() -> None:
    _, refusal = refused(planned(), acknowledge(TJ))
    text = shown(refusal, Language.RUSSIAN)
    assert text == (
        f"{LEAD_IN} текущий этап операции — планирование, а это действие допускается только "  # noqa: RUF001
        "на этапе: исполнение или приостановлена"
    )


def test_an_officer_asking_for_the_coordinators_action_reads_the_coordinator_by_name() -> None:
    decision, refusal = refused(planned(), launch(AF))
    assert isinstance(decision, RoleRefused)
    text = shown(refusal, Language.RUSSIAN)
    assert text == f"{LEAD_IN} это может сделать только координатор (ЦАРИКЦ (Казахстан))"
    assert not english_words(text)


def test_what_blocks_a_launch_is_listed_in_russian() -> None:
    _, refusal = refused(planned(), launch(COORDINATOR))
    text = shown(refusal, Language.RUSSIAN)
    assert text.startswith(f"{LEAD_IN} операцию нельзя начать: Афганистан: разрешение не внесено;")
    awaited = "ожидается подтверждение участия от: Полиция по борьбе с наркотиками (Афганистан)"  # noqa: RUF001
    assert awaited in text
    assert not english_words(text)


def test_english_reads_the_rules_reason_with_the_agencies_named() -> None:
    decision, refusal = refused(launched(), acknowledge(TJ))
    assert decision.reason == "cannot acknowledge handover: no handover of leg 1 has been offered"
    assert shown(refusal, Language.ENGLISH) == (
        "The operation's rules refused this action: no handover of leg 1 has been offered"
    )
    _, blocked = refused(planned(), launch(COORDINATOR))
    english = shown(blocked, Language.ENGLISH)
    assert "Полиция по борьбе с наркотиками (Afghanistan)" in english, english  # noqa: RUF001
    assert "af-cnpa" not in english, "agencies by name, not by id"


def test_a_refusal_without_its_template_keeps_the_english_after_the_lead_in() -> None:
    reason = "cannot acknowledge handover: no handover of leg 1 has been offered"
    older = refusal_of(Problem(title="Conflict", status=409, detail=reason))
    assert older.why is None
    assert shown(older, Language.RUSSIAN) == f'{LEAD_IN} <span lang="en">{reason}</span>'


def test_an_answer_not_of_the_rules_is_translated_as_a_whole() -> None:
    ended = Refusal(reason=OPERATION_ENDED)
    assert shown(ended, Language.RUSSIAN) == "операция уже завершена"


def test_the_answers_when_no_worker_can_act_are_translated_as_a_whole() -> None:
    details = [unavailable(detail).problem.detail for detail in (NO_WORKER, NOT_YET_KNOWN)]
    assert details == list(UNAVAILABLE), "the console's catalogue has the API's very words"
    for detail in details:
        problem = Problem(title="Service Unavailable", status=503, detail=detail)
        russian = shown(refusal_of(problem), Language.RUSSIAN)
        assert "ничего не изменено" in russian
        assert "nothing" not in russian


# A value of each kind of parameter, as the rules would give it.
SAMPLES: Final[dict[str, Parameter]] = {
    "agency": "tj-dca",
    "agencies": ("af-cnpa", "kz-police"),
    "country": "AF",
    "route": ("AF", "TJ", "KZ"),
    "phase": "interdiction",
    "phases": ("debrief", "execution", "planning"),
    "action": "acknowledge handover",
    "delivery": "fully substituted",
    "moment": (NOW).strftime("%Y-%m-%d %H:%M UTC"),
    "text": "12",
    "number": 2,
    "reasons": (because("no authorisation recorded for %(country)s", country="TJ"),),
}


@pytest.mark.parametrize(
    "template",
    [m.id for m in extract(sorted(RULES.glob("*.py")), keywords=EXTRACTION_KEYWORDS)],
)
def test_every_reason_of_the_rules_reads_in_russian_without_english_words(template: str) -> None:
    names = re.findall(r"%\((\w+)\)s", template)
    assert set(names) <= set(PARAMETERS), "a parameter of a kind the console does not know"
    reason = Reason(template, {name: SAMPLES[PARAMETERS[name]] for name in names})
    text = reason_text(reason, view=view(Language.RUSSIAN))
    # A field path is a code, not a word of English.
    assert not english_words(text.replace("consignment.left_in", "")), text
