"""Every route of the OpenAPI schema, with every role, a participant and a non-participant agency.

The matrix names each route's rule; a route the matrix does not name fails the test, so a new
route cannot ship without a decision about who may use it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import httpx

from api.principal import Role
from api.schemas.operations import ACTIONS
from cdtrack.walkthrough import JUSTIFICATION, sample_plan
from tests.api.live import LiveStack, live_database_url, live_stack

__all__ = ["live_database_url", "live_stack"]

PERSONAS = (
    "anonymous",
    "admin",
    "coordinator",
    "other_coordinator",
    "participant",
    "outsider",
    "analyst",
)


class Rule(Enum):
    PUBLIC = "anyone, even without a token"
    AUTHENTICATED = "any authenticated user"
    ADMIN = "administrators only"
    CREATE = "coordinators create operations"
    LIST = "everyone lists, each sees only what they may"
    READ = "who may see the operation reads it; others get 404"
    DERIVED = "who may see the operation reads it once written (else 404); others get 404"
    ACT = "who may see the operation acts, within the lifecycle and their role; others get 404"
    OWN_AGENCY = "administrators and the agency's own people"


OPERATION = "/api/v1/operations/{operation_id}"
MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): Rule.PUBLIC,
    ("GET", "/api/v1/me"): Rule.AUTHENTICATED,
    ("GET", "/api/v1/agencies"): Rule.AUTHENTICATED,
    ("GET", "/api/v1/agencies/{agency_id}"): Rule.AUTHENTICATED,
    ("POST", "/api/v1/agencies"): Rule.ADMIN,
    ("POST", "/api/v1/agencies/{agency_id}/targets"): Rule.ADMIN,
    ("GET", "/api/v1/agencies/{agency_id}/targets"): Rule.OWN_AGENCY,
    ("DELETE", "/api/v1/agencies/{agency_id}/targets/{target_id}"): Rule.ADMIN,
    ("GET", "/api/v1/users"): Rule.ADMIN,
    ("POST", "/api/v1/users"): Rule.ADMIN,
    ("GET", "/api/v1/users/{user_id}"): Rule.ADMIN,
    ("PATCH", "/api/v1/users/{user_id}"): Rule.ADMIN,
    ("GET", "/api/v1/users/{user_id}/tokens"): Rule.ADMIN,
    ("POST", "/api/v1/users/{user_id}/tokens"): Rule.ADMIN,
    ("POST", "/api/v1/tokens/{token_id}/revoke"): Rule.ADMIN,
    ("GET", "/api/v1/audit/entries"): Rule.ADMIN,
    ("GET", "/api/v1/audit/verify"): Rule.ADMIN,
    ("POST", "/api/v1/operations"): Rule.CREATE,
    ("GET", "/api/v1/operations"): Rule.LIST,
    ("GET", OPERATION): Rule.READ,
    ("GET", f"{OPERATION}/timeline"): Rule.READ,
    ("GET", f"{OPERATION}/deliveries"): Rule.READ,
    ("GET", f"{OPERATION}/assessment"): Rule.DERIVED,
    ("GET", f"{OPERATION}/report"): Rule.DERIVED,
    ("GET", "/api/v1/statistics"): Rule.AUTHENTICATED,
    ("GET", "/api/v1/statistics/summary"): Rule.AUTHENTICATED,
    **{("POST", f"{OPERATION}/{kind.replace('_', '-')}"): Rule.ACT for kind in ACTIONS},
}

SEES_THE_OPERATION = {"coordinator", "participant"}


def expected(rule: Rule, persona: str) -> set[int]:
    if persona == "anonymous":
        return {200, 503} if rule is Rule.PUBLIC else {401}
    if rule in (Rule.PUBLIC, Rule.AUTHENTICATED, Rule.LIST):
        return {200, 404, 503}
    if rule is Rule.OWN_AGENCY:
        # The routes are called for af-cnpa, the participant persona's agency.
        return {200} if persona in ("admin", "participant") else {403}
    if rule is Rule.ADMIN:
        return {200, 201, 204, 404, 409, 422} if persona == "admin" else {403}
    if rule is Rule.CREATE:
        # Another centre's coordinator may create operations, but only as their own centre.
        return {"coordinator": {201}, "other_coordinator": {422}}.get(persona, {403})
    if persona not in SEES_THE_OPERATION:
        return {404}
    if rule is Rule.DERIVED:
        return {200, 404}
    # Acting: within the lifecycle (else 409) and within their role (else 403 naming it).
    return {200} if rule is Rule.READ else {200, 403, 409}


def _example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    examples = schema.get("examples")
    return examples[0] if examples else {}


def _matrix_walk(live_stack: LiveStack) -> list[str]:
    tokens: dict[str, str | None] = {
        "anonymous": None,
        "admin": live_stack.token(agency="caricc", role=Role.ADMIN, name="Admin"),
        "coordinator": live_stack.cast.coordinator,
        "other_coordinator": live_stack.token(
            agency="other-centre", role=Role.COORDINATOR, name="Other centre"
        ),
        "participant": live_stack.cast.officers["af-cnpa"],
        "outsider": live_stack.token(
            agency="nl-police", role=Role.OFFICER, name="Outsider", country="NL"
        ),
        "analyst": live_stack.token(agency="caricc", role=Role.ANALYST, name="Analyst"),
    }
    failures: list[str] = []
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:

        def call(persona: str, method: str, url: str, body: Any = None) -> httpx.Response:
            sent = {"X-Justification": JUSTIFICATION}
            token = tokens[persona]
            if token:
                sent["Authorization"] = f"Bearer {token}"
            return http.request(method, url, json=body, headers=sent)

        schema = http.get("/openapi.json").json()
        components = schema.get("components", {}).get("schemas", {})
        routes = {
            (method.upper(), path): operation
            for path, methods in schema["paths"].items()
            for method, operation in methods.items()
        }
        missing = sorted(set(routes) - set(MATRIX))
        assert not missing, f"routes missing from the access matrix: {missing}"
        stale = sorted(set(MATRIX) - set(routes))
        assert not stale, f"the access matrix names routes that do not exist: {stale}"

        plan = sample_plan(coordinator_agency="caricc", now=datetime.now(UTC), code_name="MATRIX")
        created = call("coordinator", "POST", "/api/v1/operations", plan)
        assert created.status_code == 201, created.text
        values = {
            "operation_id": created.json()["operation_id"],
            "agency_id": "af-cnpa",
            "user_id": "no-such-user",
            "token_id": "no-such-token",
            "target_id": "no-such-target",
        }
        # Those who may not see the operation go first: their attempts must change nothing.
        for (method, path), operation in routes.items():
            rule = MATRIX[(method, path)]
            url = path.format(**values)
            body_schema = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            body = _example(body_schema, components) if body_schema else None
            if rule is Rule.CREATE:
                body = {**plan, "code_name": "MATRIXTWO"}
            for persona in sorted(PERSONAS, key=lambda p: p in SEES_THE_OPERATION):
                response = call(persona, method, url, body)
                if response.status_code not in expected(rule, persona):
                    failures.append(
                        f"{method} {path} as {persona}: {response.status_code} "
                        f"(expected {sorted(expected(rule, persona))}) {response.text[:200]}"
                    )
                if rule is Rule.LIST and persona not in SEES_THE_OPERATION | {"anonymous"}:
                    ids = [item["id"] for item in response.json()["items"]]
                    if values["operation_id"] in ids:
                        failures.append(f"{persona} sees the operation in the list")
    return failures


async def test_every_route_with_every_role_and_participation(live_stack: LiveStack) -> None:
    failures = await asyncio.to_thread(_matrix_walk, live_stack)
    assert not failures, "\n".join(failures)
