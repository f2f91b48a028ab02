"""The debrief report: its PDF carries the assessment's figures in English and in Russian."""

from __future__ import annotations

import io
import re

import pytest
from babel.messages.pofile import read_po
from pypdf import PdfReader

from activities.report.catalogue import message_ids
from activities.report.render import (
    LANGUAGES,
    Language,
    catalogue_path,
    render_report_html,
    render_report_pdf,
)
from tests.activities.known_operation import RECOMMENDED, known_operation
from workflows.assessment import OutcomeAssessment, assess

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def assessment() -> OutcomeAssessment:
    state = known_operation().after_late_input
    return assess(state, version=2, at_seq=state.timeline[-1].seq, reason="test", now=RECOMMENDED)


@pytest.fixture(scope="module")
def pages(assessment: OutcomeAssessment) -> dict[Language, list[str]]:
    texts: dict[Language, list[str]] = {}
    for lang in LANGUAGES:
        pdf = render_report_pdf(assessment, lang=lang)
        assert pdf.startswith(b"%PDF-")
        reader = PdfReader(io.BytesIO(pdf))
        texts[lang] = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
    return texts


def test_the_english_pdf_carries_the_figures(pages: dict[Language, list[str]]) -> None:
    text = " ".join(pages["en"])
    for expected in (
        "Debrief report",
        "NIGHTJAR",
        "Handover TJ->KZ (leg 2) acknowledged 47 min after its deadline",
        "Surveillance lost for 40 min near Kunduz bazaar",
        "Debrief input from tj-dca came 28 h after the deadline",
        "98.47 %",  # coverage
        "12.6 kg",  # heroin, KZ 12.1 + TJ 0.5
        "0.4 kg",  # mephedrone
        "77 min",  # leg 2 offer to acknowledgement
        "1 d 19 h 30 min",  # execution
        "$23,000.00",  # assets
        "Keep a duty officer at the Almaty road checkpoint during deliveries",
        "30 June 2026",
        "Kazakhstan",
    ):
        assert expected in text, expected


def test_the_russian_pdf_carries_the_figures(pages: dict[Language, list[str]]) -> None:
    text = " ".join(pages["ru"])
    for expected in (
        "Отчёт по итогам операции",
        "NIGHTJAR",
        "Передача TJ->KZ (участок 2) подтверждена через 47 мин после срока",
        "Наблюдение потеряно на 40 мин вблизи: Kunduz bazaar",
        "98,47 %",
        "12,6 кг",
        "0,4 кг",
        "77 мин",
        "1 сут 19 ч 30 мин",
        "Казахстан",
        "30 июня 2026",
    ):
        assert expected in text, expected


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_handling_code_is_on_every_page(
    lang: Language, pages: dict[Language, list[str]]
) -> None:
    assert len(pages[lang]) > 1
    for number, text in enumerate(pages[lang], start=1):
        assert "H0 — " in text, f"page {number} lacks the handling banner"


def test_the_russian_catalogue_translates_every_message() -> None:
    with catalogue_path("ru").open("rb") as po:
        catalogue = read_po(po, locale="ru")
    untranslated = []
    for message_id in message_ids():
        message = catalogue.get(message_id)
        translated = message.string if message is not None else ""
        assert isinstance(translated, str)
        if not translated.strip() or translated == message_id:
            untranslated.append(message_id)
            continue
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(message_id)), (
            message_id
        )
    assert untranslated == []


def test_the_html_report_escapes_what_agencies_typed(assessment: OutcomeAssessment) -> None:
    hostile = assessment.model_copy(update={"code_name": "<script>alert(1)</script>"})
    html = render_report_html(hostile, lang="en")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_the_page_header_prints_the_handling_label_as_typed(assessment: OutcomeAssessment) -> None:
    restricted = assessment.model_copy(update={"handling_code": "H2"})
    label = "Not to be passed on without the provider's permission"
    html = render_report_html(restricted, lang="en")
    style = html[html.index("<style>") : html.index("</style>")]
    assert f'content: "H2 — {label}";' in style
    assert "&#39;" not in style
    pdf = render_report_pdf(restricted, lang="en")
    for page in PdfReader(io.BytesIO(pdf)).pages:
        text = " ".join((page.extract_text() or "").split())
        assert f"H2 — {label}" in text
        assert "&#39;" not in text


def test_a_code_name_cannot_end_the_page_header_string_or_the_style(
    assessment: OutcomeAssessment,
) -> None:
    hostile = assessment.model_copy(update={"code_name": 'X"; } </style><script>alert(1)</script>'})
    html = render_report_html(hostile, lang="en")
    style = html[html.index("<style>") : html.index("</style>")]
    assert "<script>" not in html
    assert 'content: "X\\22 ; } \\3c /style\\3e ' in style
