"""Every message of the console (Python sources and templates, and the lifecycle rules' reasons it
shows) has a Russian translation, with the plural forms Russian needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from i18n import Language, Message, extract, untranslated
from web.language import DOMAIN, console_texts
from workflows.reasons import EXTRACTION_KEYWORDS

WEB = Path(__file__).parents[2] / "web"
RULES = Path(__file__).parents[2] / "workflows" / "rules"


def console_sources() -> list[Path]:
    # The API documentation pages are Swagger UI's and ReDoc's own, in English.
    return [
        path
        for path in sorted(WEB.rglob("*"))
        if path.suffix in {".py", ".html"} and "docs" not in path.relative_to(WEB).parts
    ]


def rules_reasons() -> list[Message]:
    """The templates of the rules' refusals and launch blockers (`workflows/reasons.py`)."""
    return extract(sorted(RULES.glob("*.py")), keywords=EXTRACTION_KEYWORDS)


def test_every_reason_of_the_rules_has_a_russian_translation() -> None:
    reasons = rules_reasons()
    assert len(reasons) > 40, "the extractor found too few reasons: is it reading the rules?"
    assert "no handover of leg %(leg)s has been offered" in {m.id for m in reasons}
    missing = untranslated(DOMAIN, Language.RUSSIAN, reasons)
    assert not missing, "no Russian translation for: " + "; ".join(m.id for m in missing)


def test_every_console_message_has_a_russian_translation() -> None:
    messages = extract(console_sources())
    assert len(messages) > 40, "the extractor found too few messages: is it reading the sources?"
    missing = untranslated(DOMAIN, Language.RUSSIAN, messages)
    assert not missing, "no Russian translation for: " + "; ".join(m.id for m in missing)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(1, "1 минуты"), (2, "2 минут"), (5, "5 минут"), (21, "21 минуты"), (11, "11 минут")],
)
def test_russian_plurals_follow_the_number(minutes: int, expected: str) -> None:
    words = console_texts(Language.RUSSIAN)
    text = words.ngettext(
        "You are signed out after %(num)s minute without use.",
        "You are signed out after %(num)s minutes without use.",
        minutes,
    ) % {"num": minutes}
    assert f"после {expected} бездействия" in text
