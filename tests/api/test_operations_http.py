"""Operations over real HTTP, on PostgreSQL and the Temporal dev server: what users see and do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment

from api.principal import Role
from cdtrack.walkthrough import JUSTIFICATION, Cast, Walkthrough, sample_plan
from store.models import OperationRow
from tests.api.live import LiveStack, live_database_url, live_stack
from workflows.starter import operation_handle, read_state
from workflows.state import OperationState

__all__ = ["live_database_url", "live_stack"]


def headers(token: str, *, key: str | None = None, justify: bool = True) -> dict[str, str]:
    sent = {"Authorization": f"Bearer {token}"}
    if justify:
        sent["X-Justification"] = JUSTIFICATION
    if key:
        sent["Idempotency-Key"] = key
    return sent


async def test_three_countries_walk_an_operation_to_closed_over_http(live_stack: LiveStack) -> None:
    said = await asyncio.to_thread(_walk_to_closed, live_stack)
    assert said[-1].endswith("is closed")


@pytest.mark.parametrize("live_database_url", ["sqlite"], indirect=True)
async def test_the_same_walk_on_the_embedded_sqlite_read_model(live_stack: LiveStack) -> None:
    # SQLite has one writer: a request that held its transaction across a workflow Update would
    # wait for the workflow's own projection forever.
    said = await asyncio.to_thread(_walk_to_closed, live_stack)
    assert said[-1].endswith("is closed")


@pytest.mark.parametrize("live_database_url", ["sqlite"], indirect=True)
async def test_operations_walked_side_by_side_on_sqlite(live_stack: LiveStack) -> None:
    # Requests interleave on the API's event loop: none may keep the database's write lock past
    # its own route, or another request's access-log append would block the loop waiting for it
    # ("database is locked" after the busy timeout).
    def walk(code_name: str) -> str:
        said: list[str] = []
        with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
            Walkthrough(http, live_stack.cast, say=said.append).run(code_name=code_name)
        return said[-1]

    names = ["OSPREY", "MERLIN", "HOBBY"]
    last_lines = await asyncio.gather(*(asyncio.to_thread(walk, name) for name in names))
    assert last_lines == [f"Operation {name} is closed" for name in names]


def _walk_to_closed(live_stack: LiveStack) -> list[str]:
    said: list[str] = []
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        walk = Walkthrough(http, live_stack.cast, say=said.append)
        operation_id = walk.run()

        coordinator = headers(live_stack.cast.coordinator)
        state = http.get(f"/api/v1/operations/{operation_id}", headers=coordinator).json()
        assert state["state"]["phase"] == "closed"
        assert state["state"]["custodian"] == "kz-police"
        assert [s["quantity"] for s in state["state"]["seizures"]] == [12.5]

        events = http.get(
            f"/api/v1/operations/{operation_id}/timeline", headers=coordinator
        ).json()["events"]
        kinds = [event["kind"] for event in events]
        assert kinds[0] == "operation.created"
        assert kinds.count("handover.acknowledged") == 2
        assert kinds.count("debrief.input_submitted") == 3
        # The closing outcome assessment may already follow the close.
        closed = kinds.index("debrief.closed")
        assert kinds[closed + 1 :] in ([], ["debrief.assessed"])
        assert [event["seq"] for event in events] == list(range(1, len(events) + 1))

        listed = http.get("/api/v1/operations", headers=coordinator).json()
        assert [item["id"] for item in listed["items"]] == [operation_id]
        assert listed["items"][0]["phase"] == "closed"
    return said


def _created(live_stack: LiveStack, http: httpx.Client) -> str:
    plan = sample_plan(coordinator_agency="caricc", now=datetime.now(UTC), code_name="KESTREL")
    response = http.post(
        "/api/v1/operations", json=plan, headers=headers(live_stack.cast.coordinator)
    )
    assert response.status_code == 201, response.text
    operation_id: str = response.json()["operation_id"]
    return operation_id


async def test_need_to_know_wrong_state_bad_input_and_retries(live_stack: LiveStack) -> None:
    # Blocking HTTP runs off the event loop, where the worker needs to keep working.
    await asyncio.to_thread(_need_to_know_wrong_state_bad_input_and_retries, live_stack)


def _need_to_know_wrong_state_bad_input_and_retries(live_stack: LiveStack) -> None:
    outsider = live_stack.token(
        agency="nl-police", role=Role.OFFICER, name="Dutch officer", country="NL"
    )
    kz = live_stack.cast.officers["kz-police"]
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        operation_id = _created(live_stack, http)
        path = f"/api/v1/operations/{operation_id}"

        # Created, then read at once by the same client: it is there.
        assert http.get(path, headers=headers(kz)).status_code == 200
        assert operation_id in [
            item["id"]
            for item in http.get("/api/v1/operations", headers=headers(kz)).json()["items"]
        ]

        # A non-participant learns nothing, not even that the operation exists.
        for url in (path, f"{path}/timeline"):
            response = http.get(url, headers=headers(outsider))
            assert response.status_code == 404
            assert response.headers["content-type"].startswith("application/problem+json")
        unknown = http.get("/api/v1/operations/no-such-operation", headers=headers(outsider))
        assert (
            unknown.json()["detail"] == http.get(path, headers=headers(outsider)).json()["detail"]
        )
        ack = http.post(f"{path}/acknowledge-handover", json={"leg": 1}, headers=headers(outsider))
        assert ack.status_code == 404
        assert http.get("/api/v1/operations", headers=headers(outsider)).json()["items"] == []

        # Reads of operational data need a justification.
        unjustified = http.get(path, headers=headers(kz, justify=False))
        assert unjustified.status_code == 428
        assert "X-Justification" in unjustified.json()["detail"]
        curt = http.get(path, headers={**headers(kz, justify=False), "X-Justification": "why"})
        assert curt.status_code == 422, "given but too short: bad input, as on an action"
        assert curt.json()["errors"][0]["field"] == "header.X-Justification"

        # A wrong-state action is refused with the lifecycle's reason, and changes nothing: the
        # problem as before (its English detail), and the reason's template for a client that
        # translates it.
        refused = http.post(f"{path}/acknowledge-handover", json={"leg": 1}, headers=headers(kz))
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert {k: problem[k] for k in ("type", "title", "status", "detail")} == {
            "type": "about:blank",
            "title": "Conflict",
            "status": 409,
            "detail": "cannot acknowledge handover while the operation is planning; "
            "allowed only while execution or suspended",
        }
        assert problem["reason"] == {
            "template": "the operation is %(phase)s; this is allowed only while it is %(phases)s",
            "parameters": {"phase": "planning", "phases": ["execution", "suspended"]},
        }

        # Invalid input names the field.
        bad = http.post(f"{path}/offer-handover", json={"leg": 0}, headers=headers(kz))
        assert bad.status_code == 422
        assert any("leg" in error["field"] for error in bad.json()["errors"])

        # A retried request with the same Idempotency-Key is applied once and answers the same.
        confirm = f"{path}/confirm-participation"
        first = http.post(confirm, json={}, headers=headers(kz, key="confirm-kz-1"))
        again = http.post(confirm, json={}, headers=headers(kz, key="confirm-kz-1"))
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        events: list[dict[str, Any]] = http.get(f"{path}/timeline", headers=headers(kz)).json()[
            "events"
        ]
        assert [e["kind"] for e in events].count("participation.confirmed") == 1

        # The coordinator removes an agency: it loses sight of the operation at once.
        removal = http.post(
            f"{path}/remove-participant",
            json={"agency": "kz-police", "reason": "no longer needed"},
            headers=headers(live_stack.cast.coordinator),
        )
        assert removal.status_code == 409, "an agency on the route stays"

        # The launch gate names what is missing.
        launch = http.post(
            f"{path}/launch-operation", json={}, headers=headers(live_stack.cast.coordinator)
        )
        assert launch.status_code == 409
        assert "no authorisation recorded for AF" in launch.json()["detail"]
        state = http.get(path, headers=headers(live_stack.cast.coordinator)).json()
        assert "no authorisation recorded for AF" in state["launch_blockers"]

        past = sample_plan(
            coordinator_agency="caricc",
            now=datetime.now(UTC) - timedelta(days=5),
            code_name="OSPREY",
        )
        rejected = http.post(
            "/api/v1/operations", json=past, headers=headers(live_stack.cast.coordinator)
        )
        assert rejected.status_code == 422
        assert "is in the past" in rejected.json()["detail"]
        fields = [e["field"] for e in rejected.json()["errors"]]
        assert fields == ["body.legs[0].planned_departure", "body.legs[1].planned_departure"]


def _acknowledged_twice(live_stack: LiveStack) -> httpx.Response:
    cast = live_stack.cast
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        walk = Walkthrough(http, cast)
        operation_id = _created(live_stack, http)
        now = datetime.now(UTC)
        for agency in ("af-cnpa", "tj-dca", "kz-police"):
            country = agency[:2].upper()
            authorisation = {
                "decision": "granted",
                "country": country,
                "authority": f"Prosecutor's office ({country})",
                "reference": f"CD-{country}-2026-02",
                "legal_basis": "Controlled delivery under national procedure law",
                "granted_at": (now - timedelta(hours=1)).isoformat(),
                "valid_until": (now + timedelta(days=30)).isoformat(),
                "substitution_allowed": True,
            }
            walk.step(
                agency, "record-authorisation", operation_id, {"authorisation": authorisation}
            )
            walk.step(agency, "confirm-participation", operation_id)
        walk.step(None, "launch-operation", operation_id)
        walk.step("af-cnpa", "offer-handover", operation_id, {"leg": 1})
        walk.step("tj-dca", "acknowledge-handover", operation_id, {"leg": 1})
        return http.post(
            f"/api/v1/operations/{operation_id}/acknowledge-handover",
            json={"leg": 1},
            headers=headers(cast.officers["tj-dca"]),
        )


async def test_a_second_acknowledgement_says_it_was_already_acknowledged(
    live_stack: LiveStack,
) -> None:
    again = await asyncio.to_thread(_acknowledged_twice, live_stack)
    assert again.status_code == 409, again.text
    detail = again.json()["detail"]
    assert "the handover of leg 1 was already acknowledged by tj-dca (" in detail
    assert detail.endswith(" UTC")


Query = Callable[[str], OperationState]


class _ReadingWalkthrough(Walkthrough):
    """The sample walkthrough; after each action is answered, the client that sent it reads the
    operation, and the test asks the workflow what it holds then."""

    def __init__(self, http: httpx.Client, cast: Cast, *, query: Query) -> None:
        super().__init__(http, cast)
        self.query = query
        self.reads: list[tuple[str, Any, Any, OperationState]] = []

    def step(self, agency: str | None, action: str, operation_id: str, body: Any = None) -> Any:
        answered = super().step(agency, action, operation_id, body)
        token = self.cast.officers[agency] if agency else self.cast.coordinator
        read = self._call(token, "GET", f"/operations/{operation_id}")
        self.reads.append((action, answered, read, self.query(operation_id)))
        return answered


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two JSON documents differ, by path, with both values: a readable failure."""
    if isinstance(left, dict) and isinstance(right, dict):
        return [
            found
            for key in sorted(left.keys() | right.keys())
            for found in differences(left.get(key), right.get(key), f"{path}/{key}")
        ]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            found
            for index, (one, other) in enumerate(zip(left, right, strict=True))
            for found in differences(one, other, f"{path}/{index}")
        ]
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


def _without_timeline(state: OperationState) -> OperationState:
    return state.model_copy(update={"timeline": [], "applied": {}})


@pytest.mark.parametrize("live_database_url", ["sqlite", "postgres"], indirect=True)
async def test_every_answered_action_is_in_the_same_clients_next_read(
    live_stack: LiveStack, dev_server_env: WorkflowEnvironment
) -> None:
    loop = asyncio.get_running_loop()
    client = dev_server_env.client

    def query(operation_id: str) -> OperationState:
        asked = read_state(client, operation_id=operation_id)
        return asyncio.run_coroutine_threadsafe(asked, loop).result(timeout=60)

    def walk() -> tuple[str, list[tuple[str, Any, Any, OperationState]]]:
        with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
            walkthrough = _ReadingWalkthrough(http, live_stack.cast, query=query)
            return walkthrough.run(code_name="PIPIT"), walkthrough.reads

    operation_id, reads = await asyncio.to_thread(walk)
    assert len(reads) == 21
    for action, answered, read, queried in reads:
        state = read["state"]
        assert (state["phase"], state["custodian"]) == (answered["phase"], answered["custodian"])
        if action != "close-debrief":  # the closing assessment may land after the answer
            # What the workflow holds, but its timeline and request ids.
            assert OperationState.model_validate(state) == _without_timeline(queried), action
    assert reads[-1][2]["state"]["phase"] == "closed"

    # Once the workflow has ended: read from the read model, then, without the state on the
    # row (as migration 0012 leaves rows), from the workflow, replayed. The same answer.
    await operation_handle(client, operation_id).result()
    path = f"/api/v1/operations/{operation_id}"
    coordinator = headers(live_stack.cast.coordinator)
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        stored = await asyncio.to_thread(http.get, path, headers=coordinator)
        with live_stack.sessions.begin() as session:
            session.execute(
                update(OperationRow).where(OperationRow.id == operation_id).values(snapshot=None)
            )
        replayed = await asyncio.to_thread(http.get, path, headers=coordinator)
    assert stored.status_code == replayed.status_code == 200, (stored.text, replayed.text)
    assert stored.json() == replayed.json(), differences(stored.json(), replayed.json())
    assert stored.json()["state"]["debrief"]["assessments"], "the closing assessment is there"
