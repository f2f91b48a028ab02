"""schemathesis over the whole OpenAPI schema of the live API: no input makes the server fail."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from cdtrack.walkthrough import JUSTIFICATION
from tests.api.live import LiveStack, live_database_url, live_stack

__all__ = ["live_database_url", "live_stack"]


async def test_no_generated_request_breaks_the_api(live_stack: LiveStack, tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    process = await asyncio.create_subprocess_exec(
        str(schemathesis),
        "run",
        f"{live_stack.base_url}/openapi.json",
        "--checks",
        "all",
        # Every other check runs. This one expects every schema-valid body to be accepted, but a
        # plan also obeys rules across fields (legs chain, departures lie ahead, valid_until after
        # granted_at) that JSON Schema cannot state; those are refused with 422 by design.
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        "30",
        "--phases",
        "examples,fuzzing",
        "--seed",
        "20261123",
        "--header",
        f"Authorization: Bearer {live_stack.cast.coordinator}",
        "--header",
        f"X-Justification: {JUSTIFICATION}",
        "--request-timeout",
        "30",
        # Documents (the debrief report, the statistics summary) render in the API's process
        # pool, seconds each and more for the first in a fresh process; one generated request
        # queued behind others on two shared cores can take longer than the check's default
        # 10 s. A frozen API still fails: nothing may take longer than the request timeout.
        "--max-response-time",
        "30",
        "--report-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-12000:]
    assert "Server error" not in text
