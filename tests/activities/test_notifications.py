"""The delivery activity over real HTTP: once per target, retried, logged, disclosed."""

from __future__ import annotations

import dataclasses
import socket
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notifications import REFUSED, NotificationActivities
from i18n import Language
from store.access_log import list_access, verify_chain
from store.notifications import (
    DeliveryStatus,
    add_target,
    list_deliveries,
    list_targets,
    retire_target,
)
from store.timeline import project_operation
from tests.factories import sample_plan
from tests.receivers import received_by, register_directory
from tests.temporal_env import settings_for_tests
from workflows.commands import Actor, ActorRole
from workflows.messages import NotifyAgenciesInput, NotifyAgenciesResult
from workflows.notices import OFFER_CLOSED, Notice, NoticeAction, Purpose, Recipient
from workflows.rules import open_operation
from workflows.state import TimelineEvent

OPERATION = "3f1c9a52-0000-4000-8000-000000000001"
DEADLINE = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


def _notice(*agencies: str, void_after: tuple[str, ...] = ()) -> Notice:
    return Notice(
        key=f"{OPERATION}/10/1",
        operation_id=OPERATION,
        code_name="NIGHTJAR",
        seq=10,
        action=NoticeAction.ACKNOWLEDGEMENT_DUE,
        deadline=DEADLINE,
        recipients=tuple(Recipient(agency=a, purpose=Purpose.ACTION_REQUIRED) for a in agencies),
        void_after=void_after,
    )


def _attempt(
    activities: NotificationActivities, notice: Notice, attempt: int, *, of: int = 3
) -> NotifyAgenciesResult:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt)
    result: NotifyAgenciesResult = env.run(
        activities.notify_agencies, NotifyAgenciesInput(notice=notice, max_attempts=of)
    )
    return result


@pytest.fixture
def activities(session_maker: sessionmaker[Session]) -> NotificationActivities:
    settings = settings_for_tests(public_base_url="https://cdtrack.example.org")
    return NotificationActivities(
        session_maker, box=settings.secret_box(), public_base_url=settings.public_base_url
    )


def test_each_recipient_hears_once_in_its_language_with_deadline_and_link(
    activities: NotificationActivities, session_maker: sessionmaker[Session], httpserver: HTTPServer
) -> None:
    register_directory(session_maker, httpserver)
    result = _attempt(activities, _notice("af-cnpa", "tj-dca"), 1)
    assert result == NotifyAgenciesResult(delivered=2)
    # The console page of the action: only the opaque operation id, the action and a reason code.
    link = f"https://cdtrack.example.org/o/{OPERATION}/handover?reason=handover_due"
    assert received_by(httpserver, "af-cnpa") == [
        "Action required on operation NIGHTJAR: handover acknowledgement due "
        f"14:30 UTC, 24 Nov 2026.\n{link}"
    ]
    [russian] = received_by(httpserver, "tj-dca")
    assert russian.startswith(
        "Требуется действие по операции NIGHTJAR: подтвердите приём передачи до 14:30 UTC, 24 нояб."
    )
    assert russian.endswith(link)
    assert received_by(httpserver, "nl-police") == []


def test_a_retried_attempt_sends_nothing_twice_and_the_last_reports_who_was_not_reached(
    activities: NotificationActivities, session_maker: sessionmaker[Session], httpserver: HTTPServer
) -> None:
    register_directory(session_maker, httpserver, failing={"tj-dca"})
    notice = _notice("af-cnpa", "tj-dca")
    for attempt in (1, 2):
        with pytest.raises(ApplicationError, match=f"1 delivery.*attempt {attempt}") as failed:
            _attempt(activities, notice, attempt)
        assert not failed.value.non_retryable
        assert "tj-dca" not in failed.value.message
    last = _attempt(activities, notice, 3)

    assert last.unreachable == ["tj-dca"]
    assert last.already_delivered == 1
    assert len(received_by(httpserver, "af-cnpa")) == 1, "af-cnpa was told once, not per retry"
    assert len(received_by(httpserver, "tj-dca")) == 3, "the failing target is tried each time"
    with session_maker() as session:
        log = [
            (d.agency_id, d.attempt, d.status)
            for d in list_deliveries(session, operation_id=OPERATION)
        ]
        disclosures = list_access(session, operation_id=OPERATION)
        assert verify_chain(session).intact
    assert log == [
        ("af-cnpa", 1, DeliveryStatus.DELIVERED),
        ("tj-dca", 1, DeliveryStatus.FAILED),
        ("tj-dca", 2, DeliveryStatus.FAILED),
        ("tj-dca", 3, DeliveryStatus.FAILED),
    ]
    assert [(e.category, e.outcome, e.recipients[0]) for e in disclosures] == [
        ("disclosure", "delivered", "af-cnpa"),
        ("disclosure", "failed", "tj-dca"),
        ("disclosure", "failed", "tj-dca"),
        ("disclosure", "failed", "tj-dca"),
    ]


def test_an_agency_without_targets_is_reported_unreachable_at_once(
    activities: NotificationActivities, session_maker: sessionmaker[Session], httpserver: HTTPServer
) -> None:
    register_directory(session_maker, httpserver)
    notice = _notice("af-cnpa").model_copy(
        update={"recipients": (Recipient(contact_point_of="UZ", purpose=Purpose.ESCALATION),)}
    )
    result = _attempt(activities, notice, 1)
    assert result.unreachable == ["national contact point of UZ"]
    with session_maker() as session:
        [logged] = list_deliveries(session, operation_id=OPERATION)
    assert logged.status == DeliveryStatus.UNDELIVERABLE
    assert logged.error == "no national contact point is registered"


def test_the_contact_point_is_found_by_country_and_its_escalation_falls_back_to_its_target(
    activities: NotificationActivities, session_maker: sessionmaker[Session], httpserver: HTTPServer
) -> None:
    register_directory(session_maker, httpserver)
    notice = _notice().model_copy(
        update={
            "action": NoticeAction.ACKNOWLEDGEMENT_ESCALATED,
            "recipients": (Recipient(contact_point_of="KZ", purpose=Purpose.ESCALATION),),
        }
    )
    assert _attempt(activities, notice, 1).delivered == 1
    [message] = received_by(httpserver, "kz-ncp")
    assert message.startswith("Escalation on operation NIGHTJAR: a handover acknowledgement due")
    assert received_by(httpserver, "kz-police") == []


def test_a_notice_answered_since_is_not_sent(
    activities: NotificationActivities, session_maker: sessionmaker[Session], httpserver: HTTPServer
) -> None:
    register_directory(session_maker, httpserver)
    now = datetime.now(UTC)
    coordinator = Actor(agency="caricc", officer="liaison", role=ActorRole.COORDINATOR)
    state = open_operation(
        operation_id=OPERATION, plan=sample_plan(now=now), created_by=coordinator, now=now
    )
    acknowledged = TimelineEvent(
        seq=11,
        at=now,
        kind="handover.acknowledged",
        actor=Actor(agency="tj-dca", officer="duty", role=ActorRole.OFFICER),
        summary="Handover of leg 1 acknowledged",
    )
    with session_maker.begin() as session:
        project_operation(session, operation=state, events=[*state.timeline, acknowledged])
    result = _attempt(activities, _notice("tj-dca", void_after=OFFER_CLOSED), 1)
    assert result.moot
    assert received_by(httpserver, "tj-dca") == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_failing_target_is_named_only_by_its_id_in_errors_and_in_the_log(
    activities: NotificationActivities, session_maker: sessionmaker[Session], httpserver: HTTPServer
) -> None:
    register_directory(session_maker, httpserver)
    port = _closed_port()
    urls = [
        f"json://hook-user:pw-7731@127.0.0.1:{port}/drop/tj-dca?:apikey=payload-secret-7731",
        f"json://127.0.0.1:{port}/tj-dca?+Authorization=Bearer%20header-secret-7731",
        "xml://127.0.0.1:1/tj-dca?-token=get-secret-7731",
    ]
    box = settings_for_tests().secret_box()
    with session_maker.begin() as session:
        for target in list_targets(session, agency_id="tj-dca"):
            retire_target(session, agency_id="tj-dca", target_id=target.id)
        for url in urls:
            add_target(
                session,
                box=box,
                agency_id="tj-dca",
                url=url,
                purpose=Purpose.ACTION_REQUIRED,
                language=Language.RUSSIAN,
                label=None,
            )
    notice = _notice("tj-dca")
    with pytest.raises(ApplicationError) as failed:
        _attempt(activities, notice, 1)
    last = _attempt(activities, notice, 3)
    assert last.unreachable == ["tj-dca"]
    with session_maker() as session:
        errors = {d.error or "" for d in list_deliveries(session, operation_id=OPERATION)}
    assert errors == {REFUSED}
    message = failed.value.message
    assert message.startswith("3 delivery(ies) failed on attempt 1")
    for said in (message, *errors):
        for secret in ("tj-dca", "127.0.0.1", str(port), "7731", "hook-user", "drop", "json"):
            assert secret not in said, (secret, said)
