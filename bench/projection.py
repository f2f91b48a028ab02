"""What one read-model projection costs, alone: `python -m bench.projection [--postgres-url URL]`.

Every steering action waits for one projection before it is answered (read-your-writes), so its
cost is on every acknowledgement's path. Here the sample walkthrough is answered by the
lifecycle rules in process (`bench.payloads.RulesWalkthrough`), and each projection the workflow
would send is handed to the projection activity's own code (`ReadModelActivities`) on a fresh,
migrated read model, one after another as one operation's workflow sends them: the wall time and
this thread's CPU time of each, and the statements it sent. No Temporal, no HTTP.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import event

from activities.projection import ReadModelActivities
from bench.payloads import RulesWalkthrough
from bench.stack import CENTRE_AGENCY, scratch_postgres
from store.migrate import upgrade
from store.session import create_engine_for, session_factory
from workflows.messages import ProjectOperationInput

app = typer.Typer(add_completion=False)


@dataclass
class ProjectionRun:
    database: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)

    def describe(self) -> str:
        def ms(values: list[float], q: int) -> str:
            return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:.2f} ms"

        return (
            f"{self.database}: {len(self.wall)} projections; wall p50 {ms(self.wall, 50)}, "
            f"p95 {ms(self.wall, 95)}; CPU p50 {ms(self.cpu, 50)}, mean "
            f"{statistics.fmean(self.cpu) * 1000:.2f} ms; statements per projection "
            f"{statistics.fmean(self.statements):.1f}"
        )


def _projections(operations: int) -> list[list[ProjectOperationInput]]:
    walks = []
    for number in range(operations):
        walk = RulesWalkthrough(coordinator_agency=CENTRE_AGENCY)
        try:
            walk.run(code_name=f"PROJ-{number:03d}")
        finally:
            walk.http.close()
        walks.append(
            [p for _, _, p, _ in walk.messages.updates if isinstance(p, ProjectOperationInput)]
        )
    return walks


def measure(database_url: str, *, label: str, operations: int) -> ProjectionRun:
    upgrade(database_url)
    engine = create_engine_for(database_url)
    counted = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        counted[0] += 1

    activities = ReadModelActivities(session_factory(engine))
    run = ProjectionRun(label)
    try:
        walks = _projections(operations + 1)
        # The first operation warms the connection pool, the statement caches and the code.
        for projection in walks[0]:
            activities.project_operation(projection)
        for walk in walks[1:]:
            for projection in walk:
                counted[0] = 0
                started, cpu_started = time.perf_counter(), time.thread_time()
                activities.project_operation(projection)
                run.cpu.append(time.thread_time() - cpu_started)
                run.wall.append(time.perf_counter() - started)
                run.statements.append(counted[0])
    finally:
        engine.dispose()
    return run


@app.command()
def main(
    postgres_url: Annotated[
        str | None, typer.Option(help="A PostgreSQL server: a scratch database is made on it")
    ] = None,
    operations: Annotated[int, typer.Option(help="Sample operations, 22 projections each")] = 20,
) -> None:
    with tempfile.TemporaryDirectory(prefix="cdtrack-projection-") as scratch:
        sqlite_url = f"sqlite:///{Path(scratch) / 'read-model.db'}"
        print(measure(sqlite_url, label="SQLite", operations=operations).describe())
    if postgres_url:
        with scratch_postgres(postgres_url) as url:
            print(measure(url, label="PostgreSQL", operations=operations).describe())


if __name__ == "__main__":
    app()
