"""Writes operations and their timelines into the read model, idempotently, and reads them back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from store.base import dialect_insert
from store.models import LegRow, OperationRow, ParticipantRow, TimelineEventRow
from workflows.commands import Actor, ActorRole, CheckpointSilenceReached
from workflows.events import HandoverOutcome
from workflows.rules import pending_deadlines
from workflows.state import OperationState, Phase
from workflows.timeline import TimelineEvent, read_event


def project_operation(
    session: Session, *, operation: OperationState, events: list[TimelineEvent]
) -> set[int]:
    """Bring the read model up to `operation`; returns the seqs of the events that were new.

    Events are keyed by (operation, seq) so a retried projection writes nothing twice, and the
    operation's row only moves forward: an older snapshot arriving late changes nothing. The
    row keeps the operation itself too (`operation_state` reads it back), moving with it.

    A projection runs inside a workflow task; when the worker dies before the task completes,
    the task runs again elsewhere and decides the same seq afresh (a later time, a later
    deadline). What the completed task decided replaces what the lost one wrote: an event
    already stored is rewritten by any projection that is not older than the stored operation.
    """
    last_seq = max((event.seq for event in events), default=0)
    current = _write_operation(session, operation=operation, last_seq=last_seq)
    if not events:
        return set()
    seqs = [event.seq for event in events]
    stored = set(
        session.scalars(
            select(TimelineEventRow.seq).where(
                TimelineEventRow.operation_id == operation.operation_id,
                TimelineEventRow.seq.in_(seqs),
            )
        )
    )
    session.execute(
        _events_insert(session.get_bind().dialect.name, rewrite=current),
        [_event_values(operation.operation_id, event) for event in events],
    )
    return set(seqs) - stored


# Everything of an event but its key.
REWRITTEN_COLUMNS: Final = (
    "at",
    "kind",
    "actor_agency",
    "actor_officer",
    "actor_role",
    "summary",
    "detail",
)


def _write_operation(session: Session, *, operation: OperationState, last_seq: int) -> bool:
    """Move the operation's row forward to `operation` unless it is newer; whether it moved.

    One UPDATE guarded by the row's seq does what reading the row for update and writing it
    back did (the row's lock orders concurrent projections of one operation as before); a row
    that is not there yet is inserted, and if another projection inserted it meanwhile, the
    UPDATE is tried again under its lock. Participants and legs are rewritten only when their
    digest differs from the one the row keeps.
    """
    operation_id = operation.operation_id
    values = _operation_values(operation, last_seq=last_seq)
    participants, legs = _participant_values(operation), _leg_values(operation)
    digest = _digest(participants, legs)
    stored_digest = _move_forward(session, operation_id, last_seq=last_seq, values=values)
    if stored_digest is _NOT_MOVED:
        inserted = session.execute(
            _operation_insert(session.get_bind().dialect.name),
            {"id": operation_id, "rows_digest": digest, **values},
        ).first()
        if inserted is not None:
            _insert_rows(session, ParticipantRow, operation_id, participants)
            _insert_rows(session, LegRow, operation_id, legs)
            return True
        stored_digest = _move_forward(session, operation_id, last_seq=last_seq, values=values)
        if stored_digest is _NOT_MOVED:
            return False
    if stored_digest != digest:
        for table, wanted in ((ParticipantRow, participants), (LegRow, legs)):
            session.execute(delete(table).where(table.operation_id == operation_id))
            _insert_rows(session, table, operation_id, wanted)
        session.execute(
            update(OperationRow).where(OperationRow.id == operation_id).values(rows_digest=digest)
        )
    return True


# What `_move_forward` answers when the row is missing or newer than the projection.
_NOT_MOVED: Final = object()


def _move_forward(
    session: Session, operation_id: str, *, last_seq: int, values: dict[str, Any]
) -> object:
    """The row's participants-and-legs digest if the UPDATE moved it forward, else _NOT_MOVED."""
    moved = session.execute(
        _operation_update(tuple(values)),
        {"row_id": operation_id, "up_to": last_seq, **{f"new_{k}": v for k, v in values.items()}},
    ).first()
    return _NOT_MOVED if moved is None else moved.rows_digest


# Statements built once and reused: building one (coercing two dozen columns' values) cost a
# projection more than running it. Parameters are bound per execution.
_OPERATIONS: Final = cast(Table, OperationRow.__table__)
_EVENTS: Final = cast(Table, TimelineEventRow.__table__)


@cache
def _operation_update(columns: tuple[str, ...]) -> Update:
    return (
        update(_OPERATIONS)
        .where(
            _OPERATIONS.c.id == bindparam("row_id"), _OPERATIONS.c.last_seq <= bindparam("up_to")
        )
        .values({name: bindparam(f"new_{name}") for name in columns})
        .returning(_OPERATIONS.c.rows_digest)
    )


@cache
def _operation_insert(dialect: str) -> Any:
    return (
        dialect_insert(dialect)(_OPERATIONS)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(_OPERATIONS.c.id)
    )


@cache
def _events_insert(dialect: str, *, rewrite: bool) -> Any:
    statement = dialect_insert(dialect)(_EVENTS)
    if rewrite:
        return statement.on_conflict_do_update(
            index_elements=["operation_id", "seq"],
            set_={name: statement.excluded[name] for name in REWRITTEN_COLUMNS},
        )
    return statement.on_conflict_do_nothing(index_elements=["operation_id", "seq"])


def _operation_values(operation: OperationState, *, last_seq: int) -> dict[str, Any]:
    plan = operation.plan
    substances = sorted({s.name.lower() for s in plan.consignment.substances})
    countries = list(dict.fromkeys(plan.route_countries))
    return {
        "code_name": plan.code_name,
        "phase": operation.phase.value,
        "lead_agency": plan.lead_agency,
        "coordinator_agency": plan.coordinator_agency,
        "handling_code": plan.handling.code.value,
        "handling_label": plan.handling.label,
        "custodian": operation.custodian,
        "delivery_type": plan.consignment.delivery_type.value,
        "transport_mode": plan.consignment.mode.value,
        "substances": substances,
        "countries": countries,
        "countries_key": list_key(countries),
        "substances_key": list_key(substances),
        "created_at": operation.created_at,
        "launched_at": operation.launched_at,
        "ended_at": operation.ended_at,
        "outcome": operation.outcome.text if operation.outcome else None,
        "last_seq": last_seq,
        "updated_at": datetime.now(UTC),
        **_due(operation),
        "snapshot": _snapshot(operation),
    }


def _participant_values(operation: OperationState) -> list[dict[str, Any]]:
    return [
        {
            "agency": p.agency,
            "country": p.country,
            "role": p.role.value,
            "confirmed_at": operation.confirmations.get(p.agency),
        }
        for p in operation.plan.participants
    ]


def _leg_values(operation: OperationState) -> list[dict[str, Any]]:
    offered = {h.leg: h.offered_at for h in operation.handovers}
    acknowledged = {
        h.leg: h.decided_at
        for h in operation.handovers
        if h.outcome is HandoverOutcome.ACKNOWLEDGED
    }
    if operation.handover_offer is not None:
        offered[operation.handover_offer.leg] = operation.handover_offer.offered_at
    return [
        {
            "position": position,
            "from_country": leg.from_country,
            "to_country": leg.to_country,
            "crossing_point": leg.crossing_point,
            "carrier": leg.carrier,
            "tracking_number": leg.tracking_number,
            "planned_departure": leg.planned_departure,
            "planned_arrival": leg.planned_arrival,
            "sending_agency": leg.sending_agency,
            "receiving_agency": leg.receiving_agency,
            "acknowledgement_deadline_seconds": int(leg.acknowledgement_deadline.total_seconds()),
            "offered_at": offered.get(position),
            "acknowledged_at": acknowledged.get(position),
        }
        for position, leg in enumerate(operation.plan.legs, start=1)
    ]


def _digest(participants: list[dict[str, Any]], legs: list[dict[str, Any]]) -> str:
    """A fingerprint of the participants' and legs' rows: equal rows, equal digest."""
    # In the plan's order, which the plan keeps: reordering them is a difference too.
    rows = [[list(values.items()) for values in table] for table in (participants, legs)]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _insert_rows(
    session: Session,
    table: type[ParticipantRow] | type[LegRow],
    operation_id: str,
    rows: list[dict[str, Any]],
) -> None:
    if rows:
        session.execute(insert(table), [{"operation_id": operation_id, **row} for row in rows])


def _snapshot(operation: OperationState) -> str:
    # The workflow sends it without them already; a caller projecting a whole state may not.
    if operation.timeline or operation.applied:
        operation = operation.model_copy(update={"timeline": [], "applied": {}})
    return operation.model_dump_json()


def operation_state(session: Session, *, operation_id: str) -> OperationState | None:
    """The operation as its workflow held it at its latest projected event, without its
    timeline (read with `timeline`) and request ids. An accepted action is answered only once
    it is projected, so this shows every action answered before it was called.

    Until the next event it does not show what a continue-as-new changed without one (how many
    checkpoint reports the carried state dropped, the rule changes the new run adopted).
    None when the operation has no row, or a row written before it kept the state (migration
    0012) that no event has rewritten since: only its workflow can tell then.
    """
    snapshot = session.scalar(select(OperationRow.snapshot).where(OperationRow.id == operation_id))
    return None if snapshot is None else OperationState.model_validate_json(snapshot)


def _due(operation: OperationState) -> dict[str, Any]:
    """What the operation's participants must do next and by when, as its timers say."""
    offer = operation.handover_offer
    timers = pending_deadlines(operation)
    checkpoint = next((due for due, t in timers if isinstance(t, CheckpointSilenceReached)), None)
    debrief = operation.debrief
    open_debrief = operation.phase is Phase.DEBRIEF and debrief is not None
    return {
        "offered_leg": offer.leg if offer is not None else None,
        "handover_due_at": offer.deadline if offer is not None else None,
        "checkpoint_due_at": checkpoint,
        "debrief_due_at": debrief.deadline if open_debrief and debrief is not None else None,
    }


def list_key(values: list[str]) -> str:
    """A list as "|a|b|", which `LIKE '%|a|%'` can search on any database."""
    return "|" + "|".join(values) + "|"


def _event_values(operation_id: str, event: TimelineEvent) -> dict[str, Any]:
    return {
        "operation_id": operation_id,
        "seq": event.seq,
        "at": event.at,
        "kind": event.kind,
        "actor_agency": event.actor.agency,
        "actor_officer": event.actor.officer,
        "actor_role": event.actor.role.value,
        "summary": event.summary,
        "detail": event.detail.model_dump(mode="json"),
    }


def timeline(
    session: Session, *, operation_id: str, after_seq: int = 0, limit: int | None = None
) -> list[TimelineEvent]:
    query = (
        select(TimelineEventRow)
        .where(TimelineEventRow.operation_id == operation_id, TimelineEventRow.seq > after_seq)
        .order_by(TimelineEventRow.seq)
        .limit(limit)
    )
    return [_event_of(row) for row in session.scalars(query)]


def timeline_page(
    session: Session, *, operation_id: str, before_seq: int | None, limit: int
) -> list[TimelineEvent]:
    """Up to `limit` events before `before_seq` (all when None), newest first."""
    conditions = [TimelineEventRow.operation_id == operation_id]
    if before_seq is not None:
        conditions.append(TimelineEventRow.seq < before_seq)
    query = (
        select(TimelineEventRow)
        .where(*conditions)
        .order_by(TimelineEventRow.seq.desc())
        .limit(limit)
    )
    return [_event_of(row) for row in session.scalars(query)]


def _event_of(row: TimelineEventRow) -> TimelineEvent:
    """The stored event, read back with its kind's detail model."""
    return read_event(
        {
            "seq": row.seq,
            "at": row.at,
            "kind": row.kind,
            "actor": Actor(
                agency=row.actor_agency,
                officer=row.actor_officer,
                role=ActorRole(row.actor_role),
            ),
            "summary": row.summary,
            "detail": row.detail,
        }
    )
