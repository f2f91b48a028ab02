"""The words of each notice in the reader's language: the action and its deadline, nothing more.

What may appear is fixed here: the code name, the action, the deadline in UTC, the name and
country of an agency a notice could not be delivered to, and the link. Substances, quantities,
places, routes and persons never do. The words are the `notices` domain of `i18n`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from activities.names import agency_label
from i18n import N_, Language, Texts, texts
from store.identity import AgencyName
from workflows.notices import Notice, NoticeAction

DOMAIN: Final = "notices"

TITLE: Final = N_("Operation %(code)s")
ACTION: Final = N_("Action required on operation %(code)s")
REMINDER: Final = N_("Reminder on operation %(code)s")
ESCALATION: Final = N_("Escalation on operation %(code)s")
ALERT: Final = N_("Alert on operation %(code)s")
DELIVERY: Final = N_("Delivery failed on operation %(code)s")
NO_DEADLINE: Final = N_("(no deadline)")
CONTACT_POINT: Final = N_("the national contact point of %(country)s")
# How `workflows.notices.Recipient.label` names a contact point not found in the directory.
CONTACT_POINT_LABEL: Final = "national contact point of "

# Each notice's sentence: what it is about (on operation X), then what is asked or known.
WORDING: Final[dict[NoticeAction, tuple[str, str]]] = {
    NoticeAction.AUTHORISATION_NEEDED: (ACTION, N_("record your country's authorisation")),
    NoticeAction.CONFIRMATION_NEEDED: (ACTION, N_("confirm your agency's participation")),
    NoticeAction.ACKNOWLEDGEMENT_DUE: (ACTION, N_("handover acknowledgement due %(deadline)s")),
    NoticeAction.ACKNOWLEDGEMENT_OVERDUE: (
        REMINDER,
        N_(
            "the handover acknowledgement due %(deadline)s is overdue. Acknowledge or refuse "
            "the handover now"
        ),
    ),
    NoticeAction.ACKNOWLEDGEMENT_ESCALATED: (
        ESCALATION,
        N_("a handover acknowledgement due %(deadline)s is overdue. Your intervention is required"),
    ),
    NoticeAction.CHECKPOINT_SILENCE: (
        ALERT,
        N_("no checkpoint report within the agreed interval"),
    ),
    NoticeAction.SURVEILLANCE_LOST: (
        ALERT,
        N_("surveillance lost; to be regained by %(deadline)s"),
    ),
    NoticeAction.COMPROMISE: (ALERT, N_("compromise reported")),
    NoticeAction.INTERDICTION_ORDERED: (TITLE, N_("interdiction ordered")),
    NoticeAction.OPERATION_ABORTED: (TITLE, N_("the operation has been aborted")),
    NoticeAction.DEBRIEF_INPUT_DUE: (ACTION, N_("debrief input due %(deadline)s")),
    NoticeAction.DEBRIEF_REPORT_READY: (TITLE, N_("the debrief report is ready")),
    NoticeAction.DEBRIEF_REPORT_FINAL: (
        TITLE,
        N_("the debrief is closed and the debrief report is final"),
    ),
    NoticeAction.ASSESSMENT_FAILED: (
        ALERT,
        N_("the outcome assessment could not be written; it is tried again on the next change"),
    ),
    NoticeAction.CLOSING_ASSESSMENT_FAILED: (
        ALERT,
        N_(
            "the closing outcome assessment could not be written; it is tried again until it "
            "is written"
        ),
    ),
    NoticeAction.DELIVERY_FAILED: (
        DELIVERY,
        N_(
            "the notice \u201c%(undelivered)s\u201d could not be delivered to %(agency)s. "
            "Reach them by other means"
        ),
    ),
}


@dataclass(frozen=True)
class NoticeText:
    title: str
    body: str


def deadline_text(moment: datetime, language: Language) -> str:
    """E.g. "14:30 UTC, 24 Nov 2026" / "14:30 UTC, 24 нояб. 2026"."""
    return texts(DOMAIN, language).moment(moment, "HH:mm 'UTC', d MMM y")


def render(
    notice: Notice,
    *,
    language: Language,
    link: str,
    agencies: Mapping[str, AgencyName] | None = None,
) -> NoticeText:
    """The notice's title and body; `agencies` names an agency it could not be delivered to."""
    words = texts(DOMAIN, language)
    values = {
        "code": notice.code_name,
        "deadline": words.gettext(NO_DEADLINE)
        if notice.deadline is None
        else deadline_text(notice.deadline, language),
    }
    if notice.undelivered_action is not None:
        values["undelivered"] = words.gettext(WORDING[notice.undelivered_action][1]) % values
    if notice.undelivered_agency is not None:
        values["agency"] = _addressee(words, agencies or {}, notice.undelivered_agency)
    about, what = WORDING[notice.action]
    sentence = f"{words.gettext(about) % values}: {words.gettext(what) % values}."
    return NoticeText(title=words.gettext(TITLE) % values, body=f"{sentence}\n{link}")


def _addressee(words: Texts, agencies: Mapping[str, AgencyName], label: str) -> str:
    if label.startswith(CONTACT_POINT_LABEL):
        country = label.removeprefix(CONTACT_POINT_LABEL)
        return words.gettext(CONTACT_POINT) % {"country": words.country(country)}
    return agency_label(words, agencies, label)
