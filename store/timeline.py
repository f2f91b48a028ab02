"""Writes operations and their timelines into the read model, idempotently, and reads them back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store.base import insert_for
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
    row = session.get(OperationRow, operation.operation_id, with_for_update=True)
    current = row is None or row.last_seq <= last_seq
    if current:
        _write_operation(session, operation=operation, last_seq=last_seq, row=row)
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
    statement = insert_for(session, TimelineEventRow).values(
        [_event_values(operation.operation_id, event) for event in events]
    )
    if current:
        rewritten = {name: statement.excluded[name] for name in REWRITTEN_COLUMNS}
        statement = statement.on_conflict_do_update(
            index_elements=["operation_id", "seq"], set_=rewritten
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["operation_id", "seq"])
    session.execute(statement)
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


def _write_operation(
    session: Session, *, operation: OperationState, last_seq: int, row: OperationRow | None
) -> None:
    plan = operation.plan
    now = datetime.now(UTC)
    substances = sorted({s.name.lower() for s in plan.consignment.substances})
    countries = list(dict.fromkeys(plan.route_countries))
    values: dict[str, Any] = {
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
        "last_seq": max(last_seq, row.last_seq if row else 0),
        "updated_at": now,
        **_due(operation),
        "snapshot": _snapshot(operation),
    }
    if row is None:
        session.add(OperationRow(id=operation.operation_id, **values))
        session.flush()
    else:
        for name, value in values.items():
            setattr(row, name, value)
    operation_id = operation.operation_id
    participants = [
        {
            "agency": p.agency,
            "country": p.country,
            "role": p.role.value,
            "confirmed_at": operation.confirmations.get(p.agency),
        }
        for p in plan.participants
    ]
    offered = {h.leg: h.offered_at for h in operation.handovers}
    acknowledged = {
        h.leg: h.decided_at
        for h in operation.handovers
        if h.outcome is HandoverOutcome.ACKNOWLEDGED
    }
    if operation.handover_offer is not None:
        offered[operation.handover_offer.leg] = operation.handover_offer.offered_at
    legs = [
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
        for position, leg in enumerate(plan.legs, start=1)
    ]
    # Participants and legs are small and change on few events (confirmations, handovers, a
    # removal): rewritten whole when they differ from what is stored, else left alone; most
    # events then cost two reads instead of two deletes and a handful of inserts.
    for table, wanted in ((ParticipantRow, participants), (LegRow, legs)):
        if row is not None and _stored(session, table, operation_id, wanted) == _rows(wanted):
            continue
        if row is not None:
            session.execute(delete(table).where(table.operation_id == operation_id))
        session.add_all(table(operation_id=operation_id, **values) for values in wanted)


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


def _rows(wanted: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    # The first column is the row's key within the operation, so sorting never compares the rest.
    return sorted(tuple(values.values()) for values in wanted)


def _stored(
    session: Session,
    table: type[ParticipantRow] | type[LegRow],
    operation_id: str,
    wanted: list[dict[str, Any]],
) -> list[tuple[Any, ...]]:
    # With nothing wanted, any stored row is a difference: select something that shows it.
    columns = [getattr(table, name) for name in wanted[0]] if wanted else [table.operation_id]
    query = select(*columns).where(table.operation_id == operation_id)
    return sorted(tuple(stored) for stored in session.execute(query))


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
