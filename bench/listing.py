"""Listing and filtering operations through the API over a read model seeded with thousands.

The operations are written by the store's own projection (`store.timeline.project_operation`),
exactly as the worker writes them, not by running as many workflows.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from cdtrack.walkthrough import JUSTIFICATION, Cast, sample_plan
from store.timeline import project_operation
from workflows.commands import Actor, ActorRole
from workflows.plan import OperationPlan
from workflows.rules import open_operation
from workflows.state import Phase

SEED_BATCH = 250
# Routes and substances rotate so each filter selects a fraction, as it would in real use.
SUBSTANCES = ["heroin", "mephedrone", "cannabis", "mdma", "cocaine", "methamphetamine"]
PHASES = [Phase.PLANNING, Phase.EXECUTION, Phase.INTERDICTION, Phase.DEBRIEF, Phase.CLOSED]
# Each query as a name and its parameters; every one asks for the first page of 50.
QUERIES: dict[str, dict[str, str]] = {
    "list, newest first": {},
    "filter by country": {"country": "TJ"},
    "filter by substance": {"substance": "mephedrone"},
    "filter by phase": {"phase": "execution"},
    "filter by phase + country + period": {
        "phase": "debrief",
        "country": "KZ",
        "created_from": "2026-01-01T00:00:00Z",
    },
    "sort by code name, page 20": {"sort": "code_name", "page": "20"},
}


@dataclass
class ListingRun:
    operations_seeded: int
    seed_seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    # The API's floor for a read: an authenticated GET /me, no operational data, no access log.
    me_latencies: list[float] = field(default_factory=list)

    @property
    def all_latencies(self) -> list[float]:
        return [seconds for times in self.latencies.values() for seconds in times]


def seed_operations(
    sessions: sessionmaker[Session], *, count: int, coordinator_agency: str
) -> float:
    """Project `count` operations into the read model; returns the seconds it took."""
    base = datetime.now(UTC) - timedelta(days=365)
    creator = Actor(agency=coordinator_agency, officer="bench-seed", role=ActorRole.COORDINATOR)
    template = sample_plan(coordinator_agency=coordinator_agency, now=base, code_name="SEED")
    variants = itertools.cycle(itertools.product(SUBSTANCES, PHASES))
    started = time.perf_counter()
    for first in range(0, count, SEED_BATCH):
        with sessions.begin() as session:
            for number in range(first, min(first + SEED_BATCH, count)):
                substance, phase = next(variants)
                plan = dict(template, code_name=f"SEED-{number:05d}")
                plan["consignment"] = dict(
                    template["consignment"],
                    substances=[{"name": substance, "quantity": 5.0 + number % 40, "unit": "kg"}],
                    # The sample is a partial substitution: what is left in is of the substance.
                    left_in=dict(template["consignment"]["left_in"], substance=substance),
                )
                created = base + timedelta(minutes=50 * number)
                state = open_operation(
                    operation_id=str(uuid.uuid4()),
                    plan=OperationPlan.model_validate(plan),
                    created_by=creator,
                    now=created,
                )
                # An operation under execution keeps a checkpoint clock: the read model's
                # "next due" asks for it.
                clock = created if phase is Phase.EXECUTION else None
                state = state.model_copy(update={"phase": phase, "checkpoint_clock": clock})
                project_operation(session, operation=state, events=state.timeline)
    with sessions.begin() as session:
        # Operations accumulate over months, and autovacuum keeps the planner's statistics up
        # with them; seeded in a minute, the tables would look empty to the planner without this.
        session.execute(text("ANALYZE"))
    return time.perf_counter() - started


def run_listing(
    *,
    base_url: str,
    cast: Cast,
    sessions: sessionmaker[Session],
    coordinator_agency: str,
    operations: int,
    repeats: int,
) -> ListingRun:
    seed_seconds = seed_operations(
        sessions, count=operations, coordinator_agency=coordinator_agency
    )
    result = ListingRun(operations, seed_seconds)
    who = {"coordinator": cast.coordinator, "officer": cast.officers["tj-dca"]}
    with httpx.Client(base_url=base_url, timeout=60) as http:
        for _ in range(repeats):
            started = time.perf_counter()
            http.get("/api/v1/me", headers={"Authorization": f"Bearer {cast.coordinator}"})
            result.me_latencies.append(time.perf_counter() - started)
        for role, token in who.items():
            headers = {"Authorization": f"Bearer {token}", "X-Justification": JUSTIFICATION}
            for name, params in QUERIES.items():
                times = result.latencies.setdefault(f"{name} ({role})", [])
                for _ in range(repeats):
                    started = time.perf_counter()
                    response = http.get("/api/v1/operations", params=params, headers=headers)
                    times.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise RuntimeError(
                            f"listing {params} answered {response.status_code}: {response.text}"
                        )
    return result
