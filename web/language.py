"""The viewer's language and time zone: their stored preference, else what the browser asks for."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from i18n import Language, Texts, texts

DOMAIN = "console"


def from_accept_language(header: str | None) -> Language:
    """The first language of an Accept-Language header the console speaks (English if none)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            weighted.append((-quality, position, tag.split("-")[0].lower()))
    known = {language.value for language in Language}
    for quality, _, tag in sorted(weighted):
        if quality < 0 and tag in known:
            return Language(tag)
    return Language.ENGLISH


def viewer_language(preference: str | None, accept_language: str | None) -> Language:
    if preference in {language.value for language in Language}:
        return Language(preference)
    return from_accept_language(accept_language)


def viewer_zone(preference: str | None) -> tzinfo:
    if preference:
        try:
            return ZoneInfo(preference)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def zone_names() -> list[str]:
    return ["UTC", *sorted(name for name in available_timezones() if "/" in name)]


class Clock:
    """Moments as this viewer reads them: in their zone; legal deadlines with UTC beside."""

    def __init__(self, words: Texts, zone: tzinfo) -> None:
        self._words = words
        self.zone = zone

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return self._words.moment(moment, "d MMM y, HH:mm", zone=self.zone)

    def deadline(self, moment: datetime | None) -> str:
        """E.g. "14:30 UTC, 1 Dec 2026 (19:30 Asia/Almaty)"."""
        if moment is None:
            return ""
        legal = self._words.moment(moment, "HH:mm 'UTC', d MMM y", zone=UTC)
        if self.zone is UTC:
            return legal
        local = self._words.moment(moment, "HH:mm", zone=self.zone)
        return f"{legal} ({local} {self.zone})"

    def iso(self, moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat()


def console_texts(language: Language) -> Texts:
    return texts(DOMAIN, language)


def N_(message: str) -> str:  # noqa: N802 - the marker gettext's extractors know
    """Marks a message id for the catalogue here; it is translated where it is shown."""
    return message
