"""How the documents and notices name an agency: by its name and country, never by its id."""

from __future__ import annotations

from collections.abc import Mapping

from i18n import Texts
from store.identity import AgencyName


def agency_label(words: Texts, agencies: Mapping[str, AgencyName], agency_id: str) -> str:
    """E.g. "Drug Control Agency (Tajikistan)"; the id itself if the directory lacks it."""
    entry = agencies.get(agency_id)
    if entry is None:
        return agency_id
    return words.pgettext("agency with its country", "%(agency)s (%(country)s)") % {
        "agency": entry.name,
        "country": words.country(entry.country),
    }
