"""Read-model projection: the activity that writes an operation's new timeline events to SQL."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from store.timeline import project_operation
from workflows.messages import ProjectOperationInput, ProjectOperationResult


class ReadModelActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name="project_operation")
    def project_operation(self, projection: ProjectOperationInput) -> ProjectOperationResult:
        """Idempotent: events are keyed by (operation, seq), so a retry writes nothing twice."""
        with self._sessions.begin() as session:
            written = project_operation(
                session, operation=projection.operation, events=projection.events
            )
        last_seq = max((event.seq for event in projection.events), default=0)
        return ProjectOperationResult(written=written, last_seq=last_seq)
