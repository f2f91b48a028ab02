"""The access log, for administrators: its entries and whether the chain still holds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from api.deps import AdminPrincipal, ReadModelDep
from store.access_log import list_access, verify_chain

router = APIRouter(prefix="/audit", tags=["audit"])


class AccessEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
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
    reason: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class ChainRead(BaseModel):
    intact: bool
    entries: int
    broken_at: int | None
    problem: str | None


@router.get("/entries", response_model=list[AccessEntryRead], summary="Access log entries")
async def entries(
    _admin: AdminPrincipal,
    read_model: ReadModelDep,
    operation_id: Annotated[str | None, Query(max_length=64)] = None,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AccessEntryRead]:
    def work(session: Session) -> list[AccessEntryRead]:
        found = list_access(session, operation_id=operation_id, after_seq=after_seq, limit=limit)
        return [AccessEntryRead.model_validate(entry) for entry in found]

    return await read_model.read(work)


@router.get("/verify", response_model=ChainRead, summary="Walk the hash chain")
async def verify(_admin: AdminPrincipal, read_model: ReadModelDep) -> ChainRead:
    def work(session: Session) -> ChainRead:
        report = verify_chain(session)
        return ChainRead(
            intact=report.intact,
            entries=report.entries,
            broken_at=report.broken_at,
            problem=report.problem,
        )

    return await read_model.read(work)
