"""Charts of the debrief report and the statistics summary, drawn as SVG with matplotlib.

Text stays text in the SVG (not outlines), set in DejaVu Sans, so the PDF embeds the font once
and its text, Cyrillic included, can be searched and extracted.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

INK = "#1f2a37"
MUTED = "#8a94a3"
PLANNED = "#c9d3df"
CUSTODY = "#2f5d8a"
LATE = "#b03a2e"
ON_TIME = "#3c7a4a"
GAP = "#d9822b"

_STYLE: Any = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "svg.fonttype": "none",
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


_P = ParamSpec("_P")
_R = TypeVar("_R")
# rc_context changes matplotlib's global settings: one chart at a time across request threads.
_DRAWING = threading.Lock()


def _one_at_a_time(draw: Callable[_P, _R]) -> Callable[_P, _R]:
    @wraps(draw)
    def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _DRAWING:
            return draw(*args, **kwargs)

    return locked


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    # The PDF sets the labels a little wider than matplotlib measures them: room for that.
    figure.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.14)
    svg = buffer.getvalue()
    # Drop the XML prolog and doctype: the SVG is inlined into HTML.
    return svg[svg.index("<svg") :]


@dataclass(frozen=True)
class CustodyBar:
    label: str
    planned_start: datetime
    planned_end: datetime
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime


@_one_at_a_time
def custody_timeline(
    bars: Sequence[CustodyBar],
    *,
    gaps: Sequence[Span],
    ticks: Sequence[tuple[datetime, str]],
    planned_label: str,
    actual_label: str,
    gap_label: str,
) -> str:
    """Each leg as planned (light) and as it happened (dark), with surveillance gaps marked.

    Times are hours from the earliest one; `ticks` label the axis in the report's language.
    """
    moments = [b.planned_start for b in bars] + [b.start for b in bars if b.start is not None]
    origin = min(moments)

    def hours(moment: datetime) -> float:
        return (moment - origin).total_seconds() / 3600

    with mpl.rc_context(_STYLE):
        figure = Figure(figsize=(7.0, 0.6 * len(bars) + 1.2))
        axes = figure.add_subplot()
        for row, bar in enumerate(reversed(bars)):
            start = hours(bar.planned_start)
            axes.barh(
                row + 0.17,
                hours(bar.planned_end) - start,
                left=start,
                height=0.3,
                color=PLANNED,
                label=planned_label if row == 0 else None,
            )
            if bar.start is not None and bar.end is not None:
                begin = hours(bar.start)
                axes.barh(
                    row - 0.17,
                    hours(bar.end) - begin,
                    left=begin,
                    height=0.3,
                    color=CUSTODY,
                    label=actual_label if row == 0 else None,
                )
        for number, gap in enumerate(gaps):
            axes.axvspan(
                hours(gap.start),
                max(hours(gap.end), hours(gap.start) + 0.4),
                color=GAP,
                alpha=0.6,
                label=gap_label if number == 0 else None,
            )
        axes.set_yticks(range(len(bars)), [bar.label for bar in reversed(bars)])
        axes.set_xticks([hours(t) for t, _ in ticks], [label for _, label in ticks])
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False)
        figure.tight_layout()
        return _svg(figure)


@_one_at_a_time
def latency_bars(
    labels: Sequence[str],
    latencies_min: Sequence[float],
    allowed_min: Sequence[float],
    *,
    axis_label: str,
    allowed_label: str,
) -> str:
    """Offer-to-acknowledgement time of each handover against the time it was allowed."""
    with mpl.rc_context(_STYLE):
        figure = Figure(figsize=(7.0, 0.38 * len(labels) + 0.9))
        axes = figure.add_subplot()
        rows = range(len(labels))
        colours = [
            LATE if lat > allowed else ON_TIME
            for lat, allowed in zip(latencies_min, allowed_min, strict=True)
        ]
        axes.barh(list(rows), list(latencies_min), color=colours, height=0.5)
        for row, allowed in zip(rows, allowed_min, strict=True):
            axes.plot(
                [allowed, allowed],
                [row - 0.35, row + 0.35],
                color=INK,
                linewidth=1.5,
                label=allowed_label if row == 0 else None,
            )
        for row, latency in zip(rows, latencies_min, strict=True):
            axes.text(latency, row, f" {latency:.0f}", va="center", color=INK)
        axes.set_yticks(list(rows), list(labels))
        axes.invert_yaxis()
        axes.set_xlabel(axis_label)
        axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
        figure.tight_layout()
        return _svg(figure)


@_one_at_a_time
def horizontal_totals(labels: Sequence[str], values: Sequence[float], *, axis_label: str) -> str:
    """A plain ranked bar chart, for the statistics summary."""
    with mpl.rc_context(_STYLE):
        figure = Figure(figsize=(3.4, 0.25 * max(len(labels), 1) + 0.75))
        axes = figure.add_subplot()
        axes.barh(list(range(len(labels))), list(values), color=CUSTODY, height=0.55)
        axes.set_yticks(list(range(len(labels))), list(labels))
        if all(float(value).is_integer() for value in values):
            # Counts: 1 and 2 operations, never 0.25 of one.
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.invert_yaxis()
        axes.set_xlabel(axis_label)
        figure.tight_layout()
        return _svg(figure)
