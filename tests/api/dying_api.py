"""The API, killed (SIGKILL) the moment an operation's workflow has accepted an action.

Run as `python -m tests.api.dying_api` with the CDTRACK_ settings in the environment: the
process dies between the workflow's acceptance and its answer to the caller, as a crash would
kill it, so a test can check what was recorded without the API's help.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import uvicorn

import api.actions as actions
from api.app import create_app
from cdtrack.settings import load_settings
from workflows import starter
from workflows.state import ActionResult

_accept = starter.act


async def _accept_then_die(*args: Any, **kwargs: Any) -> ActionResult:
    result = await _accept(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    return result


def main() -> None:
    actions.act = _accept_then_die  # type: ignore[attr-defined]
    settings = load_settings()
    uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.api_port, log_level="warning")


if __name__ == "__main__":
    main()
