"""An operation's state reads the same whichever process wrote it: the read model keeps the JSON
the worker wrote, and a replay in another process (another hash seed) must give the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WRITE = (
    "from workflows.state import OperationState, RuleChange;"
    "print(OperationState.model_construct(rule_changes=frozenset(RuleChange))"
    ".model_dump_json(include={'rule_changes'}))"
)


def test_the_rule_changes_are_listed_in_one_order_by_every_process() -> None:
    written = {
        subprocess.run(
            [sys.executable, "-c", WRITE],
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)  # a set's own order: three different ones from these six seeds
    }
    assert len(written) == 1, written
