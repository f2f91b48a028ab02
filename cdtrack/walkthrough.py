"""A sample operation walked through the HTTP API, step by step, as its participants would.

`cdtrack demo` prints it; the end-to-end test runs the same steps and checks what they leave.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

JUSTIFICATION = "Demonstration of the operation lifecycle"


@dataclass(frozen=True)
class Cast:
    """Bearer tokens of the people in the sample operation, by agency."""

    coordinator: str
    officers: dict[str, str]  # agency id -> token


class WalkthroughError(RuntimeError):
    """A step was answered with something other than success; the message says which and why."""


SAMPLE_AGENCIES: list[dict[str, str]] = [
    {"id": "af-cnpa", "country": "AF", "kind": "police", "name": "Counter Narcotics Police"},
    {"id": "tj-dca", "country": "TJ", "kind": "drug_control", "name": "Drug Control Agency"},
    {"id": "kz-police", "country": "KZ", "kind": "police", "name": "Anti-drug police"},
]


def sample_plan(*, coordinator_agency: str, now: datetime, code_name: str) -> dict[str, Any]:
    departure = now + timedelta(days=1)

    def at(hours: int) -> str:
        return (departure + timedelta(hours=hours)).isoformat()

    return {
        "code_name": code_name,
        "coordinator_agency": coordinator_agency,
        "lead_agency": "af-cnpa",
        "consignment": {
            "substances": [{"name": "heroin", "quantity": 12.5, "unit": "kg"}],
            "packaging": "vacuum-sealed bricks",
            "concealment": "spare tyre",
            "delivery_type": "partially_substituted",
            "left_in": {"substance": "heroin", "quantity": 200, "unit": "g"},
            "mode": "road",
        },
        "legs": [
            {
                "from_country": "AF",
                "to_country": "TJ",
                "crossing_point": "Sherkhan Bandar - Nizhny Panj bridge",
                "planned_departure": at(0),
                "planned_arrival": at(8),
                "sending_agency": "af-cnpa",
                "receiving_agency": "tj-dca",
            },
            {
                "from_country": "TJ",
                "to_country": "KZ",
                "crossing_point": "Almaty region road checkpoint",
                "planned_departure": at(10),
                "planned_arrival": at(40),
                "sending_agency": "tj-dca",
                "receiving_agency": "kz-police",
            },
        ],
        "participants": [
            {"agency": "af-cnpa", "country": "AF", "role": "lead"},
            {"agency": "tj-dca", "country": "TJ", "role": "transit"},
            {"agency": "kz-police", "country": "KZ", "role": "destination"},
        ],
        "handling": {"code": "H2"},
    }


def sample_authorisation(
    country: str, *, now: datetime, valid_for: timedelta = timedelta(days=30)
) -> dict[str, Any]:
    """A country's authorisation of the sample operation, granted an hour before `now`."""
    return {
        "decision": "granted",
        "country": country,
        "authority": f"Prosecutor's office ({country})",
        "reference": f"CD-{country}-2026-01",
        "legal_basis": "Controlled delivery under national procedure law",
        "granted_at": (now - timedelta(hours=1)).isoformat(),
        "valid_until": (now + valid_for).isoformat(),
        "substitution_allowed": True,
    }


def enrol_cast(http: httpx.Client, *, admin_token: str, suffix: str) -> Cast:
    """Registers the sample agencies and one person each through the API; returns their tokens."""
    admin = {"Authorization": f"Bearer {admin_token}"}

    def post(path: str, body: dict[str, Any], *, tolerate_existing: bool = False) -> Any:
        response = http.post(f"/api/v1{path}", json=body, headers=admin)
        if tolerate_existing and response.status_code == 409:
            return None
        if response.status_code >= 400:
            raise WalkthroughError(f"POST {path} answered {response.status_code}: {response.text}")
        return response.json()

    for agency in SAMPLE_AGENCIES:
        post("/agencies", dict(agency), tolerate_existing=True)
    me = http.get("/api/v1/me", headers=admin).json()
    people = [("coordinator", me["agency"], "coordinator")]
    people += [(agency["id"], agency["id"], "officer") for agency in SAMPLE_AGENCIES]
    tokens: dict[str, str] = {}
    for key, agency_id, role in people:
        user_id = f"demo-{key}-{suffix}"
        post(
            "/users",
            {
                "id": user_id,
                "name": f"Demo {role} ({agency_id})",
                "role": role,
                "agency_id": agency_id,
            },
        )
        tokens[key] = post(f"/users/{user_id}/tokens", {"label": "cdtrack demo"})["token"]
    coordinator = tokens.pop("coordinator")
    return Cast(coordinator=coordinator, officers=tokens)


def console_hint(base_url: str, *, operation_id: str, coordinator_id: str) -> list[str]:
    """What `cdtrack demo` ends with: where the console shows the operation, and how to sign in."""
    return [
        f"See it in the console: {base_url}/o/{operation_id}/report",
        f"Sign in as its coordinator ({coordinator_id}): first give them a password with",
        f"  .venv/bin/cdtrack user set-password {coordinator_id}",
        f"then open {base_url}/ , sign in with that user id and password, and scan the QR code",
        "shown into an authenticator app (the second factor); give any reason when asked why.",
    ]


class Walkthrough:
    def __init__(
        self, http: httpx.Client, cast: Cast, *, say: Callable[[str], None] = lambda _: None
    ) -> None:
        self.http = http
        self.cast = cast
        self.say = say

    def _call(self, token: str, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(
            method,
            f"/api/v1{path}",
            json=body,
            headers={
                "Authorization": f"Bearer {token}",
                "X-Justification": JUSTIFICATION,
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
        if response.status_code >= 400:
            raise WalkthroughError(
                f"{method} {path} answered {response.status_code}: {response.text}"
            )
        return response.json()

    def step(self, agency: str | None, action: str, operation_id: str, body: Any = None) -> Any:
        token = self.cast.officers[agency] if agency else self.cast.coordinator
        result = self._call(token, "POST", f"/operations/{operation_id}/{action}", body or {})
        self.say(f"  {result['event']['seq']:>3}  {result['event']['summary']}")
        return result

    def run(self, *, code_name: str = "NIGHTJAR", handling: str = "H2") -> str:
        """Creates and closes one operation; returns its id."""
        operation_id = self.run_to_debrief(code_name=code_name, handling=handling)
        for agency in ("af-cnpa", "tj-dca", "kz-police"):
            self.step(
                agency,
                "submit-debrief",
                operation_id,
                {"lessons": ["Share the courier's ETA with the next agency an hour ahead"]},
            )
        self.step(None, "close-debrief", operation_id)
        state = self._call(self.cast.coordinator, "GET", f"/operations/{operation_id}")
        self.say(f"Operation {code_name} is {state['state']['phase']}")
        return operation_id

    def run_to_debrief(self, *, code_name: str = "NIGHTJAR", handling: str = "H2") -> str:
        """Creates one operation and walks it to its debrief; returns its id."""
        now = datetime.now(UTC)
        me = self._call(self.cast.coordinator, "GET", "/me")
        plan = sample_plan(coordinator_agency=me["agency"], now=now, code_name=code_name)
        plan["handling"] = {"code": handling}
        created = self._call(self.cast.coordinator, "POST", "/operations", plan)
        operation_id: str = created["operation_id"]
        self.say(f"Operation {code_name} created: {operation_id}")
        for agency in ("af-cnpa", "tj-dca", "kz-police"):
            country = agency[:2].upper()
            self.step(
                agency,
                "record-authorisation",
                operation_id,
                {"authorisation": sample_authorisation(country, now=now)},
            )
            self.step(agency, "confirm-participation", operation_id)
        self.step(None, "launch-operation", operation_id)
        observed = datetime.now(UTC).isoformat()
        checkpoint = {"place": "Kunduz", "country": "AF", "observed_at": observed}
        self.step("af-cnpa", "report-checkpoint", operation_id, checkpoint)
        self.step("af-cnpa", "offer-handover", operation_id, {"leg": 1})
        self.step("tj-dca", "acknowledge-handover", operation_id, {"leg": 1})
        checkpoint = {"place": "Dushanbe", "country": "TJ", "observed_at": observed}
        self.step("tj-dca", "report-checkpoint", operation_id, checkpoint)
        self.step("tj-dca", "offer-handover", operation_id, {"leg": 2})
        self.step("kz-police", "acknowledge-handover", operation_id, {"leg": 2})
        self.step(
            None,
            "order-interdiction",
            operation_id,
            {"interdiction": "planned", "place": "Almaty warehouse", "country": "KZ"},
        )
        self.step(
            "kz-police",
            "record-seizure",
            operation_id,
            {"substance": "heroin", "quantity": 12.5, "place": "Almaty", "country": "KZ"},
        )
        self.step(
            "kz-police",
            "record-arrest",
            operation_id,
            {"count": 2, "nationality": "TJ", "role": "recipient", "country": "KZ"},
        )
        self.step(None, "conclude-interdiction", operation_id)
        return operation_id
