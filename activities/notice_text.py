# ruff: noqa: RUF001, RUF002
"""The words of each notice, in English and Russian: the action and its deadline, nothing more.

What may appear is fixed here: the code name, the action, the deadline in UTC, an agency id for a
failed delivery, and the link. Substances, quantities, places, routes and persons never do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from babel.dates import format_datetime

from store.notifications import Language
from workflows.notices import Notice, NoticeAction

TEXTS: Final[dict[Language, dict[NoticeAction, str]]] = {
    Language.ENGLISH: {
        NoticeAction.AUTHORISATION_NEEDED: (
            "Action required on operation {code}: record your country's authorisation."
        ),
        NoticeAction.CONFIRMATION_NEEDED: (
            "Action required on operation {code}: confirm your agency's participation."
        ),
        NoticeAction.ACKNOWLEDGEMENT_DUE: (
            "Action required on operation {code}: handover acknowledgement due {deadline}."
        ),
        NoticeAction.ACKNOWLEDGEMENT_OVERDUE: (
            "Reminder on operation {code}: the handover acknowledgement due {deadline} is "
            "overdue. Acknowledge or refuse the handover now."
        ),
        NoticeAction.ACKNOWLEDGEMENT_ESCALATED: (
            "Escalation on operation {code}: a handover acknowledgement due {deadline} is "
            "overdue. Your intervention is required."
        ),
        NoticeAction.CHECKPOINT_SILENCE: (
            "Alert on operation {code}: no checkpoint report within the agreed interval."
        ),
        NoticeAction.SURVEILLANCE_LOST: (
            "Alert on operation {code}: surveillance lost; to be regained by {deadline}."
        ),
        NoticeAction.COMPROMISE: "Alert on operation {code}: compromise reported.",
        NoticeAction.INTERDICTION_ORDERED: "Operation {code}: interdiction ordered.",
        NoticeAction.OPERATION_ABORTED: "Operation {code}: the operation has been aborted.",
        NoticeAction.DEBRIEF_INPUT_DUE: (
            "Action required on operation {code}: debrief input due {deadline}."
        ),
        NoticeAction.DEBRIEF_REPORT_READY: "Operation {code}: the debrief report is ready.",
        NoticeAction.DEBRIEF_REPORT_FINAL: (
            "Operation {code}: the debrief is closed and the debrief report is final."
        ),
        NoticeAction.ASSESSMENT_FAILED: (
            "Alert on operation {code}: the outcome assessment could not be written; it is "
            "tried again on the next change."
        ),
        NoticeAction.DELIVERY_FAILED: (
            "Delivery failed on operation {code}: the notice \u201c{undelivered}\u201d could not "
            "be delivered to {agency}. Reach them by other means."
        ),
    },
    Language.RUSSIAN: {
        NoticeAction.AUTHORISATION_NEEDED: (
            "Требуется действие по операции {code}: внесите разрешение вашей страны."
        ),
        NoticeAction.CONFIRMATION_NEEDED: (
            "Требуется действие по операции {code}: подтвердите участие вашего ведомства."
        ),
        NoticeAction.ACKNOWLEDGEMENT_DUE: (
            "Требуется действие по операции {code}: подтвердите приём передачи до {deadline}."
        ),
        NoticeAction.ACKNOWLEDGEMENT_OVERDUE: (
            "Напоминание по операции {code}: срок подтверждения приёма передачи ({deadline}) "
            "истёк. Подтвердите приём или откажитесь от него."
        ),
        NoticeAction.ACKNOWLEDGEMENT_ESCALATED: (
            "Эскалация по операции {code}: подтверждение приёма передачи со сроком {deadline} "
            "просрочено. Требуется ваше вмешательство."
        ),
        NoticeAction.CHECKPOINT_SILENCE: (
            "Тревога по операции {code}: нет доклада с контрольной точки в согласованный интервал."
        ),
        NoticeAction.SURVEILLANCE_LOST: (
            "Тревога по операции {code}: наблюдение потеряно; восстановить до {deadline}."
        ),
        NoticeAction.COMPROMISE: "Тревога по операции {code}: сообщено о компрометации.",
        NoticeAction.INTERDICTION_ORDERED: "Операция {code}: отдан приказ о пресечении.",
        NoticeAction.OPERATION_ABORTED: "Операция {code}: операция прекращена.",
        NoticeAction.DEBRIEF_INPUT_DUE: (
            "Требуется действие по операции {code}: материалы для подведения итогов — "
            "до {deadline}."
        ),
        NoticeAction.DEBRIEF_REPORT_READY: "Операция {code}: итоговый отчёт готов.",
        NoticeAction.DEBRIEF_REPORT_FINAL: (
            "Операция {code}: подведение итогов завершено, итоговый отчёт окончательный."
        ),
        NoticeAction.ASSESSMENT_FAILED: (
            "Тревога по операции {code}: оценку результатов не удалось записать; она будет "
            "повторена при следующем изменении."
        ),
        NoticeAction.DELIVERY_FAILED: (
            "Сбой доставки по операции {code}: уведомление «{undelivered}» не доставлено "
            "адресату {agency}. Свяжитесь с ним другим способом."
        ),
    },
}

TITLES: Final = {
    Language.ENGLISH: "Operation {code}",
    Language.RUSSIAN: "Операция {code}",
}
UNKNOWN_DEADLINE: Final = {Language.ENGLISH: "(no deadline)", Language.RUSSIAN: "(без срока)"}


@dataclass(frozen=True)
class NoticeText:
    title: str
    body: str


def deadline_text(moment: datetime, language: Language) -> str:
    """E.g. "14:30 UTC, 24 Nov 2026" / "14:30 UTC, 24 нояб. 2026 г."."""
    text: str = format_datetime(
        moment.astimezone(UTC), "HH:mm 'UTC', d MMM y", tzinfo=UTC, locale=language.value
    )
    return text


def render(notice: Notice, *, language: Language, link: str) -> NoticeText:
    texts = TEXTS[language]
    undelivered = ""
    if notice.undelivered_action is not None:
        inner = texts[notice.undelivered_action]
        undelivered = (
            inner.split(":", 1)[-1]
            .strip()
            .format(code=notice.code_name, deadline=_deadline(notice, language))
        )
    sentence = texts[notice.action].format(
        code=notice.code_name,
        deadline=_deadline(notice, language),
        agency=notice.undelivered_agency or "",
        undelivered=undelivered,
    )
    return NoticeText(
        title=TITLES[language].format(code=notice.code_name), body=f"{sentence}\n{link}"
    )


def _deadline(notice: Notice, language: Language) -> str:
    if notice.deadline is None:
        return UNKNOWN_DEADLINE[language]
    return deadline_text(notice.deadline, language)
