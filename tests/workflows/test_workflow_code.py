"""The code the workflows run reads no clock, randomness, environment or I/O, and keeps no state.

A static reading (AST) of every module of `workflows` that the operation and audit workflows
import, directly or not: production runs them without the SDK's sandbox (cdtrack.worker), so
this, the tests' strict sandbox and the replay of recorded histories are what keep them
deterministic. It reads code that no test happens to execute too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from workflows.audit import AccessLogAuditWorkflow
from workflows.operation import ControlledDeliveryWorkflow

ROOT: Final = Path(__file__).resolve().parents[2]
WORKFLOW_MODULES: Final = (ControlledDeliveryWorkflow.__module__, AccessLogAuditWorkflow.__module__)

# What workflow code may import: pure standard-library modules, the models' libraries, and the
# parts of the SDK a workflow uses. Everything else (os, time, random, uuid, threading, socket,
# temporalio.client, the I/O layers of cdtrack...) has no business in a workflow.
ALLOWED_IMPORTS: Final = frozenset(
    {
        "__future__",
        "asyncio",
        "collections",
        "collections.abc",
        "dataclasses",
        "datetime",
        "enum",
        "re",
        "typing",
        "pydantic",
        "pydantic_core",
        "pycountry",
        "temporalio",
        "temporalio.activity",
        "temporalio.common",
        "temporalio.exceptions",
        "temporalio.workflow",
    }
)
# Allowed modules whose members would still break determinism; the workflow has its own.
FORBIDDEN_MEMBERS: Final = {
    "datetime.datetime.now": "workflow.now()",
    "datetime.datetime.utcnow": "workflow.now()",
    "datetime.datetime.today": "workflow.now()",
    "datetime.date.today": "workflow.now()",
    "asyncio.sleep": "workflow.sleep()",
    "asyncio.get_event_loop": "the workflow's own loop, through workflow.*",
    "asyncio.get_running_loop": "the workflow's own loop, through workflow.*",
    "asyncio.new_event_loop": "the workflow's own loop, through workflow.*",
    "asyncio.run": "the workflow's own loop, through workflow.*",
    "asyncio.to_thread": "an activity",
    "asyncio.run_coroutine_threadsafe": "an activity",
}
# Builtins that do I/O, run other code, or differ between processes (hash of a str, id).
FORBIDDEN_BUILTINS: Final = frozenset(
    {"open", "input", "print", "breakpoint", "exec", "eval", "compile", "__import__", "hash", "id"}
)
MUTATING_METHODS: Final = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "remove"}
    | {"discard", "clear", "sort", "reverse"}
)


TEMPORALIO_SUBMODULES: Final = frozenset({"activity", "common", "exceptions", "workflow"})


def module_file(name: str) -> Path:
    path = ROOT.joinpath(*name.split("."))
    package = path / "__init__.py"
    return package if package.exists() else path.with_suffix(".py")


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # fully qualified
    names: tuple[str, ...]  # what `from module import ...` takes; none for `import module`


def _imports(tree: ast.Module, *, module: str) -> list[Import]:
    is_package = module_file(module).name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            found.append(Import(node.lineno, base, tuple(alias.name for alias in node.names)))
    return found


def workflow_modules() -> list[str]:
    """Every `workflows` module the workflows load: theirs, what they import, and its packages."""
    found: set[str] = set()
    waiting = list(WORKFLOW_MODULES)
    while waiting:
        name = waiting.pop()
        if name in found or not module_file(name).exists():
            continue
        found.add(name)
        parts = name.split(".")
        waiting += [".".join(parts[:end]) for end in range(1, len(parts))]
        for imported in _imports(ast.parse(module_file(name).read_text()), module=name):
            if imported.module.split(".")[0] == "workflows":
                # `from workflows.rules import custody` loads a module too.
                waiting += [imported.module, *(f"{imported.module}.{n}" for n in imported.names)]
    return sorted(found)


@dataclass(frozen=True)
class Finding:
    line: int
    what: str


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it was imported as, fully qualified."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                aliases[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """`datetime.now` -> `datetime.datetime.now` when `datetime` came from `datetime`."""
    attributes: list[str] = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(attributes)])


def _module_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for statement in tree.body:
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def _mutated_name(node: ast.AST) -> str | None:
    """The plain name an in-place change applies to: `X.append(...)`, `X[k] = v`, `del X[k]`."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in MUTATING_METHODS
        and isinstance(node.func.value, ast.Name)
    ):
        return node.func.value.id
    targets: list[ast.expr] = []
    if isinstance(node, (ast.Assign, ast.Delete)):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    for target in targets:
        if isinstance(target, (ast.Subscript, ast.Attribute)) and isinstance(
            target.value, ast.Name
        ):
            return target.value.id
    return None


def _is_workflow_class(node: ast.ClassDef, aliases: dict[str, str]) -> bool:
    for decorator in node.decorator_list:
        called = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _qualified(called, aliases) == "temporalio.workflow.defn":
            return True
    return False


def _import_findings(tree: ast.Module, *, module: str) -> list[Finding]:
    found: list[Finding] = []
    for imported in _imports(tree, module=module):
        if imported.module.split(".")[0] == "workflows":
            continue
        if imported.module not in ALLOWED_IMPORTS:
            found.append(Finding(imported.line, f"imports {imported.module}"))
        elif imported.module == "temporalio":
            found += [
                Finding(imported.line, f"imports temporalio.{name}")
                for name in imported.names
                if name not in TEMPORALIO_SUBMODULES
            ]
    return found


def findings(tree: ast.Module, *, module: str) -> list[Finding]:
    """What in the module's code could make a run decide differently when replayed."""
    aliases = _aliases(tree)
    shared = _module_level_names(tree)
    found = _import_findings(tree, module=module)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)) and isinstance(node.ctx, ast.Load):
            qualified = _qualified(node, aliases)
            if qualified in FORBIDDEN_MEMBERS:
                use = FORBIDDEN_MEMBERS[qualified]
                found.append(Finding(node.lineno, f"uses {qualified}; use {use}"))
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id in FORBIDDEN_BUILTINS
        ):
            found.append(Finding(node.lineno, f"uses the builtin {node.id}()"))
        if isinstance(node, ast.Global):
            found.append(
                Finding(node.lineno, f"rebinds module state: global {', '.join(node.names)}")
            )
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                mutated = _mutated_name(inner)
                if mutated in shared and isinstance(inner, (ast.stmt, ast.expr)):
                    what = f"mutates the module-level {mutated}, shared by every run"
                    found.append(Finding(inner.lineno, what))
        if isinstance(node, ast.ClassDef) and _is_workflow_class(node, aliases):
            for statement in node.body:
                if isinstance(statement, (ast.Assign, ast.AugAssign)) or (
                    isinstance(statement, ast.AnnAssign) and statement.value is not None
                ):
                    what = f"{node.name} has a class attribute, shared by every run"
                    found.append(Finding(statement.lineno, what))
    return found


def test_the_check_covers_the_workflows_and_the_rules_they_ask() -> None:
    modules = workflow_modules()

    assert {"workflows.operation", "workflows.audit", "workflows.rules"} <= set(modules)
    assert "workflows.rules.custody" in modules  # reached through the rules package
    # The client side of the workflows (ids, retries of a start) is no workflow code.
    assert "workflows.starter" not in modules


@pytest.mark.parametrize("module", workflow_modules())
def test_workflow_code_is_deterministic_and_stateless(module: str) -> None:
    path = module_file(module)
    found = findings(ast.parse(path.read_text()), module=module)

    assert [f"{path.relative_to(ROOT)}:{f.line}: {f.what}" for f in found] == []


CARELESS: Final = """
import os
import random
from asyncio import sleep
from datetime import datetime

from temporalio import client, workflow

SEEN = []


@workflow.defn
class Careless:
    runs = 0

    @workflow.run
    async def run(self) -> None:
        global SEEN
        SEEN.append(datetime.now())
        await sleep(1)
        print(random.random(), hash("key"))
"""


def test_the_check_finds_each_kind_of_nondeterminism() -> None:
    found = findings(ast.parse(CARELESS), module="workflows.careless")

    assert sorted(finding.what for finding in found) == sorted(
        [
            "imports os",
            "imports random",
            "imports temporalio.client",
            "uses datetime.datetime.now; use workflow.now()",
            "uses asyncio.sleep; use workflow.sleep()",
            "uses the builtin print()",
            "uses the builtin hash()",
            "rebinds module state: global SEEN",
            "mutates the module-level SEEN, shared by every run",
            "Careless has a class attribute, shared by every run",
        ]
    )
