"""Recorded histories of finished operations replay on today's workflow code: determinism guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.temporal_env import converter_for_tests
from tests.workflows.conftest import HISTORIES
from workflows.operation import ControlledDeliveryWorkflow

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_histories_are_recorded() -> None:
    names = {path.stem for path in RECORDED}
    assert {"full_operation_closed", "aborted_in_planning"} <= names, (
        "run `make record-histories` to record the histories the replay test needs"
    )


@pytest.mark.parametrize("path", RECORDED, ids=[path.stem for path in RECORDED])
async def test_recorded_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    replayer = Replayer(
        workflows=[ControlledDeliveryWorkflow], data_converter=converter_for_tests()
    )
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
