"""The bench stack's own processes: `python -m bench.services worker|api`, settings from the env.

The worker runs in a process of its own so that its resident memory is its own; beside the
operation workflows it serves the floor's trivial workflow and the reference workflow, each on a
task queue of its own.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from bench.floor import FLOOR_TASK_QUEUE, FloorWorkflow
from bench.reference import REFERENCE_TASK_QUEUE, ReferenceWorkflow
from bench.reference_rows import ReferenceRows
from cdtrack.settings import Settings, load_settings

READY = "ready"


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for received in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(received, stop.set)
    return stop


def announce_ready() -> None:
    # The bench waits for this line on the process's stdout before it measures anything.
    print(READY, flush=True)


async def serve_worker(settings: Settings) -> None:
    from cdtrack.temporal import connect
    from cdtrack.worker import WorkerLimits, run_worker, workflow_runner
    from store.session import create_engine_for

    stop = stop_on_signals()
    floor_client = await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace
    )
    floor = Worker(floor_client, task_queue=FLOOR_TASK_QUEUE, workflows=[FloorWorkflow])
    # The reference as the product's worker runs: its converter, its limits, a thread pool for
    # the synchronous write, the read model's engine (SQLite pragmas and all).
    limits = WorkerLimits.from_settings(settings)
    engine = create_engine_for(settings.read_model_url)
    rows = ReferenceRows(engine)
    rows.create_table()
    try:
        with ThreadPoolExecutor(
            max_workers=limits.activities, thread_name_prefix="reference"
        ) as executor:
            reference = Worker(
                await connect(settings),
                task_queue=REFERENCE_TASK_QUEUE,
                workflows=[ReferenceWorkflow],
                # The runner the product's worker uses: the reference differs only in its work.
                workflow_runner=workflow_runner(settings.workflow_sandbox),
                activities=[rows.write_row],
                activity_executor=executor,
                max_concurrent_workflow_tasks=limits.workflow_tasks,
                max_concurrent_activities=limits.activities,
                max_cached_workflows=limits.cached_workflows,
            )
            async with floor, reference:
                product = asyncio.create_task(run_worker(settings, stop=stop))
                # run_worker only logs when it polls; give it a moment to register, then say so.
                await asyncio.sleep(1.0)
                if product.done():
                    await product
                announce_ready()
                await product
    finally:
        engine.dispose()


async def serve_api(settings: Settings) -> None:
    from web.server import serve_api as run_api

    stop = stop_on_signals()
    serving = asyncio.create_task(run_api(settings, stop))
    await asyncio.sleep(0)
    announce_ready()
    await serving


def log_to_stderr() -> None:
    # Stdout carries only the ready line; everything the services log goes to stderr (a file).
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )


def main(argv: list[str]) -> None:
    services = {"worker": serve_worker, "api": serve_api}
    if len(argv) != 1 or argv[0] not in services:
        raise SystemExit(f"usage: python -m bench.services {{{'|'.join(services)}}}")
    log_to_stderr()
    asyncio.run(services[argv[0]](load_settings()))


if __name__ == "__main__":
    main(sys.argv[1:])
