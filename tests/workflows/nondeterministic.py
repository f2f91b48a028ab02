"""A workflow that does what workflow code must not: the tests' sandbox has to refuse each call.

A module of its own, importing only the standard library and temporalio, so the sandbox imports
it afresh as it does a real workflow module.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from temporalio import workflow

CALLS: Final[dict[str, Callable[[], object]]] = {
    "datetime.datetime.now": lambda: datetime.now(UTC),
    "time.time": time.time,
    "random.random": random.random,
    "uuid.uuid4": uuid.uuid4,
    "__builtins__.open": lambda: open(__file__),  # noqa: SIM115 (refused before it opens)
}


@workflow.defn(name="CarelessTestWorkflow")
class CarelessWorkflow:
    """Makes the nondeterministic call it is started with, and answers what it returned."""

    @workflow.run
    async def run(self, call: str) -> str:
        return str(CALLS[call]())
