"""The catalogues: Russian plural forms by Babel's rule, contexts, formats, and gaps found."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import i18n
from i18n import Language, Message, extract, texts, untranslated

RU = Language.RUSSIAN
EN = Language.ENGLISH


@pytest.mark.parametrize(
    ("n", "word"),
    [(1, "вывод"), (2, "вывода"), (4, "вывода"), (5, "выводов"), (11, "выводов"),
     (12, "выводов"), (21, "вывод"), (22, "вывода"), (100, "выводов"), (101, "вывод")],
)  # fmt: skip
def test_russian_takes_the_plural_form_its_number_asks_for(n: int, word: str) -> None:
    assert texts("reports", RU).ngettext("finding", "findings", n) == word


def test_english_reads_the_message_ids_with_two_forms() -> None:
    english = texts("reports", EN)
    assert english.ngettext("finding", "findings", 1) == "finding"
    assert english.ngettext("finding", "findings", 0) == "findings"
    assert english.gettext("Debrief report") == "Debrief report"


def test_a_context_tells_two_uses_of_one_word_apart() -> None:
    russian = texts("reports", RU)
    assert russian.pgettext("page number", "of") == "из"
    assert russian.gettext("Debrief report") == "Отчёт по итогам операции"


def test_numbers_dates_and_countries_follow_the_reader() -> None:
    moment = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
    russian, english = texts("notices", RU), texts("notices", EN)
    assert russian.number(12600.5) == "12\xa0600,5"
    assert english.number(12600.5) == "12,600.5"
    assert russian.moment(moment, "HH:mm 'UTC', d MMM y") == "14:30 UTC, 24 нояб. 2026"
    assert english.day(moment) == "24 November 2026"
    assert russian.country("kz") == "Казахстан"
    assert english.country("TJ") == "Tajikistan"
    assert russian.country("XX") == "XX"


def test_messages_are_extracted_from_templates_and_python(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        '{{ _("Hello %(who)s", who=x) }} {{ ngettext("finding", "findings", n) }}'
        ' {{ pgettext("page number", "of") }}'
    )
    (tmp_path / "texts.py").write_text(
        'N_("Planning")\nngettext("a", "b", 2)\n_("Hello %(who)s")\n'
    )
    assert extract([tmp_path / "page.html", tmp_path / "texts.py"]) == [
        Message("Hello %(who)s"),
        Message("finding", plural="findings"),
        Message("of", context="page number"),
        Message("Planning"),
        Message("a", plural="b"),
    ]


def test_a_gap_in_the_catalogue_is_named() -> None:
    found = untranslated(
        "reports",
        RU,
        [
            Message("finding", plural="findings"),
            Message("no such message"),
            Message("finding"),  # translated, but as a plural: the single form is missing
            Message("of", context="page number"),
            Message("of", context="no such context"),
        ],
    )
    assert found == [
        Message("no such message"),
        Message("finding"),
        Message("of", context="no such context"),
    ]


@pytest.fixture
def other_locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES, root)
    monkeypatch.setattr(i18n, "LOCALES", root)
    i18n.translations.cache_clear()
    yield root
    i18n.translations.cache_clear()


def test_a_translation_with_other_placeholders_is_a_gap(other_locales: Path) -> None:
    po = other_locales / "ru" / "LC_MESSAGES" / "notices.po"
    po.write_text(
        po.read_text().replace('msgstr "Операция %(code)s"', 'msgstr "Операция %(name)s"')
    )
    assert untranslated("notices", RU, [Message("Operation %(code)s")]) == [
        Message("Operation %(code)s")
    ]


def test_a_catalogue_with_a_plural_rule_other_than_babels_is_refused(other_locales: Path) -> None:
    po = other_locales / "ru" / "LC_MESSAGES" / "notices.po"
    text = po.read_text()
    start = text.index('"Plural-Forms:')
    end = text.index("MIME-Version")
    po.write_text(text[:start] + '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n"' + text[end:])
    with pytest.raises(ValueError, match="Plural-Forms"):
        i18n.translations("notices", RU)
