"""Agencies' notification targets (apprise URLs, sealed at rest) and the log of every delivery."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache

from apprise.manager_plugins import NotificationManager
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from i18n import Language
from store import identity
from store.base import Base
from store.sealing import SecretBox
from workflows.notices import Purpose


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"  # the recipient has no target to deliver to
    VOID = "void"  # the notice became moot (e.g. acknowledged) before it was sent


class NotificationTargetRow(Base):
    __tablename__ = "notification_targets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2))
    label: Mapped[str | None] = mapped_column(String(200))
    # The URL carries the channel's credentials: only its sealed form and a masked hint are kept.
    url_sealed: Mapped[str] = mapped_column(Text)
    url_hint: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class DeliveryRow(Base):
    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_notice", "notice_key", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_key: Mapped[str] = mapped_column(String(300))
    operation_id: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    agency_id: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(36))
    language: Mapped[str | None] = mapped_column(String(2))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


UNREADABLE_HINT = "(unreadable URL)"
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,31}")
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
# A DNS name with at least one dot and a top-level label that is not all digits.
_HOSTNAME = re.compile(rf"(?=.{{4,253}}$)({_LABEL}\.)+[a-z][a-z0-9-]{{0,61}}[a-z0-9]")
# Where a scheme's URL templates name the host: `{host}` at the start of the authority.
_HOST_TEMPLATE = re.compile(r"^[^/?#]*?(?:^|@)\{host\}")


def target_hint(url: str) -> str:
    """How people recognise a target without its secrets: the scheme and the server's host.

    Nothing else of the URL is kept: user names, passwords, tokens, paths, custom headers
    (`+Authorization=...`), payload and query arguments all carry credentials in one scheme or
    another. Many schemes put a token where a host would be (tgram://BOT-TOKEN/..., slack, discord
    webhook ids, matrix://TOKEN, ntfy://TOPIC); the host is shown only for schemes whose every URL
    form names a server there, and only when it reads as a DNS name or an IP address.
    """
    scheme, separator, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if not separator or not _SCHEME.fullmatch(scheme):
        return UNREADABLE_HINT
    server = _server(rest) if _names_a_server(scheme) else None
    return f"{scheme}://{server}/…" if server else f"{scheme}://…"


@cache
def _names_a_server(scheme: str) -> bool:
    manager = NotificationManager()  # type: ignore[no-untyped-call]
    if scheme not in manager:
        return False
    templates: tuple[str, ...] = tuple(getattr(manager[scheme], "templates", ()))
    return bool(templates) and all(
        _HOST_TEMPLATE.match(template.partition("://")[2]) for template in templates
    )


def _server(rest: str) -> str | None:
    """`host` or `host:port` of the authority, if it reads as a server's name or address."""
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2].lower()
    if authority.startswith("["):
        address, _, after = authority[1:].partition("]")
        port = after[1:] if after.startswith(":") else ""
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return None
        host = f"[{address}]"
    else:
        host, _, port = authority.partition(":")
        if not (_HOSTNAME.fullmatch(host) or host == "localhost" or _ipv4(host)):
            return None
    if port and not (port.isdigit() and len(port) <= 5):
        return None
    return f"{host}:{port}" if port else host


def _ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


class UnknownTargetError(Exception):
    def __init__(self, agency_id: str, target_id: str) -> None:
        super().__init__(f"agency {agency_id!r} has no notification target {target_id!r}")


def add_target(
    session: Session,
    *,
    box: SecretBox,
    agency_id: str,
    url: str,
    url_hint: str | None = None,
    purpose: Purpose,
    language: Language,
    label: str | None,
) -> NotificationTargetRow:
    target_id = str(uuid.uuid4())
    row = NotificationTargetRow(
        id=target_id,
        agency_id=agency_id,
        purpose=purpose.value,
        language=language.value,
        label=label,
        url_sealed=box.seal(url, context=target_id),
        url_hint=url_hint if url_hint is not None else target_hint(url),
        active=True,
        created_at=datetime.now(UTC),
        retired_at=None,
    )
    session.add(row)
    session.flush()
    return row


def list_targets(session: Session, *, agency_id: str) -> list[NotificationTargetRow]:
    """The agency's targets, retired ones included (the delivery log refers to them)."""
    statement = (
        select(NotificationTargetRow)
        .where(NotificationTargetRow.agency_id == agency_id)
        .order_by(NotificationTargetRow.created_at, NotificationTargetRow.id)
    )
    return list(session.scalars(statement))


def retire_target(session: Session, *, agency_id: str, target_id: str) -> NotificationTargetRow:
    """Stop delivering to a target; its row stays so past deliveries keep their reference."""
    row = session.get(NotificationTargetRow, target_id)
    if row is None or row.agency_id != agency_id:
        raise UnknownTargetError(agency_id, target_id)
    if row.active:
        row.active = False
        row.retired_at = datetime.now(UTC)
    return row


def targets_for(
    session: Session, *, agency_id: str, purpose: Purpose
) -> list[NotificationTargetRow]:
    """Where a notice of `purpose` reaches the agency: targets kept for that purpose, else the
    agency's action-required targets, so an agency that registered only one channel still hears."""
    statement = select(NotificationTargetRow).where(
        NotificationTargetRow.agency_id == agency_id, NotificationTargetRow.active.is_(True)
    )
    rows = list(session.scalars(statement.order_by(NotificationTargetRow.id)))
    chosen = [row for row in rows if row.purpose == purpose.value]
    return chosen or [row for row in rows if row.purpose == Purpose.ACTION_REQUIRED.value]


def national_contact_point(session: Session, *, country: str) -> str | None:
    statement = (
        select(identity.AgencyRow.id)
        .where(
            identity.AgencyRow.country == country,
            identity.AgencyRow.national_contact_point.is_(True),
        )
        .order_by(identity.AgencyRow.id)
        .limit(1)
    )
    return session.scalar(statement)


def delivered_targets(session: Session, *, notice_key: str) -> set[str]:
    statement = select(DeliveryRow.target_id).where(
        DeliveryRow.notice_key == notice_key,
        DeliveryRow.status == DeliveryStatus.DELIVERED.value,
    )
    return {target for target in session.scalars(statement) if target is not None}


def record_delivery(
    session: Session,
    *,
    notice_key: str,
    operation_id: str,
    seq: int,
    action: str,
    agency_id: str,
    target_id: str | None,
    language: str | None,
    attempt: int,
    status: DeliveryStatus,
    error: str | None = None,
) -> DeliveryRow:
    row = DeliveryRow(
        notice_key=notice_key,
        operation_id=operation_id,
        seq=seq,
        action=action,
        agency_id=agency_id,
        target_id=target_id,
        language=language,
        attempt=attempt,
        status=status.value,
        error=error,
        at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row


def list_deliveries(
    session: Session, *, operation_id: str, agencies: Collection[str] | None = None
) -> list[DeliveryRow]:
    statement = select(DeliveryRow).where(DeliveryRow.operation_id == operation_id)
    if agencies is not None:
        statement = statement.where(DeliveryRow.agency_id.in_(list(agencies)))
    return list(session.scalars(statement.order_by(DeliveryRow.id)))
