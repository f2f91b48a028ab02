"""The vocabulary of an operation's timeline: what can happen, as enumerations.

The values are the strings stored in the read model and carried in the workflows' histories;
they never change, so old histories replay and old rows read.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    OPERATION_CREATED = "operation.created"
    AUTHORISATION_GRANTED = "authorisation.granted"
    AUTHORISATION_REFUSED = "authorisation.refused"
    PARTICIPATION_CONFIRMED = "participation.confirmed"
    PARTICIPANT_REMOVED = "participant.removed"
    OPERATION_LAUNCHED = "operation.launched"
    HANDOVER_OFFERED = "handover.offered"
    HANDOVER_ACKNOWLEDGED = "handover.acknowledged"
    HANDOVER_REFUSED = "handover.refused"
    HANDOVER_ACKNOWLEDGEMENT_OVERDUE = "handover.acknowledgement_overdue"
    HANDOVER_ESCALATED = "handover.escalated"
    HANDOVER_CONTINGENCY_APPLIED = "handover.contingency_applied"
    CHECKPOINT_REPORTED = "checkpoint.reported"
    CHECKPOINT_OVERDUE = "checkpoint.overdue"
    SURVEILLANCE_LOST = "surveillance.lost"
    SURVEILLANCE_REGAINED = "surveillance.regained"
    SURVEILLANCE_WINDOW_EXPIRED = "surveillance.window_expired"
    OPERATION_COMPROMISED = "operation.compromised"
    OPERATION_SUSPENDED = "operation.suspended"
    OPERATION_RESUMED = "operation.resumed"
    INTERDICTION_ORDERED = "interdiction.ordered"
    INTERDICTION_APPROVED = "interdiction.approved"
    INTERDICTION_APPROVAL_OVERDUE = "interdiction.approval_overdue"
    INTERDICTION_CONCLUDED = "interdiction.concluded"
    SEIZURE_RECORDED = "seizure.recorded"
    ARREST_RECORDED = "arrest.recorded"
    DEBRIEF_INPUT_SUBMITTED = "debrief.input_submitted"
    DEBRIEF_REMINDER = "debrief.reminder"
    DEBRIEF_DEADLINE_PASSED = "debrief.deadline_passed"
    DEBRIEF_DEADLINE_EXTENDED = "debrief.deadline_extended"
    DEBRIEF_RECOMMENDATION_ADDED = "debrief.recommendation_added"
    DEBRIEF_ASSESSED = "debrief.assessed"
    DEBRIEF_ASSESSMENT_FAILED = "debrief.assessment_failed"
    DEBRIEF_ASSESSMENT_RETRIED = "debrief.assessment_retried"
    DEBRIEF_CLOSED = "debrief.closed"
    OPERATION_ABORTED = "operation.aborted"
    OPERATION_FAILED = "operation.failed"


class EscalationStep(StrEnum):
    """The steps of an unacknowledged handover, in order: step n is the n-th member."""

    REMINDER = "reminder"
    CONTACT_POINT = "contact_point"
    COORDINATOR = "coordinator"
    CONTINGENCY = "contingency"

    @classmethod
    def numbered(cls, number: int) -> EscalationStep:
        return list(cls)[number - 1]


class HandoverOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class InterdictionCause(StrEnum):
    """Who or what ordered an interdiction."""

    ORDERED = "ordered"  # by the coordinator, or by the custodian in an emergency
    COMPROMISE = "compromise"
    SURVEILLANCE_NOT_REGAINED = "surveillance_not_regained"
    HANDOVER_UNACKNOWLEDGED = "handover_unacknowledged"
