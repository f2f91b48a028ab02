"""The debrief report: its PDF carries the assessment's figures in English and in Russian."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

import activities.report
from activities.report import labels
from activities.report.render import LANGUAGES, render_report_html, render_report_pdf
from i18n import Language, Message, extract, untranslated
from store.identity import AgencyName
from tests.activities.known_operation import RECOMMENDED, known_operation
from tests.activities.pdf_layout import text_beyond_margins
from workflows.assessment import TEXTS, OutcomeAssessment, assess
from workflows.plan import HANDLING_LABELS

REPORT = Path(activities.report.__file__).parent
DIRECTORY = {
    agency.id: agency
    for agency in (
        AgencyName(id="af-cnpa", name="Counter Narcotics Police of Afghanistan", country="AF"),
        AgencyName(id="tj-dca", name="Drug Control Agency", country="TJ"),
        AgencyName(id="kz-police", name="Anti-drug police department", country="KZ"),
        AgencyName(id="caricc", name="CARICC", country="KZ"),
    )
}


@pytest.fixture(scope="module")
def assessment() -> OutcomeAssessment:
    state = known_operation().after_late_input
    return assess(state, version=2, at_seq=state.timeline[-1].seq, reason="test", now=RECOMMENDED)


@pytest.fixture(scope="module")
def pdfs(assessment: OutcomeAssessment) -> dict[Language, bytes]:
    return {
        lang: render_report_pdf(assessment, lang=lang, agencies=DIRECTORY) for lang in LANGUAGES
    }


@pytest.fixture(scope="module")
def pages(pdfs: dict[Language, bytes]) -> dict[Language, list[str]]:
    texts: dict[Language, list[str]] = {}
    for lang, pdf in pdfs.items():
        assert pdf.startswith(b"%PDF-")
        reader = PdfReader(io.BytesIO(pdf))
        texts[lang] = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
    return texts


def test_the_english_pdf_carries_the_figures(pages: dict[Language, list[str]]) -> None:
    text = " ".join(pages[Language.ENGLISH])
    for expected in (
        "Debrief report",
        "NIGHTJAR",
        "Handover TJ->KZ (leg 2) acknowledged 47 min after its deadline",
        "Surveillance lost for 40 min near Kunduz bazaar",
        "Debrief input from Drug Control Agency (Tajikistan) came 28 h after the deadline",
        "Counter Narcotics Police of Afghanistan (Afghanistan)",
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
    text = " ".join(pages[Language.RUSSIAN])
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
        "Drug Control Agency (Таджикистан)",
        "героин",
        "мефедрон",
    ):
        assert expected in text, expected


@pytest.mark.parametrize("lang", LANGUAGES)
def test_agencies_are_named_with_their_country_never_by_id(
    lang: Language, pages: dict[Language, list[str]]
) -> None:
    text = " ".join(pages[lang])
    for agency in DIRECTORY:
        assert agency not in text, agency


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_handling_code_is_on_every_page(
    lang: Language, pages: dict[Language, list[str]]
) -> None:
    assert len(pages[lang]) > 1
    for number, text in enumerate(pages[lang], start=1):
        assert "H0 — " in text, f"page {number} lacks the handling banner"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_table_fits_the_page(lang: Language, pdfs: dict[Language, bytes]) -> None:
    # The page's side margins are 15 mm; nothing printed may come nearer the edge.
    assert text_beyond_margins(pdfs[lang], margin_mm=14.5) == []


def report_messages() -> list[Message]:
    """Every message the documents print: templates, label tables, findings, handling codes."""
    sources = sorted((REPORT / "templates").glob("*.html")) + sorted(REPORT.glob("*.py"))
    counted = labels.COUNTED_FINDINGS
    return [
        *extract(sources),
        *(Message(TEXTS[code]) for code in TEXTS if code not in counted),
        *(Message(singular, plural=TEXTS[code]) for code, (singular, _) in counted.items()),
        *(Message(label) for label in HANDLING_LABELS.values()),
        *(Message(name, context="substance") for name in labels.SUBSTANCES),
    ]


def test_the_russian_catalogue_translates_every_message() -> None:
    messages = report_messages()
    assert len(messages) > 150
    assert Message("finding", plural="findings") in messages
    assert untranslated("reports", Language.RUSSIAN, messages) == []


def test_the_html_report_escapes_what_agencies_typed(assessment: OutcomeAssessment) -> None:
    hostile = assessment.model_copy(update={"code_name": "<script>alert(1)</script>"})
    html = render_report_html(hostile, lang=Language.ENGLISH)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_the_page_header_prints_the_handling_label_as_typed(assessment: OutcomeAssessment) -> None:
    restricted = assessment.model_copy(update={"handling_code": "H2"})
    label = "Not to be passed on without the provider's permission"
    html = render_report_html(restricted, lang=Language.ENGLISH)
    style = html[html.index("<style>") : html.index("</style>")]
    assert f'content: "H2 — {label}";' in style
    assert "&#39;" not in style
    pdf = render_report_pdf(restricted, lang=Language.ENGLISH)
    for page in PdfReader(io.BytesIO(pdf)).pages:
        text = " ".join((page.extract_text() or "").split())
        assert f"H2 — {label}" in text
        assert "&#39;" not in text


def test_a_code_name_cannot_end_the_page_header_string_or_the_style(
    assessment: OutcomeAssessment,
) -> None:
    hostile = assessment.model_copy(update={"code_name": 'X"; } </style><script>alert(1)</script>'})
    html = render_report_html(hostile, lang=Language.ENGLISH)
    style = html[html.index("<style>") : html.index("</style>")]
    assert "<script>" not in html
    assert 'content: "X\\22 ; } \\3c /style\\3e ' in style


def test_an_input_that_gives_nothing_says_so(assessment: OutcomeAssessment) -> None:
    first = assessment.debrief_inputs[0]
    bare = first.model_copy(update={"problems": [], "lessons": [], "proposals": []})
    emptied = assessment.model_copy(
        update={"debrief_inputs": [bare, *assessment.debrief_inputs[1:]]}
    )
    html = render_report_html(emptied, lang=Language.RUSSIAN, agencies=DIRECTORY)
    assert html.count("Проблемы, уроки и предложения не указаны.") == 1
