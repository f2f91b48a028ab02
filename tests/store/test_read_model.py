"""The read model on SQLite and PostgreSQL: idempotent projection, no regression, faithful reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.projection import ReadModelActivities
from store.migrate import upgrade
from store.models import LegRow, OperationRow, ParticipantRow
from store.timeline import operation_state, project_operation, timeline
from tests.factories import sample_plan
from workflows.commands import (
    Actor,
    ActorRole,
    ConfirmParticipationInput,
    LaunchOperationInput,
    OfferHandoverInput,
    RecordAuthorisationInput,
)
from workflows.messages import ProjectOperationInput
from workflows.plan import AuthorisationGranted
from workflows.rules import Accepted, decide, open_operation
from workflows.state import OperationState, Phase

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
COORDINATOR = Actor(agency="caricc", officer="lo-1", role=ActorRole.COORDINATOR)


def _launched() -> list[OperationState]:
    """Each state an operation passes through on its way to launch."""
    plan = sample_plan(now=NOW)
    states = [open_operation(operation_id="op-1", plan=plan, created_by=COORDINATOR, now=NOW)]
    commands: list[object] = []
    for n, participant in enumerate(plan.participants):
        officer = Actor(agency=participant.agency, officer="o", role=ActorRole.OFFICER)
        authorisation = AuthorisationGranted(
            country=participant.country,
            authority="prosecutor",
            reference=f"ref-{n}",
            legal_basis="law",
            granted_at=NOW - timedelta(hours=1),
            valid_until=NOW + timedelta(days=9),
            substitution_allowed=True,
        )
        commands.append(
            RecordAuthorisationInput(actor=officer, request_id=f"a{n}", authorisation=authorisation)
        )
        commands.append(ConfirmParticipationInput(actor=officer, request_id=f"c{n}"))
    commands.append(LaunchOperationInput(actor=COORDINATOR, request_id="launch"))
    for command in commands:
        decision = decide(states[-1], command, now=NOW)  # type: ignore[arg-type]
        assert isinstance(decision, Accepted), decision
        states.append(decision.state)
    return states


def _without_timeline(state: OperationState) -> OperationState:
    """What a reader of the operation is given: its state without timeline and request ids."""
    return state.model_copy(update={"timeline": [], "applied": {}})


def test_migrations_apply_twice_without_harm(read_model_url: str) -> None:
    upgrade(read_model_url)
    upgrade(read_model_url)


def test_projection_is_idempotent_and_reads_back_equal(
    session_maker: sessionmaker[Session],
) -> None:
    final = _launched()[-1]
    with session_maker.begin() as session:
        written = project_operation(session, operation=final, events=final.timeline)
    with session_maker.begin() as session:
        again = project_operation(session, operation=final, events=final.timeline)
    assert written == {event.seq for event in final.timeline}
    assert again == set()
    with session_maker() as session:
        assert timeline(session, operation_id="op-1") == final.timeline
        assert timeline(session, operation_id="op-1", after_seq=3, limit=2) == final.timeline[3:5]
        row = session.get(OperationRow, "op-1")
        assert row is not None
        assert (row.phase, row.custodian, row.last_seq) == ("execution", "af-cnpa", 8)
        assert row.countries == ["AF", "TJ", "KZ"]
        confirmed = session.scalars(select(ParticipantRow.confirmed_at)).all()
        assert confirmed == [NOW, NOW, NOW]
        assert len(session.scalars(select(LegRow)).all()) == 2


def test_an_older_snapshot_arriving_late_does_not_regress_the_operation(
    session_maker: sessionmaker[Session],
) -> None:
    states = _launched()
    newest, older = states[-1], states[2]
    with session_maker.begin() as session:
        project_operation(session, operation=newest, events=newest.timeline)
    with session_maker.begin() as session:
        project_operation(session, operation=older, events=older.timeline)
    with session_maker() as session:
        row = session.get(OperationRow, "op-1")
        assert row is not None
        assert row.phase == Phase.EXECUTION.value
        assert row.last_seq == newest.timeline[-1].seq
        assert operation_state(session, operation_id="op-1") == _without_timeline(newest)


def test_projection_activity_retried_writes_nothing_twice(
    session_maker: sessionmaker[Session],
) -> None:
    final = _launched()[-1]
    activities = ReadModelActivities(session_maker)
    projection = ProjectOperationInput(
        operation=final.model_copy(update={"timeline": [], "applied": {}}), events=final.timeline
    )
    environment = ActivityEnvironment()
    first = environment.run(activities.project_operation, projection)
    retried = environment.run(activities.project_operation, projection)
    assert (first.written, retried.written) == (len(final.timeline), 0)
    assert first.last_seq == retried.last_seq == final.timeline[-1].seq


def _participants_and_legs(
    session: Session,
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    participants = session.execute(
        select(ParticipantRow.agency, ParticipantRow.confirmed_at).order_by(ParticipantRow.agency)
    ).all()
    legs = session.scalars(select(LegRow).order_by(LegRow.position)).all()
    return [tuple(p) for p in participants], [
        (leg.position, leg.offered_at, leg.acknowledged_at) for leg in legs
    ]


def test_projected_event_by_event_participants_and_legs_follow_every_change(
    session_maker: sessionmaker[Session],
) -> None:
    # Participants and legs are rewritten only when they differ from what is stored; projected
    # event by event they must still show every confirmation and the handover offer.
    states = _launched()
    sender = Actor(agency="af-cnpa", officer="o", role=ActorRole.OFFICER)
    offer = OfferHandoverInput(actor=sender, request_id="offer-1", leg=1)
    decision = decide(states[-1], offer, now=NOW + timedelta(minutes=5))
    assert isinstance(decision, Accepted), decision
    states.append(decision.state)
    projected = 0
    for state in states:
        new = [event for event in state.timeline if event.seq > projected]
        with session_maker.begin() as session:
            project_operation(session, operation=state, events=new)
        projected = state.timeline[-1].seq
        with session_maker() as session:
            participants, legs = _participants_and_legs(session)
        assert participants == [
            (p.agency, state.confirmations.get(p.agency))
            for p in sorted(state.plan.participants, key=lambda p: p.agency)
        ]
        offered = state.handover_offer.offered_at if state.handover_offer else None
        assert legs == [(1, offered, None), (2, None, None)]
    assert legs[0][1] == NOW + timedelta(minutes=5)


def test_an_event_decided_again_after_a_lost_workflow_task_replaces_the_lost_one(
    session_maker: sessionmaker[Session],
) -> None:
    # A worker projected an offer, then died before its workflow task completed; the task ran
    # again on another worker, which decided the same seq ten seconds later, with its own deadline.
    launched = _launched()[-1]
    sender = Actor(agency="af-cnpa", officer="o", role=ActorRole.OFFICER)
    offer = OfferHandoverInput(actor=sender, request_id="offer", leg=1)
    lost, kept = (decide(launched, offer, now=NOW + timedelta(seconds=delay)) for delay in (0, 10))
    assert isinstance(lost, Accepted)
    assert isinstance(kept, Accepted)
    assert lost.event.seq == kept.event.seq
    with session_maker.begin() as session:
        assert project_operation(session, operation=lost.state, events=lost.state.timeline)
    with session_maker.begin() as session:
        again = project_operation(session, operation=kept.state, events=kept.state.timeline)
    assert again == set(), "nothing new: the seq was already there"
    with session_maker() as session:
        assert timeline(session, operation_id="op-1") == kept.state.timeline
        read = operation_state(session, operation_id="op-1")
    assert read == _without_timeline(kept.state)
    assert read is not None
    assert read.handover_offer is not None
    assert read.handover_offer.offered_at == NOW + timedelta(seconds=10)


def test_each_projection_leaves_the_operation_readable_as_the_workflow_holds_it(
    session_maker: sessionmaker[Session],
) -> None:
    # As the workflow projects: event by event, the state sent without timeline and request ids.
    projected = 0
    for state in _launched():
        new = [event for event in state.timeline if event.seq > projected]
        with session_maker.begin() as session:
            project_operation(session, operation=_without_timeline(state), events=new)
        projected = state.timeline[-1].seq
        with session_maker() as session:
            read = operation_state(session, operation_id="op-1")
        assert read == _without_timeline(state)
    assert read is not None
    assert (read.phase, read.custodian, sorted(read.confirmations)) == (
        Phase.EXECUTION,
        "af-cnpa",
        sorted(p.agency for p in state.plan.participants),
    )


def test_a_whole_state_projected_is_read_back_without_its_timeline_and_request_ids(
    session_maker: sessionmaker[Session],
) -> None:
    final = _launched()[-1]
    assert final.applied, "the sample state has answered requests"
    with session_maker.begin() as session:
        project_operation(session, operation=final, events=final.timeline)
    with session_maker() as session:
        read = operation_state(session, operation_id="op-1")
    assert read is not None
    assert (read.timeline, read.applied) == ([], {})
    assert read == _without_timeline(final)


def test_a_row_written_before_it_kept_the_state_has_none_until_its_next_event(
    session_maker: sessionmaker[Session],
) -> None:
    states = _launched()
    launched, confirmed = states[-1], states[-2]
    with session_maker.begin() as session:
        project_operation(session, operation=confirmed, events=confirmed.timeline)
        # As migration 0012 leaves a row it finds.
        session.execute(update(OperationRow).values(snapshot=None))
    with session_maker() as session:
        assert operation_state(session, operation_id="op-1") is None
        assert operation_state(session, operation_id="no-such-operation") is None
    with session_maker.begin() as session:
        project_operation(session, operation=launched, events=launched.timeline[-1:])
    with session_maker() as session:
        assert operation_state(session, operation_id="op-1") == _without_timeline(launched)


def test_a_row_written_before_it_kept_a_digest_has_its_participants_and_legs_rewritten(
    session_maker: sessionmaker[Session],
) -> None:
    # Participants and legs are compared by the digest the row keeps (migration 0013); a row
    # without one (as the migration leaves it) must not be taken to match: its next projection
    # rewrites them from the operation, whatever was stored.
    states = _launched()
    launched, confirmed = states[-1], states[-2]
    with session_maker.begin() as session:
        project_operation(session, operation=confirmed, events=confirmed.timeline)
        session.execute(update(OperationRow).values(rows_digest=None))
        session.execute(update(ParticipantRow).values(confirmed_at=None))
        session.execute(delete(LegRow))
    with session_maker.begin() as session:
        project_operation(session, operation=launched, events=launched.timeline[-1:])
    with session_maker() as session:
        participants, legs = _participants_and_legs(session)
        digest = session.scalar(select(OperationRow.rows_digest))
    assert participants == [
        (p.agency, launched.confirmations[p.agency])
        for p in sorted(launched.plan.participants, key=lambda p: p.agency)
    ]
    assert legs == [(1, None, None), (2, None, None)]
    assert digest is not None
