"""The access log's cost: one append and its commit per request, and the sequencer's rate.

Measured on a scratch database of the bench's kind (SQLite file, or a database on the bench's
PostgreSQL server), not the stack's: the stack's own audit workflow would integrate the entries
while they are counted.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bench.stack import scratch_postgres
from store.access_log import AccessCategory, Accessor, append_access, frontier_of, integrate_pending
from store.checkpoint import LogSigner
from store.migrate import upgrade
from store.session import create_engine_for, session_factory
from workflows.messages import SignedTreeHead

OFFICER = Accessor(
    user_id="bench-officer", name="Bench Officer", agency="kz-police", role="officer"
)
BATCH = 5_000


@dataclass
class AccessLogRun:
    appends: int
    concurrency: int
    append_latencies: list[float] = field(default_factory=list)
    concurrent_seconds: float = 0.0
    concurrent_appends: int = 0
    integrated: int = 0
    integrate_seconds: float = 0.0


@contextmanager
def _scratch_url(postgres_url: str | None) -> Iterator[str]:
    if postgres_url is not None:
        with scratch_postgres(postgres_url) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="cdtrack-bench-log-") as scratch:
        yield f"sqlite:///{Path(scratch) / 'access-log.db'}"


def _append(sessions: sessionmaker[Session]) -> None:
    # What a consultation request adds to its transaction, and the commit it then waits for.
    with sessions.begin() as session:
        append_access(
            session,
            accessor=OFFICER,
            action="operation.read",
            category=AccessCategory.CONSULTATION,
            operation_id="bench-operation",
            justification="Preparing the handover at the Almaty checkpoint",
        )


def run_access_log(*, postgres_url: str | None, appends: int, concurrency: int) -> AccessLogRun:
    run = AccessLogRun(appends=appends, concurrency=concurrency)
    with _scratch_url(postgres_url) as url:
        upgrade(url)
        engine = (
            create_engine_for(url, pool_size=concurrency + 2)
            if postgres_url
            else (create_engine_for(url))
        )
        sessions = session_factory(engine)
        try:
            for _ in range(appends):
                started = time.perf_counter()
                _append(sessions)
                run.append_latencies.append(time.perf_counter() - started)

            per_thread = max(appends // concurrency, 1)

            def append_many() -> None:
                for _ in range(per_thread):
                    _append(sessions)

            threads = [threading.Thread(target=append_many) for _ in range(concurrency)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            run.concurrent_seconds = time.perf_counter() - started
            run.concurrent_appends = per_thread * concurrency

            signer = LogSigner(origin="bench/access-log", seed=bytes(32))
            head: SignedTreeHead | None = None
            started = time.perf_counter()
            while True:
                with sessions.begin() as session:
                    next_head = integrate_pending(
                        session,
                        frontier=frontier_of(head),
                        signer=signer,
                        now=datetime.now(UTC),
                        limit=BATCH,
                    )
                if next_head is None:
                    break
                head = next_head
            run.integrate_seconds = time.perf_counter() - started
            run.integrated = head.tree_size if head is not None else 0
        finally:
            engine.dispose()
    return run
