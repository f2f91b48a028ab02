"""The lifecycle of an operation as a transition table and pure functions: no Temporal, no I/O.

`decide` takes the current state, a command and the time, and either accepts it (a new state and
the command's timeline event, followed by any event its consequence writes: the interdiction a
contingency rule orders) or refuses it with a reason a person can act on, leaving the state as it
was: an English sentence, kept as a template and its parameters for other languages
(`workflows/reasons.py`). `pending_deadlines` says which timers the state asks for; when one
fires, its command goes through `decide` like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from workflows import details
from workflows.commands import (
    SYSTEM,
    AbortOperationInput,
    AcknowledgeHandoverInput,
    Actor,
    AddRecommendationInput,
    AnyCommand,
    ApproveEmergencyInterdictionInput,
    CheckpointSilenceReached,
    CloseDebriefInput,
    Command,
    ConcludeInterdictionInput,
    ConfirmParticipationInput,
    DebriefDeadlineReached,
    DebriefReminderDue,
    DeclareConsignmentLostInput,
    EmergencyApprovalOverdue,
    ExtendDebriefDeadlineInput,
    HandoverDeadlineReached,
    LaunchOperationInput,
    OfferHandoverInput,
    OrderInterdictionInput,
    RecordArrestInput,
    RecordAssessmentFailureInput,
    RecordAssessmentInput,
    RecordAuthorisationInput,
    RecordSeizureInput,
    RefuseHandoverInput,
    RemoveParticipantInput,
    ReportCheckpointInput,
    ReportCompromiseInput,
    ReportSurveillanceLostInput,
    ReportSurveillanceRegainedInput,
    ResumeOperationInput,
    RetryAssessmentInput,
    SubmitDebriefInput,
    SurveillanceWindowExpired,
    SuspendOperationInput,
    kind_of,
)
from workflows.events import EventKind
from workflows.facts import kept_facts, note_fact
from workflows.plan import OperationPlan
from workflows.reasons import Reason, because, english
from workflows.rules.base import (
    Happened,
    RefusalError,
    RoleRefusalError,
    by_coordinator,
    by_custodian,
    by_participant,
    by_participant_or_coordinator,
    by_system,
    leg_at,
)
from workflows.rules.custody import (
    acknowledge_handover,
    by_receiving_agency,
    offer_handover,
    refuse_handover,
)
from workflows.rules.deadlines import (
    checkpoint_silence,
    debrief_deadline,
    debrief_reminder,
    emergency_overdue,
    handover_deadline,
    pending_deadlines,
    surveillance_window,
)
from workflows.rules.debrief import (
    add_recommendation,
    assessment_due,
    close_debrief,
    extend_debrief_deadline,
    missing_debrief_inputs,
    record_assessment,
    record_assessment_failure,
    retry_assessment,
    submit_debrief,
)
from workflows.rules.interdiction import (
    approve_emergency,
    by_coordinator_or_custodian_in_emergency,
    conclude_interdiction,
    order_interdiction,
    record_arrest,
    record_seizure,
)
from workflows.rules.monitoring import (
    abort,
    declare_lost,
    report_checkpoint,
    report_compromise,
    report_surveillance_lost,
    report_surveillance_regained,
    resume,
    suspend,
)
from workflows.rules.planning import (
    confirm_participation,
    launch,
    launch_blockers,
    record_authorisation,
    remove_participant,
)
from workflows.state import (
    ActionResult,
    AppliedRequest,
    OperationFacts,
    OperationState,
    Phase,
    RuleChange,
)
from workflows.timeline import TimelineEvent, timeline_event

__all__ = [
    "ACTION_NAMES",
    "PHASE_MOVES",
    "RULES",
    "Accepted",
    "Decision",
    "RefusalError",
    "Refused",
    "RoleRefusalError",
    "RoleRefused",
    "Rule",
    "assessment_due",
    "compact_checkpoints",
    "decide",
    "launch_blockers",
    "leg_at",
    "missing_debrief_inputs",
    "open_operation",
    "pending_deadlines",
    "previous_answer",
]


PHASE_MOVES: Final[Mapping[Phase, frozenset[Phase]]] = {
    Phase.PLANNING: frozenset({Phase.EXECUTION, Phase.ABORTED}),
    Phase.EXECUTION: frozenset({Phase.SUSPENDED, Phase.INTERDICTION, Phase.ABORTED, Phase.FAILED}),
    Phase.SUSPENDED: frozenset({Phase.EXECUTION, Phase.INTERDICTION, Phase.ABORTED, Phase.FAILED}),
    Phase.INTERDICTION: frozenset({Phase.DEBRIEF, Phase.FAILED}),
    Phase.DEBRIEF: frozenset({Phase.CLOSED}),
    Phase.CLOSED: frozenset(),
    Phase.ABORTED: frozenset(),
    Phase.FAILED: frozenset(),
}


@dataclass(frozen=True)
class Accepted:
    """The state after the command, and the events it wrote: the command's own event first."""

    state: OperationState
    events: tuple[TimelineEvent, ...]

    @property
    def event(self) -> TimelineEvent:
        return self.events[0]

    def answer(self, request_id: str) -> ActionResult:
        return ActionResult(
            request_id=request_id,
            event=self.event,
            phase=self.state.phase,
            custodian=self.state.custodian,
        )


@dataclass(frozen=True)
class Refused:
    """The command refused: `reason` in English, as the API answers and the records keep it
    ("cannot <action>: <why>", or "cannot <action> while the operation is <phase>; ..."); `why`
    the rules' part of it as a template and parameters, for a reader's language (a page leads in
    with its own words for "cannot <action>")."""

    reason: str
    why: Reason


@dataclass(frozen=True)
class RoleRefused(Refused):
    """Refused because the command is another role's to give, whatever the state."""

    required: str


Decision = Accepted | Refused


C = TypeVar("C", bound=Command)
ActorCheck = Callable[[OperationState, C], None]
Effect = Callable[[OperationState, C, datetime], Happened]


@dataclass(frozen=True)
class Rule(Generic[C]):
    """One command of the lifecycle: in which phases, who may give it, what it does.

    Generic in the command, so an effect or a check wired to another command's input is a
    type error (see `rule`).
    """

    command: type[C]
    phases: frozenset[Phase]
    actor: ActorCheck[C]
    effect: Effect[C]

    @property
    def kind(self) -> str:
        return kind_of(self.command)


def rule(
    command: type[C], phases: frozenset[Phase], actor: ActorCheck[C], effect: Effect[C]
) -> Rule[Any]:
    """A row of the table; the command type is inferred from the arguments alone, so each row is
    checked on its own (a `Rule[Any]` context would let any effect through)."""
    return Rule(command, phases, actor, effect)


_P, _E, _S, _I, _D, _C = (
    Phase.PLANNING,
    Phase.EXECUTION,
    Phase.SUSPENDED,
    Phase.INTERDICTION,
    Phase.DEBRIEF,
    Phase.CLOSED,
)


def _phases(*phases: Phase) -> frozenset[Phase]:
    return frozenset(phases)


_TABLE: Final[tuple[Rule[Any], ...]] = (
    # planning and the legal gate
    rule(RecordAuthorisationInput, _phases(_P), by_participant, record_authorisation),
    rule(ConfirmParticipationInput, _phases(_P), by_participant, confirm_participation),
    rule(LaunchOperationInput, _phases(_P), by_coordinator, launch),
    # custody and handovers
    rule(OfferHandoverInput, _phases(_E), by_custodian, offer_handover),
    rule(AcknowledgeHandoverInput, _phases(_E, _S), by_receiving_agency, acknowledge_handover),
    rule(RefuseHandoverInput, _phases(_E, _S), by_receiving_agency, refuse_handover),
    # monitoring and surveillance
    rule(ReportCheckpointInput, _phases(_E, _S), by_custodian, report_checkpoint),
    rule(ReportSurveillanceLostInput, _phases(_E, _S), by_custodian, report_surveillance_lost),
    rule(
        ReportSurveillanceRegainedInput,
        _phases(_E, _S),
        by_custodian,
        report_surveillance_regained,
    ),
    rule(ReportCompromiseInput, _phases(_E, _S), by_participant_or_coordinator, report_compromise),
    rule(SuspendOperationInput, _phases(_E), by_coordinator, suspend),
    rule(ResumeOperationInput, _phases(_S), by_coordinator, resume),
    # interdiction
    rule(
        OrderInterdictionInput,
        _phases(_E, _S),
        by_coordinator_or_custodian_in_emergency,
        order_interdiction,
    ),
    rule(ApproveEmergencyInterdictionInput, _phases(_I, _D), by_coordinator, approve_emergency),
    rule(RecordSeizureInput, _phases(_I, _D), by_participant, record_seizure),
    rule(RecordArrestInput, _phases(_I, _D), by_participant, record_arrest),
    rule(ConcludeInterdictionInput, _phases(_I), by_coordinator, conclude_interdiction),
    # debrief
    rule(SubmitDebriefInput, _phases(_D), by_participant, submit_debrief),
    rule(ExtendDebriefDeadlineInput, _phases(_D), by_coordinator, extend_debrief_deadline),
    rule(AddRecommendationInput, _phases(_D), by_coordinator, add_recommendation),
    rule(CloseDebriefInput, _phases(_D), by_coordinator, close_debrief),
    # participants and side exits
    rule(RemoveParticipantInput, _phases(_P, _E, _S, _I, _D), by_coordinator, remove_participant),
    rule(AbortOperationInput, _phases(_P, _E, _S), by_coordinator, abort),
    rule(DeclareConsignmentLostInput, _phases(_E, _S, _I), by_coordinator, declare_lost),
    # deadlines: the operation's own timers
    rule(HandoverDeadlineReached, _phases(_E, _S), by_system, handover_deadline),
    rule(CheckpointSilenceReached, _phases(_E), by_system, checkpoint_silence),
    rule(SurveillanceWindowExpired, _phases(_E, _S), by_system, surveillance_window),
    rule(DebriefReminderDue, _phases(_D), by_system, debrief_reminder),
    rule(DebriefDeadlineReached, _phases(_D), by_system, debrief_deadline),
    rule(EmergencyApprovalOverdue, _phases(_I, _D), by_system, emergency_overdue),
    # The one thing written after the close: the closing outcome assessment (or its failure).
    rule(RecordAssessmentInput, _phases(_D, _C), by_system, record_assessment),
    rule(RecordAssessmentFailureInput, _phases(_D, _C), by_system, record_assessment_failure),
    # ... and the coordinator asking for a failed closing assessment at once, not on its timer.
    rule(RetryAssessmentInput, _phases(_C), by_coordinator, retry_assessment),
)

RULES: Final[Mapping[type[Command], Rule[Any]]] = {row.command: row for row in _TABLE}

ACTION_NAMES: Final[Mapping[str, str]] = {row.kind: row.kind.replace("_", " ") for row in _TABLE}


def decide(state: OperationState, command: AnyCommand, *, now: datetime) -> Decision:
    """Accept the command (new state, its events) or refuse it (state untouched, a reason)."""
    rule = RULES[type(command)]
    action = ACTION_NAMES[command.kind]
    if state.phase not in rule.phases:
        allowed = tuple(sorted(phase.value for phase in rule.phases))
        return Refused(
            f"cannot {action} while the operation is {state.phase.value}; "
            f"allowed only while {english('phases', allowed)}",
            because(
                "the operation is %(phase)s; this is allowed only while it is %(phases)s",
                phase=state.phase.value,
                phases=allowed,
            ),
        )
    # The timeline and the request ids only grow: copy the rest deeply, those two by reference.
    after = state.model_copy(update={"timeline": [], "applied": {}}).model_copy(deep=True)
    after.timeline = list(state.timeline)  # for the rules to read; the events are not copied
    try:
        rule.actor(after, command)
        happened = rule.effect(after, command, now)
    except RoleRefusalError as refusal:
        return RoleRefused(f"cannot {action}: {refusal}", refusal.why, required=refusal.required)
    except RefusalError as refusal:
        return Refused(f"cannot {action}: {refusal}", refusal.why)
    assert after.phase == state.phase or after.phase in PHASE_MOVES[state.phase], (
        f"{command.kind} moved {state.phase} to {after.phase}, which the table forbids"
    )
    events: list[TimelineEvent] = []
    for number, written in enumerate((happened, *happened.then)):
        event = timeline_event(
            seq=state.next_seq + number,
            at=now,
            kind=written.kind,
            actor=written.by or command.actor,
            summary=written.summary,
            detail=written.detail,
        )
        note_fact(after, event)
        events.append(event)
    after.timeline = [*state.timeline, *events]
    after.applied = dict(state.applied)
    if command.actor != SYSTEM:
        after.applied[command.request_id] = AppliedRequest(
            command=command.kind, seq=events[0].seq, phase=after.phase, custodian=after.custodian
        )
    return Accepted(state=after, events=tuple(events))


def previous_answer(state: OperationState, command: Command, kind: str) -> ActionResult | None:
    """The answer already given to this request id, so a retried request is applied once.

    A request id reused for a different action is refused rather than silently answered.
    """
    applied = state.applied.get(command.request_id)
    if applied is None:
        return None
    if applied.command != kind:
        raise RefusalError(
            "request id %(request_id)s was already used for %(action)s",
            request_id=command.request_id,
            action=ACTION_NAMES[applied.command],
        )
    event = next(e for e in reversed(state.timeline) if e.seq == applied.seq)
    return ActionResult(
        request_id=command.request_id, event=event, phase=applied.phase, custodian=applied.custodian
    )


def compact_checkpoints(state: OperationState, *, keep: int) -> OperationState:
    """The state without all but the latest `keep` checkpoint reports.

    Thousands of checkpoints would outgrow what one run can carry into the next; the dropped
    reports are already in the read model, and what the assessment needs of them (a route
    deviation) is kept in the state's facts, which are settled here before any report goes.
    """
    checkpoints = [e.seq for e in state.timeline if e.kind == EventKind.CHECKPOINT_REPORTED]
    dropped = set(checkpoints[: max(len(checkpoints) - keep, 0)])
    if not dropped:
        return state
    return state.model_copy(
        update={
            "facts": kept_facts(state),
            "timeline": [e for e in state.timeline if e.seq not in dropped],
            "applied": {k: a for k, a in state.applied.items() if a.seq not in dropped},
            "compacted_checkpoints": state.compacted_checkpoints + len(dropped),
        }
    )


def open_operation(
    *,
    operation_id: str,
    plan: OperationPlan,
    created_by: Actor,
    now: datetime,
    rule_changes: frozenset[RuleChange] = frozenset(RuleChange),
) -> OperationState:
    """A new operation in planning, its creation the first event on the timeline.

    It decides with every change of the rules unless told otherwise (the workflow adopts only
    the changes its history allows).
    """
    state = OperationState(
        operation_id=operation_id,
        plan=plan,
        created_at=now,
        created_by=created_by,
        facts=OperationFacts(),
        rule_changes=rule_changes,
    )
    route = " -> ".join(plan.route_countries)
    state.timeline.append(
        timeline_event(
            seq=1,
            at=now,
            kind=EventKind.OPERATION_CREATED,
            actor=created_by,
            summary=f"Operation {plan.code_name} created, route {route}",
            detail=details.OperationCreated(code_name=plan.code_name, route=plan.route_countries),
        )
    )
    return state
