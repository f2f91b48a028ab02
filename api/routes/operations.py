"""Operations: create from a plan, list, read state and timeline, and every steering action.

Writes go through the operation's workflow Updates; the worker logs an accepted one in the same
transaction as its projection, so no crash separates an action from its access-log entry. Reads
come from the read model, the live state too (`api.live_state`). Every route resolves
the operation through `api.access.visible_for` and answers 404 to whoever may not see it; every
read and every refused attempt is logged here.
"""

import hashlib
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, Query, status
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.access import NOT_FOUND, Consulted, consulted, record_access, visible_for
from api.actions import command_of, require_acting_role, take_action
from api.deps import (
    CurrentPrincipal,
    LiveStatesDep,
    ReadModelDep,
    SettingsDep,
    TemporalDep,
    WorkersDep,
)
from api.justification import Justification, OptionalJustification
from api.planning import claim_request_key, create_from_plan, request_fingerprint
from api.principal import Principal
from api.problems import (
    field_errors,
    invalid_request,
)
from api.schemas.operations import (
    ACTION_BODIES,
    ACTIONS,
    DeliveryRead,
    OperationCreate,
    OperationCreated,
    OperationPage,
    OperationRead,
    OperationSummaryRead,
    TimelinePage,
)
from api.visibility import visible_to
from store.access_log import AccessCategory
from store.models import OperationRow
from store.notifications import list_deliveries
from store.timeline import timeline
from workflows.rules import launch_blockers
from workflows.state import ActionResult, Phase

router = APIRouter(prefix="/operations", tags=["operations"])

T = TypeVar("T")
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description=(
            "Retrying a request with the same key applies it once and answers the same; "
            "the same key with a different request is refused (422)"
        ),
    ),
]


def _request_id(principal: Principal, key: str | None) -> str:
    """The request's id as the workflow knows it: opaque, so Temporal learns nothing from it."""
    if not key:
        return uuid.uuid4().hex
    return hashlib.sha256(f"cdtrack-request\x00{principal.user_id}\x00{key}".encode()).hexdigest()


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OperationCreated,
    summary="Create an operation from its plan (coordinators)",
)
async def create_operation(
    plan: OperationCreate,
    principal: CurrentPrincipal,
    read_model: ReadModelDep,
    client: TemporalDep,
    workers: WorkersDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> OperationCreated:
    return await create_from_plan(
        plan,
        principal=principal,
        read_model=read_model,
        client=client,
        workers=workers,
        settings=settings,
        idempotency_key=idempotency_key,
    )


def _contains(column: Any, value: str) -> Any:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%|{escaped}|%", escape="\\")


def _iso_only(value: object) -> object:
    # Without this, a bare number would be taken for a Unix timestamp.
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("give an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z")
    if isinstance(value, str) and not value[:4].isdigit():
        raise ValueError("give an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z")
    if isinstance(value, str) and "-" not in value:
        raise ValueError("give an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z")
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
SortKey = Literal["created_at", "-created_at", "code_name", "-code_name"]


@router.get("", response_model=OperationPage, summary="List the operations visible to you")
async def list_operations(
    principal: CurrentPrincipal,
    read_model: ReadModelDep,
    justification: Justification,
    phase: Phase | None = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    substance: Annotated[
        str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
    ] = None,
    created_from: IsoDatetime | None = None,
    created_to: IsoDatetime | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    sort: SortKey = "-created_at",
) -> OperationPage:
    conditions: list[Any] = [visible_to(principal)]
    if phase is not None:
        conditions.append(OperationRow.phase == phase.value)
    if country is not None:
        conditions.append(_contains(OperationRow.countries_key, country.upper()))
    if substance is not None:
        conditions.append(_contains(OperationRow.substances_key, substance.lower()))
    if created_from is not None:
        conditions.append(OperationRow.created_at >= created_from)
    if created_to is not None:
        conditions.append(OperationRow.created_at < created_to)
    column = OperationRow.code_name if sort.lstrip("-") == "code_name" else OperationRow.created_at
    order = column.desc() if sort.startswith("-") else column.asc()

    def listing(session: Session) -> OperationPage:
        total = session.scalar(select(func.count()).select_from(OperationRow).where(*conditions))
        rows = session.scalars(
            select(OperationRow)
            .where(*conditions)
            .order_by(order, OperationRow.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
        return OperationPage(
            items=[OperationSummaryRead.model_validate(row) for row in rows],
            total=total or 0,
            page=page,
            page_size=page_size,
        )

    found = await read_model.read(listing)
    await record_access(
        read_model,
        principal=principal,
        action="operation.list",
        category=AccessCategory.CONSULTATION,
        operation_id=None,
        justification=justification,
        detail={"returned": len(found.items), "operation_ids": [i.id for i in found.items]},
    )
    return found


async def _arrival() -> float:
    return time.monotonic()


@router.get("/{operation_id}", response_model=OperationRead, summary="The live state")
async def get_operation(
    # First, so it is taken before the caller is authenticated: when the request arrived.
    arrived_at: Annotated[float, Depends(_arrival)],
    seen: Annotated[Consulted, Depends(consulted("operation.read"))],
    states: LiveStatesDep,
) -> OperationRead:
    state = await states.read(seen.row.id, arrived_at=arrived_at)
    await seen.record()
    blockers = (
        [str(blocker) for blocker in launch_blockers(state, now=datetime.now(UTC))]
        if state.phase is Phase.PLANNING
        else []
    )
    # Without its timeline (a paginated route of its own) and request ids (the workflow's
    # business): `LiveStates` gives neither.
    return OperationRead(state=state, launch_blockers=blockers)


@router.get("/{operation_id}/timeline", response_model=TimelinePage, summary="The timeline")
async def get_timeline(
    seen: Annotated[Consulted, Depends(consulted("timeline.read"))],
    after_seq: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> TimelinePage:
    events = await seen.read_model.read(
        partial(timeline, operation_id=seen.row.id, after_seq=after_seq, limit=limit + 1)
    )
    more = len(events) > limit
    events = events[:limit]
    await seen.record(detail={"after_seq": after_seq, "returned": len(events)})
    return TimelinePage(
        operation_id=seen.row.id,
        events=events,
        next_after_seq=events[-1].seq if more and events else None,
    )


@router.get(
    "/{operation_id}/deliveries",
    response_model=list[DeliveryRead],
    summary="Every notice delivery attempt for the operation, and its outcome",
)
async def get_deliveries(
    seen: Annotated[Consulted, Depends(consulted("deliveries.read"))],
) -> list[DeliveryRead]:
    def deliveries(session: Session) -> list[DeliveryRead]:
        found = list_deliveries(session, operation_id=seen.row.id)
        return [DeliveryRead.model_validate(delivery) for delivery in found]

    found = await seen.read_model.read(deliveries)
    await seen.record(detail={"returned": len(found)})
    return found


def _action_route(kind: str, body_model: type[BaseModel]) -> None:
    command_type = ACTIONS[kind]
    path_name = kind.replace("_", "-")
    action = f"operation.action.{kind}"

    async def steer(
        row: Annotated[
            OperationRow, Depends(visible_for(action, category=AccessCategory.ALTERATION))
        ],
        body: BaseModel,
        principal: CurrentPrincipal,
        read_model: ReadModelDep,
        client: TemporalDep,
        workers: WorkersDep,
        settings: SettingsDep,
        justification: OptionalJustification,
        idempotency_key: IdempotencyKey = None,
    ) -> ActionResult:
        await require_acting_role(read_model, principal=principal, kind=kind, operation_id=row.id)
        try:
            command = command_of(
                kind,
                body.model_dump(),
                principal=principal,
                justification=justification,
                request_id=_request_id(principal, idempotency_key),
            )
        except ValidationError as invalid:
            raise invalid_request(field_errors(invalid.errors(), within=("body",))) from None
        await claim_request_key(
            read_model,
            principal=principal,
            key=idempotency_key,
            fingerprint=request_fingerprint(kind, row.id, body),
        )
        return await take_action(
            command,
            operation_id=row.id,
            principal=principal,
            read_model=read_model,
            client=client,
            workers=workers,
            settings=settings,
        )

    steer.__annotations__["body"] = body_model
    steer.__name__ = kind
    router.add_api_route(
        f"/{{operation_id}}/{path_name}",
        steer,
        methods=["POST"],
        response_model=ActionResult,
        summary=kind.replace("_", " ").capitalize(),
        description=(command_type.__doc__ or "").strip() or None,
        name=kind,
        responses={
            404: {"description": NOT_FOUND},
            403: {"description": "The action is another role's to take (`required_role` names it)"},
            409: {"description": "The lifecycle refuses this action now; the reason says why"},
            422: {"description": "Invalid input, or an Idempotency-Key used for another request"},
            503: {"description": "No worker answers now; retry after Retry-After seconds"},
        },
    )


for _kind, _body in ACTION_BODIES.items():
    _action_route(_kind, _body)
