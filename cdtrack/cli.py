"""The `cdtrack` command: the embedded stack, its parts one by one, and read model migrations."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import structlog
import typer

from cdtrack import stack
from cdtrack.settings import load_settings

app = typer.Typer(
    help="Workflow engine for international controlled deliveries.", no_args_is_help=True
)


@app.callback()
def _configure_logging(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug lines too.")] = False,
) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    # Alembic announces every autogenerate plugin it loads; only the migrations themselves matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))


def _announce(server: stack.DevServer) -> None:
    typer.echo(f"Temporal  {server.address} (namespace {server.namespace})")
    if server.ui_url is not None:
        typer.echo(f"UI        {server.ui_url}")
    elif server.started_here:
        typer.echo("UI        off (--no-ui)")
    else:
        typer.echo("UI        whatever the reused server serves")
    typer.echo(f"Data dir  {server.data_dir}")
    if server.started_here:
        typer.echo(f"Log       {server.log_file}")


@app.command()
def up(
    ui: Annotated[bool, typer.Option(help="Serve the Temporal Web UI.")] = True,
) -> None:
    """Run the embedded stack (Temporal dev server, read model, worker) until Ctrl-C."""
    settings = load_settings()
    asyncio.run(stack.serve_embedded(settings, with_api=False, ui=ui, on_ready=_announce))


@app.command()
def worker() -> None:
    """Run only the worker, against the Temporal server the settings name."""
    asyncio.run(stack.serve_worker(load_settings()))


@app.command()
def migrate() -> None:
    """Bring the read model's schema up to date."""
    settings = load_settings()
    stack.migrate_read_model(settings)
    typer.echo(f"read model migrated: {settings.read_model_url}")


@app.command()
def server(
    ui: Annotated[bool, typer.Option(help="Serve the Temporal Web UI.")] = True,
) -> None:
    """Run only the embedded Temporal dev server, in the foreground (tests, debugging)."""
    asyncio.run(stack.serve_dev_server(load_settings(), ui=ui, on_ready=_announce))
