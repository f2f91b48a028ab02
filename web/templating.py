"""Pages from Jinja2 templates, one environment per language (gettext installed, autoescaped)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from activities.names import agency_label
from api.principal import Principal, Role
from i18n import Language, translations
from store.identity import AgencyName
from web.language import DOMAIN, N_, Clock, console_texts

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

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return console_texts(self.language).ngettext(singular, plural, n)


def countdown(moment: datetime, view: View) -> Markup:
    """The template filter `{{ moment|countdown(view) }}`: a deadline as a `<time
    class="countdown">`, its text as `view.clock.deadline` writes it, which `static/console.js`
    follows with the time left or overdue in the viewer's words.

    A filter rather than a macro or a method: templates call a filter directly, where a macro or
    a method goes through Jinja's context call, and the inbox writes one per entry."""
    at, deadline = escape(view.clock.iso(moment)), escape(view.clock.deadline(moment))
    words = _countdown_words(view.language)
    return Markup(f'<time class="countdown" datetime="{at}"{words}>{deadline}</time>')  # noqa: S704 - escaped


@cache
def _countdown_words(language: Language) -> Markup:
    """A countdown's attributes with its words in `language`, escaped once."""
    words = console_texts(language)
    return Markup(' data-left="{}" data-overdue="{}"').format(
        words.gettext(N_("left")), words.gettext(N_("overdue by"))
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
    body = page.render(request=request, view=view, **(context or {}))
    return HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))
