"""Asks /health every tenth of a second until told to stop; prints the slowest answer as JSON.

Run in a process of its own, so what it measures is the API's answer and not the load of the
test process that drives the API.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx


def watch(base_url: str, stop: Path) -> dict[str, object]:
    slowest, failures, asked = 0.0, [], 0
    with httpx.Client(base_url=base_url, timeout=5) as http:
        while not stop.exists():
            started = time.monotonic()
            try:
                answer = http.get("/health")
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text}")
            except httpx.HTTPError as error:
                failures.append(repr(error))
            slowest = max(slowest, time.monotonic() - started)
            asked += 1
            time.sleep(0.1)
    return {"slowest": slowest, "failures": failures, "asked": asked}


if __name__ == "__main__":
    print(json.dumps(watch(sys.argv[1], Path(sys.argv[2]))))
