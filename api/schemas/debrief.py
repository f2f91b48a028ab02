"""Response schemas of the outcome assessment and the statistics."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from workflows.assessment import OutcomeAssessment


class AssessmentVersionRead(BaseModel):
    version: int
    computed_at: datetime
    at_seq: int
    reason: str


class AssessmentRead(BaseModel):
    """One version of the outcome assessment, with the list of every version there is."""

    operation_id: str
    version: int
    versions: list[AssessmentVersionRead]
    assessment: OutcomeAssessment
