"""A refusal's reason as template and parameters: its English is the rules' sentence, it survives
the JSON of an Update's failure details, and every template is a literal the extractor finds."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from tests.workflows.test_rules import LAUNCH, NOW, TJ, acknowledge, launch, launched, planned
from workflows.reasons import (
    EXTRACTION_KEYWORDS,
    PARAMETERS,
    Reason,
    because,
    reason_from_details,
)
from workflows.rules import Refused, decide

RULES = Path(__file__).parents[2] / "workflows" / "rules"


def test_the_english_of_a_reason_is_its_template_filled_in() -> None:
    reason = because(
        "%(country)s is not on the route (%(route)s)", country="NL", route=("AF", "TJ", "KZ")
    )
    assert str(reason) == "NL is not on the route (AF -> TJ -> KZ)"


def test_a_refusal_says_in_english_what_it_said_before() -> None:
    decision = decide(launched(), acknowledge(TJ), now=LAUNCH)
    assert isinstance(decision, Refused)
    assert decision.reason == "cannot acknowledge handover: no handover of leg 1 has been offered"
    assert decision.reason == f"cannot acknowledge handover: {decision.why}"
    in_planning = decide(planned(), acknowledge(TJ), now=NOW)
    assert isinstance(in_planning, Refused)
    assert in_planning.reason == (
        "cannot acknowledge handover while the operation is planning; "
        "allowed only while execution or suspended"
    )
    assert in_planning.why.parameters == {"phase": "planning", "phases": ("execution", "suspended")}


def test_a_reason_survives_the_json_of_the_failure_details() -> None:
    decision = decide(planned(), launch(), now=NOW)
    assert isinstance(decision, Refused)
    carried = json.loads(json.dumps(decision.why.as_details()))
    assert reason_from_details(carried) == decision.why
    assert str(reason_from_details(carried)) == str(decision.why)


@pytest.mark.parametrize(
    "details",
    [None, "no authorisation", {"template": 3}, {"template": "x", "parameters": {"a": 1.5}}],
)
def test_details_of_another_shape_give_no_reason(details: object) -> None:
    assert reason_from_details(details) is None


def _calls_of_reasons(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in EXTRACTION_KEYWORDS
    ]


@pytest.mark.parametrize("path", sorted(RULES.glob("*.py")), ids=lambda path: path.name)
def test_every_reason_of_the_rules_is_a_literal_template_of_known_parameters(path: Path) -> None:
    """So that Babel's extractor finds each (tests/web/test_catalogue.py) and the console knows
    how to show each parameter (web/refusals.py)."""
    for call in _calls_of_reasons(ast.parse(path.read_text())):
        where = f"{path.name}:{call.lineno}"
        template = call.args[0] if call.args else None
        assert isinstance(template, ast.Constant), where
        assert isinstance(template.value, str), where
        names = set(re.findall(r"%\((\w+)\)s", template.value))
        given = {keyword.arg for keyword in call.keywords} - {"required"}
        assert names == given, f"{where}: placeholders {names}, parameters {given}"
        assert names <= set(PARAMETERS), f"{where}: {names - set(PARAMETERS)} not in PARAMETERS"


def test_a_reason_without_parameters_is_its_template() -> None:
    assert str(Reason("surveillance is not lost")) == "surveillance is not lost"
