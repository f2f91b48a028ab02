"""The access log (Directive 2016/680, Art. 25): append-only, hash-chained, verifiable.

Each entry's hash covers its own fields and the previous entry's hash, so changing, deleting or
reordering any entry breaks the chain from that entry on. Appends are serialised through the
single `access_log_head` row, which every append updates first: on PostgreSQL that is a row lock,
on SQLite the database's write lock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.models import Base

GENESIS = "0" * 64


class AccessCategory(StrEnum):
    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    COMBINATION = "combination"
    ERASURE = "erasure"


@dataclass(frozen=True)
class Accessor:
    """Who accessed the data: a person acting for an agency, in a role (None: cdtrack itself)."""

    user_id: str
    name: str | None
    agency: str
    role: str


class AccessEntry(Base):
    __tablename__ = "access_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    user_id: Mapped[str | None] = mapped_column(String(128))
    user_name: Mapped[str | None] = mapped_column(String(200))
    agency: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(20))
    operation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    recipients: Mapped[list[str]]
    justification: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AccessLogHead(Base):
    __tablename__ = "access_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def entry_hash(entry: AccessEntry) -> str:
    fields = {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).isoformat(),
        "user_id": entry.user_id,
        "user_name": entry.user_name,
        "agency": entry.agency,
        "role": entry.role,
        "action": entry.action,
        "category": entry.category,
        "operation_id": entry.operation_id,
        "recipients": list(entry.recipients),
        "justification": entry.justification,
        "outcome": entry.outcome,
        "reason": entry.reason,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def append_access(
    session: Session,
    *,
    accessor: Accessor | None,
    action: str,
    category: AccessCategory,
    operation_id: str | None,
    justification: str | None,
    recipients: list[str] | None = None,
    outcome: str = "allowed",
    reason_code: str | None = None,
    rule: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AccessEntry:
    """Append one entry, chained to the last.

    A refused or failed access names a `reason_code` (a fixed word such as `not_visible`) and the
    `rule` that refused it (such as a command kind), never free text: a refusal's text can carry
    operational detail that the log's readers, administrators, may not see.
    """
    # Taking the head row first serialises appends, so no two entries chain to the same hash.
    seq, prev_hash = session.execute(
        update(AccessLogHead)
        .where(AccessLogHead.id == 1)
        .values(seq=AccessLogHead.seq + 1)
        .returning(AccessLogHead.seq, AccessLogHead.hash)
    ).one()
    entry = AccessEntry(
        seq=seq,
        at=(at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0),
        user_id=accessor.user_id if accessor else None,
        user_name=accessor.name if accessor else None,
        agency=accessor.agency if accessor else None,
        role=accessor.role if accessor else None,
        action=action,
        category=category.value,
        operation_id=operation_id,
        recipients=list(recipients or []),
        justification=justification,
        outcome=outcome,
        reason=reason_code,
        detail={**(detail or {}), **({"rule": rule} if rule else {})},
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.execute(update(AccessLogHead).where(AccessLogHead.id == 1).values(hash=entry.hash))
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain from the first entry; name the first entry that does not hold."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    for entry in session.scalars(select(AccessEntry).order_by(AccessEntry.seq)):
        count += 1
        if entry.seq != expected_seq:
            return ChainReport(count, expected_seq, f"entry {expected_seq} is missing (deleted)")
        if entry.prev_hash != prev_hash:
            return ChainReport(
                count,
                entry.seq,
                f"entry {entry.seq} does not follow entry {entry.seq - 1} "
                "(an entry before it was deleted, replaced or moved)",
            )
        if entry_hash(entry) != entry.hash:
            return ChainReport(count, entry.seq, f"entry {entry.seq} was modified")
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    head = session.get(AccessLogHead, 1)
    if head is not None and head.seq >= expected_seq:
        return ChainReport(count, expected_seq, f"entries from {expected_seq} on were deleted")
    return ChainReport(count)


def list_access(
    session: Session, *, operation_id: str | None = None, after_seq: int = 0, limit: int = 100
) -> list[AccessEntry]:
    query = select(AccessEntry).where(AccessEntry.seq > after_seq)
    if operation_id is not None:
        query = query.where(AccessEntry.operation_id == operation_id)
    return list(session.scalars(query.order_by(AccessEntry.seq).limit(limit)))
