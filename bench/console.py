"""The web console over HTTP, signed in as a person would be: operation page, inbox, live delay.

People are written through the store (a user, a password, a TOTP secret being enrolled) and sign
in over HTTP with the password and a pyotp code, as in a browser; the cookie jar keeps the
session. Each operation is opened once with a justification, through the form.

- Operation page: a closed operation of thousands of timeline events, written to the read model
  by the projection (`store.timeline.project_operation`) and its workflow started from that state
  (the checkpoint reports compacted, as continue-as-new carries them), as a real one would be.
  The page reads its live state from the read model (`api.live_state`); the workflow is not asked.
  `GET /o/{id}` as its coordinator, one request after another.
- Inbox: operations in planning seeded by the projection, each with one agency taking part (an
  agency of its own, so no other bench row's operations count); `GET /` as an officer of it.
- Live delay: launched operations started as workflows (`bench.scale.launched_state`), the
  coordinator's browser connected to `/o/{id}/events`; each handover is offered through the API,
  then the acknowledgement sent through the API and timed until the `changed` event naming its
  seq reaches the stream.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import httpx
import pyotp
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.principal import Role
from bench.cpu import cpu_split
from bench.report import long_operation
from bench.scale import launched_state
from cdtrack.settings import Settings
from cdtrack.walkthrough import JUSTIFICATION, Cast, sample_plan
from store import console, identity
from store.inbox import inbox
from store.timeline import project_operation
from workflows.commands import Actor, ActorRole
from workflows.messages import RunOperationInput
from workflows.operation import ControlledDeliveryWorkflow
from workflows.plan import OperationPlan
from workflows.rules import compact_checkpoints, open_operation
from workflows.starter import workflow_id

PASSWORD: Final = "bench console password"
CSRF: Final = re.compile(r'name="csrf_token" value="([^"]+)"')
SEED_BATCH: Final = 100
CARRIED_CHECKPOINTS: Final = 500
READY_SECONDS: Final = 60.0
LIVE_EVENT_SECONDS: Final = 30.0
# The agency of the sample plan whose place the inbox's own agency takes.
STAND_IN_FOR: Final = "tj-dca"


@dataclass
class ConsoleRun:
    page_events: int
    # GET /o/{id} and the API's read of the same live state (no page), of an operation under way
    # and of a closed one (whose workflow the worker no longer caches).
    page_latencies: list[float] = field(default_factory=list)
    state_latencies: list[float] = field(default_factory=list)
    closed_page_latencies: list[float] = field(default_factory=list)
    closed_state_latencies: list[float] = field(default_factory=list)
    inbox_operations: int = 0
    inbox_entries: int = 0
    inbox_latencies: list[float] = field(default_factory=list)
    # CPU seconds the API process spent per inbox request (the unmeasured first one included):
    # what the page costs whatever else the box runs.
    inbox_api_cpu: float = 0.0
    # Seconds from sending the acknowledgement to the API to its `changed` event on the stream
    # (it is accepted somewhere in between), and from the API's answer (negative when the event
    # came first: the projection's NOTIFY is sent before the Update answers).
    live_after_answer: list[float] = field(default_factory=list)
    live_after_send: list[float] = field(default_factory=list)
    live_operations: int = 0


@dataclass(frozen=True)
class ConsoleUser:
    user_id: str
    secret: str


def console_user(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    user_id: str,
    role: Role,
    agency: str,
    country: str = "KZ",
) -> ConsoleUser:
    """A user with a password and a second factor being enrolled (done at the first sign-in)."""
    with sessions.begin() as session:
        if identity.get_agency(session, agency_id=agency) is None:
            identity.create_agency(
                session,
                agency_id=agency,
                country=country,
                kind=identity.AgencyKind.POLICE,
                name=f"Bench agency {agency}",
            )
        identity.create_user(
            session, user_id=user_id, name=f"Bench {role.value}", role=role.value, agency_id=agency
        )
        console.set_password(session, user_id=user_id, password=PASSWORD)
        secret = console.enrolment_secret(session, user_id=user_id, box=settings.secret_box())
    return ConsoleUser(user_id, secret)


def _csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    if page.status_code != 200 or found is None:
        raise RuntimeError(f"GET {page.url} answered {page.status_code} without a form")
    return found.group(1)


def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"{what} answered {response.status_code}: {response.text[:300]}")
    return response


async def sign_in(http: httpx.AsyncClient, user: ConsoleUser) -> None:
    """The password form, then the code form; the session cookie stays in `http`'s jar."""
    form = await http.get("/sign-in")
    await http.post(
        "/sign-in",
        data={
            "user_id": user.user_id,
            "password": PASSWORD,
            "next": "/",
            "csrf_token": _csrf(form),
        },
    )
    second = await http.get("/sign-in/second-factor")
    code = pyotp.TOTP(user.secret).now()
    done = await http.post(
        "/sign-in/second-factor", data={"code": code, "csrf_token": _csrf(second)}
    )
    _expect(done, 303, f"signing in as {user.user_id}")


async def justify(http: httpx.AsyncClient, operation_id: str, *, reason: str) -> None:
    """Open the operation with a justification, once: the form, as a person gives it."""
    deadline = time.monotonic() + READY_SECONDS
    while True:  # the projection of a just-started workflow may not be there yet
        form = await http.get(f"/o/{operation_id}/justify")
        if form.status_code != 404 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    posted = await http.post(
        f"/o/{operation_id}/justify",
        data={"reason": reason, "next": f"/o/{operation_id}", "csrf_token": _csrf(form)},
    )
    _expect(posted, 303, f"justifying {operation_id}")


async def _timed_gets(
    http: httpx.AsyncClient, path: str, *, repeats: int, headers: dict[str, str] | None = None
) -> list[float]:
    # Once unmeasured first: templates, caches, the connection.
    _expect(await http.get(path, headers=headers), 200, f"GET {path}")
    latencies = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = await http.get(path, headers=headers)
        latencies.append(time.perf_counter() - started)
        _expect(response, 200, f"GET {path}")
    return latencies


async def measure_operation_page(
    http: httpx.AsyncClient,
    run: ConsoleRun,
    *,
    client: Client,
    coordinator_token: str,
    sessions: sessionmaker[Session],
    task_queue: str,
    events: int,
    repeats: int,
    live: bool,
) -> tuple[list[float], list[float]]:
    """(page, live state) latencies of one operation of `events` events."""
    operation_id = f"bench-console-{uuid.uuid4().hex[:8]}"
    state = long_operation(events=events, operation_id=operation_id, live=live)
    with sessions.begin() as session:
        for first in range(0, len(state.timeline), 1_000):
            project_operation(
                session, operation=state, events=state.timeline[first : first + 1_000]
            )
    await client.start_workflow(
        ControlledDeliveryWorkflow.run,
        RunOperationInput(
            operation_id=operation_id,
            carried_state=compact_checkpoints(state, keep=CARRIED_CHECKPOINTS),
        ),
        id=workflow_id(operation_id),
        task_queue=task_queue,
    )
    await justify(http, operation_id, reason="monitoring")
    run.page_events = len(state.timeline)
    page = await _timed_gets(http, f"/o/{operation_id}", repeats=repeats)
    live_state = await _timed_gets(
        http,
        f"/api/v1/operations/{operation_id}",
        repeats=repeats,
        headers={"Authorization": f"Bearer {coordinator_token}", "X-Justification": JUSTIFICATION},
    )
    return page, live_state


def seed_inbox(
    sessions: sessionmaker[Session], *, agency: str, coordinator_agency: str, operations: int
) -> None:
    """Operations in planning in which `agency` takes part, written by the projection."""
    now = datetime.now(UTC)
    creator = Actor(agency=coordinator_agency, officer="bench-seed", role=ActorRole.COORDINATOR)
    template = json.dumps(
        sample_plan(coordinator_agency=coordinator_agency, now=now, code_name="X")
    )
    template = template.replace(f'"{STAND_IN_FOR}"', json.dumps(agency))
    for first in range(0, operations, SEED_BATCH):
        with sessions.begin() as session:
            for number in range(first, min(first + SEED_BATCH, operations)):
                plan = dict(json.loads(template), code_name=f"INBOX-{number:04d}")
                state = open_operation(
                    operation_id=str(uuid.uuid4()),
                    plan=OperationPlan.model_validate(plan),
                    created_by=creator,
                    now=now + timedelta(seconds=number),
                )
                project_operation(session, operation=state, events=state.timeline)


@asynccontextmanager
async def _stream(
    http: httpx.AsyncClient, operation_id: str
) -> AsyncIterator[tuple[list[tuple[float, int]], asyncio.Event]]:
    """The operation's event stream read in the background: (arrival, seq) of each `changed`."""
    seen: list[tuple[float, int]] = []
    arrived = asyncio.Event()
    connected = asyncio.Event()

    async def read() -> None:
        timeout = httpx.Timeout(10.0, read=None)
        async with http.stream("GET", f"/o/{operation_id}/events", timeout=timeout) as response:
            _expect(response, 200, f"GET /o/{operation_id}/events")
            connected.set()
            event = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:") and event == "changed":
                    seen.append((time.perf_counter(), int(line.removeprefix("data:").strip())))
                    arrived.set()
                elif not line:
                    event = ""

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(connected.wait(), READY_SECONDS)
        yield seen, arrived
    finally:
        reader.cancel()
        with suppress(asyncio.CancelledError):
            await reader


async def _until_seq(seen: list[tuple[float, int]], arrived: asyncio.Event, seq: int) -> float:
    """When the stream first named `seq` or a later one."""
    deadline = time.monotonic() + LIVE_EVENT_SECONDS
    while True:
        for at, named in seen:
            if named >= seq:
                return at
        arrived.clear()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"no live event for seq {seq} within {LIVE_EVENT_SECONDS:.0f} s")
        with suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), remaining)


async def _action(
    api: httpx.AsyncClient, token: str, operation_id: str, action: str, body: object
) -> tuple[float, float, int]:
    """One action through the API: (sent, answered, the event's seq)."""
    sent = time.perf_counter()
    response = await api.post(
        f"/api/v1/operations/{operation_id}/{action}",
        json=body,
        headers={
            "Authorization": f"Bearer {token}",
            "X-Justification": JUSTIFICATION,
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    answered = time.perf_counter()
    _expect(response, 200, f"POST {action}")
    return sent, answered, int(response.json()["event"]["seq"])


async def measure_live_delay(
    http: httpx.AsyncClient,
    api: httpx.AsyncClient,
    run: ConsoleRun,
    *,
    client: Client,
    sessions: sessionmaker[Session],
    cast: Cast,
    task_queue: str,
    coordinator_agency: str,
    operations: int,
) -> None:
    coordinator = Actor(agency=coordinator_agency, officer="bench", role=ActorRole.COORDINATOR)
    prefix = uuid.uuid4().hex[:6].upper()
    handovers = (("af-cnpa", "tj-dca", 1), ("tj-dca", "kz-police", 2))
    for number in range(operations):
        now = datetime.now(UTC)
        operation_id = str(uuid.uuid4())
        plan = sample_plan(
            coordinator_agency=coordinator_agency, now=now, code_name=f"LIVE-{prefix}-{number}"
        )
        state = launched_state(
            operation_id=operation_id,
            plan=OperationPlan.model_validate(plan),
            coordinator=coordinator,
            now=now,
            suffix=f"console-{prefix}-{number}",
        )
        # A carried state counts as projected already (continue-as-new): the bench projects it.
        with sessions.begin() as session:
            project_operation(session, operation=state, events=state.timeline)
        await client.start_workflow(
            ControlledDeliveryWorkflow.run,
            RunOperationInput(operation_id=operation_id, carried_state=state),
            id=workflow_id(operation_id),
            task_queue=task_queue,
        )
        await justify(http, operation_id, reason="monitoring")
        async with _stream(http, operation_id) as (seen, arrived):
            for sender, receiver, leg in handovers:
                _, _, offered = await _action(
                    api, cast.officers[sender], operation_id, "offer-handover", {"leg": leg}
                )
                await _until_seq(seen, arrived, offered)
                sent, answered, acknowledged = await _action(
                    api, cast.officers[receiver], operation_id, "acknowledge-handover", {"leg": leg}
                )
                at = await _until_seq(seen, arrived, acknowledged)
                run.live_after_answer.append(at - answered)
                run.live_after_send.append(at - sent)
        run.live_operations += 1


async def run_console(
    *,
    base_url: str,
    settings: Settings,
    client: Client,
    cast: Cast,
    sessions: sessionmaker[Session],
    coordinator_agency: str,
    page_events: int,
    inbox_operations: int,
    live_operations: int,
    repeats: int,
) -> ConsoleRun:
    run = ConsoleRun(page_events=page_events, inbox_operations=inbox_operations)
    suffix = secrets.token_hex(3)
    inbox_agency = f"bench-inbox-{suffix}"
    coordinator = console_user(
        sessions,
        settings,
        user_id=f"bench-console-coordinator-{suffix}",
        role=Role.COORDINATOR,
        agency=coordinator_agency,
    )
    officer = console_user(
        sessions,
        settings,
        user_id=f"bench-console-officer-{suffix}",
        role=Role.OFFICER,
        agency=inbox_agency,
        country="TJ",
    )
    task_queue = settings.task_queue
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=60) as coordinating,
        httpx.AsyncClient(base_url=base_url, timeout=60) as officering,
        httpx.AsyncClient(base_url=base_url, timeout=60) as api,
    ):
        await sign_in(coordinating, coordinator)
        await sign_in(officering, officer)
        for live in (True, False):
            page, live_state = await measure_operation_page(
                coordinating,
                run,
                client=client,
                coordinator_token=cast.coordinator,
                sessions=sessions,
                task_queue=task_queue,
                events=page_events,
                repeats=repeats,
                live=live,
            )
            if live:
                run.page_latencies, run.state_latencies = page, live_state
            else:
                run.closed_page_latencies, run.closed_state_latencies = page, live_state
        await asyncio.to_thread(
            seed_inbox,
            sessions,
            agency=inbox_agency,
            coordinator_agency=coordinator_agency,
            operations=inbox_operations,
        )
        with sessions() as session:
            run.inbox_entries = len(inbox(session, agency=inbox_agency))
        with cpu_split() as split:
            run.inbox_latencies = await _timed_gets(officering, "/", repeats=repeats)
        run.inbox_api_cpu = split.seconds.get("API", 0.0) / (repeats + 1)
        await measure_live_delay(
            coordinating,
            api,
            run,
            client=client,
            sessions=sessions,
            cast=cast,
            task_queue=task_queue,
            coordinator_agency=coordinator_agency,
            operations=live_operations,
        )
    return run
