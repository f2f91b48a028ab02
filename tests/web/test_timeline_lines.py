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
from workflows.timeline import timeline_event

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


def test_an_overdue_acknowledgement_names_its_deadline_and_agency() -> None:
    state = long_operation(events=40)
    at = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    overdue = timeline_event(
        seq=99,
        at=at,
        kind=EventKind.HANDOVER_ACKNOWLEDGEMENT_OVERDUE,
        actor=SYSTEM,
        summary="Acknowledgement of leg 1 by tj-dca is overdue",
        detail=details.Escalation(
            leg=1,
            step=1,
            escalation=EscalationStep.REMINDER,
            receiving_agency="tj-dca",
            overdue_seconds=timedelta(minutes=30).total_seconds(),
        ),
    )
    assert event_line(overdue, view=view(Language.RUSSIAN), plan=state.plan) == (
        "Подтверждение этапа 1 ведомством Drug Control Agency (Таджикистан) просрочено "
        "(срок 08:30 UTC, 3 мар. 2026); направлено напоминание"
    )


def test_a_line_that_needs_the_plan_is_the_stored_summary_without_it() -> None:
    silent = timeline_event(
        seq=7,
        at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        kind=EventKind.CHECKPOINT_OVERDUE,
        actor=SYSTEM,
        summary="No checkpoint from tj-dca for 75 min (agreed interval 60 min)",
        detail=details.CheckpointOverdue(custodian="tj-dca", silent_seconds=4500.0),
    )
    assert event_line(silent, view=view(Language.RUSSIAN), plan=None) == silent.summary
    state = long_operation(events=40)
    assert event_line(silent, view=view(Language.RUSSIAN), plan=state.plan) == (
        "Нет сообщений о контрольной точке от ведомства Drug Control Agency (Таджикистан) уже "  # noqa: RUF001
        "75 мин (согласованный интервал 60 мин)"
    )
