"""What the deployment tests share: the process's log lines, as the JSON pipeline writes them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from cdtrack.observability import configure_logging
from cdtrack.settings import Settings


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The process's logging routed through the JSON pipeline into a buffer, restored after."""
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    buffer = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="debug"), stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], level = kept
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False
        structlog.reset_defaults()
