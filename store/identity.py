"""Agencies, their users and the users' API tokens: tables and keyword-only store functions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, ForeignKey, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base

TOKEN_SCHEME: Final = "cdt"  # noqa: S105 (the marker every API token starts with, no secret)
PREFIX_LENGTH: Final = 8
_PREFIX_ALPHABET: Final = string.ascii_lowercase + string.digits
# A use is recorded at most this often, so authenticating a burst of requests is not a burst of
# writes to the same row.
LAST_USED_RESOLUTION: Final = timedelta(minutes=1)

# The secret carries 256 random bits, so the hash only has to keep a leaked table from yielding
# usable tokens; OWASP's minimum argon2id profile does that without costing 64 MiB per request.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class _VerifiedSecrets:
    """Secrets this process has already checked against a token's argon2 hash, as SHA-256.

    argon2 costs tens of milliseconds of CPU on purpose; paying it on every request of a token
    that was verified a moment ago buys nothing. The memo is keyed by the stored hash, so a token
    re-issued under the same prefix is verified afresh, and the token row and its user are still
    read on every request: revocation and deactivation apply at once. Only memory holds it, and a
    SHA-256 of a 256-bit random secret gives nothing to someone who reads it.
    """

    LIMIT: Final = 10_000

    def __init__(self) -> None:
        self._digests: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(secret: str) -> bytes:
        return hashlib.sha256(secret.encode()).digest()

    def known(self, token_hash: str, secret: str) -> bool:
        with self._lock:
            digest = self._digests.get(token_hash)
        return digest is not None and hmac.compare_digest(digest, self._digest(secret))

    def remember(self, token_hash: str, secret: str) -> None:
        with self._lock:
            if len(self._digests) >= self.LIMIT:
                # Bounded without bookkeeping: the next request of each token re-verifies once.
                self._digests.clear()
            self._digests[token_hash] = self._digest(secret)


_verified = _VerifiedSecrets()


class AgencyKind(StrEnum):
    POLICE = "police"
    CUSTOMS = "customs"
    BORDER_GUARD = "border_guard"
    DRUG_CONTROL = "drug_control"
    PROSECUTOR = "prosecutor"
    COORDINATION_CENTRE = "coordination_centre"
    OTHER = "other"


class AgencyRow(Base):
    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # Escalation of a missed handover acknowledgement goes to the receiving country's national
    # contact point: the agency of that country with this flag set.
    national_contact_point: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class UserRow(Base):
    __tablename__ = "users"

    # For people signing in through the identity provider this is the token's `sub` claim.
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    token_prefix: Mapped[str] = mapped_column(String(PREFIX_LENGTH), unique=True)
    token_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AlreadyExistsError(Exception):
    """An agency or user with this id is already registered."""

    def __init__(self, kind: str, identifier: str) -> None:
        super().__init__(f"{kind} {identifier!r} already exists")
        self.kind = kind
        self.identifier = identifier


class UnknownAgencyError(Exception):
    def __init__(self, agency_id: str) -> None:
        super().__init__(f"no agency {agency_id!r} is registered")
        self.agency_id = agency_id


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token: the only moment its secret exists outside the caller's hands."""

    row: ApiTokenRow
    token: str


def _now() -> datetime:
    return datetime.now(UTC)


def _insert_new(session: Session, row: Base, *, kind: str, identifier: str) -> None:
    """Insert a directory entry; `AlreadyExistsError` if its id (`identifier`) is taken."""
    if session.get(type(row), identifier) is not None:
        raise AlreadyExistsError(kind, identifier)
    # Only a concurrent insert of the same id gets here past the look-up; the caller's
    # transaction is then spoilt and must be rolled back (pysqlite's savepoints cannot isolate it).
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise AlreadyExistsError(kind, identifier) from None


def create_agency(
    session: Session,
    *,
    agency_id: str,
    country: str,
    kind: AgencyKind,
    name: str,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    national_contact_point: bool = False,
    now: datetime | None = None,
) -> AgencyRow:
    row = AgencyRow(
        id=agency_id,
        country=country,
        kind=kind.value,
        name=name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        national_contact_point=national_contact_point,
        created_at=now or _now(),
    )
    _insert_new(session, row, kind="agency", identifier=agency_id)
    return row


def get_agency(session: Session, *, agency_id: str) -> AgencyRow | None:
    return session.get(AgencyRow, agency_id)


@dataclass(frozen=True)
class AgencyName:
    """What a report or notice needs to name an agency: its name and its country."""

    id: str
    name: str
    country: str


def agency_names(session: Session, *, agency_ids: Iterable[str]) -> dict[str, AgencyName]:
    """The directory entries of these agencies, by id; an id not registered is left out."""
    wanted = sorted(set(agency_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(AgencyRow.id, AgencyRow.name, AgencyRow.country).where(AgencyRow.id.in_(wanted))
    )
    return {row.id: AgencyName(id=row.id, name=row.name, country=row.country) for row in rows}


def list_agencies(
    session: Session, *, country: str | None = None, kind: AgencyKind | None = None
) -> list[AgencyRow]:
    query = select(AgencyRow).order_by(AgencyRow.country, AgencyRow.id)
    if country is not None:
        query = query.where(AgencyRow.country == country)
    if kind is not None:
        query = query.where(AgencyRow.kind == kind.value)
    return list(session.scalars(query))


def create_user(
    session: Session,
    *,
    user_id: str | None,
    name: str,
    role: str,
    agency_id: str,
    now: datetime | None = None,
) -> UserRow:
    """Register a user of an agency; an id is generated when the caller brings none."""
    if session.get(AgencyRow, agency_id) is None:
        raise UnknownAgencyError(agency_id)
    user_id = user_id or f"u-{uuid.uuid4().hex[:16]}"
    row = UserRow(
        id=user_id,
        name=name,
        role=role,
        agency_id=agency_id,
        active=True,
        created_at=now or _now(),
    )
    _insert_new(session, row, kind="user", identifier=user_id)
    return row


def get_user(session: Session, *, user_id: str) -> UserRow | None:
    return session.get(UserRow, user_id)


def list_users(session: Session, *, agency_id: str | None = None) -> list[UserRow]:
    query = select(UserRow).order_by(UserRow.agency_id, UserRow.id)
    if agency_id is not None:
        query = query.where(UserRow.agency_id == agency_id)
    return list(session.scalars(query))


def update_user(
    session: Session,
    *,
    user_id: str,
    name: str | None = None,
    role: str | None = None,
    active: bool | None = None,
) -> UserRow | None:
    row = session.get(UserRow, user_id)
    if row is None:
        return None
    if name is not None:
        row.name = name
    if role is not None:
        row.role = role
    if active is False and row.active:
        # Deactivation ends every token the user held: reactivated, they are issued new ones.
        session.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
    if active is not None:
        row.active = active
    session.flush()
    return row


def issue_token(
    session: Session, *, user_id: str, label: str | None = None, now: datetime | None = None
) -> IssuedToken:
    """Create a token for the user; only its hash is kept, the token itself is returned once."""
    while True:
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        if session.scalar(select(ApiTokenRow.id).where(ApiTokenRow.token_prefix == prefix)) is None:
            break
    secret = secrets.token_urlsafe(32)
    row = ApiTokenRow(
        id=str(uuid.uuid4()),
        user_id=user_id,
        label=label,
        token_prefix=prefix,
        token_hash=_hasher.hash(secret),
        created_at=now or _now(),
    )
    session.add(row)
    session.flush()
    return IssuedToken(row=row, token=f"{TOKEN_SCHEME}_{prefix}_{secret}")


def list_tokens(session: Session, *, user_id: str) -> list[ApiTokenRow]:
    query = select(ApiTokenRow).where(ApiTokenRow.user_id == user_id)
    return list(session.scalars(query.order_by(ApiTokenRow.created_at)))


def revoke_token(
    session: Session, *, token_id: str, now: datetime | None = None
) -> ApiTokenRow | None:
    """Revoke a token; revoking it again keeps the first revocation time."""
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now or _now()
        session.flush()
    return row


def is_api_token(credential: str) -> bool:
    return credential.startswith(f"{TOKEN_SCHEME}_")


@dataclass(frozen=True)
class VerifiedToken:
    """A valid token's active user, and whether its use is due to be recorded."""

    user: UserRow
    token_id: str
    use_due: bool


def verify_token(
    session: Session, *, token: str, now: datetime | None = None
) -> VerifiedToken | None:
    """Check a token without writing anything: None for anything but a valid, unrevoked token
    of an active user, read afresh."""
    scheme, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != TOKEN_SCHEME or len(prefix) != PREFIX_LENGTH or not secret:
        return None
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_prefix == prefix))
    if row is None or row.revoked_at is not None:
        return None
    if not _verified.known(row.token_hash, secret):
        try:
            _hasher.verify(row.token_hash, secret)
        except (VerificationError, InvalidHashError):
            return None
        _verified.remember(row.token_hash, secret)
    user = session.get(UserRow, row.user_id)
    if user is None or not user.active:
        return None
    moment = now or _now()
    due = row.last_used_at is None or moment - row.last_used_at >= LAST_USED_RESOLUTION
    return VerifiedToken(user=user, token_id=row.id, use_due=due)


def record_token_use(session: Session, *, token_id: str, at: datetime | None = None) -> None:
    session.execute(
        update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=at or _now())
    )


def token_prefix(credential: str) -> str | None:
    """The public part of an API token, by which failed attempts are counted."""
    scheme, _, rest = credential.partition("_")
    prefix, _, _secret = rest.partition("_")
    return prefix if scheme == TOKEN_SCHEME and len(prefix) == PREFIX_LENGTH else None
