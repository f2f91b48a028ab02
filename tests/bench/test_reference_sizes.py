"""The reference carries an operation's payload sizes, measured from the rules, into its history."""

from __future__ import annotations

import base64
import json
import statistics
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.lifecycle import UPDATES_PER_OPERATION
from bench.payloads import operation_sizes
from bench.reference import (
    OperationSizes,
    ReferenceWorkflow,
    encoded_size,
    reference_inputs,
    run_reference,
)
from bench.reference_rows import (
    PADDING,
    REFERENCE_ROWS,
    ReferenceRows,
    TakeReferenceStepInput,
    TakeReferenceStepResult,
    WriteReferenceRowInput,
    WriteReferenceRowResult,
)
from store.session import create_engine_for
from tests.temporal_env import converter_for_tests

RECORDED = Path(__file__).parents[1] / "workflows" / "histories" / "full_operation_closed.json"


def _payload_size(recorded: dict[str, Any]) -> int:
    metadata = {key: base64.b64decode(value) for key, value in recorded["metadata"].items()}
    return Payload(metadata=metadata, data=base64.b64decode(recorded.get("data", ""))).ByteSize()


def _recorded_sizes() -> tuple[int, list[int], list[int], list[int]]:
    """The start input, Update arguments, answers and local activity results of a real run."""
    events = json.loads(RECORDED.read_text())["events"]
    start = events[0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    arguments, answers, results = [], [], []
    for event in events:
        if accepted := event.get("workflowExecutionUpdateAcceptedEventAttributes"):
            payloads = accepted["acceptedRequest"]["input"].get("args", {}).get("payloads", [])
            arguments += [_payload_size(payload) for payload in payloads]
        if completed := event.get("workflowExecutionUpdateCompletedEventAttributes"):
            answers += [_payload_size(p) for p in completed["outcome"]["success"]["payloads"]]
        marker = event.get("markerRecordedEventAttributes")
        if marker and "result" in marker["details"]:
            results += [_payload_size(p) for p in marker["details"]["result"]["payloads"]]
    return _payload_size(start), arguments, answers, results


def _near(ours: float, recorded: float) -> bool:
    # The two walkthroughs differ in names, in checkpoints and in a justification per action.
    return abs(ours - recorded) <= 0.25 * recorded


async def test_the_sample_operation_is_as_large_as_a_recorded_one() -> None:
    sizes = await operation_sizes(converter_for_tests(), coordinator_agency="caricc")
    start, arguments, answers, results = _recorded_sizes()

    assert len(sizes.updates) == UPDATES_PER_OPERATION
    assert _near(sizes.start, start)
    # Creation's `synchronise` takes no argument; every action is a command.
    assert sizes.updates[0].argument == 0
    ours = sizes.updates[1:]
    assert _near(statistics.median(u.argument for u in ours), statistics.median(arguments))
    assert _near(statistics.median(u.answer for u in ours), statistics.median(answers))
    assert {u.projection_result for u in sizes.updates} <= set(results)
    # Each projection carries the operation as it stands: it grows as the operation does.
    assert sizes.updates[-1].projection_input > sizes.updates[0].projection_input > sizes.start


async def test_every_reference_payload_is_padded_to_its_size() -> None:
    converter = converter_for_tests()
    sizes = await operation_sizes(converter, coordinator_agency="caricc")
    workflow_id = "bench-reference-0123abcd-00000"

    start, arguments = await reference_inputs(converter, sizes, workflow_id=workflow_id)

    assert await encoded_size(converter, start) == sizes.start
    for number, (argument, plan, update) in enumerate(
        zip(arguments, start.steps, sizes.updates, strict=True), start=1
    ):
        answer = TakeReferenceStepResult(step=number, padding=PADDING * plan.answer)
        if number == 1:
            # `synchronise` takes nothing and answers a number: the reference's least is more.
            assert (update.argument, argument.padding, plan.answer) == (0, "", 0)
            assert update.answer < await encoded_size(converter, answer) < update.answer + 30
            continue
        assert await encoded_size(converter, argument) == update.argument
        assert await encoded_size(converter, answer) == update.answer
        row = WriteReferenceRowInput(
            workflow_id=workflow_id,
            step=number,
            result_padding=plan.row_result,
            padding=PADDING * plan.row_input,
        )
        assert await encoded_size(converter, row) == update.projection_input
        written = WriteReferenceRowResult(padding=PADDING * plan.row_result)
        assert await encoded_size(converter, written) == update.projection_result


def _sizes_in(history: Any, event_type: int) -> list[int]:
    found = []
    for event in history.events:
        if event.event_type != event_type:
            continue
        if event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
        elif event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            accepted = event.workflow_execution_update_accepted_event_attributes
            payloads = accepted.accepted_request.input.args.payloads
        elif event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            payloads = event.workflow_execution_update_completed_event_attributes.outcome.success
            payloads = payloads.payloads
        else:
            payloads = event.marker_recorded_event_attributes.details["result"].payloads
        found += [payload.ByteSize() for payload in payloads]
    return found


async def test_each_reference_update_writes_its_row_and_keeps_its_sizes_in_history(
    dev_server_env: WorkflowEnvironment, read_model_url: str
) -> None:
    client = dev_server_env.client
    measured = await operation_sizes(client.data_converter, coordinator_agency="caricc")
    least_argument = await encoded_size(client.data_converter, TakeReferenceStepInput())
    least_answer = await encoded_size(client.data_converter, TakeReferenceStepResult(step=1))
    sizes = OperationSizes(start=measured.start, updates=measured.updates[:4])
    engine = create_engine_for(read_model_url)
    rows = ReferenceRows(engine)
    rows.create_table()
    task_queue = f"reference-{uuid.uuid4().hex}"
    try:
        with ThreadPoolExecutor(max_workers=4) as executor:
            async with Worker(
                client,
                task_queue=task_queue,
                workflows=[ReferenceWorkflow],
                activities=[rows.write_row],
                activity_executor=executor,
            ):
                run = await run_reference(
                    client, sizes=sizes, workflows=3, concurrency=2, task_queue=task_queue
                )
        with engine.connect() as connection:
            written = connection.execute(
                select(REFERENCE_ROWS.c.workflow_id, REFERENCE_ROWS.c.step)
            ).all()
    finally:
        engine.dispose()

    assert run.updates == 12
    assert run.seconds > 0
    by_workflow: dict[str, list[int]] = {}
    for workflow_id, step in written:
        by_workflow.setdefault(workflow_id, []).append(step)
    assert sorted(sorted(steps) for steps in by_workflow.values()) == [[1, 2, 3, 4]] * 3
    for workflow_id in by_workflow:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        started = _sizes_in(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
        arguments = _sizes_in(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
        answers = _sizes_in(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
        results = _sizes_in(history, EventType.EVENT_TYPE_MARKER_RECORDED)
        assert started == [sizes.start]
        # The first Update stands for `synchronise`, which takes nothing and answers a number:
        # the reference sends and answers its least there.
        assert arguments == [least_argument] + [u.argument for u in sizes.updates[1:]]
        assert answers == [least_answer] + [u.answer for u in sizes.updates[1:]]
        assert results == [update.projection_result for update in sizes.updates]
