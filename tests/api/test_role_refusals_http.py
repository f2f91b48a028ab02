"""An action that is another role's to take answers 403 naming that role; wrong state, 409."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from api.principal import Role
from cdtrack.walkthrough import JUSTIFICATION, sample_plan
from store.access_log import AccessEntry
from tests.api.live import LiveStack, live_database_url, live_stack

__all__ = ["live_database_url", "live_stack"]


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Justification": JUSTIFICATION}


def kinds(http: httpx.Client, path: str, token: str) -> list[str]:
    events: list[dict[str, Any]] = http.get(f"{path}/timeline", headers=headers(token)).json()[
        "events"
    ]
    return [event["kind"] for event in events]


async def test_another_roles_action_is_forbidden_naming_the_role(live_stack: LiveStack) -> None:
    await asyncio.to_thread(_another_roles_action, live_stack)


def _another_roles_action(live_stack: LiveStack) -> None:
    coordinator = live_stack.cast.coordinator
    kz = live_stack.cast.officers["kz-police"]
    outsider = live_stack.token(
        agency="nl-police", role=Role.OFFICER, name="Dutch officer", country="NL"
    )
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        plan = sample_plan(coordinator_agency="caricc", now=datetime.now(UTC), code_name="SHRIKE")
        created = http.post("/api/v1/operations", json=plan, headers=headers(coordinator))
        assert created.status_code == 201, created.text
        operation_id = created.json()["operation_id"]
        path = f"/api/v1/operations/{operation_id}"
        before = kinds(http, path, coordinator)

        # An officer of a participating agency asks for the coordinator's launch.
        launch = http.post(f"{path}/launch-operation", json={}, headers=headers(kz))
        assert launch.status_code == 403, launch.text
        problem = launch.json()
        assert problem["required_role"] == "coordinator"
        assert (
            problem["detail"]
            == "cannot launch operation: only the coordinator (caricc) may do this"
        )
        assert problem["reason"] == {
            "template": "only the coordinator (%(coordinator)s) may do this",
            "parameters": {"coordinator": "caricc"},
        }

        # The coordinator asks for what only a participating agency's officer does.
        confirm = http.post(f"{path}/confirm-participation", json={}, headers=headers(coordinator))
        assert confirm.status_code == 403, confirm.text
        assert confirm.json()["required_role"] == "officer of a participating agency"

        # Someone who may not see the operation still learns nothing of it.
        unseen = http.post(f"{path}/launch-operation", json={}, headers=headers(outsider))
        assert unseen.status_code == 404

        # The coordinator's own launch, refused by the legal gate, is a wrong state: 409.
        gate = http.post(f"{path}/launch-operation", json={}, headers=headers(coordinator))
        assert gate.status_code == 409, gate.text
        assert "required_role" not in gate.json()
        assert gate.json()["detail"].startswith(
            "cannot launch operation: the operation cannot be launched: no authorisation recorded"
        )
        blockers = gate.json()["reason"]["parameters"]["blockers"]
        assert blockers[0] == {
            "template": "no authorisation recorded for %(country)s",
            "parameters": {"country": "AF"},
        }

        # Nothing refused changed anything.
        assert kinds(http, path, coordinator) == before
    with live_stack.sessions() as session:
        refused = session.scalars(
            select(AccessEntry).where(
                AccessEntry.operation_id == operation_id,
                AccessEntry.action == "operation.action.launch_operation",
                AccessEntry.agency == "kz-police",
            )
        ).one()
    assert (refused.outcome, refused.reason_code, refused.rule) == (
        "refused",
        "role_refused",
        "launch_operation",
    )
