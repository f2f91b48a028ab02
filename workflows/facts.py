"""Facts the outcome assessment needs, noted in the operation's state as each event happens.

One definition serves both ways in: `note_fact` keeps a fact as its event is decided, and
`facts_of` rebuilds them from a timeline for a state carried over before facts were kept
(such a state had dropped no fact yet, or only the checkpoints its compaction already lost).
"""

from __future__ import annotations

from collections.abc import Iterable

from workflows import details
from workflows.commands import CheckpointStatus
from workflows.events import EventKind
from workflows.state import Checkpoint, EscalationRecord, OperationFacts, OperationState
from workflows.timeline import TimelineEvent


def _note(facts: OperationFacts, route: list[str], event: TimelineEvent) -> None:
    detail = event.detail
    if isinstance(detail, details.CheckpointReported):
        if detail.status is CheckpointStatus.DEVIATED or detail.country not in route:
            facts.route_deviations.append(
                Checkpoint(
                    at=detail.observed_at,
                    place=detail.place,
                    country=detail.country,
                    status=detail.status,
                )
            )
    elif event.kind is EventKind.CHECKPOINT_OVERDUE:
        facts.silence_alerts += 1
    elif isinstance(detail, details.Escalation):
        facts.escalations.append(
            EscalationRecord(
                leg=detail.leg,
                step=detail.step,
                escalation=detail.escalation,
                at=event.at,
                overdue_seconds=detail.overdue_seconds,
            )
        )
    elif isinstance(detail, details.OperationResumed):
        facts.suspended_seconds += detail.suspended_seconds


def facts_of(state: OperationState, events: Iterable[TimelineEvent]) -> OperationFacts:
    """The facts the events record, for the state's plan."""
    facts = OperationFacts()
    route = state.plan.route_countries
    for event in events:
        _note(facts, route, event)
    return facts


def kept_facts(state: OperationState) -> OperationFacts:
    """The state's facts: kept ones, else (a state from before they were kept) its timeline's."""
    return state.facts if state.facts is not None else facts_of(state, state.timeline)


def note_fact(state: OperationState, event: TimelineEvent) -> None:
    """Keep what `event` tells the assessment in `state` (changed in place, as effects do).

    Called with the event just decided, before it joins the timeline.
    """
    if state.facts is None:
        state.facts = facts_of(state, state.timeline)
    _note(state.facts, state.plan.route_countries, event)
