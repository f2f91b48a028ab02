"""Taking a steering action on an operation, shared by the API's action routes and the console.

The caller has resolved the operation for the principal (need-to-know) first. Here: only officers
and coordinators act; the command is built from the fields and validated; the workflow's Update
decides; a refusal by role (403) or by the lifecycle (409) is logged and answered with the
lifecycle's reason (in English as `detail`, as template and parameters as `reason`). Accepted,
the action is in the read model and the access log (one transaction, written by the worker)
before this returns.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import HTTPException, status
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from api.access import record_access
from api.database import ReadModel
from api.principal import Principal, Role
from api.problems import ProblemError
from api.schemas.operations import ACTIONS
from api.workers import NOT_YET_KNOWN, WorkerPresence, answer_in_time, unavailable
from cdtrack.settings import Settings
from store.access_log import AccessCategory
from workflows.commands import Command
from workflows.starter import ActionNotYetKnownError, ActionRefusedError, RoleRefusedError, act
from workflows.state import ActionResult


async def require_acting_role(
    read_model: ReadModel, *, principal: Principal, kind: str, operation_id: str
) -> None:
    """Only officers and coordinators act on operations; anyone else is logged and refused."""
    if principal.role in (Role.OFFICER, Role.COORDINATOR):
        return
    await _refused(read_model, principal, kind=kind, operation_id=operation_id, reason_code="role")
    raise HTTPException(status.HTTP_403_FORBIDDEN, "Only officers and coordinators act")


def command_of(
    kind: str,
    fields: dict[str, Any],
    *,
    principal: Principal,
    request_id: str,
    justification: str | None,
) -> Command:
    """The command of this kind from the action's fields; raises pydantic's ValidationError."""
    command: Command = ACTIONS[kind].model_validate(
        {
            **fields,
            "actor": principal.actor(),
            "request_id": request_id,
            "justification": justification,
        }
    )
    return command


async def take_action(
    command: Command,
    *,
    operation_id: str,
    principal: Principal,
    read_model: ReadModel,
    client: Client,
    workers: WorkerPresence,
    settings: Settings,
) -> ActionResult:
    await workers.require()
    refused = partial(
        _refused,
        read_model,
        principal,
        kind=str(getattr(command, "kind", "")),
        operation_id=operation_id,
        justification=command.justification,
    )
    try:
        return await answer_in_time(
            act(client, operation_id=operation_id, command=command),
            seconds=settings.temporal_answer_seconds,
        )
    except RoleRefusedError as refusal:
        await refused(reason_code="role_refused")
        raise ProblemError(
            status.HTTP_403_FORBIDDEN,
            "Not your role",
            str(refusal),
            extensions={"required_role": refusal.required, **_reason_of(refusal)},
        ) from None
    except ActionRefusedError as refusal:
        await refused(reason_code="lifecycle_refused")
        raise ProblemError(
            status.HTTP_409_CONFLICT, "Conflict", str(refusal), extensions=_reason_of(refusal)
        ) from None
    except ActionNotYetKnownError:
        await refused(reason_code="not_yet_known")
        raise unavailable(NOT_YET_KNOWN) from None
    except (RPCError, WorkflowFailureError) as failure:
        if isinstance(failure, RPCError) and failure.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(status.HTTP_409_CONFLICT, "the operation has ended") from None
        raise


def _reason_of(refusal: ActionRefusedError) -> dict[str, Any]:
    """The problem's `reason`: the rules' reason as template and parameters, for a client that
    shows it in its reader's language (`detail` stays the English)."""
    return {"reason": refusal.why.as_details()} if refusal.why is not None else {}


async def _refused(
    read_model: ReadModel,
    principal: Principal,
    *,
    kind: str,
    operation_id: str,
    reason_code: str,
    justification: str | None = None,
) -> None:
    """The refused attempt at an action, in the access log under the action's name."""
    await record_access(
        read_model,
        principal=principal,
        action=f"operation.action.{kind}",
        category=AccessCategory.ALTERATION,
        operation_id=operation_id,
        justification=justification,
        outcome="refused",
        reason_code=reason_code,
        rule=kind,
    )
