"""Client side of an operation: start one, act on it, read it, by operation id."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from workflows.commands import (
    AbortOperationInput,
    AcknowledgeHandoverInput,
    Actor,
    AddRecommendationInput,
    ApproveEmergencyInterdictionInput,
    CloseDebriefInput,
    Command,
    ConcludeInterdictionInput,
    ConfirmParticipationInput,
    DeclareConsignmentLostInput,
    ExtendDebriefDeadlineInput,
    LaunchOperationInput,
    OfferHandoverInput,
    OrderInterdictionInput,
    RecordArrestInput,
    RecordAuthorisationInput,
    RecordSeizureInput,
    RefuseHandoverInput,
    RemoveParticipantInput,
    ReportCheckpointInput,
    ReportCompromiseInput,
    ReportSurveillanceLostInput,
    ReportSurveillanceRegainedInput,
    ResumeOperationInput,
    RetryAssessmentInput,
    SubmitDebriefInput,
    SuspendOperationInput,
    kind_of,
)
from workflows.messages import (
    AssessmentRetryPolicy,
    DeliveryPolicy,
    ProjectionRetryPolicy,
    RunOperationInput,
    RunOperationResult,
)
from workflows.operation import (
    REFUSAL_REASON,
    REFUSED,
    ROLE_REFUSED,
    ControlledDeliveryWorkflow,
)
from workflows.plan import OperationPlan, plan_size_problem, schedule_problems
from workflows.reasons import Reason, reason_from_details
from workflows.state import ActionResult, OperationState


class PlanRejectedError(ValueError):
    """The plan cannot start an operation; each problem is phrased for the planner."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ActionRefusedError(Exception):
    """The lifecycle refused an action; the message is the rules' reason, in English.

    `why` is the rules' part of it as a template and parameters, for a reader's language; None
    when the refusal came without (from a worker older than it).
    """

    def __init__(self, reason: str, *, why: Reason | None = None) -> None:
        super().__init__(reason)
        self.why = why


class RoleRefusedError(ActionRefusedError):
    """Refused because the action is another role's to take; `required` names that role."""

    def __init__(self, reason: str, *, required: str, why: Reason | None = None) -> None:
        super().__init__(reason, why=why)
        self.required = required


class ActionNotYetKnownError(Exception):
    """The worker that took the action has no handler for it: a worker of an older release,
    while a new one is being rolled out. Nothing was applied; the action may be sent again."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"the workers do not take {kind} yet")
        self.kind = kind


C = TypeVar("C", bound=Command)
Workflow = ControlledDeliveryWorkflow


@dataclass(frozen=True)
class Steering(Generic[C]):
    """A steering action: its command and the workflow's Update that applies it."""

    command: type[C]
    update: UpdateMethodMultiParam[[ControlledDeliveryWorkflow, C], ActionResult]


def steering(
    command: type[C], update: UpdateMethodMultiParam[[ControlledDeliveryWorkflow, C], ActionResult]
) -> Steering[Any]:
    """A row of STEERING, checked on its own: an Update taking another command is a type error."""
    return Steering(command, update)


_STEERING = (
    steering(RecordAuthorisationInput, Workflow.record_authorisation),
    steering(ConfirmParticipationInput, Workflow.confirm_participation),
    steering(LaunchOperationInput, Workflow.launch_operation),
    steering(OfferHandoverInput, Workflow.offer_handover),
    steering(AcknowledgeHandoverInput, Workflow.acknowledge_handover),
    steering(RefuseHandoverInput, Workflow.refuse_handover),
    steering(ReportCheckpointInput, Workflow.report_checkpoint),
    steering(ReportSurveillanceLostInput, Workflow.report_surveillance_lost),
    steering(ReportSurveillanceRegainedInput, Workflow.report_surveillance_regained),
    steering(ReportCompromiseInput, Workflow.report_compromise),
    steering(SuspendOperationInput, Workflow.suspend_operation),
    steering(ResumeOperationInput, Workflow.resume_operation),
    steering(OrderInterdictionInput, Workflow.order_interdiction),
    steering(ApproveEmergencyInterdictionInput, Workflow.approve_emergency_interdiction),
    steering(RecordSeizureInput, Workflow.record_seizure),
    steering(RecordArrestInput, Workflow.record_arrest),
    steering(ConcludeInterdictionInput, Workflow.conclude_interdiction),
    steering(SubmitDebriefInput, Workflow.submit_debrief),
    steering(ExtendDebriefDeadlineInput, Workflow.extend_debrief_deadline),
    steering(AddRecommendationInput, Workflow.add_recommendation),
    steering(CloseDebriefInput, Workflow.close_debrief),
    steering(RetryAssessmentInput, Workflow.retry_assessment),
    steering(RemoveParticipantInput, Workflow.remove_participant),
    steering(AbortOperationInput, Workflow.abort_operation),
    steering(DeclareConsignmentLostInput, Workflow.declare_consignment_lost),
)
STEERING: Final[Mapping[type[Command], Steering[Any]]] = {row.command: row for row in _STEERING}


def update_id(command: Command) -> str:
    """The Update id of a command: the same for a retried request, and opaque.

    Update ids reach the server in plaintext, so the kind and the request id are digested; the
    kind goes in so two actions under one request id never pass for a retry of each other.
    """
    material = f"cdtrack-update\x00{kind_of(command)}\x00{command.request_id}".encode()
    return hashlib.sha256(material).hexdigest()


def workflow_id(operation_id: str) -> str:
    # Only an opaque id reaches the Temporal server in plaintext, never a code name.
    return f"operation-{operation_id}"


async def start_operation(
    client: Client,
    *,
    plan: OperationPlan,
    created_by: Actor,
    task_queue: str,
    now: datetime,
    operation_id: str | None = None,
    history_event_limit: int | None = None,
    checkpoints_carried: int | None = None,
    delivery: DeliveryPolicy | None = None,
    projection_retry: ProjectionRetryPolicy | None = None,
    assessment_retry: AssessmentRetryPolicy | None = None,
) -> str:
    """Start the workflow of a new operation and return its id."""
    size_problem = plan_size_problem(plan)
    problems = [size_problem] if size_problem else schedule_problems(plan, now=now)
    if problems:
        raise PlanRejectedError(problems)
    operation_id = operation_id or str(uuid.uuid4())
    start = RunOperationInput(operation_id=operation_id, plan=plan, created_by=created_by)
    limits = {
        "history_event_limit": history_event_limit,
        "checkpoints_carried": checkpoints_carried,
        "delivery": delivery,
        "projection_retry": projection_retry,
        "assessment_retry": assessment_retry,
    }
    start = start.model_copy(update={k: v for k, v in limits.items() if v is not None})
    await client.start_workflow(
        ControlledDeliveryWorkflow.run,
        start,
        id=workflow_id(operation_id),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    return operation_id


def operation_handle(
    client: Client, operation_id: str
) -> WorkflowHandle[ControlledDeliveryWorkflow, RunOperationResult]:
    return client.get_workflow_handle_for(ControlledDeliveryWorkflow.run, workflow_id(operation_id))


# An Update delivered with a workflow task that the server then rejected (say, because an
# activity completed while the task ran) is lost, not refused: sent again under the same id, it
# is applied once. Retried this many times, this long apart.
TASK_FAILURE_ATTEMPTS: Final = 5
TASK_FAILURE_PAUSE_SECONDS: Final = 0.2
T = TypeVar("T")


def _lost_with_its_task(error: RPCError) -> bool:
    return error.status == RPCStatusCode.FAILED_PRECONDITION and "workflow task" in error.message


async def _sent_until_delivered(send: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(1, TASK_FAILURE_ATTEMPTS):
        try:
            return await send()
        except RPCError as error:
            if not _lost_with_its_task(error):
                raise
            await asyncio.sleep(TASK_FAILURE_PAUSE_SECONDS * attempt)
    return await send()


async def act(client: Client, *, operation_id: str, command: Command) -> ActionResult:
    """Send one steering action to the Update STEERING names for its command."""
    update = STEERING[type(command)].update
    handle = operation_handle(client, operation_id)
    try:
        return await _sent_until_delivered(
            lambda: handle.execute_update(update, command, id=update_id(command))
        )
    except WorkflowUpdateFailedError as failure:
        cause = failure.cause
        if isinstance(cause, ApplicationError) and cause.type == ROLE_REFUSED:
            (required,) = cause.details
            raise RoleRefusedError(
                cause.message, required=str(required), why=_reason_of(cause)
            ) from None
        if isinstance(cause, ApplicationError) and cause.type == REFUSED:
            raise ActionRefusedError(cause.message, why=_reason_of(cause)) from None
        if isinstance(cause, ApplicationError) and _unknown_to_the_worker(cause):
            raise ActionNotYetKnownError(kind_of(command)) from None
        raise


def _unknown_to_the_worker(rejection: ApplicationError) -> bool:
    """The SDK's rejection of an Update its workflow class has no handler for (the SDK gives no
    type of its own: its RuntimeError, named by its message)."""
    return (
        rejection.type == "RuntimeError"
        and rejection.message.startswith("Update handler for '")
        and "' expected but not found" in rejection.message
    )


def _reason_of(refusal: ApplicationError) -> Reason | None:
    """The reason as template and parameters, carried by the refusal's cause (none from a worker
    that sends only the English)."""
    reason = refusal.cause
    if isinstance(reason, ApplicationError) and reason.type == REFUSAL_REASON and reason.details:
        return reason_from_details(reason.details[0])
    return None


async def synchronise(client: Client, *, operation_id: str) -> None:
    """Wait until the read model holds every event of the operation so far."""
    handle = operation_handle(client, operation_id)
    await _sent_until_delivered(
        lambda: handle.execute_update(ControlledDeliveryWorkflow.synchronise)
    )


async def read_state(client: Client, *, operation_id: str) -> OperationState:
    return await operation_handle(client, operation_id).query(ControlledDeliveryWorkflow.state)
