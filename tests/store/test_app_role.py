"""On PostgreSQL the application role's grants are enough for what the application writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from activities.audit import AuditActivities
from store import identity
from store.access_log import AccessCategory, append_access, verify_log
from store.assessments import write_assessment
from store.checkpoint import LogSigner
from store.timeline import operation_state, project_operation
from tests.factories import sample_plan
from workflows.commands import Actor, ActorRole, ConfirmParticipationInput, RecordAuthorisationInput
from workflows.messages import IntegrateEntriesInput
from workflows.plan import AuthorisationGranted
from workflows.rules import Accepted, decide, open_operation
from workflows.state import OperationState

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
COORDINATOR = Actor(agency="caricc", officer="lo-1", role=ActorRole.COORDINATOR)
SIGNER = LogSigner(origin="test/access-log", seed=bytes(range(32)))


@pytest.fixture
def as_app(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on one connection that has taken the application role."""
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        connection.execute(text("SET ROLE cdtrack_app"))
        connection.commit()
        yield sessionmaker(bind=connection, expire_on_commit=False)
    engine.dispose()


def _confirmed_once() -> list[OperationState]:
    plan = sample_plan(now=NOW)
    opened = open_operation(operation_id="op-1", plan=plan, created_by=COORDINATOR, now=NOW)
    first = plan.participants[0]
    officer = Actor(agency=first.agency, officer="o", role=ActorRole.OFFICER)
    states = [opened]
    for command in (
        RecordAuthorisationInput(
            actor=officer,
            request_id="a0",
            authorisation=AuthorisationGranted(
                country=first.country,
                authority="prosecutor",
                reference="ref-0",
                legal_basis="law",
                granted_at=NOW - timedelta(hours=1),
                valid_until=NOW + timedelta(days=9),
                substitution_allowed=True,
            ),
        ),
        ConfirmParticipationInput(actor=officer, request_id="c0"),
    ):
        decision = decide(states[-1], command, now=NOW)
        assert isinstance(decision, Accepted), decision
        states.append(decision.state)
    return states


def test_the_application_role_projects_identifies_assesses_and_logs(
    as_app: sessionmaker[Session], tmp_path: Path
) -> None:
    for state in _confirmed_once():
        with as_app.begin() as session:
            # A confirmation rewrites the participants: DELETE and INSERT on that table.
            project_operation(session, operation=state, events=state.timeline)
    with as_app.begin() as session:
        identity.create_agency(
            session,
            agency_id="caricc",
            country="KZ",
            kind=identity.AgencyKind.COORDINATION_CENTRE,
            name="Centre",
        )
        identity.create_user(
            session, user_id="admin-1", name="Admin", role="admin", agency_id="caricc"
        )
        issued = identity.issue_token(session, user_id="admin-1")
        identity.update_user(session, user_id="admin-1", name="Administrator")
        identity.revoke_token(
            session, token_id=identity.list_tokens(session, user_id="admin-1")[0].id
        )
        written = write_assessment(
            session,
            operation_id="op-1",
            version=1,
            at_seq=1,
            computed_at=NOW,
            reason="test",
            body={},
        )
        append_access(
            session,
            accessor=None,
            action="operation.read",
            category=AccessCategory.CONSULTATION,
            operation_id="op-1",
            justification="Checking the plan",
        )
    assert issued.token
    assert written == (1, True)
    sequencer = AuditActivities(as_app, signer=SIGNER, heads_file=tmp_path / "heads.jsonl")
    result = sequencer.integrate_access_log(IntegrateEntriesInput())
    assert result.integrated == 1
    with as_app() as session:
        assert verify_log(session, verifier=SIGNER.verifier, now=datetime.now(UTC)).intact
        assert session.scalar(text("SELECT current_user")) == "cdtrack_app"
        # The state each projection kept on the operation's row (migration 0012) reads back.
        read = operation_state(session, operation_id="op-1")
    final = _confirmed_once()[-1]
    assert read == final.model_copy(update={"timeline": [], "applied": {}})
