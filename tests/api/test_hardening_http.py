"""What a person or a crash can do to the API on a real stack, and what stays true after it.

Idempotency keys bound to their first request; a retried create after its operation ended; no
worker polling; an API killed between the workflow's acceptance and its answer; refusals logged
by reason code, never by their text.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.principal import Role
from cdtrack.walkthrough import JUSTIFICATION, SAMPLE_AGENCIES, Cast, Walkthrough, sample_plan
from store.access_log import AccessEntry
from store.models import OperationRow, TimelineEventRow
from store.session import create_engine_for, session_factory
from tests.api.conftest import issue_token
from tests.api.live import (
    LiveStack,
    free_port,
    live_database_url,
    live_stack,
    serving,
    serving_process,
)
from tests.temporal_env import settings_for_tests
from tests.workflows.conftest import make_worker

__all__ = ["live_database_url", "live_stack"]


def _headers(token: str, *, key: str | None = None) -> dict[str, str]:
    sent = {"Authorization": f"Bearer {token}", "X-Justification": JUSTIFICATION}
    if key:
        sent["Idempotency-Key"] = key
    return sent


def _plan(code_name: str, **consignment: Any) -> dict[str, Any]:
    plan = sample_plan(coordinator_agency="caricc", now=datetime.now(UTC), code_name=code_name)
    plan["consignment"].update(consignment)
    return plan


async def test_a_key_is_bound_to_the_request_that_first_used_it(live_stack: LiveStack) -> None:
    await asyncio.to_thread(_key_bound_to_its_request, live_stack)


def _key_bound_to_its_request(stack: LiveStack) -> None:
    coordinator, kz = stack.cast.coordinator, stack.cast.officers["kz-police"]
    with httpx.Client(base_url=stack.base_url, timeout=60) as http:
        plan = _plan("PLOVER")
        first = http.post("/api/v1/operations", json=plan, headers=_headers(coordinator, key="p-1"))
        assert first.status_code == 201, first.text
        operation_id = first.json()["operation_id"]

        # The same key with the same plan: the first answer again, nothing new.
        again = http.post("/api/v1/operations", json=plan, headers=_headers(coordinator, key="p-1"))
        assert (again.status_code, again.json()) == (201, first.json())

        # The same key with another consignment: refused, saying so, and nothing is created.
        other = http.post(
            "/api/v1/operations",
            json={**plan, "consignment": {**plan["consignment"], "packaging": "cardboard"}},
            headers=_headers(coordinator, key="p-1"),
        )
        assert other.status_code == 422, other.text
        assert "Idempotency-Key" in other.json()["detail"]
        assert "different request" in other.json()["detail"]
        listed = http.get("/api/v1/operations", headers=_headers(coordinator)).json()
        assert [item["id"] for item in listed["items"]] == [operation_id]

        # An action's key: the same action again answers the same; another action is refused.
        path = f"/api/v1/operations/{operation_id}"
        confirm = http.post(f"{path}/confirm-participation", json={}, headers=_headers(kz, key="k"))
        repeat = http.post(f"{path}/confirm-participation", json={}, headers=_headers(kz, key="k"))
        assert confirm.status_code == repeat.status_code == 200
        assert confirm.json() == repeat.json()
        offer = http.post(f"{path}/offer-handover", json={"leg": 2}, headers=_headers(kz, key="k"))
        assert offer.status_code == 422, offer.text
        assert "Idempotency-Key" in offer.json()["detail"]
        events = http.get(f"{path}/timeline", headers=_headers(kz)).json()["events"]
        assert [e["kind"] for e in events] == ["operation.created", "participation.confirmed"]

        # A refusal is logged with its reason code and rule, never the lifecycle's own words.
        refused = http.post(f"{path}/acknowledge-handover", json={"leg": 1}, headers=_headers(kz))
        assert refused.status_code == 409
        reason = refused.json()["detail"]
        # So is an action that is not the caller's role to take.
        not_theirs = http.post("/api/v1/operations", json=plan, headers=_headers(kz))
        assert not_theirs.status_code == 403
    with stack.sessions() as session:
        by_role = session.scalars(
            select(AccessEntry).where(
                AccessEntry.action == "operation.create", AccessEntry.outcome == "refused"
            )
        ).one()
        assert (by_role.agency, by_role.reason_code, by_role.rule) == (
            "kz-police",
            "role",
            "create_operation",
        )
        entry = session.scalars(
            select(AccessEntry).where(
                AccessEntry.operation_id == operation_id,
                AccessEntry.action == "operation.action.acknowledge_handover",
            )
        ).one()
    assert (entry.outcome, entry.reason_code, entry.rule) == (
        "refused",
        "lifecycle_refused",
        "acknowledge_handover",
    )
    assert reason not in repr(
        [getattr(entry, column.key) for column in AccessEntry.__table__.columns]
    )


async def test_a_create_retried_after_its_operation_ended_answers_with_it(
    live_stack: LiveStack,
) -> None:
    await asyncio.to_thread(_retried_after_the_end, live_stack)


def _retried_after_the_end(stack: LiveStack) -> None:
    coordinator = stack.cast.coordinator
    with httpx.Client(base_url=stack.base_url, timeout=60) as http:
        plan = _plan("TEAL")
        created = http.post("/api/v1/operations", json=plan, headers=_headers(coordinator, key="t"))
        assert created.status_code == 201, created.text
        operation_id = created.json()["operation_id"]
        aborted = http.post(
            f"/api/v1/operations/{operation_id}/abort-operation",
            json={"reason": "Courier arrested on an unrelated charge"},
            headers=_headers(coordinator),
        )
        assert aborted.status_code == 200, aborted.text
        deadline = time.monotonic() + 30
        while True:
            listed = http.get("/api/v1/operations", headers=_headers(coordinator)).json()
            if listed["items"][0]["ended_at"] is not None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        retried = http.post("/api/v1/operations", json=plan, headers=_headers(coordinator, key="t"))
    assert retried.status_code == 201, retried.text
    assert retried.json() == {"operation_id": operation_id, "code_name": "TEAL", "phase": "aborted"}


async def test_with_no_worker_polling_actions_answer_503_at_once_and_health_says_degraded(
    dev_server_env: WorkflowEnvironment, postgres_url: str, tmp_path: Path
) -> None:
    settings = settings_for_tests(
        database_url=postgres_url,
        data_dir=tmp_path,
        temporal_address=dev_server_env.client.service_client.config.target_host,
        task_queue=f"nobody-polls-{uuid.uuid4().hex}",
        api_port=free_port(),
    )
    engine = create_engine_for(postgres_url)
    coordinator = _coordinator_and_agencies(session_factory(engine))
    engine.dispose()

    def ask() -> tuple[httpx.Response, float, httpx.Response]:
        with serving(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as http:
            started = time.monotonic()
            create = http.post(
                "/api/v1/operations", json=_plan("GANNET"), headers=_headers(coordinator)
            )
            took = time.monotonic() - started
            return create, took, http.get("/health")

    create, took, health = await asyncio.to_thread(ask)
    assert create.status_code == 503, create.text
    assert int(create.headers["Retry-After"]) > 0
    assert "No worker is running operations now; nothing was changed" in create.json()["detail"]
    assert took < 3
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["checks"]["workers"] == "down"


async def test_with_the_worker_gone_reads_answer_and_actions_are_a_503_within_seconds(
    dev_server_env: WorkflowEnvironment,
    postgres_url: str,
    tmp_path: Path,
    activity_executor: ThreadPoolExecutor,
) -> None:
    task_queue = f"worker-gone-{uuid.uuid4().hex}"
    settings = settings_for_tests(
        database_url=postgres_url,
        data_dir=tmp_path,
        temporal_address=dev_server_env.client.service_client.config.target_host,
        task_queue=task_queue,
        api_port=free_port(),
        temporal_answer_seconds=2,
    )
    engine = create_engine_for(postgres_url)
    sessions: sessionmaker[Session] = session_factory(engine)
    cast = _cast(sessions)
    coordinator = cast.coordinator
    try:
        with serving(settings) as base_url:
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
                async with make_worker(dev_server_env, sessions, activity_executor, task_queue):
                    created = await _created_when_polled(http, coordinator)
                    closed = await asyncio.to_thread(_walked_to_closed, base_url, cast)
                # The worker has stopped; Temporal still lists its last poll for a while.
                reads = {
                    operation_id: await http.get(
                        f"/api/v1/operations/{operation_id}", headers=_headers(coordinator)
                    )
                    for operation_id in (created, closed)
                }
                started = time.monotonic()
                confirm = await http.post(
                    f"/api/v1/operations/{created}/confirm-participation",
                    json={},
                    headers=_headers(cast.officers["kz-police"]),
                )
                took = time.monotonic() - started
                # A row as migration 0012 leaves it: only the (absent) worker could answer.
                with sessions.begin() as session:
                    session.execute(
                        update(OperationRow).where(OperationRow.id == created).values(snapshot=None)
                    )
                started = time.monotonic()
                unstored = await http.get(
                    f"/api/v1/operations/{created}", headers=_headers(coordinator)
                )
                unstored_took = time.monotonic() - started
        with sessions() as session:
            logged = session.execute(
                select(AccessEntry.operation_id, AccessEntry.outcome, AccessEntry.justification)
                .where(AccessEntry.action == "operation.read")
                .order_by(AccessEntry.id)
            ).all()
    finally:
        engine.dispose()
    # Reads need no worker: the live and the closed operation, from the read model.
    assert reads[created].status_code == 200, reads[created].text
    assert reads[created].json()["state"]["phase"] == "planning"
    assert "no authorisation recorded for AF" in reads[created].json()["launch_blockers"]
    assert reads[closed].status_code == 200, reads[closed].text
    assert reads[closed].json()["state"]["phase"] == "closed"
    assert [s["quantity"] for s in reads[closed].json()["state"]["seizures"]] == [12.5]
    # An action does: it waits for the workflow no longer than the answer timeout.
    assert confirm.status_code == 503, confirm.text
    assert "did not answer within 2 s" in confirm.json()["detail"]
    assert confirm.headers["Retry-After"]
    assert took < 5
    assert unstored.status_code == 503, unstored.text
    assert "did not answer within 2 s" in unstored.json()["detail"]
    assert unstored_took < 5
    # Each answered read is logged once, as before; the unanswered one is not.
    assert [tuple(entry) for entry in logged[-2:]] == [
        (created, "allowed", JUSTIFICATION),
        (closed, "allowed", JUSTIFICATION),
    ]


def _walked_to_closed(base_url: str, cast: Cast) -> str:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        return Walkthrough(http, cast).run(code_name="SHAG")


def _cast(sessions: sessionmaker[Session]) -> Cast:
    """The centre's coordinator and an officer of each agency of the sample plan."""
    officers = {
        agency["id"]: issue_token(
            sessions,
            agency=agency["id"],
            role=Role.OFFICER,
            name=f"Duty officer {agency['id']}",
            country=agency["country"],
        )
        for agency in SAMPLE_AGENCIES
    }
    coordinator = issue_token(sessions, agency="caricc", role=Role.COORDINATOR, name="Liaison")
    return Cast(coordinator, officers)


def _coordinator_and_agencies(sessions: sessionmaker[Session]) -> str:
    """The centre's coordinator's token, with the sample plan's agencies registered."""
    for agency in SAMPLE_AGENCIES:
        issue_token(
            sessions,
            agency=agency["id"],
            role=Role.OFFICER,
            name=f"Duty officer {agency['id']}",
            country=agency["country"],
        )
    return issue_token(sessions, agency="caricc", role=Role.COORDINATOR, name="Liaison")


async def _created_when_polled(http: httpx.AsyncClient, coordinator: str) -> str:
    for _ in range(50):
        created = await http.post(
            "/api/v1/operations", json=_plan("SKUA"), headers=_headers(coordinator, key="s")
        )
        if created.status_code != 503:
            break
        await asyncio.sleep(0.2)
    assert created.status_code == 201, created.text
    operation_id: str = created.json()["operation_id"]
    return operation_id


@pytest.mark.parametrize("live_database_url", ["sqlite", "postgres"], indirect=True)
async def test_an_api_killed_after_the_workflow_accepted_leaves_the_action_and_its_entry(
    live_stack: LiveStack,
) -> None:
    coordinator, kz = live_stack.cast.coordinator, live_stack.cast.officers["kz-police"]
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        created = await asyncio.to_thread(
            http.post, "/api/v1/operations", json=_plan("EIDER"), headers=_headers(coordinator)
        )
    operation_id = created.json()["operation_id"]
    dying = live_stack.settings.model_copy(update={"api_port": free_port()})
    command = [sys.executable, "-m", "tests.api.dying_api"]
    async with (
        serving_process(dying, command=command) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        with pytest.raises(httpx.HTTPError):
            # The API dies before it answers: the connection drops.
            await http.post(
                f"/api/v1/operations/{operation_id}/confirm-participation",
                json={},
                headers={
                    "Authorization": f"Bearer {kz}",
                    "X-Justification": "Confirming for the duty officer on leave",
                },
            )
    with live_stack.sessions() as session:
        kinds = list(
            session.scalars(
                select(TimelineEventRow.kind)
                .where(TimelineEventRow.operation_id == operation_id)
                .order_by(TimelineEventRow.seq)
            )
        )
        entries = session.scalars(
            select(AccessEntry).where(
                AccessEntry.operation_id == operation_id,
                AccessEntry.action == "operation.action.confirm_participation",
            )
        ).all()
    assert kinds == ["operation.created", "participation.confirmed"]
    assert [(e.outcome, e.agency, e.justification) for e in entries] == [
        ("allowed", "kz-police", "Confirming for the duty officer on leave")
    ]
    assert entries[0].user_name == "Duty officer kz-police"
