"""What the Temporal server holds of a failure or an Update id: nothing a person could read."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.converter import DataConverter, DefaultPayloadConverter, PayloadConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from store.session import create_engine_for, session_factory
from tests.factories import sample_plan
from tests.temporal_env import converter_for_tests
from tests.workflows.conftest import make_worker
from tests.workflows.operations import COORDINATOR, OperationDriver, officer
from workflows.commands import ConfirmParticipationInput, LaunchOperationInput
from workflows.operation import REFUSAL_REASON, REFUSED
from workflows.starter import ActionRefusedError, update_id

REASON = "no authorisation recorded for AF; ask af-cnpa at https://hooks.example/secret-token"


async def test_a_failure_reaches_the_server_with_its_message_encrypted() -> None:
    converter = converter_for_tests()
    failure = Failure()
    try:
        raise ApplicationError(REASON, type=REFUSED, non_retryable=True)
    except ApplicationError as refusal:
        await converter.encode_failure(refusal, failure)

    wire = failure.SerializeToString()
    assert failure.message == "Encoded failure"
    assert failure.stack_trace == ""
    for secret in ("af-cnpa", "hooks.example", "secret-token", "authorisation", "test_failures"):
        assert secret.encode() not in wire, secret
    decoded = await converter.decode_failure(Failure.FromString(wire))
    assert isinstance(decoded, ApplicationError)
    assert (decoded.message, decoded.type, decoded.non_retryable) == (REASON, REFUSED, True)


async def test_a_cause_is_encrypted_as_well() -> None:
    converter = converter_for_tests()
    failure = Failure()
    try:
        try:
            raise ValueError("kz-police target json://hooks.example/x refused")
        except ValueError as inner:
            raise ApplicationError("delivery failed", type="DeliveryFailed") from inner
    except ApplicationError as outer:
        await converter.encode_failure(outer, failure)
    assert failure.cause.message == "Encoded failure"
    assert b"kz-police" not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded.__cause__, ApplicationError)
    assert "kz-police" in decoded.__cause__.message


def test_update_ids_are_opaque_and_differ_per_action() -> None:
    request = f"officer-7731:{uuid.uuid4().hex}"
    confirm = ConfirmParticipationInput(actor=officer("tj-dca"), request_id=request)
    launch = LaunchOperationInput(actor=COORDINATOR, request_id=request)
    assert update_id(confirm) == update_id(confirm.model_copy())
    assert update_id(confirm) != update_id(launch)
    for plain in ("officer-7731", "confirm_participation", "tj-dca", request):
        assert plain not in update_id(confirm)
    assert len(update_id(confirm)) == 64


@pytest.fixture
async def operation(
    time_skipping_env: WorkflowEnvironment, sqlite_url: str, activity_executor: ThreadPoolExecutor
) -> AsyncIterator[OperationDriver]:
    sessions: sessionmaker[Session] = session_factory(create_engine_for(sqlite_url))
    task_queue = f"operations-{uuid.uuid4().hex}"
    async with make_worker(time_skipping_env, sessions, activity_executor, task_queue):
        now = await time_skipping_env.get_current_time()
        yield await OperationDriver.start(
            time_skipping_env.client, plan=sample_plan(now=now), task_queue=task_queue, now=now
        )


async def test_a_refusal_still_reaches_the_client_with_its_reason(
    operation: OperationDriver,
) -> None:
    launch = LaunchOperationInput(actor=COORDINATOR, request_id=uuid.uuid4().hex)
    with pytest.raises(ActionRefusedError, match="no authorisation recorded for AF"):
        await operation.do(launch)

    # A client without the key gets what the server has: the type, not the reason, and the
    # reason's template and parameters only as encrypted details of the refusal's cause.
    service = operation.client.service_client
    keyless = Client(
        service,
        namespace=operation.client.namespace,
        data_converter=DataConverter(payload_converter_class=PayloadsAsTheyAre),
    )
    handle = keyless.get_workflow_handle(f"operation-{operation.operation_id}")
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(
            launch.kind, launch.model_dump(mode="json"), id=update_id(launch)
        )
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == REFUSED
    assert cause.message == "Encoded failure"
    assert not cause.details
    reason = cause.cause
    assert isinstance(reason, ApplicationError)
    assert reason.type == REFUSAL_REASON
    assert reason.message == "Encoded failure"
    (details,) = reason.details
    assert details.metadata["encoding"] == b"binary/encrypted"
    for secret in (b"authorisation", b"template", b"parameters"):
        assert secret not in details.data, secret


class PayloadsAsTheyAre(PayloadConverter):
    """What a client without the key can make of a payload it reads: nothing but the payload."""

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        return DefaultPayloadConverter().to_payloads(values)

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        return list(payloads)
