"""Why a person opens an operation: a short list of reasons fitting their role, or their own words.

The reason is asked once per operation and session and kept with the session; every page view
of the operation is still its own access-log entry naming it. A notification link may carry a
reason code (`?reason=handover_due`) to preselect the reason that fits the action it asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from api.principal import Role
from web.language import N_

OWN_WORDS: Final = "own_words"
# The API's rule for a justification (api/justification.py): 10-500 printable characters.
MIN_LENGTH: Final = 10
MAX_LENGTH: Final = 500


@dataclass(frozen=True)
class Reason:
    code: str
    text: str  # English: the message id, and what the access log keeps


REASONS: Final[dict[Role, tuple[Reason, ...]]] = {
    Role.OFFICER: (
        Reason("handover_due", N_("Handover acknowledgement due")),
        Reason("action_due", N_("An action of my agency is due on this operation")),
        Reason("custody", N_("Surveillance while my agency holds custody")),
        Reason("debrief_input", N_("Debrief input of my agency")),
    ),
    Role.COORDINATOR: (
        Reason("monitoring", N_("Monitoring the operation I coordinate")),
        Reason("planning", N_("Planning the operation I coordinate")),
        Reason("debrief_review", N_("Reviewing the debrief of the operation I coordinate")),
    ),
    Role.ANALYST: (
        Reason("debrief_analysis", N_("Debrief analysis")),
        Reason("statistics", N_("Statistics across operations")),
    ),
    Role.ADMIN: (),
}


# The reason the page a person is headed to suggests, by role (`/o/<id>/<page>`): a link of a
# notice names its own (`?reason=`). The operation's own page suggests none: the person says.
PAGE_REASONS: Final[dict[Role, dict[str, str]]] = {
    Role.OFFICER: {
        "handover": "handover_due",
        "authorisation": "action_due",
        "participation": "action_due",
        "checkpoint": "custody",
        "debrief": "debrief_input",
    },
    Role.COORDINATOR: {
        "launch": "planning",
        "authorisation": "planning",
        "participation": "planning",
        "debrief": "debrief_review",
        "assessment": "debrief_review",
        "report": "debrief_review",
    },
    Role.ANALYST: {
        "debrief": "debrief_analysis",
        "assessment": "debrief_analysis",
        "report": "debrief_analysis",
    },
}


def suggested(role: Role, next_path: str) -> str | None:
    """The reason `next_path`'s page suggests to this role, or None: nothing is chosen for the
    person, who would otherwise log a reason they never gave."""
    parts = urlsplit(next_path).path.strip("/").split("/")
    page = parts[2] if len(parts) > 2 and parts[0] == "o" else ""
    return PAGE_REASONS.get(role, {}).get(page)


def reasons_for(role: Role) -> tuple[Reason, ...]:
    return REASONS.get(role, ())


def chosen(role: Role, *, code: str, own_words: str) -> str | None:
    """The justification a form gives, or None if it gives none the rules accept."""
    if code == OWN_WORDS:
        text = own_words.strip()
        fits = MIN_LENGTH <= len(text) <= MAX_LENGTH and all(ch.isprintable() for ch in text)
        return text if fits else None
    for reason in reasons_for(role):
        if reason.code == code:
            return reason.text
    return None
