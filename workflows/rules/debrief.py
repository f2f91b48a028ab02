"""Debrief: inputs, deadline, recommendations, outcome assessments, the close."""

from __future__ import annotations

from datetime import datetime

from workflows import details
from workflows.commands import (
    AddRecommendationInput,
    CloseDebriefInput,
    ExtendDebriefDeadlineInput,
    RecordAssessmentFailureInput,
    RecordAssessmentInput,
    RetryAssessmentInput,
    SubmitDebriefInput,
)
from workflows.events import EventKind
from workflows.rules.base import Happened, RefusalError, debrief_changed, end_operation, utc_text
from workflows.state import (
    AssessmentRecord,
    Debrief,
    DebriefInputRecord,
    OperationOutcome,
    OperationState,
    OutcomeKind,
    Phase,
    Recommendation,
    RuleChange,
)


def missing_debrief_inputs(state: OperationState) -> list[str]:
    received = state.debrief.inputs if state.debrief else {}
    return [p.agency for p in state.plan.participants if p.agency not in received]


def assessment_due(state: OperationState) -> bool:
    """Whether an outcome assessment (a first one, or a new version) should be written now.

    The first waits for the debrief deadline or the close; after that, every change the
    assessment depends on (late input, a recommendation, a confirmed seizure) asks for a new one.
    One that failed for good waits for the next change; after the close none comes, so the
    closing assessment stays due until it is written (the workflow tries it again on a timer).
    """
    debrief = state.debrief
    if debrief is None or state.phase not in (Phase.DEBRIEF, Phase.CLOSED):
        return False
    closed = state.phase is Phase.CLOSED
    ready = debrief.deadline_passed or closed
    waits_for_a_change = debrief.revision == debrief.failed_revision and not closed
    return ready and not waits_for_a_change and debrief.revision > debrief.assessed_revision


def _owing_an_assessment(state: OperationState) -> Debrief | None:
    """The debrief, if an outcome assessment of it is due now."""
    return state.debrief if assessment_due(state) else None


def _failed_yet_owed(state: OperationState) -> Debrief:
    """The debrief whose outcome assessment failed for good and is still to be written."""
    debrief = _owing_an_assessment(state)
    if debrief is None or debrief.failed_revision != debrief.revision:
        raise RefusalError("no failed outcome assessment is waiting to be written")
    return debrief


def debrief_reminder_times(state: OperationState, debrief: Debrief) -> list[datetime]:
    before = sorted(state.plan.debrief_reminders_before, reverse=True)
    times = [debrief.deadline - offset for offset in before]
    return [t for t in times if t > debrief.opened_at]


def submit_debrief(state: OperationState, command: SubmitDebriefInput, now: datetime) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    # An input with nothing in it (a form sent by mistake) would count the agency as heard.
    contents = (
        command.problems,
        command.lessons,
        command.proposals,
        command.seizures,
        command.arrests,
        command.assets,
    )
    if RuleChange.DEBRIEF_INPUT_SAYS_SOMETHING in state.rule_changes and not any(contents):
        raise RefusalError(
            "the debrief input is empty: give at least one problem, lesson or proposal, "
            "or a seizure, an arrest or an asset"
        )
    agency = command.actor.agency
    revised = agency in debrief.inputs
    late = now > debrief.deadline
    debrief.inputs[agency] = DebriefInputRecord(
        agency=agency,
        submitted_at=now,
        submitted_by=command.actor.officer,
        late=late,
        content=command,
    )
    debrief_changed(state)
    reported = details.ReportedCounts(
        seizures=len(command.seizures), arrests=len(command.arrests), assets=len(command.assets)
    )
    return Happened(
        EventKind.DEBRIEF_INPUT_SUBMITTED,
        f"{agency} {'revised' if revised else 'submitted'} its debrief input"
        + (" after the deadline" if late else ""),
        details.DebriefInputSubmitted(agency=agency, revised=revised, late=late, reported=reported),
    )


def extend_debrief_deadline(
    state: OperationState, command: ExtendDebriefDeadlineInput, now: datetime
) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    if command.deadline <= debrief.deadline:
        raise RefusalError(
            "the new deadline must be later than the current one (%(deadline)s)",
            deadline=utc_text(debrief.deadline),
        )
    if command.deadline <= now:
        raise RefusalError("the new deadline must lie in the future")
    previous = debrief.deadline
    debrief.deadline = command.deadline
    debrief.deadline_passed = False
    # Reminders already due against the new deadline are not sent late: only later ones remain.
    debrief.reminders_sent = sum(1 for t in debrief_reminder_times(state, debrief) if t <= now)
    return Happened(
        EventKind.DEBRIEF_DEADLINE_EXTENDED,
        f"Debrief deadline extended from {utc_text(previous)} to {utc_text(command.deadline)}",
        details.DebriefDeadlineExtended(previous_deadline=previous, deadline=command.deadline),
    )


def add_recommendation(
    state: OperationState, command: AddRecommendationInput, now: datetime
) -> Happened:
    debrief = state.debrief
    assert debrief is not None
    plan = state.plan
    if command.owner != plan.coordinator_agency and plan.participant(command.owner) is None:
        raise RefusalError(
            "the owner must be a participating agency or the coordinator (%(coordinator)s); "
            "%(owner)s is neither",
            coordinator=plan.coordinator_agency,
            owner=command.owner,
        )
    if command.due <= now:
        raise RefusalError("the due date must lie in the future")
    number = len(debrief.recommendations) + 1
    debrief.recommendations.append(
        Recommendation(
            number=number,
            text=command.text,
            owner=command.owner,
            due=command.due,
            added_at=now,
            added_by=command.actor.officer,
        )
    )
    debrief_changed(state)
    return Happened(
        EventKind.DEBRIEF_RECOMMENDATION_ADDED,
        f"Recommendation {number} added, owned by {command.owner}, due {utc_text(command.due)}",
        details.RecommendationAdded(number=number, owner=command.owner, due=command.due),
    )


def record_assessment(
    state: OperationState, command: RecordAssessmentInput, now: datetime
) -> Happened:
    debrief = state.debrief
    if debrief is None or not assessment_due(state):
        raise RefusalError("no outcome assessment is due")
    expected = len(debrief.assessments) + 1
    if command.version != expected:
        raise RefusalError("the next outcome assessment is version %(version)s", version=expected)
    if not debrief.assessed_revision < command.revision <= debrief.revision:
        raise RefusalError("this outcome assessment does not follow the last one")
    debrief.assessments.append(
        AssessmentRecord(
            version=command.version,
            at_seq=command.at_seq,
            revision=command.revision,
            recorded_at=now,
        )
    )
    return Happened(
        EventKind.DEBRIEF_ASSESSED,
        f"Outcome assessment version {command.version} written; the debrief report is ready",
        details.AssessmentVersion(version=command.version, at_seq=command.at_seq),
    )


def record_assessment_failure(
    state: OperationState, command: RecordAssessmentFailureInput, now: datetime
) -> Happened:
    debrief = _owing_an_assessment(state)
    if debrief is None or command.revision != debrief.revision:
        raise RefusalError("no outcome assessment of this revision is due")
    # Told once: the closing assessment's later attempts fail without a word.
    if debrief.failed_revision == command.revision:
        raise RefusalError("this revision's outcome assessment is already recorded as failed")
    debrief.failed_revision = command.revision
    closed = state.phase is Phase.CLOSED
    then = "it is tried again until it is written" if closed else "the next change tries again"
    return Happened(
        EventKind.DEBRIEF_ASSESSMENT_FAILED,
        f"Outcome assessment version {command.version} could not be written; {then}",
        details.AssessmentFailure(
            version=command.version, at_seq=command.at_seq, after_close=closed
        ),
    )


def retry_assessment(
    state: OperationState, command: RetryAssessmentInput, now: datetime
) -> Happened:
    # Its attempt's failure is told again: the coordinator asked, and waits for the answer.
    _failed_yet_owed(state).failed_revision = None
    return Happened(
        EventKind.DEBRIEF_ASSESSMENT_RETRIED,
        "The outcome assessment is tried again at once, as asked",
        details.Nothing(),
    )


def close_debrief(state: OperationState, command: CloseDebriefInput, now: datetime) -> Happened:
    missing = missing_debrief_inputs(state)
    debrief_changed(state)
    end_operation(
        state, phase=Phase.CLOSED, outcome=OperationOutcome(kind=OutcomeKind.CLOSED), now=now
    )
    note = f"; no input from {', '.join(missing)}" if missing else ""
    return Happened(
        EventKind.DEBRIEF_CLOSED,
        f"Debrief closed{note}",
        details.MissingInputs(missing_inputs=missing),
    )
