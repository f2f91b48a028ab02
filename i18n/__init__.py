"""Texts in the reader's language: gettext catalogues per domain, read through Babel.

Message ids are the English texts; each other language has one catalogue per domain (`reports`,
`notices`, `console`, ...) at `i18n/locales/<language>/LC_MESSAGES/<domain>.po`. A catalogue is
compiled in memory when first used, so a fresh checkout needs no build step; its plural rule
must be Babel's (CLDR) for the language: Russian has three forms ("1 вывод, 2 вывода,
5 выводов"). Numbers, dates and country names follow the same locale.

This package imports nothing of the project's, so every layer may use it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from functools import cache, cached_property
from pathlib import Path
from typing import Final

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

LOCALES: Final = Path(__file__).parent / "locales"


class Language(StrEnum):
    """A language messages are written in; the value is its locale identifier."""

    ENGLISH = "en"
    RUSSIAN = "ru"


# The language of the message ids: it needs no catalogue.
SOURCE_LANGUAGE: Final = Language.ENGLISH
TRANSLATED: Final = tuple(language for language in Language if language is not SOURCE_LANGUAGE)


def catalogue_path(domain: str, language: Language) -> Path:
    return LOCALES / language.value / "LC_MESSAGES" / f"{domain}.po"


def read_catalogue(domain: str, language: Language) -> Catalog:
    """The catalogue as written; refused if its plural rule is not Babel's for the language."""
    language = Language(language)
    with catalogue_path(domain, language).open("rb") as po:
        catalogue = read_po(po, locale=language.value, domain=domain)
    rule = get_plural(language.value)
    if (catalogue.num_plurals, catalogue.plural_expr) != (rule.num_plurals, rule.plural_expr):
        raise ValueError(
            f"{catalogue_path(domain, language)}: Plural-Forms is not {rule.plural_forms}"
        )
    return catalogue


@cache
def translations(domain: str, language: Language) -> NullTranslations:
    """gettext, ngettext and pgettext of one domain in one language (the ids as is in English)."""
    if Language(language) is SOURCE_LANGUAGE:
        return NullTranslations()
    catalogue = read_catalogue(domain, language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


def N_(message: str) -> str:  # noqa: N802 - the marker gettext's extractors know
    """Marks a message id for the catalogue where it is defined, to be translated where used."""
    return message


@dataclass(frozen=True)
class Message:
    """One message a catalogue must translate: its id, plural id and context (msgctxt)."""

    id: str
    plural: str | None = None
    context: str | None = None


def extract(
    paths: Iterable[Path], *, keywords: Sequence[str] = tuple(DEFAULT_KEYWORDS)
) -> list[Message]:
    """The messages marked in Python sources and Jinja templates (`*.html`), in order of use."""
    known = {keyword: DEFAULT_KEYWORDS.get(keyword) for keyword in keywords}
    found: dict[Message, None] = {}
    for path in paths:
        if path.suffix == ".html":
            method = "jinja2.ext:babel_extract"
            options = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}
        else:
            method, options = "python", {}
        for _, text, _, context in extract_from_file(
            method, str(path), keywords=known, options=options
        ):
            message = _message(text, context)
            if message is not None:
                found.setdefault(message)
    return list(found)


def _message(text: str | tuple[str | None, ...], context: str | None) -> Message | None:
    if isinstance(text, tuple):
        singular = text[0]
        plural = text[1] if len(text) > 1 else None
    else:
        singular, plural = text, None
    if not singular:
        return None
    return Message(id=singular, plural=plural, context=context)


def untranslated(domain: str, language: Language, messages: Iterable[Message]) -> list[Message]:
    """The messages the catalogue lacks, leaves empty, or translates with other placeholders."""
    catalogue = read_catalogue(domain, language)
    missing = []
    for message in messages:
        entry = catalogue.get(message.id, context=message.context)
        strings = _strings(entry.string if entry is not None else None)
        wanted = catalogue.num_plurals if message.plural is not None else 1
        if (
            len(strings) != wanted
            or not all(text.strip() for text in strings)
            or any(not _same_placeholders(message, text) for text in strings)
        ):
            missing.append(message)
    return missing


def _strings(string: str | Sequence[str] | None) -> list[str]:
    if string is None:
        return []
    return [string] if isinstance(string, str) else list(string)


def _same_placeholders(message: Message, text: str) -> bool:
    expected = _placeholders(message.id) | _placeholders(message.plural or "")
    found = _placeholders(text)
    # A plural form may leave the number out ("одно"), never add a name of its own.
    return found <= expected and (expected - found) <= {"num"}


def _placeholders(text: str) -> set[str]:
    return set(_named(text))


def _named(text: str) -> Iterator[str]:
    start = text.find("%(")
    while start != -1:
        end = text.find(")", start)
        if end == -1:
            return
        yield text[start + 2 : end]
        start = text.find("%(", end)


class Texts:
    """The messages of one domain and the formats of one language, for one reader."""

    def __init__(self, domain: str, language: Language) -> None:
        self.domain = domain
        self.language = Language(language)
        self._translations = translations(domain, language)

    @cached_property
    def locale(self) -> Locale:
        return Locale.parse(self.language.value)

    def gettext(self, message: str) -> str:
        return str(self._translations.gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(self._translations.ngettext(singular, plural, n))

    def pgettext(self, context: str, message: str) -> str:
        return str(self._translations.pgettext(context, message))

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return str(self._translations.npgettext(context, singular, plural, n))

    def number(self, value: float, *, pattern: str = "#,##0.###") -> str:
        """E.g. 12,600.5 / 12 600,5."""
        return str(format_decimal(value, format=pattern, locale=self.locale))

    def money(self, value: float, currency: str) -> str:
        return str(format_currency(value, currency, locale=self.locale))

    def moment(self, value: datetime, pattern: str, *, zone: tzinfo = UTC) -> str:
        """A date and time by a CLDR pattern, e.g. "HH:mm 'UTC', d MMM y"."""
        return str(format_datetime(value, pattern, tzinfo=zone, locale=self.locale))

    def day(self, value: date | datetime, pattern: str = "d MMMM y") -> str:
        return str(format_date(value, pattern, locale=self.locale))

    def country(self, code: str) -> str:
        """The country's name for an ISO 3166 alpha-2 code; the code itself if Babel has none."""
        name = self.locale.territories.get(code.upper())
        return str(name) if name else code


@cache
def texts(domain: str, language: Language) -> Texts:
    return Texts(domain, language)
