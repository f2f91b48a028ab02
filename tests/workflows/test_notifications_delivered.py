# ruff: noqa: RUF001
"""Notices of whole operations, delivered over real HTTP to each agency's receiver.

The time-skipping server runs the operation; apprise posts every notice (`json://`) to a local
receiver with one path per agency, so each agency's duty room can be read back exactly.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from store.migrate import upgrade
from store.notifications import DeliveryStatus, list_deliveries
from store.session import create_engine_for, session_factory
from tests.factories import sample_plan
from tests.receivers import received, received_by, register_directory
from tests.workflows.conftest import make_worker
from tests.workflows.operations import COORDINATOR, OperationDriver, officer, request_id
from workflows.commands import (
    AddRecommendationInput,
    CloseDebriefInput,
    ReportSurveillanceLostInput,
    SubmitDebriefInput,
)
from workflows.messages import DeliveryPolicy
from workflows.operation import REPORT_READY_QUIET
from workflows.starter import operation_handle

# Retries in seconds, so a failing receiver is given up on within the test.
QUICK_RETRIES = DeliveryPolicy(attempts=3, first_retry_seconds=0.5, maximum_retry_seconds=2)

# What a notice must never carry: the consignment, places, routes, people.
FORBIDDEN = re.compile(
    r"heroin|12[.,]5|kg|Sherkhan|Nizhny|Panj|Dushanbe|Almaty|warehouse|tyre|bricks|"
    r"liaison-officer|duty-officer|\bAF\b|\bTJ\b|\bKZ\b|->",
    re.IGNORECASE,
)


class Stage:
    """The time-skipping server, a worker, and agencies whose duty rooms are HTTP receivers."""

    def __init__(
        self, env: WorkflowEnvironment, sessions: sessionmaker[Session], receiver: HTTPServer
    ) -> None:
        self.env = env
        self.sessions = sessions
        self.receiver = receiver
        self.task_queue = f"operations-{uuid.uuid4().hex}"

    async def start(
        self, *, options: Mapping[str, object] | None = None, **plan_changes: object
    ) -> OperationDriver:
        """An operation of the sample plan so changed; `options` go to `start_operation`."""
        now = await self.env.get_current_time()
        plan = sample_plan(now=now).model_copy(
            update={"checkpoint_interval": timedelta(hours=12), **plan_changes}
        )
        return await OperationDriver.start(
            self.env.client,
            plan=plan,
            task_queue=self.task_queue,
            now=now,
            **{"delivery": QUICK_RETRIES, **(options or {})},
        )

    async def launched(self, operation: OperationDriver) -> OperationDriver:
        """Each agency is asked to authorise and confirm, and does; then the launch."""
        for agency in ("af-cnpa", "tj-dca", "kz-police"):
            await self.heard(agency, 2)
        await operation.launch(now=await self.env.get_current_time())
        return operation

    async def heard(self, agency: str, count: int, *, within: float = 30.0) -> list[str]:
        """Wait (real time: deliveries are real HTTP) until `agency` has had `count` requests."""
        for _ in range(int(within / 0.1)):
            messages = received_by(self.receiver, agency)
            if len(messages) >= count:
                return messages
            await asyncio.sleep(0.1)
        messages = received_by(self.receiver, agency)
        raise AssertionError(f"{agency} heard {len(messages)} of {count}: {messages}")


@pytest.fixture
async def stage(
    time_skipping_env: WorkflowEnvironment,
    sqlite_url: str,
    httpserver: HTTPServer,
    activity_executor: ThreadPoolExecutor,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Stage]:
    upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url)
    sessions = session_factory(engine)
    failing = getattr(request, "param", ())
    register_directory(sessions, httpserver, failing=failing)
    stage = Stage(time_skipping_env, sessions, httpserver)
    worker = make_worker(time_skipping_env, sessions, activity_executor, stage.task_queue)
    try:
        async with worker:
            yield stage
    finally:
        engine.dispose()


def _matches(messages: list[str], expected: list[str]) -> list[str]:
    """Each message matched to the phrase it carries, sorted: notices travel in parallel."""
    return sorted(next((p for p in expected if p in m), f"UNEXPECTED: {m}") for m in messages)


async def test_a_whole_operation_tells_each_agency_exactly_what_it_must_act_on(
    stage: Stage,
) -> None:
    operation = await stage.launched(await stage.start())
    await operation.checkpoint("af-cnpa", "Sherkhan Bandar", "AF")
    await operation.offer(1)
    await stage.heard("tj-dca", 3)  # authorisation, confirmation, then the handover
    await operation.acknowledge(1)
    await operation.checkpoint("tj-dca", "Dushanbe", "TJ")
    await operation.offer(2)
    await stage.heard("kz-police", 3)
    await operation.acknowledge(2)
    await operation.checkpoint("kz-police", "Almaty", "KZ")
    await operation.interdict_at_destination()
    await operation.seize_at_destination()
    await operation.arrest_at_destination()
    await operation.conclude()
    for agency in ("af-cnpa", "tj-dca", "kz-police"):
        await stage.heard(agency, 5 if agency != "af-cnpa" else 4)
        await operation.do(
            SubmitDebriefInput(actor=officer(agency), request_id=request_id(), lessons=["ETA"])
        )
    await operation.do(CloseDebriefInput(actor=COORDINATOR, request_id=request_id()))
    result = await operation_handle(stage.env.client, operation.operation_id).result()
    assert result.phase == "closed"

    english = [
        "record your country's authorisation",
        "confirm your agency's participation",
        "interdiction ordered",
        "debrief input due",
        "the debrief is closed and the debrief report is final",
    ]
    russian = [
        "внесите разрешение вашей страны",
        "подтвердите участие вашего ведомства",
        "подтвердите приём передачи до",
        "отдан приказ о пресечении",
        "материалы для подведения итогов",
        "итоговый отчёт окончательный",
    ]
    assert _matches(received_by(stage.receiver, "af-cnpa"), english) == sorted(english)
    assert _matches(received_by(stage.receiver, "tj-dca"), russian) == sorted(russian)
    assert _matches(received_by(stage.receiver, "kz-police"), russian) == sorted(russian)
    assert _matches(received_by(stage.receiver, "caricc"), english) == [
        "interdiction ordered",
        "the debrief is closed and the debrief report is final",
    ]
    for bystander in ("nl-police", "tj-ncp", "kz-ncp"):
        assert received_by(stage.receiver, bystander) == [], f"{bystander} heard something"
    for message in received(stage.receiver):
        assert "NIGHTJAR" in message.message
        assert not FORBIDDEN.search(message.message), message
        # The link opens the console page of the action: the opaque id, the action, a reason.
        link = message.message.rsplit("\n", 1)[-1]
        assert re.fullmatch(
            rf"http://[^/]+/o/{re.escape(operation.operation_id)}(/[a-z]+)?\?reason=[a-z_]+", link
        ), link


async def test_an_unanswered_handover_escalates_along_the_chain_to_each_in_its_language(
    stage: Stage,
) -> None:
    operation = await stage.launched(await stage.start())
    await operation.offer(1)
    await stage.heard("tj-dca", 3)
    # Past the 30-minute deadline and every step: reminder, contact point, coordinator, rule.
    await stage.env.sleep(timedelta(minutes=70))
    assert (await operation.state()).phase.value == "interdiction"

    reminder = (await stage.heard("tj-dca", 5))[3]
    assert reminder.startswith("Напоминание по операции NIGHTJAR")
    [contact_point] = await stage.heard("tj-ncp", 1)
    assert contact_point.startswith("Эскалация по операции NIGHTJAR")
    coordinator = await stage.heard("caricc", 2)
    assert coordinator[0].startswith("Escalation on operation NIGHTJAR")
    assert coordinator[1].startswith("Operation NIGHTJAR: interdiction ordered")
    assert received_by(stage.receiver, "nl-police") == []
    assert received_by(stage.receiver, "kz-ncp") == [], "the chain follows the receiving country"


@pytest.mark.parametrize("stage", [("tj-dca",)], indirect=True)
async def test_a_failing_receiver_is_retried_then_the_next_step_is_told(stage: Stage) -> None:
    operation = await stage.launched(await stage.start())
    await operation.offer(1)

    [told] = await stage.heard("tj-ncp", 1)
    assert told.startswith("Сбой доставки по операции NIGHTJAR")
    assert "не доставлено адресату TJ-DCA (Таджикистан)" in told, "named from the directory"
    assert "tj-dca" not in told
    with stage.sessions() as session:
        deliveries = list_deliveries(session, operation_id=operation.operation_id)
    handover = [
        d for d in deliveries if d.agency_id == "tj-dca" and d.action == "acknowledgement_due"
    ]
    assert [(d.attempt, d.status) for d in handover] == [
        (1, DeliveryStatus.FAILED),
        (2, DeliveryStatus.FAILED),
        (3, DeliveryStatus.FAILED),
    ]
    assert all(d.error for d in handover)
    # Other agencies' notices were delivered regardless; the workflow went on.
    assert len(await stage.heard("af-cnpa", 2)) == 2
    assert (await operation.acknowledge(1)).custodian == "tj-dca"


@pytest.mark.parametrize("stage", [("kz-police",)], indirect=True)
async def test_nothing_is_sent_after_the_acknowledgement(stage: Stage) -> None:
    slow = QUICK_RETRIES.model_copy(update={"attempts": 6, "first_retry_seconds": 1.0})
    now = await stage.env.get_current_time()
    plan = sample_plan(now=now).model_copy(update={"checkpoint_interval": timedelta(hours=12)})
    operation = await OperationDriver.start(
        stage.env.client, plan=plan, task_queue=stage.task_queue, now=now, delivery=slow
    )
    await stage.launched(operation)
    await operation.offer(1)
    await stage.heard("tj-dca", 3)
    await operation.acknowledge(1)
    await operation.offer(2)
    before = len(await stage.heard("kz-police", 3))  # authorisation, confirmation: both failing
    # The acknowledgement-due notice is failing and being retried when kz-police acknowledges.
    await operation.acknowledge(2)
    await stage.env.sleep(timedelta(hours=3))
    await asyncio.sleep(4)

    after = received_by(stage.receiver, "kz-police")[before:]
    assert not any("передачи" in message for message in after), after
    assert received_by(stage.receiver, "kz-ncp") == []
    assert not any("handover" in m for m in received_by(stage.receiver, "caricc"))
    assert "handover.acknowledgement_overdue" not in await operation.kinds()


READY = ("the debrief report is ready", "итоговый отчёт готов")
FINAL = ("the debrief report is final", "итоговый отчёт окончательный")


def told_ready(stage: Stage, agency: str) -> int:
    return sum(any(p in m for p in READY + FINAL) for m in received_by(stage.receiver, agency))


async def all_told_ready(stage: Stage, count: int, agencies: tuple[str, ...]) -> None:
    for _ in range(300):
        if all(told_ready(stage, agency) >= count for agency in agencies):
            return
        await asyncio.sleep(0.1)
    told = {agency: told_ready(stage, agency) for agency in agencies}
    raise AssertionError(f"not all told {count} times that the report is ready: {told}")


async def test_a_burst_of_versions_tells_each_recipient_once_after_a_quiet_period(
    stage: Stage,
) -> None:
    agencies = ("af-cnpa", "tj-dca", "kz-police", "caricc")
    operation = await stage.launched(await stage.start())
    for leg in (1, 2):
        await operation.offer(leg)
        await operation.acknowledge(leg)
    await operation.interdict_at_destination()
    await operation.seize_at_destination()
    await operation.conclude()
    await stage.env.sleep(timedelta(days=15))  # the deadline passes: version 1
    await stage.env.sleep(REPORT_READY_QUIET * 2)
    await all_told_ready(stage, 1, agencies)
    # Five more versions in a burst: three inputs, a recommendation, the close.
    for agency in ("af-cnpa", "tj-dca", "kz-police"):
        await operation.do(
            SubmitDebriefInput(actor=officer(agency), request_id=request_id(), lessons=["ETA"])
        )
    now = await stage.env.get_current_time()
    await operation.do(
        AddRecommendationInput(
            actor=COORDINATOR,
            request_id=request_id(),
            text="Interpreter on call",
            owner="tj-dca",
            due=now + timedelta(days=30),
        )
    )
    await operation.do(CloseDebriefInput(actor=COORDINATOR, request_id=request_id()))
    await operation_handle(stage.env.client, operation.operation_id).result()
    state = await operation.state()
    assert state.debrief is not None
    assert len(state.debrief.assessments) >= 3, "a burst of versions"
    await all_told_ready(stage, 2, agencies)
    await asyncio.sleep(1.0)  # nothing more is on its way
    assert {agency: told_ready(stage, agency) for agency in agencies} == dict.fromkeys(
        agencies, 2
    ), "once after the quiet period, once for the final version"
    for agency in agencies:
        last = [
            m for m in received_by(stage.receiver, agency) if any(p in m for p in READY + FINAL)
        ]
        assert not any(p in last[0] for p in FINAL)
        assert any(p in last[1] for p in FINAL), "the final version names the close"


INTERDICTION = ("interdiction ordered", "отдан приказ о пресечении")


async def test_an_interdiction_a_contingency_rule_orders_is_told_once_to_everyone(
    stage: Stage,
) -> None:
    operation = await stage.launched(await stage.start())
    await operation.do(
        ReportSurveillanceLostInput(
            actor=officer("af-cnpa"),
            request_id=request_id(),
            last_known_place="Kunduz",
            circumstances="lost in traffic",
        )
    )
    await stage.env.sleep(timedelta(hours=2, minutes=1))  # the window expires
    kinds = await operation.kinds()
    assert kinds[-2:] == ["surveillance.window_expired", "interdiction.ordered"]
    agencies = ("af-cnpa", "tj-dca", "kz-police", "caricc")
    for agency in agencies:
        await stage.heard(agency, 2 if agency == "caricc" else 4)  # lost, then the interdiction
    await asyncio.sleep(1.0)  # nothing more is on its way
    for agency in agencies:
        told = received_by(stage.receiver, agency)
        assert sum(any(p in m for p in INTERDICTION) for m in told) == 1, (agency, told)
