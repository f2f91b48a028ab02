"""Outcome assessment versions in the read model: written once, never updated or deleted.

A re-assessment is a new version; the earlier ones stay, so what a report said on a given day can
always be shown again. A version is keyed by (operation, version) and, for idempotent writes, by
(operation, timeline seq it was computed at): a retried activity finds its version already there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base


class AssessmentRow(Base):
    __tablename__ = "outcome_assessments"

    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    computed_at: Mapped[datetime]
    at_seq: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]]

    __table_args__ = (
        UniqueConstraint("operation_id", "at_seq", name="uq_outcome_assessments_operation_seq"),
    )


class AssessmentConflictError(Exception):
    """The version asked for already holds an assessment computed at another point."""


def write_assessment(
    session: Session,
    *,
    operation_id: str,
    version: int,
    at_seq: int,
    computed_at: datetime,
    reason: str,
    body: dict[str, Any],
) -> tuple[int, bool]:
    """Store one version; returns (version, whether it was written now).

    Asked again for the same operation and seq (a retry), it answers with the version already
    stored and writes nothing.
    """
    existing = session.scalars(
        select(AssessmentRow).where(
            AssessmentRow.operation_id == operation_id, AssessmentRow.at_seq == at_seq
        )
    ).one_or_none()
    if existing is not None:
        return existing.version, False
    taken = session.get(AssessmentRow, (operation_id, version))
    if taken is not None:
        raise AssessmentConflictError(
            f"version {version} of {operation_id} was computed at event {taken.at_seq}, "
            f"not {at_seq}"
        )
    session.add(
        AssessmentRow(
            operation_id=operation_id,
            version=version,
            computed_at=computed_at,
            at_seq=at_seq,
            reason=reason[:200],
            body=body,
        )
    )
    session.flush()
    return version, True


def assessment(
    session: Session, *, operation_id: str, version: int | None = None
) -> AssessmentRow | None:
    """The given version, or the latest one when no version is given."""
    query = select(AssessmentRow).where(AssessmentRow.operation_id == operation_id)
    if version is not None:
        query = query.where(AssessmentRow.version == version)
    return session.scalars(query.order_by(AssessmentRow.version.desc()).limit(1)).one_or_none()


def assessment_versions(
    session: Session, *, operation_id: str
) -> list[tuple[int, datetime, int, str]]:
    """(version, computed at, seq, reason) of every version, oldest first."""
    rows = session.execute(
        select(
            AssessmentRow.version,
            AssessmentRow.computed_at,
            AssessmentRow.at_seq,
            AssessmentRow.reason,
        )
        .where(AssessmentRow.operation_id == operation_id)
        .order_by(AssessmentRow.version)
    ).all()
    return [(row.version, row.computed_at, row.at_seq, row.reason) for row in rows]


def latest_assessments(session: Session, *, operation_ids: list[str]) -> list[AssessmentRow]:
    """The latest version of each of these operations that has one."""
    if not operation_ids:
        return []
    rows = session.scalars(
        select(AssessmentRow)
        .where(AssessmentRow.operation_id.in_(operation_ids))
        .order_by(AssessmentRow.operation_id, AssessmentRow.version.desc())
    )
    latest: dict[str, AssessmentRow] = {}
    for row in rows:
        latest.setdefault(row.operation_id, row)
    return list(latest.values())
