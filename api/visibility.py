"""Need-to-know, in one place: which operations a caller may see, as a SQL condition and a check.

An agency sees an operation only while it participates; the centre's coordinators see the
operations their agency coordinates; analysts see, of what their agency takes part in or
coordinates, the operations whose handling code allows analysis; administrators see no operational
data. Whoever may not see an operation is told it does not exist.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from api.principal import Principal, Role
from store.models import OperationRow, ParticipantRow
from workflows.plan import HandlingCode

# H2 (not to be passed on) and H3 (other restrictions) stay with the operation's participants.
ANALYST_HANDLING_CODES = frozenset({HandlingCode.H0.value, HandlingCode.H1.value})


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on OperationRow selecting exactly what the principal may see."""
    participates = exists(
        select(ParticipantRow.agency).where(
            ParticipantRow.operation_id == OperationRow.id,
            ParticipantRow.agency == principal.agency,
        )
    )
    if principal.role is Role.OFFICER:
        return participates
    if principal.role is Role.COORDINATOR:
        return OperationRow.coordinator_agency == principal.agency
    if principal.role is Role.ANALYST:
        # An analyst is of an agency too: nothing of an operation it has no part in.
        return and_(
            OperationRow.handling_code.in_(sorted(ANALYST_HANDLING_CODES)),
            or_(OperationRow.coordinator_agency == principal.agency, participates),
        )
    return false()


def visible_operation(
    session: Session, *, principal: Principal, operation_id: str
) -> OperationRow | None:
    """The operation if the principal may see it now, else None (which callers answer with 404)."""
    query = select(OperationRow).where(OperationRow.id == operation_id, visible_to(principal))
    return session.scalars(query).one_or_none()
