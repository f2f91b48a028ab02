"""SQLAlchemy 2 tables of the read model: operations, participants, legs and timeline events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base


class OperationRow(Base):
    __tablename__ = "operations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_name: Mapped[str] = mapped_column(String(40))
    phase: Mapped[str] = mapped_column(String(20), index=True)
    lead_agency: Mapped[str] = mapped_column(String(64))
    coordinator_agency: Mapped[str] = mapped_column(String(64), index=True)
    handling_code: Mapped[str] = mapped_column(String(2))
    handling_label: Mapped[str] = mapped_column(String(200))
    custodian: Mapped[str | None] = mapped_column(String(64))
    delivery_type: Mapped[str] = mapped_column(String(32))
    transport_mode: Mapped[str] = mapped_column(String(32))
    substances: Mapped[list[str]]
    countries: Mapped[list[str]]
    # "|AF|TJ|KZ|": filterable with LIKE on every database, JSON containment is not portable.
    countries_key: Mapped[str] = mapped_column(String(400))
    substances_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
    launched_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    last_seq: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    # What is due next, for the officer's inbox (migration 0011): the leg whose handover offer
    # awaits an answer and its deadline, the custodian's next checkpoint, the debrief deadline.
    offered_leg: Mapped[int | None] = mapped_column(Integer)
    handover_due_at: Mapped[datetime | None]
    checkpoint_due_at: Mapped[datetime | None]
    debrief_due_at: Mapped[datetime | None]
    # The operation's state as the projection that wrote this row left it, without its timeline
    # and request ids, as JSON (migration 0012): reads of one operation need no workflow query.
    # None on rows written before it, until their next event. Deferred: listings and the
    # need-to-know checks load the row without it; `store.timeline.operation_state` reads it.
    snapshot: Mapped[str | None] = mapped_column(Text, deferred=True)
    # A fingerprint of the operation's participants and legs as last written (migration 0013):
    # the projection rewrites them only when it differs. None until the first projection after.
    rows_digest: Mapped[str | None] = mapped_column(String(64))

    # Listing sorted by code name walks this instead of sorting every visible operation.
    __table_args__ = (Index("ix_operations_code_name_id", "code_name", "id"),)


class ParticipantRow(Base):
    __tablename__ = "operation_participants"

    operation_id: Mapped[str] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), primary_key=True
    )
    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    role: Mapped[str] = mapped_column(String(20))
    confirmed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_operation_participants_agency", "agency"),)


class LegRow(Base):
    __tablename__ = "operation_legs"

    operation_id: Mapped[str] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_country: Mapped[str] = mapped_column(String(2))
    to_country: Mapped[str] = mapped_column(String(2))
    crossing_point: Mapped[str] = mapped_column(String(200))
    carrier: Mapped[str | None] = mapped_column(String(200))
    tracking_number: Mapped[str | None] = mapped_column(String(200))
    planned_departure: Mapped[datetime]
    planned_arrival: Mapped[datetime]
    sending_agency: Mapped[str] = mapped_column(String(64))
    receiving_agency: Mapped[str] = mapped_column(String(64))
    acknowledgement_deadline_seconds: Mapped[int] = mapped_column(Integer)
    offered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]


class TimelineEventRow(Base):
    __tablename__ = "timeline_events"

    operation_id: Mapped[str] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    actor_agency: Mapped[str] = mapped_column(String(64))
    actor_officer: Mapped[str] = mapped_column(String(128))
    actor_role: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]]
