"""Who must be told what, for each timeline event: pure, so the audience can be tested exhaustively.

A notice names the action and its deadline, never what the consignment is, where it goes or who is
involved: it travels over chat and e-mail, outside the operation's protection. Every recipient is
the operation's coordinator, a participant, or (for a missed acknowledgement only) the national
contact point of the receiving country, as the escalation chain prescribes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from workflows import details
from workflows.events import EscalationStep, EventKind
from workflows.state import OperationState, Phase, RuleChange
from workflows.timeline import TimelineEvent, detail_of


class NoticeAction(StrEnum):
    AUTHORISATION_NEEDED = "authorisation_needed"
    CONFIRMATION_NEEDED = "confirmation_needed"
    ACKNOWLEDGEMENT_DUE = "acknowledgement_due"
    ACKNOWLEDGEMENT_OVERDUE = "acknowledgement_overdue"
    ACKNOWLEDGEMENT_ESCALATED = "acknowledgement_escalated"
    CHECKPOINT_SILENCE = "checkpoint_silence"
    SURVEILLANCE_LOST = "surveillance_lost"
    COMPROMISE = "compromise"
    INTERDICTION_ORDERED = "interdiction_ordered"
    OPERATION_ABORTED = "operation_aborted"
    DEBRIEF_INPUT_DUE = "debrief_input_due"
    DEBRIEF_REPORT_READY = "debrief_report_ready"
    DEBRIEF_REPORT_FINAL = "debrief_report_final"
    ASSESSMENT_FAILED = "assessment_failed"
    CLOSING_ASSESSMENT_FAILED = "closing_assessment_failed"
    DELIVERY_FAILED = "delivery_failed"


class Purpose(StrEnum):
    """Which of an agency's targets a notice goes to."""

    ACTION_REQUIRED = "action_required"
    ESCALATION = "escalation"
    DIGEST = "digest"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Recipient(Model):
    """An agency, or the national contact point of a country (looked up when delivering)."""

    agency: str | None = None
    contact_point_of: str | None = None
    purpose: Purpose

    @property
    def label(self) -> str:
        return self.agency or f"national contact point of {self.contact_point_of}"


class Notice(Model):
    """One logical notification: delivered once to each target of each recipient."""

    key: str
    operation_id: str
    code_name: str
    seq: int
    action: NoticeAction
    deadline: datetime | None = None
    recipients: tuple[Recipient, ...]
    fallback: Recipient | None = None
    """Who is told when a recipient cannot be reached: the next step of the chain."""
    void_after: tuple[EventKind, ...] = ()
    """Event kinds after which the notice is moot and must not be sent any more."""
    undelivered_agency: str | None = None
    """For a DELIVERY_FAILED notice: the recipient that could not be reached."""
    undelivered_action: NoticeAction | None = None


# An offer is answered (or made moot) by any of these; its reminders must stop at once.
OFFER_CLOSED: Final = (
    EventKind.HANDOVER_ACKNOWLEDGED,
    EventKind.HANDOVER_REFUSED,
    EventKind.HANDOVER_CONTINGENCY_APPLIED,
    EventKind.INTERDICTION_ORDERED,
    EventKind.OPERATION_COMPROMISED,
    EventKind.SURVEILLANCE_WINDOW_EXPIRED,
    EventKind.OPERATION_ABORTED,
    EventKind.OPERATION_FAILED,
)
OPERATION_ENDED: Final = (
    EventKind.OPERATION_ABORTED,
    EventKind.OPERATION_FAILED,
    EventKind.DEBRIEF_CLOSED,
)
PLANNING_OVER: Final = (EventKind.OPERATION_LAUNCHED, *OPERATION_ENDED)


def _agency(agency: str, purpose: Purpose) -> Recipient:
    return Recipient(agency=agency, purpose=purpose)


def participants(state: OperationState, purpose: Purpose) -> tuple[Recipient, ...]:
    return tuple(_agency(p.agency, purpose) for p in state.plan.participants)


def everyone(state: OperationState, purpose: Purpose) -> tuple[Recipient, ...]:
    """The coordinator and every participant, once each."""
    agencies = [state.plan.coordinator_agency, *(p.agency for p in state.plan.participants)]
    return tuple(_agency(agency, purpose) for agency in dict.fromkeys(agencies))


class _Notices:
    """The notices of one event, numbered in the order they are added."""

    def __init__(self, state: OperationState, event: TimelineEvent) -> None:
        self.state = state
        self.event = event
        self.coordinator = _agency(state.plan.coordinator_agency, Purpose.ESCALATION)
        self.found: list[Notice] = []

    def add(
        self,
        action: NoticeAction,
        recipients: tuple[Recipient, ...],
        *,
        deadline: datetime | None = None,
        fallback: Recipient | Literal["coordinator"] | None = "coordinator",
        void_after: tuple[EventKind, ...] = OPERATION_ENDED,
    ) -> None:
        if not recipients:
            return
        self.found.append(
            Notice(
                key=f"{self.state.operation_id}/{self.event.seq}/{len(self.found) + 1}",
                operation_id=self.state.operation_id,
                code_name=self.state.plan.code_name,
                seq=self.event.seq,
                action=action,
                deadline=deadline,
                recipients=recipients,
                fallback=self.coordinator if fallback == "coordinator" else fallback,
                void_after=void_after,
            )
        )


def notices_for(state: OperationState, event: TimelineEvent) -> list[Notice]:
    """The notices one event calls for, given the operation as it stands after the event."""
    notices = _Notices(state, event)
    for tell in NOTICES.get(event.kind, ()):
        tell(notices)
    return notices.found


def _authorisations_and_confirmations(notices: _Notices) -> None:
    state, plan = notices.state, notices.state.plan
    route = set(plan.route_countries)
    notices.add(
        NoticeAction.AUTHORISATION_NEEDED,
        tuple(
            _agency(p.agency, Purpose.ACTION_REQUIRED)
            for p in plan.participants
            if p.country in route and p.country not in state.authorisations
        ),
        void_after=PLANNING_OVER,
    )
    notices.add(
        NoticeAction.CONFIRMATION_NEEDED,
        tuple(
            _agency(p.agency, Purpose.ACTION_REQUIRED)
            for p in plan.participants
            if p.agency not in state.confirmations
        ),
        void_after=PLANNING_OVER,
    )


def _acknowledgement_due(notices: _Notices) -> None:
    offered = detail_of(notices.event, details.HandoverOffered)
    leg = notices.state.plan.legs[offered.leg - 1]
    notices.add(
        NoticeAction.ACKNOWLEDGEMENT_DUE,
        (_agency(leg.receiving_agency, Purpose.ACTION_REQUIRED),),
        deadline=offered.deadline,
        fallback=Recipient(contact_point_of=leg.to_country, purpose=Purpose.ESCALATION),
        void_after=OFFER_CLOSED,
    )


def _checkpoint_silence(notices: _Notices) -> None:
    state = notices.state
    if state.custodian is None:
        return
    notices.add(
        NoticeAction.CHECKPOINT_SILENCE,
        tuple(
            _agency(agency, Purpose.ESCALATION)
            for agency in dict.fromkeys([state.custodian, state.plan.coordinator_agency])
        ),
        void_after=(*OPERATION_ENDED, EventKind.CHECKPOINT_REPORTED, EventKind.SURVEILLANCE_LOST),
    )


def _surveillance_lost(notices: _Notices) -> None:
    notices.add(
        NoticeAction.SURVEILLANCE_LOST,
        everyone(notices.state, Purpose.ESCALATION),
        deadline=detail_of(notices.event, details.SurveillanceLost).window_ends,
        void_after=(*OPERATION_ENDED, EventKind.SURVEILLANCE_REGAINED),
    )


def _compromise(notices: _Notices) -> None:
    notices.add(NoticeAction.COMPROMISE, everyone(notices.state, Purpose.ESCALATION))


def _debrief_input_due(notices: _Notices) -> None:
    notices.add(
        NoticeAction.DEBRIEF_INPUT_DUE,
        participants(notices.state, Purpose.ACTION_REQUIRED),
        deadline=detail_of(notices.event, details.InterdictionConcluded).debrief_deadline,
    )


def _debrief_reminder(notices: _Notices) -> None:
    debrief = notices.state.debrief
    if debrief is None:
        return
    missing = detail_of(notices.event, details.DebriefReminder).missing_inputs
    notices.add(
        NoticeAction.DEBRIEF_INPUT_DUE,
        tuple(_agency(agency, Purpose.ACTION_REQUIRED) for agency in missing),
        deadline=debrief.deadline,
    )


def _report_ready(notices: _Notices) -> None:
    state = notices.state
    final = state.phase is Phase.CLOSED and RuleChange.FINAL_REPORT_NAMES_THE_CLOSE in (
        state.rule_changes
    )
    notices.add(
        NoticeAction.DEBRIEF_REPORT_FINAL if final else NoticeAction.DEBRIEF_REPORT_READY,
        everyone(notices.state, Purpose.DIGEST),
        fallback=None,
        void_after=(),
    )


def _assessment_failed(notices: _Notices) -> None:
    closing = detail_of(notices.event, details.AssessmentFailure).after_close
    action = NoticeAction.CLOSING_ASSESSMENT_FAILED if closing else NoticeAction.ASSESSMENT_FAILED
    notices.add(action, (notices.coordinator,), fallback=None, void_after=())


def _interdiction_ordered(notices: _Notices) -> None:
    notices.add(NoticeAction.INTERDICTION_ORDERED, everyone(notices.state, Purpose.ESCALATION))


def _journey_ended(notices: _Notices) -> None:
    """A contingency rule ended the journey: everyone learns how.

    An interdiction it ordered has an event of its own, which tells of it; runs from before
    that event existed told of it here.
    """
    state = notices.state
    if state.phase is Phase.INTERDICTION:
        if RuleChange.INTERDICTION_EVENT_FOR_EVERY_CAUSE not in state.rule_changes:
            _interdiction_ordered(notices)
    elif state.phase is Phase.ABORTED:
        notices.add(
            NoticeAction.OPERATION_ABORTED, everyone(state, Purpose.ESCALATION), void_after=()
        )


def _escalation(notices: _Notices) -> None:
    state, event = notices.state, notices.event
    offer = state.handover_offer
    escalation = detail_of(event, details.Escalation)
    leg = state.plan.legs[escalation.leg - 1]
    deadline = offer.deadline if offer is not None and offer.leg == escalation.leg else None
    contact_point = Recipient(contact_point_of=leg.to_country, purpose=Purpose.ESCALATION)
    step = escalation.escalation
    if step is EscalationStep.REMINDER:
        recipient = _agency(leg.receiving_agency, Purpose.ESCALATION)
        action, fallback = NoticeAction.ACKNOWLEDGEMENT_OVERDUE, contact_point
    elif step is EscalationStep.CONTACT_POINT:
        recipient, action = contact_point, NoticeAction.ACKNOWLEDGEMENT_ESCALATED
        fallback = notices.coordinator
    elif step is EscalationStep.COORDINATOR:
        recipient, action = notices.coordinator, NoticeAction.ACKNOWLEDGEMENT_ESCALATED
        fallback = None
    else:
        return
    notices.add(action, (recipient,), deadline=deadline, fallback=fallback, void_after=OFFER_CLOSED)


def delivery_failed(notice: Notice, *, unreachable: str) -> Notice | None:
    """The notice that tells the next step of the chain that `unreachable` was not reached."""
    if notice.fallback is None:
        return None
    return Notice(
        key=f"{notice.key}/undelivered/{unreachable}",
        operation_id=notice.operation_id,
        code_name=notice.code_name,
        seq=notice.seq,
        action=NoticeAction.DELIVERY_FAILED,
        deadline=notice.deadline,
        recipients=(notice.fallback,),
        fallback=None,
        void_after=notice.void_after,
        undelivered_agency=unreachable,
        undelivered_action=notice.action,
    )


Tell = Callable[[_Notices], None]

# Who is told what, for each kind of event; a kind not here tells nobody. In order: the notices
# of one event are numbered as they are added.
NOTICES: Final[Mapping[EventKind, tuple[Tell, ...]]] = {
    EventKind.OPERATION_CREATED: (_authorisations_and_confirmations,),
    EventKind.HANDOVER_OFFERED: (_acknowledgement_due,),
    EventKind.HANDOVER_ACKNOWLEDGEMENT_OVERDUE: (_escalation,),
    EventKind.HANDOVER_ESCALATED: (_escalation,),
    EventKind.HANDOVER_CONTINGENCY_APPLIED: (_journey_ended,),
    EventKind.CHECKPOINT_OVERDUE: (_checkpoint_silence,),
    EventKind.SURVEILLANCE_LOST: (_surveillance_lost,),
    EventKind.SURVEILLANCE_WINDOW_EXPIRED: (_journey_ended,),
    EventKind.OPERATION_COMPROMISED: (_compromise, _journey_ended),
    EventKind.INTERDICTION_ORDERED: (_interdiction_ordered,),
    EventKind.INTERDICTION_CONCLUDED: (_debrief_input_due,),
    EventKind.DEBRIEF_REMINDER: (_debrief_reminder,),
    EventKind.DEBRIEF_ASSESSED: (_report_ready,),
    EventKind.DEBRIEF_ASSESSMENT_FAILED: (_assessment_failed,),
}
