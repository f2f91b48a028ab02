"""The debrief report (PDF) of an operation with thousands of timeline events: time and memory.

The report itself is being built elsewhere; until `activities.report` exists this measurement says
so instead of inventing a figure. Fill `_render` in at merge.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

NOT_BUILT = "not available: debrief report not built"


@dataclass(frozen=True)
class ReportRun:
    events: int
    seconds: float | None = None
    peak_bytes: int | None = None
    unavailable: str | None = None


def measure_debrief_report(*, events: int) -> ReportRun:
    """Seconds and peak memory of rendering the debrief report of one `events`-long operation."""
    try:
        importlib.import_module("activities.report")
    except ImportError:
        print(NOT_BUILT)
        return ReportRun(events=events, unavailable=NOT_BUILT)
    # The module exists but how to drive it is decided with it; say so rather than guess.
    message = "not available: activities.report exists, bench/report.py must be wired to it"
    print(message)
    return ReportRun(events=events, unavailable=message)
