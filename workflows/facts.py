"""Facts the outcome assessment needs, noted in the operation's state as each event happens.

One definition serves both ways in: `note_fact` keeps a fact as its event is decided, and
`facts_of` rebuilds them from a timeline for a state carried over before facts were kept
(such a state had dropped no fact yet, or only the checkpoints its compaction already lost).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from workflows.commands import CheckpointStatus
from workflows.state import (
    Checkpoint,
    EscalationRecord,
    OperationFacts,
    OperationState,
    TimelineEvent,
)

ESCALATION_KINDS: Final = (
    "handover.acknowledgement_overdue",
    "handover.escalated",
    "handover.contingency_applied",
)


def _note(facts: OperationFacts, route: list[str], event: TimelineEvent) -> None:
    detail = event.detail
    if event.kind == "checkpoint.reported":
        status = CheckpointStatus(detail["status"])
        country = str(detail["country"])
        if status is CheckpointStatus.DEVIATED or country not in route:
            facts.route_deviations.append(
                Checkpoint(
                    at=datetime.fromisoformat(str(detail["observed_at"])),
                    place=str(detail["place"]),
                    country=country,
                    status=status,
                )
            )
    elif event.kind == "checkpoint.overdue":
        facts.silence_alerts += 1
    elif event.kind in ESCALATION_KINDS:
        facts.escalations.append(
            EscalationRecord(
                leg=int(detail["leg"]),
                step=int(detail["step"]),
                escalation=str(detail["escalation"]),
                at=event.at,
                overdue_seconds=float(detail["overdue_seconds"]),
            )
        )
    elif event.kind == "operation.resumed":
        facts.suspended_seconds += float(detail["suspended_seconds"])


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
