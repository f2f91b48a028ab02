"""Need-to-know for analysts: of the operations their agency takes part in or coordinates, those
whose handling code releases them for analysis; nothing of an operation their agency has no part
in, whatever its handling code (an analyst of another agency saw every H0 and H1 operation)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Principal, Role
from api.visibility import visible_operation, visible_to
from store.models import OperationRow
from store.timeline import project_operation
from tests.factories import sample_plan
from workflows.commands import Actor, ActorRole
from workflows.plan import Handling, HandlingCode
from workflows.rules import open_operation

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
CREATOR = Actor(agency="caricc", officer="lo-almaty", role=ActorRole.COORDINATOR)


def _operation(sessions: sessionmaker[Session], operation_id: str, code: HandlingCode) -> None:
    restrictions = "Only for the Tashkent case" if code is HandlingCode.H3 else None
    handling = Handling(code=code, restrictions=restrictions)
    plan = sample_plan(now=NOW).model_copy(update={"handling": handling})
    state = open_operation(operation_id=operation_id, plan=plan, created_by=CREATOR, now=NOW)
    with sessions.begin() as session:
        project_operation(session, operation=state, events=state.timeline)


def _analyst(agency: str) -> Principal:
    return Principal(user_id=f"{agency}-analyst", name="Analyst", role=Role.ANALYST, agency=agency)


def test_an_analyst_sees_only_what_their_agency_is_part_of_and_may_analyse(
    session_maker: sessionmaker[Session],
) -> None:
    for code in HandlingCode:
        _operation(session_maker, f"op-{code.value}", code)
    released = {"op-H0", "op-H1"}
    with session_maker() as session:
        for agency, sees in (
            ("caricc", released),  # the coordinating centre
            ("tj-dca", released),  # a participant
            ("uz-ncdc", set()),  # in no operation
        ):
            listed = set(
                session.scalars(select(OperationRow.id).where(visible_to(_analyst(agency))))
            )
            assert listed == sees, agency
            for code in HandlingCode:
                opened = visible_operation(
                    session, principal=_analyst(agency), operation_id=f"op-{code.value}"
                )
                assert (opened is not None) == (f"op-{code.value}" in sees), (agency, code)
