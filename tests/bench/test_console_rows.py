"""The Console row of `make bench`: each figure judged against its own target."""

from __future__ import annotations

from bench.console import ConsoleRun
from bench.results import console_rows, markdown_table


def _run(*, page: float, inbox: float, live: float) -> ConsoleRun:
    """A run whose samples are all `page`, `inbox` and `live` seconds but one fast one each."""
    return ConsoleRun(
        page_events=5_000,
        page_latencies=[0.010] + [page] * 19,
        state_latencies=[0.005] * 20,
        closed_page_latencies=[0.010] + [page] * 19,
        closed_state_latencies=[0.005] * 20,
        inbox_operations=200,
        inbox_entries=400,
        inbox_latencies=[0.005] + [inbox] * 19,
        inbox_api_cpu=0.0123,
        live_after_answer=[0.1] + [live - 0.1] * 19,
        live_after_send=[0.2] + [live] * 19,
        live_operations=10,
    )


def test_each_console_figure_is_met_under_its_target() -> None:
    rows = console_rows(_run(page=0.090, inbox=0.040, live=0.8))

    assert [row.verdict for row in rows] == ["met", "met", "met", "met"]
    assert [row.target for row in rows] == [
        "p95 < 100 ms",
        "p95 < 100 ms",
        "p95 < 50 ms",
        "p95 < 1 s",
    ]
    assert rows[0].figure == "p50 90.0 ms, p95 90.0 ms"
    assert "5000 timeline events" in rows[0].reference
    assert "200 live operations (400 entries)" in rows[2].reference
    assert "the API's CPU 12.3 ms per request" in rows[2].reference
    assert "20 acknowledgements over 10 operations" in rows[3].reference
    assert rows[3].figure == "p50 800.0 ms, p95 800.0 ms"  # from sending the acknowledgement


def test_a_console_figure_over_its_target_is_missed_alone() -> None:
    rows = console_rows(_run(page=0.090, inbox=0.060, live=1.2))

    assert [row.verdict for row in rows] == ["met", "met", "MISSED", "MISSED"]
    table = markdown_table(rows)
    assert "| 9. Console: operation page | p50 90.0 ms, p95 90.0 ms |" in table
    assert "p95 1200.0 ms" in table
