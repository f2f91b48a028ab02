"""Telling every API process that an operation changed: PostgreSQL NOTIFY in the projection's
transaction (delivered at its commit, never for a rolled-back write), and the row's last event
number for those who poll (SQLite, or a listener that reconnects)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from store.models import OperationRow

CHANNEL: Final = "cdtrack_operation_changed"


def announce_change(session: Session, *, operation_id: str) -> None:
    """NOTIFY listeners of the operation's change once this transaction commits (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :operation_id)"),
            {"channel": CHANNEL, "operation_id": operation_id},
        )


def last_seqs(session: Session, *, operation_ids: list[str]) -> dict[str, int]:
    """The number of the latest event of each operation, as the read model has it."""
    query = select(OperationRow.id, OperationRow.last_seq).where(OperationRow.id.in_(operation_ids))
    return {operation_id: seq for operation_id, seq in session.execute(query)}
