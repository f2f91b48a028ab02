"""Operations: create from a plan, list, read state and timeline, and every steering action.

Writes go through the operation's workflow Updates; reads come from the read model, or from the
workflow itself for the live state. Every route asks `api.visibility` first and answers 404 to
whoever may not see the operation; every access, allowed or refused, goes to the access log.
"""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, status
from fastapi import Path as PathParam
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import CurrentPrincipal, SessionDep, SettingsDep, TemporalDep
from api.justification import Justification
from api.principal import Principal, Role
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
from api.visibility import visible_operation, visible_to
from store.access_log import AccessCategory, append_access
from store.identity import AgencyRow
from store.models import OperationRow
from store.notifications import list_deliveries
from store.timeline import timeline
from workflows.plan import OperationPlan
from workflows.rules import launch_blockers
from workflows.starter import (
    ActionRefusedError,
    PlanRejectedError,
    act,
    read_state,
    start_operation,
    synchronise,
)
from workflows.state import ActionResult, Phase

router = APIRouter(prefix="/operations", tags=["operations"])

NOT_FOUND = "No operation with this id is visible to you"
OperationId = Annotated[str, PathParam(min_length=1, max_length=64, description="Operation id")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="Retrying a request with the same key applies it once and answers the same",
    ),
]


def _not_found(session: Session, *, principal: Principal, action: str, operation_id: str) -> None:
    """Log the refused attempt, keep the log entry, and answer as if the operation did not exist."""
    append_access(
        session,
        accessor=principal.accessor(),
        action=action,
        category=AccessCategory.CONSULTATION,
        operation_id=operation_id,
        justification=None,
        outcome="refused",
        reason_code="not_visible",
    )
    session.commit()
    raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)


def _visible(
    session: Session, *, principal: Principal, action: str, operation_id: str
) -> OperationRow:
    row = visible_operation(session, principal=principal, operation_id=operation_id)
    if row is None:
        _not_found(session, principal=principal, action=action, operation_id=operation_id)
    assert row is not None
    return row


def _release(session: Session) -> None:
    """End the request's transaction before waiting on the workflow.

    The workflow writes its events to the read model before it answers; a transaction held open
    here (on SQLite, any write, even a token's last use) would make it wait for us, and us for it.
    """
    session.commit()


def _end_with_access_logged(session: Session) -> None:
    """Commit the access-log entry just appended, before the route gives up the event loop.

    Appending locks the log's head row (on SQLite, the whole database). Held until the request's
    session closes, that lock would make the next request's append, which runs on the event loop,
    block the loop waiting for a commit that only the blocked loop can schedule.
    """
    session.commit()


def _request_id(principal: Principal, key: str | None) -> str:
    # Keys are per caller: two officers who happen to pick the same key do not collide.
    # Request ids reach Temporal (as Update ids and inside the state): a digest names no one.
    if key:
        material = f"cdtrack-request\x00{principal.user_id}\x00{key}".encode()
        return hashlib.sha256(material).hexdigest()
    return uuid.uuid4().hex


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OperationCreated,
    summary="Create an operation from its plan (coordinators)",
)
async def create_operation(
    plan: OperationCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> OperationCreated:
    if principal.role is not Role.COORDINATOR:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only coordinators create operations")
    if plan.coordinator_agency != principal.agency:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"coordinator_agency must be your own agency ({principal.agency})",
        )
    agencies = {p.agency for p in plan.participants}
    known = set(session.scalars(select(AgencyRow.id).where(AgencyRow.id.in_(agencies))))
    if unknown := sorted(agencies - known):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"participants name agencies that are not registered: {', '.join(unknown)}",
        )
    operation_id = (
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"cdtrack:{principal.user_id}:{idempotency_key}"))
        if idempotency_key
        else str(uuid.uuid4())
    )
    _release(session)
    try:
        await start_operation(
            client,
            plan=OperationPlan.model_validate(plan.model_dump()),
            created_by=principal.actor(),
            task_queue=settings.task_queue,
            now=datetime.now(UTC),
            operation_id=operation_id,
            delivery=settings.delivery_policy(),
        )
    except PlanRejectedError as rejected:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(rejected)) from None
    except WorkflowAlreadyStartedError:
        pass  # the same request again: answer as the first time
    await synchronise(client, operation_id=operation_id)
    append_access(
        session,
        accessor=principal.accessor(),
        action="operation.create",
        category=AccessCategory.COLLECTION,
        operation_id=operation_id,
        justification=None,
    )
    _end_with_access_logged(session)
    return OperationCreated(
        operation_id=operation_id, code_name=plan.code_name, phase=Phase.PLANNING
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
    session: SessionDep,
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
    total = session.scalar(select(func.count()).select_from(OperationRow).where(*conditions)) or 0
    rows = session.scalars(
        select(OperationRow)
        .where(*conditions)
        .order_by(order, OperationRow.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    append_access(
        session,
        accessor=principal.accessor(),
        action="operation.list",
        category=AccessCategory.CONSULTATION,
        operation_id=None,
        justification=justification,
        detail={"returned": len(rows), "operation_ids": [row.id for row in rows]},
    )
    _end_with_access_logged(session)
    return OperationPage(
        items=[OperationSummaryRead.model_validate(row) for row in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/{operation_id}", response_model=OperationRead, summary="The live state")
async def get_operation(
    operation_id: OperationId,
    principal: CurrentPrincipal,
    session: SessionDep,
    client: TemporalDep,
    justification: Justification,
) -> OperationRead:
    _visible(session, principal=principal, action="operation.read", operation_id=operation_id)
    _release(session)
    state = await read_state(client, operation_id=operation_id)
    append_access(
        session,
        accessor=principal.accessor(),
        action="operation.read",
        category=AccessCategory.CONSULTATION,
        operation_id=operation_id,
        justification=justification,
    )
    _end_with_access_logged(session)
    # The timeline has its own paginated route; request ids are the workflow's business.
    blockers = (
        launch_blockers(state, now=datetime.now(UTC)) if state.phase is Phase.PLANNING else []
    )
    return OperationRead(
        state=state.model_copy(update={"timeline": [], "applied": {}}), launch_blockers=blockers
    )


@router.get("/{operation_id}/timeline", response_model=TimelinePage, summary="The timeline")
async def get_timeline(
    operation_id: OperationId,
    principal: CurrentPrincipal,
    session: SessionDep,
    justification: Justification,
    after_seq: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> TimelinePage:
    _visible(session, principal=principal, action="timeline.read", operation_id=operation_id)
    events = timeline(session, operation_id=operation_id, after_seq=after_seq, limit=limit + 1)
    more = len(events) > limit
    events = events[:limit]
    append_access(
        session,
        accessor=principal.accessor(),
        action="timeline.read",
        category=AccessCategory.CONSULTATION,
        operation_id=operation_id,
        justification=justification,
        detail={"after_seq": after_seq, "returned": len(events)},
    )
    _end_with_access_logged(session)
    return TimelinePage(
        operation_id=operation_id,
        events=events,
        next_after_seq=events[-1].seq if more and events else None,
    )


@router.get(
    "/{operation_id}/deliveries",
    response_model=list[DeliveryRead],
    summary="Every notice delivery attempt for the operation, and its outcome",
)
async def get_deliveries(
    operation_id: OperationId,
    principal: CurrentPrincipal,
    session: SessionDep,
    justification: Justification,
) -> list[DeliveryRead]:
    _visible(session, principal=principal, action="deliveries.read", operation_id=operation_id)
    rows = list_deliveries(session, operation_id=operation_id)
    append_access(
        session,
        accessor=principal.accessor(),
        action="deliveries.read",
        category=AccessCategory.CONSULTATION,
        operation_id=operation_id,
        justification=justification,
        detail={"returned": len(rows)},
    )
    return [DeliveryRead.model_validate(row) for row in rows]


def _action_route(kind: str, body_model: type[BaseModel]) -> None:
    command_type = ACTIONS[kind]
    path_name = kind.replace("_", "-")

    async def steer(
        operation_id: OperationId,
        body: BaseModel,
        principal: CurrentPrincipal,
        session: SessionDep,
        client: TemporalDep,
        idempotency_key: IdempotencyKey = None,
    ) -> ActionResult:
        action = f"operation.action.{kind}"
        _visible(session, principal=principal, action=action, operation_id=operation_id)
        if principal.role not in (Role.OFFICER, Role.COORDINATOR):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Only officers and coordinators act")
        try:
            command = command_type.model_validate(
                {
                    **body.model_dump(),
                    "actor": principal.actor(),
                    "request_id": _request_id(principal, idempotency_key),
                }
            )
        except ValidationError as invalid:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(invalid)) from None
        _release(session)
        try:
            result = await act(client, operation_id=operation_id, command=command)  # type: ignore[arg-type]
        except ActionRefusedError as refusal:
            append_access(
                session,
                accessor=principal.accessor(),
                action=action,
                category=AccessCategory.ALTERATION,
                operation_id=operation_id,
                justification=None,
                outcome="refused",
                reason_code="lifecycle_refused",
                rule=kind,
            )
            session.commit()
            raise HTTPException(status.HTTP_409_CONFLICT, str(refusal)) from None
        except (RPCError, WorkflowFailureError) as failure:
            if isinstance(failure, RPCError) and failure.status == RPCStatusCode.NOT_FOUND:
                raise HTTPException(status.HTTP_409_CONFLICT, "the operation has ended") from None
            raise
        append_access(
            session,
            accessor=principal.accessor(),
            action=action,
            category=AccessCategory.ALTERATION,
            operation_id=operation_id,
            justification=None,
            detail={"event_seq": result.event.seq, "event_kind": result.event.kind},
        )
        _end_with_access_logged(session)
        return result

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
            409: {"description": "The lifecycle refuses this action now; the reason says why"},
        },
    )


for _kind, _body in ACTION_BODIES.items():
    _action_route(_kind, _body)
