"""Idempotency keys: a key is bound to the request that first used it, as Stripe's API does."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, insert_for


class KeyClaim(StrEnum):
    NEW = "new"  # first use: go ahead
    REPEAT = "repeat"  # the same request again: go ahead, the workflow answers as the first time
    CONFLICT = "conflict"  # another request under this key: refuse, change nothing


class IdempotencyKeyRow(Base):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    # SHA-256 of the request (what it asks and its body): opaque, carries nothing of the body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    first_used_at: Mapped[datetime]


def claim_key(
    session: Session, *, user_id: str, key: str, fingerprint: str, at: datetime
) -> KeyClaim:
    """Bind `key` to `fingerprint` if it is new; say whether a request may go ahead under it.

    Keys are per caller: two officers who happen to pick the same key do not collide.
    """
    inserted = session.execute(
        insert_for(session, IdempotencyKeyRow)
        .values(user_id=user_id, key=key, fingerprint=fingerprint, first_used_at=at)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKeyRow.key)
    ).first()
    if inserted is not None:
        return KeyClaim.NEW
    bound = session.scalar(
        select(IdempotencyKeyRow.fingerprint).where(
            IdempotencyKeyRow.user_id == user_id, IdempotencyKeyRow.key == key
        )
    )
    return KeyClaim.REPEAT if bound == fingerprint else KeyClaim.CONFLICT
