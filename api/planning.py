"""Creating an operation from its plan, shared by `POST /api/v1/operations` and the console's
planning form; and the idempotency key that binds a retried request to its first answer.

Only coordinators create, for their own agency; every participant must be a registered agency
and no planned departure may lie in the past. Refusals are problems (403, 422) naming the field
at fault (`body.legs[0].planned_departure`), with nothing started.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from functools import partial

from fastapi import HTTPException, status
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.access import record_access
from api.database import ReadModel
from api.principal import Principal, Role
from api.problems import FieldError, ProblemError, field_path, invalid_request
from api.schemas.operations import OperationCreate, OperationCreated
from api.workers import WorkerPresence, answer_in_time
from cdtrack.settings import Settings
from store.access_log import AccessCategory
from store.idempotency import KeyClaim, claim_key
from store.identity import AgencyRow
from store.models import OperationRow
from workflows.plan import OperationPlan, schedule_faults
from workflows.starter import PlanRejectedError, start_operation, synchronise
from workflows.state import Phase


def request_fingerprint(action: str, operation_id: str | None, body: BaseModel) -> str:
    request = {"action": action, "operation_id": operation_id, "body": body.model_dump(mode="json")}
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim_request_key(
    read_model: ReadModel, *, principal: Principal, key: str | None, fingerprint: str
) -> None:
    """Bind the key to this request, or refuse (422, nothing changed) if it names another."""
    if key is None:
        return
    claim = await read_model.write(
        partial(
            claim_key,
            user_id=principal.user_id,
            key=key,
            fingerprint=fingerprint,
            at=datetime.now(UTC),
        )
    )
    if claim is KeyClaim.CONFLICT:
        raise ProblemError(
            422,
            "Idempotency-Key reused",
            "This Idempotency-Key was first used for a different request; nothing was changed. "
            "Send a new key for a new request, or the first request unchanged to retry it.",
        )


def _known_agencies(session: Session, *, agencies: set[str]) -> set[str]:
    return set(session.scalars(select(AgencyRow.id).where(AgencyRow.id.in_(agencies))))


def _operation_row(session: Session, *, operation_id: str) -> OperationRow | None:
    return session.get(OperationRow, operation_id)


async def create_from_plan(
    plan: OperationCreate,
    *,
    principal: Principal,
    read_model: ReadModel,
    client: Client,
    workers: WorkerPresence,
    settings: Settings,
    idempotency_key: str | None = None,
) -> OperationCreated:
    """Start the operation's workflow from a validated plan; answer once it is in the read model."""
    if principal.role is not Role.COORDINATOR:
        await record_access(
            read_model,
            principal=principal,
            action="operation.create",
            category=AccessCategory.COLLECTION,
            operation_id=None,
            outcome="refused",
            reason_code="role",
            rule="create_operation",
        )
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only coordinators create operations")
    if plan.coordinator_agency != principal.agency:
        raise invalid_request(
            [
                FieldError(
                    field="body.coordinator_agency",
                    message=f"must be your own agency ({principal.agency})",
                )
            ]
        )
    agencies = {p.agency for p in plan.participants}
    known = await read_model.read(partial(_known_agencies, agencies=agencies))
    if unknown := agencies - known:
        raise invalid_request(
            [
                FieldError(
                    field=f"body.participants[{index}].agency",
                    message=f"agency {participant.agency} is not registered",
                )
                for index, participant in enumerate(plan.participants)
                if participant.agency in unknown
            ]
        )
    now = datetime.now(UTC)
    if faults := schedule_faults(plan, now=now):
        raise invalid_request(
            [
                FieldError(field=field_path(("body", *fault.location)), message=fault.message)
                for fault in faults
            ],
            detail="; ".join(fault.text for fault in faults),
        )
    await claim_request_key(
        read_model,
        principal=principal,
        key=idempotency_key,
        fingerprint=request_fingerprint("create_operation", None, plan),
    )
    operation_id = (
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"cdtrack:{principal.user_id}:{idempotency_key}"))
        if idempotency_key
        else str(uuid.uuid4())
    )
    await workers.require()
    wait = settings.temporal_answer_seconds
    try:
        await answer_in_time(
            start_operation(
                client,
                plan=OperationPlan.model_validate(plan.model_dump()),
                created_by=principal.actor(),
                task_queue=settings.task_queue,
                now=now,
                operation_id=operation_id,
                delivery=settings.delivery_policy(),
            ),
            seconds=wait,
        )
    except PlanRejectedError as rejected:
        # The size and schedule were checked above; a rejection here concerns the plan as a whole.
        raise invalid_request([FieldError(field="body", message=str(rejected))]) from None
    except WorkflowAlreadyStartedError:
        # The same request again (the key is bound to this very plan): answer with what it
        # created, even if that operation has since ended.
        existing = await read_model.read(partial(_operation_row, operation_id=operation_id))
        if existing is not None:
            return OperationCreated(
                operation_id=existing.id, code_name=existing.code_name, phase=existing.phase
            )
    await answer_in_time(synchronise(client, operation_id=operation_id), seconds=wait)
    return OperationCreated(
        operation_id=operation_id, code_name=plan.code_name, phase=Phase.PLANNING
    )
