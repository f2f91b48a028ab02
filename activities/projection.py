"""Read-model projection: the activity that writes an operation's new timeline events to SQL."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from store.access_log import AccessCategory, Accessor, append_access
from store.identity import get_user
from store.live import announce_change
from store.timeline import project_operation
from workflows.messages import AcceptedAction, ProjectOperationInput, ProjectOperationResult
from workflows.side_effects import ReadModelProjection


class ReadModelActivities(ReadModelProjection):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name="project_operation")
    def project_operation(self, projection: ProjectOperationInput) -> ProjectOperationResult:
        """Idempotent: events are keyed by (operation, seq), so a retry writes nothing twice.

        Each accepted action's access-log entry is written in the same transaction as its
        event, and only with the event's first writing: both are there, or neither.
        """
        operation_id = projection.operation.operation_id
        with self._sessions.begin() as session:
            written = project_operation(
                session, operation=projection.operation, events=projection.events
            )
            for action in projection.actions:
                if action.seq in written:
                    _log_action(session, operation_id=operation_id, action=action)
            if written:
                announce_change(session, operation_id=operation_id)
        last_seq = max((event.seq for event in projection.events), default=0)
        return ProjectOperationResult(written=len(written), last_seq=last_seq)


def _log_action(session: Session, *, operation_id: str, action: AcceptedAction) -> None:
    actor = action.actor
    user = get_user(session, user_id=actor.officer)
    created = action.action == "create_operation"
    append_access(
        session,
        accessor=Accessor(
            user_id=actor.officer,
            name=user.name if user else None,
            agency=actor.agency,
            role=user.role if user else actor.role.value,
        ),
        action="operation.create" if created else f"operation.action.{action.action}",
        category=AccessCategory.COLLECTION if created else AccessCategory.ALTERATION,
        operation_id=operation_id,
        justification=action.justification,
        detail={"event_seq": action.seq},
    )
