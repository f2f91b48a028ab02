"""The lifecycle table is type-checked row by row: an effect wired to another command is an error.

mypy itself runs on a small module (with the project's settings and cache), so the test shows the
error a developer would see, and that the same row wired right passes.
"""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]

ROWS = """
from workflows.commands import AcknowledgeHandoverInput, RefuseHandoverInput
from workflows.rules import rule
from workflows.rules.custody import acknowledge_handover, by_receiving_agency
from workflows.state import Phase

PHASES = frozenset({Phase.EXECUTION})
WIRED = rule(AcknowledgeHandoverInput, PHASES, by_receiving_agency, acknowledge_handover)
MISWIRED = rule(RefuseHandoverInput, PHASES, by_receiving_agency, acknowledge_handover)
"""


def test_mypy_rejects_an_effect_wired_to_another_commands_input(tmp_path: Path) -> None:
    module = tmp_path / "rows.py"
    module.write_text(ROWS)
    report, errors, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            str(module),
        ]
    )
    assert status == 1, report + errors
    # Where mypy's cache answers for an unchanged module, it names the path it first checked.
    found = [line.rsplit("/", 1)[-1] for line in report.splitlines() if ": error:" in line]
    assert found == [
        'rows.py:9: error: Argument 4 to "rule" has incompatible type '
        '"Callable[[OperationState, AcknowledgeHandoverInput, datetime], Happened]"; expected '
        '"Callable[[OperationState, RefuseHandoverInput, datetime], Happened]"  [arg-type]'
    ], report
