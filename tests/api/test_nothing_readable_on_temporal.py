"""What Temporal's own database keeps of a whole operation: nothing that names anyone or anything.

A dev server of the test's own keeps its history in a SQLite file. One operation is walked from
created to closed over HTTP while every agency's notification target fails (their URLs carry
secrets in credentials, headers and payload arguments), so deliveries fail and are retried. Then
every byte of the database, its journal files and a consistent copy of every table is searched
for each person, agency, code name, route detail and target of the operation.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.principal import Role
from cdtrack.walkthrough import Walkthrough
from store.notifications import DeliveryStatus, list_deliveries
from tests.api.live import TEMPORAL_DATABASE, LiveStack, live_database_url, live_stack

__all__ = ["live_database_url", "live_stack"]

pytestmark = pytest.mark.devserver

CODE_NAME = "QUETZAL-7731-PLAIN"
SECRETS = {
    "af-cnpa": "secret-payload-a1f3",
    "tj-dca": "secret-bearer-b2e4",
    "kz-police": "secret-password-c3d5",
    "caricc": "secret-query-d4c6",
}


def failing_targets(port: int) -> dict[str, str]:
    """One target per agency, each URL form with its secret somewhere else."""
    return {
        "af-cnpa": f"json://127.0.0.1:{port}/hook-afcnpa-7731?:apikey={SECRETS['af-cnpa']}",
        "tj-dca": (
            f"json://127.0.0.1:{port}/hook-tjdca-7731?+Authorization=Bearer%20{SECRETS['tj-dca']}"
        ),
        "kz-police": f"xml://kz-duty:{SECRETS['kz-police']}@127.0.0.1:{port}/hook-kzpolice-7731",
        "caricc": f"form://127.0.0.1:{port}/hook-caricc-7731?-token={SECRETS['caricc']}",
    }


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but never listened on: connections are refused, and nothing else takes it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port: int = holder.getsockname()[1]
        yield port


# Plan and action details the walkthrough sends, which only the encrypted payloads may carry.
DETAILS = [
    "Sherkhan Bandar",
    "Nizhny Panj",
    "Almaty region road checkpoint",
    "vacuum-sealed bricks",
    "spare tyre",
    "heroin",
    "CD-AF-2026-01",
    "Controlled delivery under national procedure law",
    "Almaty warehouse",
    "Share the courier's ETA",
]


def _register(http: httpx.Client, admin: str, targets: dict[str, str]) -> None:
    for agency, url in targets.items():
        response = http.post(
            f"/api/v1/agencies/{agency}/targets",
            json={"url": url, "purpose": "action_required", "language": "en"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert response.status_code == 201, response.text


def _user_id(http: httpx.Client, token: str) -> str:
    me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    user_id: str = me["user_id"]
    return user_id


def _walk(stack: LiveStack, targets: dict[str, str]) -> tuple[str, list[str]]:
    """Walks the operation to closed; returns its id and the user id behind every token used."""
    admin = stack.token(agency="caricc", role=Role.ADMIN, name="Centre administrator")
    with httpx.Client(base_url=stack.base_url, timeout=60) as http:
        _register(http, admin, targets)
        operation_id = Walkthrough(http, stack.cast).run(code_name=CODE_NAME)
        tokens = [admin, stack.cast.coordinator, *stack.cast.officers.values()]
        return operation_id, [_user_id(http, token) for token in tokens]


def _wait_for_retried_failures(stack: LiveStack, operation_id: str) -> None:
    """Until a delivery has failed on a retry too: its failure went through the server twice."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with stack.sessions() as session:
            failed = [
                d
                for d in list_deliveries(session, operation_id=operation_id)
                if d.status == DeliveryStatus.FAILED
            ]
        if any(d.attempt >= 2 for d in failed):
            return
        time.sleep(1)
    pytest.fail("no delivery was retried within 90 s")


def _everything_kept(database: Path) -> bytes:
    """The raw bytes of the database and its journals, then every cell of a consistent copy."""
    files = [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]
    files.append(database.with_name(database.name + "-journal"))
    raw = b"\n".join(path.read_bytes() for path in files if path.exists())
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(":memory:")
    try:
        source.backup(copy)
        cells: list[bytes] = []
        tables = copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        for (table,) in tables:
            for row in copy.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    cells.append(value if isinstance(value, bytes) else str(value).encode())
    finally:
        source.close()
        copy.close()
    return raw + b"\n" + b"\n".join(cells)


@pytest.mark.parametrize("live_stack", ["own-temporal"], indirect=True)
async def test_temporal_keeps_no_name_agency_route_or_target_of_an_operation(
    live_stack: LiveStack, tmp_path: Path, closed_port: int
) -> None:
    targets = failing_targets(closed_port)
    operation_id, user_ids = await asyncio.to_thread(_walk, live_stack, targets)
    await asyncio.to_thread(_wait_for_retried_failures, live_stack, operation_id)
    kept = (await asyncio.to_thread(_everything_kept, tmp_path / TEMPORAL_DATABASE)).lower()

    # The right database, with the operation in it, its failures encoded and its payloads sealed.
    assert f"operation-{operation_id}".encode() in kept
    assert b"encoded failure" in kept
    assert b"deliveryfailed" in kept
    assert b"binary/encrypted" in kept

    agencies = list(SECRETS)  # the coordinator centre and the three participants
    forbidden = [*user_ids, *agencies, CODE_NAME, *DETAILS, *targets.values(), *SECRETS.values()]
    forbidden += [f"127.0.0.1:{closed_port}", "hook-", "kz-duty", "apikey", "authorization"]
    found = [needle for needle in forbidden if needle.lower().encode() in kept]
    assert found == []
