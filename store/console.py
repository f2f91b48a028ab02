"""Console sign-in: passwords and TOTP second factors of users, and server-side console sessions.

A session is a row named by the SHA-256 of its cookie's random token (the table holds nothing a
thief could present as a cookie). It is refused once revoked, past its absolute lifetime, or
unused for longer than the idle timeout; whether its user is still active is checked by the
caller on every request, with the user's role and agency. A session first stands at the
password stage and only counts as signed in once the second factor is given; the token is then
replaced, so a token seen before sign-in is worth nothing after it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import BigInteger, ForeignKey, String, delete, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base
from store.identity import UserRow
from store.sealing import SecretBox

# Passwords are chosen by people, so they get argon2id's default (RFC 9106 low-memory) profile,
# not the lighter one of random API token secrets.
_passwords = PasswordHasher()
# A hash to check against when the user has no password, so both answers take as long.
_NO_PASSWORD: Final = _passwords.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH: Final = 12
ISSUER: Final = "cdtrack"
# How often a session's last use is written: not on every request of a busy page.
TOUCH_RESOLUTION: Final = timedelta(seconds=30)


class Stage(StrEnum):
    ANONYMOUS = "anonymous"  # a browser at the sign-in form: only its CSRF token matters
    PASSWORD = "password"  # noqa: S105 - the stage after a right password, before the code
    SIGNED_IN = "signed_in"


class UserCredentialRow(Base):
    __tablename__ = "user_credentials"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Sealed with the codec key ring, bound to the user's id: a copied value opens nowhere else.
    totp_secret: Mapped[str | None] = mapped_column(String(300))
    totp_enrolled_at: Mapped[datetime | None]
    # The last time step a code was accepted for: a code is good once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(8))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class ConsoleSessionRow(Base):
    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    next_path: Mapped[str | None] = mapped_column(String(2000))
    # Operation id -> the justification given for it in this session.
    justifications: Mapped[dict[str, Any]]
    # What an identity-provider sign-in must carry back (state, nonce, PKCE verifier).
    pending: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class WeakPasswordError(ValueError):
    pass


@dataclass(frozen=True)
class OpenedSession:
    """A new session: the only moment its cookie token exists outside the browser."""

    token: str
    row: ConsoleSessionRow


def _now() -> datetime:
    return datetime.now(UTC)


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _credentials(session: Session, *, user_id: str, now: datetime) -> UserCredentialRow:
    row = session.get(UserCredentialRow, user_id)
    if row is None:
        row = UserCredentialRow(user_id=user_id, updated_at=now)
        session.add(row)
    return row


def get_credentials(session: Session, *, user_id: str) -> UserCredentialRow | None:
    return session.get(UserCredentialRow, user_id)


def set_password(
    session: Session, *, user_id: str, password: str, now: datetime | None = None
) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    moment = now or _now()
    row = _credentials(session, user_id=user_id, now=moment)
    row.password_hash = _passwords.hash(password)
    row.updated_at = moment
    session.flush()


def check_password(session: Session, *, user_id: str, password: str) -> UserRow | None:
    """The active user whose password this is; None otherwise (in the same time either way)."""
    user = session.get(UserRow, user_id)
    row = session.get(UserCredentialRow, user_id) if user is not None else None
    stored = row.password_hash if row is not None and row.password_hash else None
    try:
        _passwords.verify(stored or _NO_PASSWORD, password)
    except (VerificationError, InvalidHashError):
        return None
    if stored is None or user is None or not user.active:
        return None
    return user


def enrolled(session: Session, *, user_id: str) -> bool:
    row = session.get(UserCredentialRow, user_id)
    return row is not None and row.totp_enrolled_at is not None


def enrolment_secret(session: Session, *, user_id: str, box: SecretBox) -> str:
    """The secret being enrolled (one is made on first ask); refused once a factor is enrolled."""
    moment = _now()
    row = _credentials(session, user_id=user_id, now=moment)
    if row.totp_enrolled_at is not None:
        raise ValueError("a second factor is already enrolled")
    if row.totp_secret is None:
        row.totp_secret = box.seal(pyotp.random_base32(), context=f"totp:{user_id}")
        row.updated_at = moment
        session.flush()
    return box.open(row.totp_secret, context=f"totp:{user_id}")


def provisioning_uri(*, secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def check_second_factor(
    session: Session, *, user_id: str, code: str, box: SecretBox, now: datetime | None = None
) -> bool:
    """Whether the code is the user's for now (or the step either side), and not used before.

    A right code during enrolment completes it.
    """
    moment = now or _now()
    row = session.get(UserCredentialRow, user_id)
    if row is None or row.totp_secret is None or not code.isdigit():
        return False
    totp = pyotp.TOTP(box.open(row.totp_secret, context=f"totp:{user_id}"))
    step = totp.timecode(moment)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            if row.totp_last_step is not None and candidate <= row.totp_last_step:
                return False
            row.totp_last_step = candidate
            if row.totp_enrolled_at is None:
                row.totp_enrolled_at = moment
            row.updated_at = moment
            session.flush()
            return True
    return False


def reset_second_factor(session: Session, *, user_id: str, now: datetime | None = None) -> None:
    """Forget the user's factor: they enrol a new one at their next sign-in."""
    moment = now or _now()
    row = _credentials(session, user_id=user_id, now=moment)
    row.totp_secret = None
    row.totp_enrolled_at = None
    row.totp_last_step = None
    row.updated_at = moment
    revoke_user_sessions(session, user_id=user_id, now=moment)


def set_preferences(
    session: Session, *, user_id: str, language: str | None, time_zone: str | None
) -> None:
    moment = _now()
    row = _credentials(session, user_id=user_id, now=moment)
    row.language = language
    row.time_zone = time_zone
    row.updated_at = moment
    session.flush()


def open_session(
    session: Session,
    *,
    user_id: str | None,
    stage: Stage,
    lifetime: timedelta,
    next_path: str | None = None,
    pending: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> OpenedSession:
    moment = now or _now()
    token = secrets.token_urlsafe(32)
    row = ConsoleSessionRow(
        id=session_id(token),
        user_id=user_id,
        stage=stage.value,
        csrf_token=secrets.token_urlsafe(32),
        next_path=next_path,
        justifications={},
        pending=pending or {},
        created_at=moment,
        last_seen_at=moment,
        expires_at=moment + lifetime,
    )
    session.add(row)
    session.flush()
    return OpenedSession(token=token, row=row)


def live_session(
    session: Session, *, token: str, idle: timedelta, now: datetime | None = None
) -> ConsoleSessionRow | None:
    """The session of this cookie token if it is not revoked, expired or idle for too long."""
    moment = now or _now()
    row = session.get(ConsoleSessionRow, session_id(token))
    if row is None or row.revoked_at is not None:
        return None
    if moment >= row.expires_at or moment - row.last_seen_at >= idle:
        return None
    return row


def touch_due(row: ConsoleSessionRow, *, now: datetime | None = None) -> bool:
    return (now or _now()) - row.last_seen_at >= TOUCH_RESOLUTION


def touch_session(session: Session, *, row_id: str, now: datetime | None = None) -> None:
    session.execute(
        update(ConsoleSessionRow)
        .where(ConsoleSessionRow.id == row_id)
        .values(last_seen_at=now or _now())
    )


def promote_session(
    session: Session,
    *,
    token: str,
    user_id: str,
    stage: Stage,
    lifetime: timedelta,
    next_path: str | None = None,
    now: datetime | None = None,
) -> OpenedSession:
    """The session at its next stage replacing this one (new token and CSRF token; the old one
    ends), keeping where the browser is to land unless told otherwise."""
    moment = now or _now()
    old = session.get(ConsoleSessionRow, session_id(token))
    if next_path is None and old is not None:
        next_path = old.next_path
    if old is not None:
        session.delete(old)
    return open_session(
        session,
        user_id=user_id,
        stage=stage,
        lifetime=lifetime,
        next_path=next_path,
        now=moment,
    )


def revoke_session(session: Session, *, token: str, now: datetime | None = None) -> None:
    session.execute(
        update(ConsoleSessionRow)
        .where(ConsoleSessionRow.id == session_id(token), ConsoleSessionRow.revoked_at.is_(None))
        .values(revoked_at=now or _now())
    )


def revoke_user_sessions(session: Session, *, user_id: str, now: datetime | None = None) -> None:
    session.execute(
        update(ConsoleSessionRow)
        .where(ConsoleSessionRow.user_id == user_id, ConsoleSessionRow.revoked_at.is_(None))
        .values(revoked_at=now or _now())
    )


def remember_justification(
    session: Session, *, row_id: str, operation_id: str, justification: str
) -> None:
    row = session.get(ConsoleSessionRow, row_id)
    if row is not None:
        # A new dict, so the JSON column is seen as changed.
        row.justifications = {**row.justifications, operation_id: justification}
        session.flush()


def forget_ended_sessions(session: Session, *, now: datetime | None = None) -> int:
    """Delete sessions past their lifetime; returns how many went."""
    result = session.execute(
        delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at < (now or _now()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
