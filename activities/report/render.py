"""Renders documents (the debrief report, the statistics summary) as HTML and PDF, in EN and RU.

Messages come from the `reports` domain of `i18n` (the English texts are the ids), numbers and
dates from Babel's locale data. The PDF embeds DejaVu Sans (shipped with matplotlib) by
@font-face, whatever fonts the host has, so Cyrillic prints the same everywhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

import matplotlib as mpl
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from activities.names import agency_label
from activities.report import charts, labels
from activities.statistics import Statistics
from i18n import Language, texts, translations
from store.identity import AgencyName
from workflows.assessment import TEXTS, Deviation, Finding, OutcomeAssessment
from workflows.plan import HandlingCode

DOMAIN: Final = "reports"
LANGUAGES: Final = tuple(Language)
TEMPLATES: Final = Path(__file__).parent / "templates"
# Parameters of a finding that hold a country code or an agency id, printed by name.
COUNTRY_PARAMS: Final = frozenset({"country", "destination"})
AGENCY_PARAMS: Final = frozenset({"agency"})


def _font_faces() -> str:
    fonts = Path(mpl.get_data_path()) / "fonts" / "ttf"
    faces = []
    for file, weight in (("DejaVuSans.ttf", "normal"), ("DejaVuSans-Bold.ttf", "bold")):
        source = (fonts / file).as_uri()
        family = 'font-family: "DejaVu Sans"'
        faces.append(f'@font-face {{ {family}; font-weight: {weight}; src: url("{source}"); }}')
    return "\n".join(faces)


def _css_escape(char: str) -> str:
    if char in '\\"<>&' or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
        return f"\\{ord(char):x} "
    return char


def _css_string(value: object) -> Markup:
    """The text of a double-quoted CSS string, as is: for `content: "..."` inside <style>.

    Autoescape would write it as HTML (an apostrophe as &#39;), which CSS prints literally.
    Quotes, backslashes, control characters and the characters of HTML markup are written as
    CSS escapes instead, so the text can neither end the string nor the <style> element.
    """
    return Markup("".join(_css_escape(char) for char in str(value)))  # noqa: S704 - escaped


class Formats:
    """Numbers, dates, durations, names and sentences as one language writes them."""

    def __init__(self, lang: Language, agencies: Mapping[str, AgencyName] | None = None) -> None:
        self.lang = Language(lang)
        self.texts = texts(DOMAIN, lang)
        self.gettext = self.texts.gettext
        self.ngettext = self.texts.ngettext
        self.agencies = agencies or {}

    def num(self, value: float) -> str:
        return self.texts.number(value)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return self.texts.moment(moment, "d MMM yyyy, HH:mm") + " UTC"

    def day(self, moment: datetime) -> str:
        return self.texts.day(moment, "d MMMM yyyy")

    def short(self, moment: datetime) -> str:
        return self.texts.moment(moment, "d MMM HH:mm")

    def minutes(self, seconds: float) -> str:
        return self.num(round(seconds / 60))

    def signed_minutes(self, seconds: float | None) -> str:
        if seconds is None:
            return "—"
        minutes = round(seconds / 60)
        sign = "+" if minutes > 0 else ("\u2212" if minutes < 0 else "")
        return self.gettext("%(minutes)s min") % {"minutes": sign + self.num(abs(minutes))}

    def duration(self, seconds: float) -> str:
        total = round(seconds / 60)
        days, rest = divmod(total, 24 * 60)
        hours, minutes = divmod(rest, 60)
        parts = []
        if days:
            parts.append(self.gettext("%(n)s d") % {"n": self.num(days)})
        if days or hours:
            parts.append(self.gettext("%(n)s h") % {"n": self.num(hours)})
        parts.append(self.gettext("%(n)s min") % {"n": self.num(minutes)})
        # A narrow column may break a duration between its parts, never inside one.
        return " ".join(part.replace(" ", "\u00a0") for part in parts)

    def money(self, value: float, currency: str) -> str:
        return self.texts.money(value, currency)

    def country(self, code: str) -> str:
        return self.texts.country(code)

    def agency(self, agency_id: str) -> str:
        return agency_label(self.texts, self.agencies, agency_id)

    def agency_list(self, agency_ids: list[str]) -> str:
        return ", ".join(self.agency(agency_id) for agency_id in agency_ids)

    def substance(self, name: str) -> str:
        return labels.substance_name(name, self.lang)

    def label(self, mapping: Mapping[str, str], key: str) -> str:
        return self.gettext(mapping[key]) if key in mapping else key

    def sentence(self, item: Finding | Deviation) -> str:
        params = {key: self._param(key, value) for key, value in item.params.items()}
        counted = labels.COUNTED_FINDINGS.get(item.code)
        if counted is not None:
            singular, counter = counted
            count = item.params[counter]
            assert isinstance(count, int)
            return self.ngettext(singular, TEXTS[item.code], count) % params
        return self.gettext(TEXTS[item.code]) % params

    def _param(self, key: str, value: str | float) -> str:
        if isinstance(value, int | float):
            return self.num(value)
        if key in COUNTRY_PARAMS:
            return self.country(value)
        if key in AGENCY_PARAMS:
            return self.agency(value)
        if key == "substance":
            return self.substance(value)
        return value


@cache
def environment(lang: Language) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(DOMAIN, lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["css_string"] = _css_string
    return env


def _globals(formats: Formats) -> dict[str, Any]:
    return {
        "lang": formats.lang.value,
        "labels": labels,
        "num": formats.num,
        "when": formats.when,
        "day": formats.day,
        "minutes": formats.minutes,
        "signed_minutes": formats.signed_minutes,
        "duration": formats.duration,
        "money": formats.money,
        "country": formats.country,
        "agency": formats.agency,
        "agencies": formats.agency_list,
        "substance": formats.substance,
        "label": formats.label,
        "sentence": formats.sentence,
        "formats": formats,
    }


def _custody_chart(assessment: OutcomeAssessment, formats: Formats) -> Markup:
    gettext = formats.gettext
    bars = [
        charts.CustodyBar(
            label=f"{leg.number}. {leg.from_country} → {leg.to_country}",
            planned_start=leg.planned_departure,
            planned_end=leg.planned_arrival,
            start=leg.started_at,
            end=leg.handed_over_at,
        )
        for leg in assessment.legs
    ]
    gaps = [
        charts.Span(start=gap.lost_at, end=gap.regained_at or gap.lost_at)
        for gap in assessment.surveillance.gaps
    ]
    moments = [leg.planned_departure for leg in assessment.legs] + [
        moment
        for leg in assessment.legs
        for moment in (leg.planned_arrival, leg.started_at, leg.handed_over_at)
        if moment is not None
    ]
    first, last = min(moments), max(moments)
    steps = 5
    ticks = [(first + (last - first) * i / steps, "") for i in range(steps + 1)]
    ticks = [(moment, formats.short(moment)) for moment, _ in ticks]
    svg = charts.custody_timeline(
        bars,
        gaps=gaps,
        ticks=ticks,
        planned_label=gettext("as planned"),
        actual_label=gettext("custody, as it happened"),
        gap_label=gettext("surveillance lost"),
    )
    return Markup(svg)  # noqa: S704 - SVG drawn by matplotlib from escaped text, not user HTML


def _latency_chart(assessment: OutcomeAssessment, formats: Formats) -> Markup:
    gettext = formats.gettext
    rows = assessment.handovers
    svg = charts.latency_bars(
        [
            gettext("leg %(leg)s %(route)s")
            % {"leg": h.leg, "route": f"{h.from_country}→{h.to_country}"}
            for h in rows
        ],
        [h.latency_seconds / 60 for h in rows],
        [h.allowed_seconds / 60 for h in rows],
        axis_label=gettext("minutes from the offer to the acknowledgement"),
        allowed_label=gettext("deadline"),
    )
    return Markup(svg)  # noqa: S704 - SVG drawn by matplotlib from escaped text, not user HTML


def named_agencies(assessment: OutcomeAssessment) -> set[str]:
    """Every agency id the report prints, for the directory look-up that names them."""
    named = {assessment.lead_agency, assessment.coordinator_agency, *assessment.participants}
    named |= {leg.sending_agency for leg in assessment.legs}
    named |= {leg.receiving_agency for leg in assessment.legs}
    named |= {row.agency for row in assessment.seizures}
    named |= {row.agency for row in assessment.assets}
    named |= {row.agency for row in assessment.debrief_inputs}
    named |= set(assessment.missing_inputs)
    named |= {row.owner for row in assessment.recommendations}
    named |= {str(f.params["agency"]) for f in assessment.findings if "agency" in f.params}
    return named


def render_report_html(
    assessment: OutcomeAssessment,
    *,
    lang: Language,
    agencies: Mapping[str, AgencyName] | None = None,
    embed_fonts: bool = False,
) -> str:
    """The debrief report as one self-contained HTML page; agencies named from `agencies`."""
    formats = Formats(lang, agencies)
    gettext = formats.gettext
    handling_label = gettext(HandlingCode(assessment.handling_code).label)
    banner = f"{assessment.handling_code} — {handling_label}"
    template = environment(lang).get_template("report.html")
    return template.render(
        **_globals(formats),
        a=assessment,
        fonts=Markup(_font_faces()) if embed_fonts else "",  # noqa: S704 - our own CSS
        banner=banner,
        handling_label=handling_label,
        footer=f"{assessment.code_name} · "
        + gettext("outcome assessment version %(version)s") % {"version": assessment.version},
        route=" → ".join(formats.country(code) for code in assessment.route),
        delivery=formats.label(labels.DELIVERY_TYPES, assessment.delivery_type),
        mode=formats.label(labels.TRANSPORT_MODES, assessment.transport_mode),
        late_handovers=sum(1 for h in assessment.handovers if not h.within_deadline),
        custody_chart=_custody_chart(assessment, formats) if assessment.legs else "",
        latency_chart=_latency_chart(assessment, formats) if assessment.handovers else "",
    )


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    document = HTML(string=html, base_url=str(TEMPLATES))
    # Whole fonts, not subsets: subsetting DejaVu (its kerning tables above all) took longer
    # than laying the report out; the PDF is larger (~0.8 MB) but renders in half the time.
    pdf: bytes = document.write_pdf(font_config=FontConfiguration(), full_fonts=True)
    return pdf


def render_report_pdf(
    assessment: OutcomeAssessment,
    *,
    lang: Language,
    agencies: Mapping[str, AgencyName] | None = None,
) -> bytes:
    html = render_report_html(assessment, lang=lang, agencies=agencies, embed_fonts=True)
    return html_to_pdf(html)


def render_statistics_html(
    statistics: Statistics, *, lang: Language, computed_at: datetime, embed_fonts: bool = False
) -> str:
    """The one-page statistics summary."""
    formats = Formats(lang)
    gettext = formats.gettext
    substances = statistics.seizures_by_substance
    substance_chart = (
        charts.horizontal_totals(
            [
                f"{formats.substance(q.substance)} ({formats.label(labels.UNITS, q.unit)})"
                for q in substances
            ],
            [q.quantity for q in substances],
            axis_label=gettext("quantity seized"),
        )
        if substances
        else ""
    )
    phase_chart = (
        charts.horizontal_totals(
            [formats.label(labels.PHASES, c.key) for c in statistics.by_phase],
            [c.count for c in statistics.by_phase],
            axis_label=gettext("operations"),
        )
        if statistics.by_phase
        else ""
    )
    template = environment(lang).get_template("statistics.html")
    return template.render(
        **_globals(formats),
        s=statistics,
        computed_at=computed_at,
        outcomes=labels.OUTCOMES,
        fonts=Markup(_font_faces()) if embed_fonts else "",  # noqa: S704 - our own CSS
        banner=gettext("Aggregates over the operations you may see (need-to-know)"),
        substance_chart=Markup(substance_chart),  # noqa: S704 - SVG drawn by matplotlib
        phase_chart=Markup(phase_chart),  # noqa: S704 - SVG drawn by matplotlib
    )


def render_statistics_pdf(
    statistics: Statistics, *, lang: Language, computed_at: datetime
) -> bytes:
    html = render_statistics_html(statistics, lang=lang, computed_at=computed_at, embed_fonts=True)
    return html_to_pdf(html)


def warm_up() -> None:
    """Pay once, in a renderer process just started, what only the first document of a process
    pays: importing WeasyPrint, loading the fonts, the charts' drawing backend, the templates. The
    first report asked for after a start then renders as fast as the next (5.5 s -> 1.1 s)."""
    for lang in LANGUAGES:
        for template in ("report.html", "statistics.html"):
            environment(lang).get_template(template)
    charts.horizontal_totals(["-"], [1.0], axis_label="-")
    html_to_pdf(
        f"<html><head><style>{_font_faces()} body {{ font-family: 'DejaVu Sans' }}</style>"
        "</head><body><p>Report. <b>Отчёт.</b></p></body></html>"
    )
