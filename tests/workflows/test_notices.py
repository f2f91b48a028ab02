# ruff: noqa: RUF001
"""Who is told what: the audience of each event, and the words in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from activities import names, notice_text
from activities.notice_text import WORDING, render
from i18n import Language, Message, extract, texts, untranslated
from store.identity import AgencyName
from tests.workflows.test_rules import (
    AF,
    KZ,
    LAUNCH,
    TJ,
    accept,
    acknowledge,
    handed_to_tajikistan,
    launched,
    offer,
    planned,
)
from workflows.commands import SYSTEM, HandoverDeadlineReached
from workflows.events import EventKind
from workflows.notices import (
    NOTICES,
    Notice,
    NoticeAction,
    Purpose,
    Recipient,
    delivery_failed,
    notices_for,
)
from workflows.state import OperationState


def _last(state: OperationState) -> list[Notice]:
    return notices_for(state, state.timeline[-1])


def _audience(notice: Notice) -> list[str]:
    return [r.agency or f"NCP {r.contact_point_of}" for r in notice.recipients]


def test_a_new_operation_asks_each_country_to_authorise_and_each_agency_to_confirm() -> None:
    authorise, confirm = _last(planned())
    assert authorise.action is NoticeAction.AUTHORISATION_NEEDED
    assert _audience(authorise) == ["af-cnpa", "tj-dca", "kz-police"]
    assert confirm.action is NoticeAction.CONFIRMATION_NEEDED
    assert _audience(confirm) == ["af-cnpa", "tj-dca", "kz-police"]
    assert "operation.launched" in authorise.void_after


def test_a_handover_offer_tells_only_the_receiving_agency_with_its_deadline() -> None:
    state = accept(launched(), offer(AF), LAUNCH + timedelta(hours=1))
    [notice] = _last(state)
    assert notice.action is NoticeAction.ACKNOWLEDGEMENT_DUE
    assert _audience(notice) == ["tj-dca"]
    assert state.handover_offer is not None
    assert notice.deadline == state.handover_offer.deadline
    # If tj-dca cannot be reached, its national contact point is told.
    assert notice.fallback == Recipient(contact_point_of="TJ", purpose=Purpose.ESCALATION)
    assert "handover.acknowledged" in notice.void_after


@pytest.mark.parametrize(
    ("step", "action", "audience", "fallback"),
    [
        (1, NoticeAction.ACKNOWLEDGEMENT_OVERDUE, ["tj-dca"], "TJ"),
        (2, NoticeAction.ACKNOWLEDGEMENT_ESCALATED, ["NCP TJ"], "caricc"),
        (3, NoticeAction.ACKNOWLEDGEMENT_ESCALATED, ["caricc"], None),
    ],
)
def test_each_escalation_step_reaches_the_next_in_the_chain(
    step: int, action: NoticeAction, audience: list[str], fallback: str | None
) -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    for number in range(1, step + 1):
        timer = HandoverDeadlineReached(actor=SYSTEM, request_id=f"t{number}", leg=1, step=number)
        state = accept(state, timer, LAUNCH + timedelta(minutes=30 + 10 * number))
    [notice] = _last(state)
    assert notice.action is action
    assert _audience(notice) == audience
    told = notice.fallback
    assert (told.agency or told.contact_point_of if told else None) == fallback


def test_the_contingency_step_tells_everyone_the_interdiction_was_ordered() -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    for number in range(1, 5):
        timer = HandoverDeadlineReached(actor=SYSTEM, request_id=f"t{number}", leg=1, step=number)
        state = accept(state, timer, LAUNCH + timedelta(hours=number))
    [notice] = _last(state)
    assert notice.action is NoticeAction.INTERDICTION_ORDERED
    assert _audience(notice) == ["caricc", "af-cnpa", "tj-dca", "kz-police"]


def test_an_acknowledgement_and_a_checkpoint_tell_nobody() -> None:
    state = accept(handed_to_tajikistan(), offer(TJ, leg=2), LAUNCH + timedelta(hours=5))
    state = accept(state, acknowledge(KZ, leg=2), LAUNCH + timedelta(hours=5, minutes=1))
    assert _last(state) == []


def test_a_failed_delivery_is_passed_to_the_fallback_and_no_further() -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    [notice] = _last(state)
    told = delivery_failed(notice, unreachable="tj-dca")
    assert told is not None
    assert told.action is NoticeAction.DELIVERY_FAILED
    assert _audience(told) == ["NCP TJ"]
    assert told.undelivered_agency == "tj-dca"
    assert delivery_failed(told, unreachable="tj-ncp") is None
    assert told.key != notice.key


DEADLINE = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize("action", list(NoticeAction))
@pytest.mark.parametrize("language", list(Language))
def test_every_notice_has_words_in_both_languages_with_nothing_left_unfilled(
    action: NoticeAction, language: Language
) -> None:
    notice = Notice(
        key="op/1/1",
        operation_id="op",
        code_name="NIGHTJAR",
        seq=1,
        action=action,
        deadline=DEADLINE,
        recipients=(Recipient(agency="kz-police", purpose=Purpose.ACTION_REQUIRED),),
        undelivered_agency="tj-dca" if action is NoticeAction.DELIVERY_FAILED else None,
        undelivered_action=NoticeAction.ACKNOWLEDGEMENT_DUE
        if action is NoticeAction.DELIVERY_FAILED
        else None,
    )
    text = render(notice, language=language, link="https://cdtrack.example.org/op")
    assert "NIGHTJAR" in text.title
    assert "NIGHTJAR" in text.body
    assert text.body.endswith("\nhttps://cdtrack.example.org/op")
    assert not re.search(r"[{}]|%\(", text.body)
    cyrillic = bool(re.search(r"[а-яА-Я]", text.body))
    assert cyrillic is (language is Language.RUSSIAN)
    if "%(deadline)s" in WORDING[action][1] or action is NoticeAction.DELIVERY_FAILED:
        assert "14:30 UTC" in text.body


DIRECTORY = {"tj-dca": AgencyName(id="tj-dca", name="Drug Control Agency", country="TJ")}


@pytest.mark.parametrize(
    ("language", "body"),
    [
        (
            Language.ENGLISH,
            "Delivery failed on operation NIGHTJAR: the notice \u201chandover acknowledgement "
            "due 14:30 UTC, 24 Nov 2026\u201d could not be delivered to Drug Control Agency "
            "(Tajikistan). Reach them by other means.",
        ),
        (
            Language.RUSSIAN,
            "Сбой доставки по операции NIGHTJAR: уведомление «подтвердите приём передачи до "
            "14:30 UTC, 24 нояб. 2026» не доставлено адресату Drug Control Agency "
            "(Таджикистан). Свяжитесь с ним другим способом.",
        ),
    ],
)
def test_a_failed_delivery_names_the_agency_and_its_country(language: Language, body: str) -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    [notice] = _last(state)
    told = delivery_failed(notice.model_copy(update={"deadline": DEADLINE}), unreachable="tj-dca")
    assert told is not None
    text = render(told, language=language, link="https://x.example/op", agencies=DIRECTORY)
    assert text.body == f"{body}\nhttps://x.example/op"
    assert "tj-dca" not in text.body


def test_an_unregistered_contact_point_is_named_by_its_country() -> None:
    notice = Notice(
        key="op/1/1/undelivered",
        operation_id="op",
        code_name="NIGHTJAR",
        seq=1,
        action=NoticeAction.DELIVERY_FAILED,
        recipients=(Recipient(agency="caricc", purpose=Purpose.ESCALATION),),
        undelivered_agency=Recipient(contact_point_of="TJ", purpose=Purpose.ESCALATION).label,
        undelivered_action=NoticeAction.ACKNOWLEDGEMENT_OVERDUE,
    )
    text = render(notice, language=Language.RUSSIAN, link="https://x.example/op")
    assert "национальный контактный пункт страны Таджикистан" in text.body
    assert "(без срока)" in text.body


def notice_messages() -> list[Message]:
    """Every message a notice is made of: the wording table and the naming of agencies."""
    return extract([Path(notice_text.__file__), Path(names.__file__)])


def test_every_notice_message_has_a_russian_translation() -> None:
    messages = notice_messages()
    assert {Message(what) for _, what in WORDING.values()} <= set(messages)
    assert Message("%(agency)s (%(country)s)", context="agency with its country") in messages
    assert untranslated("notices", Language.RUSSIAN, messages) == []


def test_the_russian_words_are_a_translation_not_a_copy() -> None:
    assert set(WORDING) == set(NoticeAction)
    russian = texts("notices", Language.RUSSIAN)
    for about, what in WORDING.values():
        assert russian.gettext(about) != about
        assert russian.gettext(what) != what


# Events that ask nobody to act or know beyond those who did it; every other kind tells someone.
TELLS_NOBODY = {
    EventKind.AUTHORISATION_GRANTED,
    EventKind.AUTHORISATION_REFUSED,
    EventKind.PARTICIPATION_CONFIRMED,
    EventKind.PARTICIPANT_REMOVED,
    EventKind.OPERATION_LAUNCHED,
    EventKind.HANDOVER_ACKNOWLEDGED,
    EventKind.HANDOVER_REFUSED,
    EventKind.CHECKPOINT_REPORTED,
    EventKind.SURVEILLANCE_REGAINED,
    EventKind.OPERATION_SUSPENDED,
    EventKind.OPERATION_RESUMED,
    EventKind.INTERDICTION_APPROVED,
    EventKind.INTERDICTION_APPROVAL_OVERDUE,
    EventKind.SEIZURE_RECORDED,
    EventKind.ARREST_RECORDED,
    EventKind.DEBRIEF_INPUT_SUBMITTED,
    EventKind.DEBRIEF_DEADLINE_PASSED,
    EventKind.DEBRIEF_DEADLINE_EXTENDED,
    EventKind.DEBRIEF_RECOMMENDATION_ADDED,
    EventKind.DEBRIEF_CLOSED,
    EventKind.DEBRIEF_ASSESSMENT_RETRIED,
    EventKind.OPERATION_ABORTED,
    EventKind.OPERATION_FAILED,
}


def test_every_kind_of_event_either_has_its_notices_or_is_known_to_tell_nobody() -> None:
    told = set(NOTICES)
    assert not told & TELLS_NOBODY
    assert told | TELLS_NOBODY == set(EventKind), "decide who hears of a new kind of event"
    # What asks someone to act must reach them.
    assert {
        EventKind.OPERATION_CREATED,
        EventKind.HANDOVER_OFFERED,
        EventKind.HANDOVER_ACKNOWLEDGEMENT_OVERDUE,
        EventKind.HANDOVER_ESCALATED,
        EventKind.CHECKPOINT_OVERDUE,
        EventKind.SURVEILLANCE_LOST,
        EventKind.OPERATION_COMPROMISED,
        EventKind.INTERDICTION_ORDERED,
        EventKind.INTERDICTION_CONCLUDED,
        EventKind.DEBRIEF_REMINDER,
        EventKind.DEBRIEF_ASSESSED,
    } <= told
