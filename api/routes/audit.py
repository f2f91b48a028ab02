"""The access log, for administrators: its entries and whether they match the signed heads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict
from sqlalchemy.orm import Session

from api.deps import AdminPrincipal, ReadModelDep, SettingsDep
from cdtrack.settings import Settings
from store.access_log import (
    AccessCategory,
    PublishedHead,
    head_note,
    list_access,
    read_published_heads,
    verify_log,
)

router = APIRouter(prefix="/audit", tags=["audit"])


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the moment lies outside the years 1 to 9999 in UTC") from None


Moment = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class AccessEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: str | None
    user_name: str | None
    agency: str | None
    role: str | None
    action: str
    category: str
    operation_id: str | None
    recipients: list[str]
    justification: str | None
    outcome: str
    reason_code: str | None
    rule: str | None
    detail: dict[str, Any]


class FindingRead(BaseModel):
    kind: str
    message: str
    entry_id: int | None


class SignedHeadRead(BaseModel):
    source: str
    tree_size: int
    root_hash: str
    signed_at: datetime
    checkpoint: str


class LogVerificationRead(BaseModel):
    intact: bool
    entries: int
    integrated: int
    root_hash: str
    checked_against: SignedHeadRead | None
    findings: list[FindingRead]


@router.get("/entries", response_model=list[AccessEntryRead], summary="Access log entries")
async def entries(
    _admin: AdminPrincipal,
    read_model: ReadModelDep,
    operation_id: Annotated[str | None, Query(max_length=64)] = None,
    user_id: Annotated[str | None, Query(max_length=128)] = None,
    category: AccessCategory | None = None,
    since: Annotated[Moment | None, Query(description="From this time on")] = None,
    until: Annotated[Moment | None, Query(description="Before this time")] = None,
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AccessEntryRead]:
    def work(session: Session) -> list[AccessEntryRead]:
        found = list_access(
            session,
            operation_id=operation_id,
            user_id=user_id,
            category=category,
            since=since,
            until=until,
            after_id=after_id,
            limit=limit,
        )
        return [AccessEntryRead.model_validate(entry) for entry in found]

    return await read_model.read(work)


def log_verification(settings: Settings) -> Callable[[Session], LogVerificationRead]:
    """The check of the entries against the heads file and the database's heads, as a read-model
    unit of work (the API's `/audit/verify` and the console's page run this one)."""
    verifier = settings.audit_verifier()
    source = str(settings.audit_heads_path)
    published = [
        PublishedHead(source, head) for head in read_published_heads(settings.audit_heads_path)
    ]

    def work(session: Session) -> LogVerificationRead:
        report = verify_log(
            session,
            verifier=verifier,
            published=published,
            now=datetime.now(UTC),
            queue_limit=timedelta(seconds=settings.audit_queue_limit_seconds),
        )
        checked = report.checked_against
        return LogVerificationRead(
            intact=report.intact,
            entries=report.entries,
            integrated=report.size,
            root_hash=report.root,
            checked_against=None
            if checked is None
            else SignedHeadRead(
                source=checked.source,
                tree_size=checked.head.tree_size,
                root_hash=checked.head.root_hash,
                signed_at=checked.head.signed_at,
                checkpoint=head_note(checked.head),
            ),
            findings=[
                FindingRead(kind=f.kind.value, message=f.message, entry_id=f.entry_id)
                for f in report.findings
            ],
        )

    return work


@router.get(
    "/verify",
    response_model=LogVerificationRead,
    summary="Check the entries against the signed heads",
)
async def verify(
    _admin: AdminPrincipal, read_model: ReadModelDep, settings: SettingsDep
) -> LogVerificationRead:
    """Against the heads file and the database's heads; `cdtrack audit verify` also asks the
    audit workflow for its latest head."""
    return await read_model.read(log_verification(settings))
