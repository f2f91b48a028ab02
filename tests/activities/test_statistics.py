"""Statistics across operations: counts, sums and latency percentiles worked out by hand."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from pypdf import PdfReader

from activities.report.charts import horizontal_totals
from activities.report.render import render_statistics_pdf
from activities.statistics import OperationFacts, compile_statistics, percentile
from i18n import Language
from tests.activities.known_operation import DEADLINE, known_operation
from tests.activities.pdf_layout import text_beyond_margins
from workflows.assessment import assess
from workflows.state import OperationOutcome, OutcomeKind


def test_percentiles_by_nearest_rank() -> None:
    assert percentile([12.0, 77.0], 0.5) == 12.0
    assert percentile([12.0, 77.0], 0.9) == 77.0
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.9) == 5.0
    assert percentile([], 0.5) is None


def test_statistics_over_an_assessed_and_an_open_operation() -> None:
    state = known_operation().at_deadline
    assessed = assess(state, version=1, at_seq=state.timeline[-1].seq, reason="t", now=DEADLINE)
    created = datetime(2026, 3, 2, tzinfo=UTC)
    operations = [
        OperationFacts(
            operation_id="op-known",
            phase="debrief",
            outcome=None,
            created_at=created,
            countries=["AF", "TJ", "KZ"],
        ),
        OperationFacts(
            operation_id="op-2",
            phase="aborted",
            outcome=OperationOutcome.model_validate("aborted: courier arrested elsewhere"),
            created_at=created,
            countries=["KZ", "UZ"],
        ),
    ]
    figures = compile_statistics(operations=operations, assessments=[assessed])
    assert (figures.operations, figures.assessed_operations) == (2, 1)
    assert [(c.key, c.count) for c in figures.by_outcome] == [("aborted", 1), ("open", 1)]
    # Heroin 12.1 (KZ, confirmed) + 0.5 (TJ) = 12.6 kg; mephedrone 0.4 kg; all in 2026.
    assert [(q.substance, q.quantity) for q in figures.seizures_by_substance] == [
        ("heroin", 12.6),
        ("mephedrone", 0.4),
    ]
    assert [(q.key, q.quantity) for q in figures.seizures_by_year] == [
        ("2026", 12.6),
        ("2026", 0.4),
    ]
    assert figures.seizures_by_route[0].key == "AF→TJ→KZ"
    assert figures.persons_arrested == 4
    # Latencies 12 and 77 min: median (nearest rank) 12, 90th percentile 77; 1 of 2 in time.
    latency = figures.latency
    assert (latency.handovers, latency.acknowledged_in_time, latency.on_time_percent) == (
        2,
        1,
        50.0,
    )
    assert (latency.p50_minutes, latency.p90_minutes, latency.max_minutes) == (12.0, 77.0, 77.0)

    pdf = render_statistics_pdf(figures, lang=Language.RUSSIAN, computed_at=DEADLINE)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1, "a one-page summary"
    text = " ".join((reader.pages[0].extract_text() or "").split())
    assert "Контролируемые поставки: статистика" in text
    assert "12,6 кг" in text
    assert "77 мин" in text
    assert text_beyond_margins(pdf, margin_mm=13.5) == [], "the page's margins are 14 mm"


def test_an_outcome_reads_from_the_text_stored_before_it_was_typed() -> None:
    stored = {
        "closed": OperationOutcome(kind=OutcomeKind.CLOSED),
        "aborted: courier arrested: at the border": OperationOutcome(
            kind=OutcomeKind.ABORTED, reason="courier arrested: at the border"
        ),
        "aborted by contingency rule: surveillance not regained in time": OperationOutcome(
            kind=OutcomeKind.ABORTED_BY_CONTINGENCY, reason="surveillance not regained in time"
        ),
        "consignment lost: vanished at Termez": OperationOutcome(
            kind=OutcomeKind.CONSIGNMENT_LOST, reason="vanished at Termez"
        ),
    }
    for text, outcome in stored.items():
        assert OperationOutcome.model_validate(text) == outcome
        assert outcome.text == text
    facts = [
        OperationFacts(
            operation_id=f"op-{number}",
            phase="aborted",
            outcome=OperationOutcome.model_validate(text),
            created_at=datetime(2026, 3, 2, tzinfo=UTC),
            countries=["KZ"],
        )
        for number, text in enumerate(stored)
    ]
    figures = compile_statistics(operations=facts, assessments=[])
    assert {c.key: c.count for c in figures.by_outcome} == {
        "closed": 1,
        "aborted": 1,
        "aborted by contingency rule": 1,
        "consignment lost": 1,
    }


def test_a_chart_of_counts_marks_whole_numbers_only() -> None:
    svg = horizontal_totals(["Debrief", "Aborted"], [1, 2], axis_label="operations")
    ticks = re.findall(r"text-anchor: middle[^>]*>([^<]+)</text>", svg)
    assert ticks, "the axis has tick labels"
    assert all(tick.isdigit() for tick in ticks if tick != "operations"), ticks
    grams = horizontal_totals(["heroin (kg)", "mephedrone (kg)"], [0.4, 0.2], axis_label="kg")
    assert "0.1" in re.findall(r"text-anchor: middle[^>]*>([^<]+)</text>", grams), "fractions"
