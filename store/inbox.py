"""An agency's inbox: everything it must do now on the operations it takes part in.

Read from the read model in at most three queries whatever the number of operations (no workflow
query per operation): the agency's participant rows with their operations' rows (what is due
next, migration 0011) and the two legs that give a deadline (the first leg's departure while
planning, the leg whose handover is offered); then, only for operations in planning or debrief,
the timeline's authorisations of the agency's country and its debrief inputs already in. Every
statement has the same text whatever the number of operations (the operations are joined, never
listed as parameters), so the database driver and SQLAlchemy prepare it once. Soonest deadline
first; entries without a deadline last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from store.models import LegRow, OperationRow, ParticipantRow, TimelineEventRow
from workflows.events import EventKind
from workflows.state import Phase

_LIVE: Final = (Phase.PLANNING, Phase.EXECUTION, Phase.SUSPENDED, Phase.INTERDICTION, Phase.DEBRIEF)
_AUTHORISATIONS: Final = (EventKind.AUTHORISATION_GRANTED, EventKind.AUTHORISATION_REFUSED)


class Task(StrEnum):
    AUTHORISATION = "authorisation"
    PARTICIPATION = "participation"
    HANDOVER = "handover"
    CHECKPOINT = "checkpoint"
    DEBRIEF = "debrief"


@dataclass(frozen=True)
class InboxEntry:
    operation_id: str
    code_name: str
    task: Task
    due_at: datetime | None
    leg: int | None = None
    country: str | None = None


def _of_leg(column: Any, position: Any) -> Any:
    """`column` of the operation's leg at `position`, as a subquery of the operation's row: the
    database looks it up by the leg's key for each operation, planned well with or without
    statistics."""
    return (
        select(column)
        .where(LegRow.operation_id == OperationRow.id, LegRow.position == position)
        .scalar_subquery()
    )


class _Participation(NamedTuple):
    """One row of `_PARTICIPATIONS`, its columns in the same order: read as a tuple, since a
    SQLAlchemy row's attributes cost more to read than everything else the inbox does per row."""

    id: str
    code_name: str
    phase: str
    custodian: str | None
    offered_leg: int | None
    handover_due_at: datetime | None
    checkpoint_due_at: datetime | None
    debrief_due_at: datetime | None
    country: str
    confirmed_at: datetime | None
    departure: datetime | None
    offered_to: str | None


# One row per operation the agency takes part in, with what the inbox needs of it.
_PARTICIPATIONS: Final = (
    select(
        OperationRow.id,
        OperationRow.code_name,
        OperationRow.phase,
        OperationRow.custodian,
        OperationRow.offered_leg,
        OperationRow.handover_due_at,
        OperationRow.checkpoint_due_at,
        OperationRow.debrief_due_at,
        ParticipantRow.country,
        ParticipantRow.confirmed_at,
        _of_leg(LegRow.planned_departure, 1).label("departure"),
        _of_leg(LegRow.receiving_agency, OperationRow.offered_leg).label("offered_to"),
    )
    .join(ParticipantRow, ParticipantRow.operation_id == OperationRow.id)
    .where(OperationRow.phase.in_([phase.value for phase in _LIVE]))
)


def _with_event(phase: Phase) -> Select[str]:
    """Ids of the operations in `phase` with an event of a participant (the conditions on the
    event, and which participant, added by the caller)."""
    return (
        select(TimelineEventRow.operation_id)
        .join(ParticipantRow, ParticipantRow.operation_id == TimelineEventRow.operation_id)
        .join(OperationRow, OperationRow.id == TimelineEventRow.operation_id)
        .where(OperationRow.phase == phase.value)
        .distinct()
    )


# Where the agency's country has recorded its authorisation (granted or refused).
_AUTHORISED: Final = _with_event(Phase.PLANNING).where(
    TimelineEventRow.kind.in_([kind.value for kind in _AUTHORISATIONS]),
    TimelineEventRow.detail["country"].as_string() == ParticipantRow.country,
)
# Where the agency has submitted its debrief input.
_DEBRIEFED: Final = _with_event(Phase.DEBRIEF).where(
    TimelineEventRow.kind == EventKind.DEBRIEF_INPUT_SUBMITTED.value,
    TimelineEventRow.actor_agency == ParticipantRow.agency,
)


def _operations_with(session: Session, query: Select[str], *, agency: str) -> set[str]:
    return set(session.scalars(query.where(ParticipantRow.agency == agency)))


def inbox(session: Session, *, agency: str) -> list[InboxEntry]:
    """What `agency` must do now, soonest deadline first."""
    found = session.execute(_PARTICIPATIONS.where(ParticipantRow.agency == agency))
    rows = [_Participation._make(row) for row in found]
    phases = {row.phase for row in rows}
    authorised = (
        _operations_with(session, _AUTHORISED, agency=agency) if Phase.PLANNING in phases else set()
    )
    debriefed = (
        _operations_with(session, _DEBRIEFED, agency=agency) if Phase.DEBRIEF in phases else set()
    )
    entries: list[InboxEntry] = []
    for row in rows:
        entries.extend(_due(row, agency=agency, authorised=authorised, debriefed=debriefed))
    return sorted(entries, key=_soonest)


def _due(
    row: _Participation, *, agency: str, authorised: set[str], debriefed: set[str]
) -> list[InboxEntry]:
    """The entries of one operation the agency takes part in."""
    entries: list[InboxEntry] = []
    if row.phase == Phase.PLANNING:
        if row.id not in authorised:
            entries.append(
                InboxEntry(
                    row.id, row.code_name, Task.AUTHORISATION, row.departure, None, row.country
                )
            )
        if row.confirmed_at is None:
            entries.append(InboxEntry(row.id, row.code_name, Task.PARTICIPATION, row.departure))
    if row.offered_leg is not None and row.offered_to == agency:
        entries.append(
            InboxEntry(row.id, row.code_name, Task.HANDOVER, row.handover_due_at, row.offered_leg)
        )
    if row.custodian == agency and row.checkpoint_due_at is not None:
        entries.append(InboxEntry(row.id, row.code_name, Task.CHECKPOINT, row.checkpoint_due_at))
    if row.phase == Phase.DEBRIEF and row.id not in debriefed:
        entries.append(InboxEntry(row.id, row.code_name, Task.DEBRIEF, row.debrief_due_at))
    return entries


def _soonest(entry: InboxEntry) -> tuple[bool, datetime | None, str, str]:
    return (entry.due_at is None, entry.due_at, entry.code_name, entry.task.value)
