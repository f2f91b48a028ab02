"""An agency's inbox: everything it must do now on the operations it takes part in.

Read from the read model in a handful of queries whatever the number of operations (no workflow
query per operation): the participant rows give the operations and confirmations, the operation
rows what is due next (migration 0011), the timeline which authorisations and debrief inputs are
already in. Soonest deadline first; entries without a deadline last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import LegRow, OperationRow, ParticipantRow, TimelineEventRow
from workflows.events import EventKind
from workflows.state import Phase

_LIVE = (Phase.PLANNING, Phase.EXECUTION, Phase.SUSPENDED, Phase.INTERDICTION, Phase.DEBRIEF)


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


def _events_of(
    session: Session, *, operation_ids: Iterable[str], kinds: Iterable[EventKind]
) -> list[TimelineEventRow]:
    ids = list(operation_ids)
    if not ids:
        return []
    query = select(TimelineEventRow).where(
        TimelineEventRow.operation_id.in_(ids),
        TimelineEventRow.kind.in_([kind.value for kind in kinds]),
    )
    return list(session.scalars(query))


def inbox(session: Session, *, agency: str) -> list[InboxEntry]:
    """What `agency` must do now, soonest deadline first."""
    joined = session.execute(
        select(OperationRow, ParticipantRow)
        .join(ParticipantRow, ParticipantRow.operation_id == OperationRow.id)
        .where(ParticipantRow.agency == agency, OperationRow.phase.in_([p.value for p in _LIVE]))
    ).all()
    entries: list[InboxEntry] = []
    planning = {op.id: (op, part) for op, part in joined if op.phase == Phase.PLANNING}
    if planning:
        departures = dict(
            session.execute(
                select(LegRow.operation_id, LegRow.planned_departure).where(
                    LegRow.operation_id.in_(list(planning)), LegRow.position == 1
                )
            ).all()
        )
        recorded = {
            (event.operation_id, event.detail.get("country"))
            for event in _events_of(
                session,
                operation_ids=planning,
                kinds=(EventKind.AUTHORISATION_GRANTED, EventKind.AUTHORISATION_REFUSED),
            )
        }
        for operation_id, (op, part) in planning.items():
            due = departures.get(operation_id)
            if (operation_id, part.country) not in recorded:
                entries.append(
                    InboxEntry(
                        operation_id, op.code_name, Task.AUTHORISATION, due, None, part.country
                    )
                )
            if part.confirmed_at is None:
                entries.append(InboxEntry(operation_id, op.code_name, Task.PARTICIPATION, due))
    offered = [op for op, _ in joined if op.offered_leg is not None]
    if offered:
        receiving = set(
            session.execute(
                select(LegRow.operation_id, LegRow.position).where(
                    LegRow.receiving_agency == agency,
                    LegRow.operation_id.in_([op.id for op in offered]),
                )
            ).all()
        )
        entries.extend(
            InboxEntry(op.id, op.code_name, Task.HANDOVER, op.handover_due_at, op.offered_leg)
            for op in offered
            if (op.id, op.offered_leg) in receiving
        )
    entries.extend(
        InboxEntry(op.id, op.code_name, Task.CHECKPOINT, op.checkpoint_due_at)
        for op, _ in joined
        if op.custodian == agency and op.checkpoint_due_at is not None
    )
    debriefing = {op.id: op for op, _ in joined if op.phase == Phase.DEBRIEF}
    submitted = {
        event.operation_id
        for event in _events_of(
            session, operation_ids=debriefing, kinds=(EventKind.DEBRIEF_INPUT_SUBMITTED,)
        )
        if event.actor_agency == agency
    }
    entries.extend(
        InboxEntry(op.id, op.code_name, Task.DEBRIEF, op.debrief_due_at)
        for op in debriefing.values()
        if op.id not in submitted
    )
    return sorted(entries, key=_soonest)


def _soonest(entry: InboxEntry) -> tuple[bool, datetime | None, str, str]:
    return (entry.due_at is None, entry.due_at, entry.code_name, entry.task.value)
