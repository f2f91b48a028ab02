"""Many people at once on a real stack: nothing freezes, nothing answers 5xx, every read is logged.

Fifty concurrent requests to each read route by a participant and by an outsider, then a mixed
burst of two hundred, while a watcher asks /health every tenth of a second; then a write. On the
embedded SQLite read model and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.principal import Role
from cdtrack.walkthrough import JUSTIFICATION, Walkthrough, sample_plan
from store.access_log import (
    AccessEntry,
    frontier_of,
    integrate_pending,
    latest_database_head,
    verify_log,
)
from tests.api.live import LiveStack, live_database_url, live_stack

__all__ = ["live_database_url", "live_stack"]

CONCURRENT = 50
BURST = 200
# The freeze this guards against left /health unanswered for 10 s and more; on two cores shared
# with the burst's 50 clients one health answer may wait past a second without anything frozen.
HEALTH_WITHIN_SECONDS = 2.0


@dataclass
class Tally:
    """Answers by (user, access-log action, status), and the slowest /health seen."""

    answers: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    slowest_health: float = 0.0
    health_failures: list[str] = field(default_factory=list)
    health_asked: int = 0


def _read_routes(operation_id: str) -> dict[str, str]:
    """Each read route, by the action its access-log entry names."""
    path = f"/api/v1/operations/{operation_id}"
    return {
        "operation.list": "/api/v1/operations",
        "operation.read": path,
        "timeline.read": f"{path}/timeline",
        "deliveries.read": f"{path}/deliveries",
        "assessment.read": f"{path}/assessment",
        "report.disclose": f"{path}/report?lang=ru&format=pdf",
        "statistics.read": "/api/v1/statistics",
        "statistics.summary": "/api/v1/statistics/summary?format=pdf",
    }


@contextmanager
def _health_watched(base_url: str, tally: Tally) -> Iterator[None]:
    with tempfile.TemporaryDirectory() as folder:
        stop = Path(folder) / "stop"
        watcher = subprocess.Popen(
            [sys.executable, "-m", "tests.api.health_watch", base_url, str(stop)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            yield
        finally:
            stop.touch()
            out, _ = watcher.communicate(timeout=30)
        seen = json.loads(out)
        tally.slowest_health = seen["slowest"]
        tally.health_failures = seen["failures"]
        tally.health_asked = seen["asked"]


async def _read(
    http: httpx.AsyncClient, tally: Tally, *, user: str, token: str, action: str, url: str
) -> None:
    response = await http.get(
        url, headers={"Authorization": f"Bearer {token}", "X-Justification": JUSTIFICATION}
    )
    assert response.status_code < 500, f"{url}: {response.status_code} {response.text}"
    tally.answers[(user, action, response.status_code)] += 1


async def _read_everything(
    http: httpx.AsyncClient, tally: Tally, *, routes: dict[str, str], tokens: dict[str, str]
) -> None:
    for action, url in routes.items():
        await asyncio.gather(
            *(
                _read(http, tally, user=user, token=tokens[user], action=action, url=url)
                for user in ("participant", "outsider")
                for _ in range(CONCURRENT)
            )
        )
    chance = random.Random(7)
    burst = [
        (chance.choice(list(tokens)), chance.choice(list(routes.items()))) for _ in range(BURST)
    ]
    await asyncio.gather(
        *(
            _read(http, tally, user=user, token=tokens[user], action=action, url=url)
            for user, (action, url) in burst
        )
    )


async def _load(
    stack: LiveStack, *, closed_id: str, planning_id: str, tokens: dict[str, str]
) -> Tally:
    tally = Tally()
    routes = _read_routes(closed_id)
    # Idle connections are let go before the server closes them (after 5 s), or a request could
    # go out on a connection the server is closing: a client-side race, not an API failure.
    limits = httpx.Limits(
        max_connections=BURST, max_keepalive_connections=BURST, keepalive_expiry=1.0
    )
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=120, limits=limits) as http:
        with _health_watched(stack.base_url, tally):
            await _read_everything(http, tally, routes=routes, tokens=tokens)
        # A write right after the burst is applied at once.
        confirmed = await http.post(
            f"/api/v1/operations/{planning_id}/confirm-participation",
            json={},
            headers={"Authorization": f"Bearer {tokens['participant']}"},
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["event"]["kind"] == "participation.confirmed"
    return tally


def _prepare(stack: LiveStack) -> tuple[str, str, dict[str, str]]:
    """A closed operation with its assessment and report, one in planning, and three callers."""
    with httpx.Client(base_url=stack.base_url, timeout=60) as http:
        closed_id = Walkthrough(http, stack.cast, say=lambda _: None).run(code_name="HARRIER")
        plan = sample_plan(coordinator_agency="caricc", now=datetime.now(UTC), code_name="SHRIKE")
        created = http.post(
            "/api/v1/operations",
            json=plan,
            headers={
                "Authorization": f"Bearer {stack.cast.coordinator}",
                "X-Justification": JUSTIFICATION,
            },
        )
        assert created.status_code == 201, created.text
    tokens = {
        # A second officer of a participating agency, and one of an agency in no operation.
        "participant": stack.token(
            agency="kz-police", role=Role.OFFICER, name="Load participant", country="KZ"
        ),
        "outsider": stack.token(
            agency="nl-police", role=Role.OFFICER, name="Load outsider", country="NL"
        ),
        "coordinator": stack.token(
            agency="caricc", role=Role.COORDINATOR, name="Load coordinator", country="KZ"
        ),
    }
    return closed_id, created.json()["operation_id"], tokens


@pytest.mark.api_process
@pytest.mark.parametrize("live_database_url", ["sqlite", "postgres"], indirect=True)
async def test_concurrent_reads_neither_freeze_nor_fail_and_are_all_logged(
    live_stack: LiveStack,
) -> None:
    closed_id, planning_id, tokens = await asyncio.to_thread(_prepare, live_stack)
    # The load runs on an event loop of its own, so the worker in this one keeps working.
    tally = await asyncio.to_thread(
        asyncio.run,
        _load(live_stack, closed_id=closed_id, planning_id=planning_id, tokens=tokens),
    )

    assert tally.health_asked > 10, "the watcher asked /health throughout"
    assert tally.health_failures == []
    assert tally.slowest_health < HEALTH_WITHIN_SECONDS, tally.slowest_health
    assert sum(tally.answers.values()) == 2 * CONCURRENT * 8 + BURST
    # What each caller was answered: everything for the participant and the coordinator; for
    # the outsider, empty figures and "not found" for anything of the operation.
    for (user, action, status), _count in tally.answers.items():
        operation_wide = action in ("operation.list", "statistics.read", "statistics.summary")
        expected = 404 if user == "outsider" and not operation_wide else 200
        assert status == expected, (user, action, status)

    with live_stack.sessions() as session:
        logged = Counter(
            (entry.user_name, entry.action, entry.outcome)
            for entry in session.scalars(
                select(AccessEntry).where(AccessEntry.user_name.like("Load %"))
            )
        )
    # The sequencer integrates what the load appended and signs the head; the log verifies
    # against it, every entry's content recomputed.
    settings = live_stack.settings
    with live_stack.sessions.begin() as session:
        last = latest_database_head(session, verifier=settings.audit_verifier())
        head = integrate_pending(
            session,
            frontier=frontier_of(last),
            signer=settings.audit_signer(),
            now=datetime.now(UTC),
        )
    assert head is not None
    with live_stack.sessions() as session:
        report = verify_log(session, verifier=settings.audit_verifier(), now=datetime.now(UTC))
    expected_log = Counter[tuple[str | None, str, str]]()
    for (user, action, status), count in tally.answers.items():
        outcome = "allowed" if status == 200 else "refused"
        expected_log[(f"Load {user}", action, outcome)] += count
    # One entry per answered read, and the write's entry, written by the worker with its event.
    expected_log[("Load participant", "operation.action.confirm_participation", "allowed")] += 1
    assert logged == expected_log
    assert report.intact, report.describe()
    assert report.size == report.entries == head.tree_size
