"""Recorded histories of finished operations replay on today's workflow code: determinism guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.workflow import NondeterminismError

import workflows.rules
from tests.workflows.conftest import HISTORIES, replayer

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_histories_are_recorded() -> None:
    names = {path.stem for path in RECORDED}
    assert {"full_operation_closed", "aborted_in_planning"} <= names, (
        "run `make record-histories` to record the histories the replay test needs"
    )


@pytest.mark.parametrize("path", RECORDED, ids=[path.stem for path in RECORDED])
async def test_recorded_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    result = await replayer().replay_workflow(history)
    assert result.replay_failure is None


async def test_a_rule_changed_without_a_patch_fails_the_replay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The run waited for its surveillance window to expire; a rule that no longer asks for that
    # deadline gives the recorded history a timer the replayed workflow never starts.
    monkeypatch.setattr(workflows.rules, "pending_deadlines", lambda state: [])
    path = HISTORIES / "surveillance_window_expired_aborted.json"
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())

    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)

    assert isinstance(result.replay_failure, NondeterminismError)
    assert "TimerStarted" in str(result.replay_failure)
