"""Pages from Jinja2 templates, one environment per language (gettext installed, autoescaped)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from activities.names import agency_label
from activities.report.labels import substance_name
from api.principal import Principal, Role
from i18n import Language, translations
from store.identity import AgencyName
from web.language import DOMAIN, N_, Clock, console_texts
from workflows.commands import Actor, ActorRole

TEMPLATES: Final = Path(__file__).parent / "templates"


@cache
def environment(language: Language) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(DOMAIN, language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["countdown"] = countdown
    return env


@dataclass(frozen=True)
class View:
    """Who is looking, in which language and zone: what every template is given as `view`."""

    language: Language
    clock: Clock
    csrf_token: str | None = None
    principal: Principal | None = None
    # The directory entries of the agencies this page names (the viewer's own among them).
    agencies: Mapping[str, AgencyName] = field(default_factory=dict)

    @property
    def role(self) -> Role | None:
        return self.principal.role if self.principal else None

    def agency(self, agency_id: str) -> str:
        """E.g. "Drug Control Agency (Tajikistan)"; the id itself if the directory lacks it."""
        return agency_label(console_texts(self.language), self.agencies, agency_id)

    def naming(self, agencies: Mapping[str, AgencyName]) -> View:
        return replace(self, agencies={**self.agencies, **agencies})

    def gettext(self, message: str) -> str:
        return console_texts(self.language).gettext(message)

    def number(self, value: float) -> str:
        return console_texts(self.language).number(value)

    def substance(self, name: str) -> str:
        """A substance in the viewer's words where the catalogue knows it; else as typed."""
        return substance_name(name, self.language)

    def actor(self, actor: Actor) -> str:
        """Who did it: an agency with the officer's id; a deadline or timer of the operation."""
        if actor.role is ActorRole.SYSTEM:
            return self.gettext(N_("Automatic (a deadline fell due)"))
        return f"{self.agency(actor.agency)} ({actor.officer})"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return console_texts(self.language).ngettext(singular, plural, n)


def countdown(moment: datetime, view: View) -> Markup:
    """The template filter `{{ moment|countdown(view) }}`: a deadline as a `<time
    class="countdown">`, its text as `view.clock.deadline` writes it, which `static/console.js`
    follows with the time left or overdue in the viewer's words.

    A filter rather than a macro or a method: templates call a filter directly, where a macro or
    a method goes through Jinja's context call, and the inbox writes one per entry."""
    return _countdown(view.language, view.clock.zone, moment)


# Kept once written: an agency's inbox shows the same deadlines on every view, to each of its
# officers, and writing the element (Babel's formatting of the deadline above all) was most of
# what an inbox entry cost.
@lru_cache(maxsize=4096)
def _countdown(language: Language, zone: tzinfo, moment: datetime) -> Markup:
    words = console_texts(language)
    clock = Clock(words, zone)
    return Markup(
        '<time class="countdown" datetime="{}" data-left="{}" data-overdue="{}">{}</time>'
    ).format(
        clock.iso(moment),
        words.gettext(N_("left")),
        words.gettext(N_("overdue by")),
        clock.deadline(moment),
    )


def render(
    request: Request,
    template: str,
    *,
    view: View,
    status_code: int = 200,
    context: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    page = environment(view.language).get_template(template)
    values = {"request": request, "view": view, "field_labels": {}, **(context or {})}
    if values.get("errors"):
        # The error summary names each field by its label, which only the form's own markup
        # gives: a first rendering finds the labels, the second puts them in the summary.
        values["field_labels"] = field_labels(page.render(**values))
    body = page.render(**values)
    return HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))


_LABEL: Final = re.compile(
    r'<label for="([^"]+)">(.*?)</label>'
    r'|<fieldset[^>]* id="([^"]+)"[^>]*>\s*<legend>(.*?)</legend>',
    re.DOTALL,
)
_MARKED_OPTIONAL: Final = re.compile(r'<span class="optional">.*?</span>', re.DOTALL)
_TAG: Final = re.compile(r"<[^>]+>")


def field_labels(page: str) -> dict[str, str]:
    """Each field's label (a group's legend) on a rendered page, as plain text without its
    "(optional)"."""
    labels: dict[str, str] = {}
    for name, label, group, legend in _LABEL.findall(page):
        text = html.unescape(_TAG.sub("", _MARKED_OPTIONAL.sub("", label or legend)))
        labels.setdefault(name or group, " ".join(text.split()))
    return labels
