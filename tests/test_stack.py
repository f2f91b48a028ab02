"""The embedded dev server: starts on a file database, registers the phase, survives a restart."""

from __future__ import annotations

import asyncio
import base64
import itertools
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import IndexedValueType, WorkflowExecutionStatus
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from cdtrack import stack
from cdtrack.settings import Settings
from cdtrack.temporal import connect, data_converter
from workflows.operation import PHASE_ATTRIBUTE

pytestmark = pytest.mark.devserver


@pytest.fixture(scope="module")
def temporal_cli() -> Path:
    try:
        return stack.temporal_binary()
    except stack.TemporalBinaryMissingError as error:
        pytest.skip(f"!!! {error}; the embedded stack cannot be tested here !!!")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def settings(tmp_path: Path, temporal_cli: Path) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": tmp_path / "stack",
            "temporal_address": f"127.0.0.1:{free_port()}",
            "temporal_ui_port": free_port(),
            "codec_keys": {"k1": SecretStr(base64.b64encode(bytes(range(32))).decode())},
            "codec_active_key_id": "k1",
        }
    )


async def phase_attribute_type(client: Client) -> int | None:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return listed.custom_attributes.get(PHASE_ATTRIBUTE.name)


async def listening(address: str) -> bool:
    host, port = stack.split_address(address)
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    return True


def test_the_command_carries_the_product_flags(settings: Settings, temporal_cli: Path) -> None:
    headless = stack.dev_server_command(binary=temporal_cli, settings=settings, ui=False)
    assert "--headless" in headless
    assert "--ui-port" not in headless
    assert "CdtrackPhase=Keyword" in headless
    assert str(settings.data_dir.resolve() / "temporal.db") in headless
    with_ui = stack.dev_server_command(binary=temporal_cli, settings=settings, ui=True)
    assert "--headless" not in with_ui
    assert str(settings.temporal_ui_port) in with_ui


def test_the_ui_listens_on_loopback_whatever_grpc_binds(
    settings: Settings, temporal_cli: Path
) -> None:
    everywhere = settings.model_copy(update={"temporal_address": "0.0.0.0:7233"})
    command = stack.dev_server_command(binary=temporal_cli, settings=everywhere, ui=True)
    flags = dict(itertools.pairwise(command))
    assert flags["--ip"] == "0.0.0.0"
    assert flags["--ui-ip"] == "127.0.0.1"
    # Its pages and API under the path the console serves it at.
    assert flags["--ui-public-path"] == "/temporal"
    # Without the console, the UI decodes through the codec server; with it, through the console.
    assert flags["--ui-codec-endpoint"] == "http://127.0.0.1:8088"
    through_console = stack.dev_server_command(
        binary=temporal_cli,
        settings=everywhere,
        ui=True,
        codec_endpoint=everywhere.console_codec_endpoint,
    )
    assert dict(itertools.pairwise(through_console))["--ui-codec-endpoint"] == (
        "http://127.0.0.1:8000/temporal-codec"
    )


async def test_the_dev_server_keeps_its_workflows_across_a_restart(settings: Settings) -> None:
    async with stack.dev_server(settings, ui=False) as server:
        assert server.started_here
        assert server.database.exists()
        client = await connect(settings)
        assert await phase_attribute_type(client) == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        # No worker polls this queue, so the execution stays open for the restart.
        handle = await client.start_workflow(
            "PersistenceProbe", "mephedrone", id="probe-1", task_queue="nobody-polls"
        )
        async with stack.dev_server(settings, ui=False) as again:
            assert not again.started_here

        # What reaches the server is encrypted: a client without the codec sees no plaintext.
        plain_client = await Client.connect(settings.temporal_address)
        history = await plain_client.get_workflow_handle("probe-1").fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        assert b"mephedrone" not in started.input.SerializeToString()

    assert not await listening(settings.temporal_address)

    async with stack.dev_server(settings, ui=False) as server:
        assert server.started_here
        client = await connect(settings)
        assert await phase_attribute_type(client) == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        description = await client.get_workflow_handle(handle.id).describe()
        assert description.raw_description.workflow_execution_info.status == (
            WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
        )
        history = await client.get_workflow_handle(handle.id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        assert await data_converter(settings).decode(started.input.payloads) == ["mephedrone"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_stack_keeps_its_files_to_its_owner(settings: Settings) -> None:
    async with stack.dev_server(settings, ui=False) as server:
        client = await connect(settings)
        await client.start_workflow("ModeProbe", "x", id="mode-1", task_queue="nobody-polls")
        written = [server.database, server.log_file]
        written += [
            server.database.with_name(f"temporal.db{suffix}") for suffix in ("-wal", "-shm")
        ]
        # The server made its WAL and shared-memory files itself; they took the database's mode.
        assert {path.name: mode(path) for path in written} == {path.name: 0o600 for path in written}
    await asyncio.to_thread(stack.migrate_read_model, settings)
    assert mode(settings.data_dir) == 0o700
    assert mode(settings.data_dir / "readmodel.db") == 0o600


async def test_a_reused_server_gets_the_phase_attribute_registered(
    settings: Settings, temporal_cli: Path
) -> None:
    _, port = stack.split_address(settings.temporal_address)
    foreign = await WorkflowEnvironment.start_local(
        port=port, dev_server_existing_path=str(temporal_cli)
    )
    async with foreign:
        assert await phase_attribute_type(foreign.client) is None
        async with stack.dev_server(settings, ui=False) as server:
            assert not server.started_here
        assert await phase_attribute_type(foreign.client) == (
            IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        )


async def test_a_server_that_dies_while_starting_shows_its_log(settings: Settings) -> None:
    # A directory where the database file should be makes SQLite fail at once.
    (settings.data_dir / "temporal.db").mkdir(parents=True)
    with pytest.raises(stack.DevServerError, match="exited with status") as raised:
        async with stack.dev_server(settings, ui=False, startup_timeout=30):
            pass
    assert "temporal.log" in str(raised.value)


@pytest.fixture
def not_temporal(settings: Settings) -> Iterator[None]:
    host, port = stack.split_address(settings.temporal_address)
    with socket.socket() as squatter:
        squatter.bind((host, port))
        squatter.listen()
        yield


@pytest.mark.usefixtures("not_temporal")
async def test_an_address_held_by_something_else_is_refused(settings: Settings) -> None:
    with pytest.raises(stack.DevServerError, match="not a Temporal server"):
        async with stack.dev_server(settings, ui=False):
            pass
