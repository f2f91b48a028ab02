"""The operation page's timeline lines, written from each event's kind and detail: in Russian
for a Russian reader, agencies by name, moments in the viewer's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from bench.report import long_operation
from cdtrack.walkthrough import SAMPLE_AGENCIES
from i18n import Language
from store.identity import AgencyName
from web.language import Clock, console_texts
from web.templating import View
from web.timeline import WRITERS, event_line
from workflows import details
from workflows.commands import SYSTEM
from workflows.events import EscalationStep, EventKind
from workflows.timeline import Event, timeline_event

DIRECTORY: Final = {
    agency["id"]: AgencyName(id=agency["id"], name=agency["name"], country=agency["country"])
    for agency in SAMPLE_AGENCIES
}
LATIN: Final = re.compile(r"[A-Za-z][A-Za-z'-]+")
# What the operation itself says in Latin letters: code name, agencies, places, substance,
# authorities. Everything else in a Russian line must be Russian.
DATA: Final = {
    "LONGHAUL",
    "UTC",
    "Counter",
    "Narcotics",
    "Police",
    "Drug",
    "Control",
    "Agency",
    "Anti-drug",
    "police",
    "Prosecutor's",
    "office",
    "of",
    "AF",
    "TJ",
    "KZ",
    "CD-AF-",
    "CD-TJ-",
    "CD-KZ-",
    "Road",
    "marker",
    "Destination",
    "warehouse",
    "heroin",
}


def view(language: Language, zone: str = "UTC") -> View:
    clock = Clock(console_texts(language), ZoneInfo(zone) if zone != "UTC" else UTC)
    return View(language=language, clock=clock, agencies=DIRECTORY)


def test_every_kind_of_event_has_a_line_of_its_own() -> None:
    assert set(WRITERS) == set(EventKind)


def test_a_whole_operation_reads_in_russian_with_agencies_by_name() -> None:
    state = long_operation(events=40)
    russian = view(Language.RUSSIAN)
    kinds = set()
    for event in state.timeline:
        line = event_line(event, view=russian, plan=state.plan)
        english = sorted(set(LATIN.findall(line)) - DATA)
        assert not english, f"{event.kind}: {line}"
        assert not {"af-cnpa", "tj-dca", "kz-police"} & set(line.split()), line
        kinds.add(event.kind)
    assert len(kinds) >= 12, "the operation should show most kinds of its lifecycle"
    confirmed = next(e for e in state.timeline if e.kind is EventKind.PARTICIPATION_CONFIRMED)
    assert (
        event_line(confirmed, view=russian, plan=state.plan)
        == "Участие подтверждено ведомством Counter Narcotics Police (Афганистан)"
    )


def test_english_lines_read_as_the_rules_write_them_with_names_and_the_viewers_zone() -> None:
    state = long_operation(events=40)
    english = view(Language.ENGLISH, zone="Asia/Almaty")
    offered = next(e for e in state.timeline if e.kind is EventKind.HANDOVER_OFFERED)
    line = event_line(offered, view=english, plan=state.plan)
    assert line.startswith(
        "Counter Narcotics Police (Afghanistan) offered the handover of leg 1 "
        "(Afghanistan → Tajikistan) to Drug Control Agency (Tajikistan); acknowledgement due "
    )
    assert line.endswith("08:10 UTC, 3 Mar 2026 (13:10 Asia/Almaty)")


def system_event(kind: EventKind, detail: details.Detail, *, seq: int, summary: str) -> Event:
    """An event the operation's own timers wrote, at 09:00 UTC on 3 March 2026."""
    at = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    return timeline_event(seq=seq, at=at, kind=kind, actor=SYSTEM, summary=summary, detail=detail)


def test_an_overdue_acknowledgement_names_its_deadline_and_agency() -> None:
    state = long_operation(events=40)
    overdue = system_event(
        EventKind.HANDOVER_ACKNOWLEDGEMENT_OVERDUE,
        details.Escalation(
            leg=1,
            step=1,
            escalation=EscalationStep.REMINDER,
            receiving_agency="tj-dca",
            overdue_seconds=timedelta(minutes=30).total_seconds(),
        ),
        seq=99,
        summary="Acknowledgement of leg 1 by tj-dca is overdue",
    )
    assert event_line(overdue, view=view(Language.RUSSIAN), plan=state.plan) == (
        "Подтверждение передачи на участке 1 ведомством Drug Control Agency (Таджикистан) "
        "просрочено (срок 08:30 UTC, 3 мар. 2026); направлено напоминание"
    )


def test_a_line_that_needs_the_plan_is_the_stored_summary_without_it() -> None:
    silent = system_event(
        EventKind.CHECKPOINT_OVERDUE,
        details.CheckpointOverdue(custodian="tj-dca", silent_seconds=4500.0),
        seq=7,
        summary="No checkpoint from tj-dca for 75 min (agreed interval 60 min)",
    )
    assert event_line(silent, view=view(Language.RUSSIAN), plan=None) == silent.summary
    state = long_operation(events=40)
    assert event_line(silent, view=view(Language.RUSSIAN), plan=state.plan) == (
        "Нет сообщений о контрольной точке от ведомства Drug Control Agency (Таджикистан) уже "  # noqa: RUF001
        "75 мин (согласованный интервал 60 мин)"
    )


def test_a_failed_assessment_says_how_it_is_tried_again_before_and_after_the_close() -> None:
    def failed(*, after_close: bool) -> str:
        event = system_event(
            EventKind.DEBRIEF_ASSESSMENT_FAILED,
            details.AssessmentFailure(version=2, at_seq=39, after_close=after_close),
            seq=40,
            summary="Outcome assessment version 2 could not be written",
        )
        return event_line(event, view=view(Language.RUSSIAN), plan=None)

    assert failed(after_close=False) == (
        "Версию 2 оценки результатов составить не удалось; попытка повторится при следующем "
        "изменении"
    )
    assert failed(after_close=True) == (
        "Версию 2 оценки результатов составить не удалось; попытки будут повторяться, пока она "
        "не будет составлена"
    )
