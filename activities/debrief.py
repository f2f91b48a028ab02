"""Debrief activities: compute the outcome assessment and store it as a new version."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from store.assessments import AssessmentConflictError, write_assessment
from workflows.assessment import assess
from workflows.messages import AssessOperationInput, AssessOperationResult
from workflows.side_effects import OutcomeAssessment

ASSESSMENT_CONFLICT = "AssessmentConflict"


class DebriefActivities(OutcomeAssessment):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name="assess_operation")
    def assess_operation(self, request: AssessOperationInput) -> AssessOperationResult:
        """Idempotent: keyed by (operation, timeline seq), so a retry writes no second version."""
        computed = assess(
            request.operation,
            version=request.version,
            at_seq=request.at_seq,
            reason=request.reason,
            now=request.requested_at,
        )
        try:
            with self._sessions.begin() as session:
                version, written = write_assessment(
                    session,
                    operation_id=computed.operation_id,
                    version=computed.version,
                    at_seq=computed.at_seq,
                    computed_at=computed.computed_at,
                    reason=computed.reason,
                    body=computed.model_dump(mode="json"),
                )
        except AssessmentConflictError as conflict:
            raise ApplicationError(
                str(conflict), type=ASSESSMENT_CONFLICT, non_retryable=True
            ) from None
        return AssessOperationResult(version=version, written=written)
