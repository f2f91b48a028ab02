"""Each timeline event as one line in the viewer's language, written from its kind and its typed
detail (workflows/details.py) through the console's catalogue.

The rules store an English summary with every event; the console writes its own line instead, so
that a Russian reader reads Russian, agencies are named from the directory and moments are in the
viewer's zone (legal deadlines with UTC). The English messages read as the stored summaries do. A
kind without a line here shows its stored summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, Final

from i18n import Texts
from web.labels import OPTION_LABELS
from web.language import N_, console_texts
from web.templating import View
from workflows import details as d
from workflows.commands import ActorRole, InterdictionKind
from workflows.events import EscalationStep, EventKind
from workflows.plan import ContingencyAction, ContingencyRules, Leg, OperationPlan
from workflows.rules.interdiction import EMERGENCY_APPROVAL_WINDOW
from workflows.timeline import Event, detail_of


class Line:
    """What writing one event's line needs: the viewer's words and names, the plan's legs."""

    def __init__(self, view: View, plan: OperationPlan | None) -> None:
        self.view = view
        self.plan = plan
        self.words: Texts = console_texts(view.language)

    def say(self, message: str, **values: Any) -> str:
        return self.view.gettext(message) % values

    def country(self, code: str) -> str:
        return self.words.country(code)

    def countries(self, codes: Iterable[str]) -> str:
        return " → ".join(self.country(code) for code in codes)

    def agencies(self, agency_ids: Iterable[str]) -> str:
        return ", ".join(self.view.agency(agency_id) for agency_id in agency_ids)

    def deadline(self, moment: Any) -> str:
        return self.view.clock.deadline(moment)

    def minutes(self, seconds: float) -> str:
        return self.words.number(round(seconds / 60))

    def option(self, value: str) -> str:
        return self.view.gettext(OPTION_LABELS.get(value, value))

    def leg(self, number: int) -> Leg | None:
        legs = self.plan.legs if self.plan else []
        return legs[number - 1] if 0 < number <= len(legs) else None

    @property
    def contingency(self) -> ContingencyRules:
        assert self.plan is not None, "a line of this kind needs the plan (NEEDS_PLAN)"
        return self.plan.contingency

    @property
    def checkpoint_interval(self) -> timedelta:
        assert self.plan is not None, "a line of this kind needs the plan (NEEDS_PLAN)"
        return self.plan.checkpoint_interval

    def consequence(self, action: ContingencyAction, *, interdiction: str) -> str:
        """What the contingency rule did: the operation aborted, or `interdiction` ordered."""
        if action is ContingencyAction.ABORT:
            return self.say(N_("operation aborted"))
        return interdiction


Writer = Callable[[Line, Event], str]


def _created(line: Line, event: Event) -> str:
    detail = detail_of(event, d.OperationCreated)
    return line.say(
        N_("Operation %(code_name)s created, route %(route)s"),
        code_name=detail.code_name,
        route=line.countries(detail.route),
    )


def _granted(line: Line, event: Event) -> str:
    detail = detail_of(event, d.AuthorisationGranted)
    return line.say(
        N_(
            "%(country)s authorisation granted by %(authority)s (ref. %(reference)s), "
            "valid until %(valid_until)s"
        ),
        country=line.country(detail.country),
        authority=detail.authority,
        reference=detail.reference,
        valid_until=line.deadline(detail.valid_until),
    )


def _refused(line: Line, event: Event) -> str:
    detail = detail_of(event, d.AuthorisationRefused)
    return line.say(
        N_("%(country)s authorisation refused by %(authority)s: %(reasons)s"),
        country=line.country(detail.country),
        authority=detail.authority,
        reasons=detail.reasons,
    )


def _confirmed(line: Line, event: Event) -> str:
    return line.say(
        N_("%(agency)s confirmed participation"), agency=line.view.agency(event.actor.agency)
    )


def _removed(line: Line, event: Event) -> str:
    detail = detail_of(event, d.ParticipantRemoved)
    return line.say(
        N_("%(agency)s no longer takes part: %(reason)s"),
        agency=line.view.agency(detail.agency),
        reason=detail.reason,
    )


def _launched(line: Line, event: Event) -> str:
    detail = detail_of(event, d.Custody)
    return line.say(
        N_("Operation launched; %(agency)s holds custody"),
        agency=line.view.agency(detail.custodian),
    )


def _offered(line: Line, event: Event) -> str:
    detail = detail_of(event, d.HandoverOffered)
    leg = line.leg(detail.leg)
    sending = line.view.agency(leg.sending_agency) if leg else line.view.agency(event.actor.agency)
    route = line.countries((leg.from_country, leg.to_country)) if leg else ""
    return line.say(
        N_(
            "%(sending)s offered the handover of leg %(leg)s (%(route)s) to %(receiving)s; "
            "acknowledgement due %(deadline)s"
        ),
        sending=sending,
        leg=detail.leg,
        route=route,
        receiving=line.view.agency(detail.receiving_agency),
        deadline=line.deadline(detail.deadline),
    )


def _acknowledged(line: Line, event: Event) -> str:
    detail = detail_of(event, d.HandoverAcknowledged)
    agency = line.view.agency(detail.custodian)
    if round(detail.late_seconds / 60) > 0:
        return line.say(
            N_(
                "%(agency)s acknowledged the handover of leg %(leg)s and holds custody, "
                "%(minutes)s min after its deadline"
            ),
            agency=agency,
            leg=detail.leg,
            minutes=line.minutes(detail.late_seconds),
        )
    return line.say(
        N_("%(agency)s acknowledged the handover of leg %(leg)s and holds custody"),
        agency=agency,
        leg=detail.leg,
    )


def _handover_refused(line: Line, event: Event) -> str:
    detail = detail_of(event, d.HandoverRefused)
    leg = line.leg(detail.leg)
    keeper = line.view.agency(leg.sending_agency) if leg else "—"
    receiving = line.view.agency(leg.receiving_agency if leg else event.actor.agency)
    return line.say(
        N_("%(agency)s refused the handover of leg %(leg)s: %(reasons)s; %(keeper)s keeps custody"),
        agency=receiving,
        leg=detail.leg,
        reasons=detail.reasons,
        keeper=keeper,
    )


def _escalation(line: Line, event: Event) -> str:
    detail = detail_of(event, d.Escalation)
    if detail.escalation is EscalationStep.REMINDER:
        deadline = event.at - timedelta(seconds=detail.overdue_seconds)
        return line.say(
            N_(
                "Acknowledgement of leg %(leg)s by %(agency)s is overdue (deadline %(deadline)s); "
                "reminder sent"
            ),
            leg=detail.leg,
            agency=line.view.agency(detail.receiving_agency),
            deadline=line.deadline(deadline),
        )
    if detail.escalation is EscalationStep.CONTACT_POINT:
        leg = line.leg(detail.leg)
        return line.say(
            N_(
                "Unacknowledged handover of leg %(leg)s escalated to the national contact point "
                "of %(country)s"
            ),
            leg=detail.leg,
            country=line.country(leg.to_country) if leg else "—",
        )
    return line.say(
        N_("Unacknowledged handover of leg %(leg)s escalated to the coordinator"), leg=detail.leg
    )


def _contingency_applied(line: Line, event: Event) -> str:
    detail = detail_of(event, d.ContingencyEscalation)
    leg = line.leg(detail.leg)
    return line.say(
        N_("Handover of leg %(leg)s still unacknowledged; contingency rule applied: %(then)s"),
        leg=detail.leg,
        then=line.consequence(
            detail.contingency,
            interdiction=line.say(
                N_("early interdiction ordered at %(place)s"),
                place=leg.crossing_point if leg else "—",
            ),
        ),
    )


def _checkpoint(line: Line, event: Event) -> str:
    detail = detail_of(event, d.CheckpointReported)
    return line.say(
        N_("Checkpoint %(place)s (%(country)s): %(status)s"),
        place=detail.place,
        country=line.country(detail.country),
        status=line.option(detail.status.value),
    )


def _checkpoint_overdue(line: Line, event: Event) -> str:
    detail = detail_of(event, d.CheckpointOverdue)
    return line.say(
        N_("No checkpoint from %(agency)s for %(minutes)s min (agreed interval %(interval)s min)"),
        agency=line.view.agency(detail.custodian) if detail.custodian else "—",
        minutes=line.minutes(detail.silent_seconds),
        interval=line.minutes(line.checkpoint_interval.total_seconds()),
    )


def _lost(line: Line, event: Event) -> str:
    detail = detail_of(event, d.SurveillanceLost)
    action = line.contingency.on_surveillance_window_expired
    return line.say(
        N_(
            "Surveillance lost near %(place)s; to be regained by %(deadline)s, else the "
            "contingency rule applies (%(then)s)"
        ),
        place=detail.last_known_place,
        deadline=line.deadline(detail.window_ends),
        then=line.option(action.value),
    )


def _regained(line: Line, event: Event) -> str:
    detail = detail_of(event, d.SurveillanceRegained)
    return line.say(
        N_("Surveillance regained at %(place)s after %(minutes)s min"),
        place=detail.place,
        minutes=line.minutes(detail.gap_seconds),
    )


def _window_expired(line: Line, event: Event) -> str:
    detail = detail_of(event, d.SurveillanceWindowExpired)
    window = line.contingency.surveillance_regain_window
    return line.say(
        N_("Surveillance not regained within %(minutes)s min; contingency rule applied: %(then)s"),
        minutes=line.minutes(window.total_seconds()),
        then=line.consequence(
            detail.contingency, interdiction=line.say(N_("early interdiction ordered"))
        ),
    )


def _compromised(line: Line, event: Event) -> str:
    detail = detail_of(event, d.OperationCompromised)
    then = line.consequence(
        detail.contingency, interdiction=line.say(N_("emergency interdiction ordered"))
    )
    return line.say(
        N_("Compromise reported by %(agency)s; %(then)s"),
        agency=line.view.agency(event.actor.agency),
        then=then,
    )


def _with_reason(message: str) -> Writer:
    def write(line: Line, event: Event) -> str:
        return line.say(message, reason=detail_of(event, d.Reason).reason)

    return write


def _resumed(line: Line, event: Event) -> str:
    detail = detail_of(event, d.OperationResumed)
    return line.say(
        N_("Operation resumed after %(minutes)s min"),
        minutes=line.minutes(detail.suspended_seconds),
    )


INTERDICTION_ORDERED: Final[dict[InterdictionKind, str]] = {
    InterdictionKind.PLANNED: N_("Planned interdiction ordered at %(place)s (%(country)s)"),
    InterdictionKind.EARLY: N_("Early interdiction ordered at %(place)s (%(country)s)"),
    InterdictionKind.EMERGENCY: N_(
        "Emergency interdiction ordered at %(place)s (%(country)s); retroactive approval due "
        "%(due)s"
    ),
}


def _ordered(line: Line, event: Event) -> str:
    detail = detail_of(event, d.InterdictionOrdered)
    ordered = line.say(
        INTERDICTION_ORDERED[detail.interdiction],
        place=detail.place,
        country=line.country(detail.country),
        due=line.deadline(event.at + EMERGENCY_APPROVAL_WINDOW),
    )
    if event.actor.role is ActorRole.SYSTEM:
        return line.say(N_("%(ordered)s by the contingency rule"), ordered=ordered)
    return ordered


def _approved(line: Line, event: Event) -> str:
    detail = detail_of(event, d.InterdictionApproved)
    return line.say(
        N_("Emergency interdiction approved by %(authority)s (ref. %(reference)s)"),
        authority=detail.authority,
        reference=detail.reference,
    )


def _approval_overdue(line: Line, event: Event) -> str:
    detail = detail_of(event, d.InterdictionApprovalOverdue)
    return line.say(
        N_("Retroactive approval of the emergency interdiction is overdue (due %(due)s)"),
        due=line.deadline(detail.approval_due),
    )


def _concluded(line: Line, event: Event) -> str:
    detail = detail_of(event, d.InterdictionConcluded)
    return line.say(
        N_("Interdiction concluded; debrief inputs due %(deadline)s"),
        deadline=line.deadline(detail.debrief_deadline),
    )


def _seizure(line: Line, event: Event) -> str:
    detail = detail_of(event, d.SeizureRecorded)
    return line.say(
        N_("%(agency)s seized %(quantity)s %(unit)s of %(substance)s at %(place)s (%(country)s)"),
        agency=line.view.agency(event.actor.agency),
        quantity=line.words.number(detail.quantity),
        unit=line.option(detail.unit.value),
        substance=line.view.substance(detail.substance),
        place=detail.place,
        country=line.country(detail.country),
    )


def _arrest(line: Line, event: Event) -> str:
    detail = detail_of(event, d.ArrestRecorded)
    return line.say(
        N_("%(agency)s arrested %(count)s (%(role)s, %(nationality)s) in %(country)s"),
        agency=line.view.agency(event.actor.agency),
        count=detail.count,
        role=line.option(detail.role.value),
        nationality=line.country(detail.nationality),
        country=line.country(detail.country),
    )


DEBRIEF_INPUTS: Final[dict[tuple[bool, bool], str]] = {
    (False, False): N_("%(agency)s submitted its debrief input"),
    (False, True): N_("%(agency)s submitted its debrief input after the deadline"),
    (True, False): N_("%(agency)s revised its debrief input"),
    (True, True): N_("%(agency)s revised its debrief input after the deadline"),
}


def _debrief_input(line: Line, event: Event) -> str:
    detail = detail_of(event, d.DebriefInputSubmitted)
    return line.say(
        DEBRIEF_INPUTS[(detail.revised, detail.late)], agency=line.view.agency(detail.agency)
    )


def _reminder(line: Line, event: Event) -> str:
    detail = detail_of(event, d.DebriefReminder)
    return line.say(
        N_("Debrief reminder %(number)s sent to %(agencies)s"),
        number=detail.number,
        agencies=line.agencies(detail.missing_inputs),
    )


def _missing(complete: str, incomplete: str) -> Writer:
    def write(line: Line, event: Event) -> str:
        missing = detail_of(event, d.MissingInputs).missing_inputs
        if not missing:
            return line.say(complete)
        return line.say(incomplete, agencies=line.agencies(missing))

    return write


def _extended(line: Line, event: Event) -> str:
    detail = detail_of(event, d.DebriefDeadlineExtended)
    return line.say(
        N_("Debrief deadline extended from %(previous)s to %(deadline)s"),
        previous=line.deadline(detail.previous_deadline),
        deadline=line.deadline(detail.deadline),
    )


def _recommendation(line: Line, event: Event) -> str:
    detail = detail_of(event, d.RecommendationAdded)
    return line.say(
        N_("Recommendation %(number)s added, owned by %(owner)s, due %(due)s"),
        number=detail.number,
        owner=line.view.agency(detail.owner),
        due=line.deadline(detail.due),
    )


def _assessment(message: str) -> Writer:
    def write(line: Line, event: Event) -> str:
        return line.say(message, version=detail_of(event, d.AssessmentVersion).version)

    return write


def _assessment_failed(line: Line, event: Event) -> str:
    detail = detail_of(event, d.AssessmentFailure)
    if detail.after_close:
        message = N_(
            "Outcome assessment version %(version)s could not be written; it is tried again "
            "until it is written"
        )
    else:
        message = N_(
            "Outcome assessment version %(version)s could not be written; the next change "
            "tries again"
        )
    return line.say(message, version=detail.version)


def _assessment_retried(line: Line, event: Event) -> str:
    return line.say(N_("The outcome assessment is tried again at once, as asked"))


def _failed(line: Line, event: Event) -> str:
    return line.say(
        N_("Consignment declared lost: %(circumstances)s"),
        circumstances=detail_of(event, d.ConsignmentLost).circumstances,
    )


WRITERS: Final[dict[EventKind, Writer]] = {
    EventKind.OPERATION_CREATED: _created,
    EventKind.AUTHORISATION_GRANTED: _granted,
    EventKind.AUTHORISATION_REFUSED: _refused,
    EventKind.PARTICIPATION_CONFIRMED: _confirmed,
    EventKind.PARTICIPANT_REMOVED: _removed,
    EventKind.OPERATION_LAUNCHED: _launched,
    EventKind.HANDOVER_OFFERED: _offered,
    EventKind.HANDOVER_ACKNOWLEDGED: _acknowledged,
    EventKind.HANDOVER_REFUSED: _handover_refused,
    EventKind.HANDOVER_ACKNOWLEDGEMENT_OVERDUE: _escalation,
    EventKind.HANDOVER_ESCALATED: _escalation,
    EventKind.HANDOVER_CONTINGENCY_APPLIED: _contingency_applied,
    EventKind.CHECKPOINT_REPORTED: _checkpoint,
    EventKind.CHECKPOINT_OVERDUE: _checkpoint_overdue,
    EventKind.SURVEILLANCE_LOST: _lost,
    EventKind.SURVEILLANCE_REGAINED: _regained,
    EventKind.SURVEILLANCE_WINDOW_EXPIRED: _window_expired,
    EventKind.OPERATION_COMPROMISED: _compromised,
    EventKind.OPERATION_SUSPENDED: _with_reason(N_("Operation suspended: %(reason)s")),
    EventKind.OPERATION_RESUMED: _resumed,
    EventKind.INTERDICTION_ORDERED: _ordered,
    EventKind.INTERDICTION_APPROVED: _approved,
    EventKind.INTERDICTION_APPROVAL_OVERDUE: _approval_overdue,
    EventKind.INTERDICTION_CONCLUDED: _concluded,
    EventKind.SEIZURE_RECORDED: _seizure,
    EventKind.ARREST_RECORDED: _arrest,
    EventKind.DEBRIEF_INPUT_SUBMITTED: _debrief_input,
    EventKind.DEBRIEF_REMINDER: _reminder,
    EventKind.DEBRIEF_DEADLINE_PASSED: _missing(
        N_("Debrief deadline passed"), N_("Debrief deadline passed; no input from %(agencies)s")
    ),
    EventKind.DEBRIEF_DEADLINE_EXTENDED: _extended,
    EventKind.DEBRIEF_RECOMMENDATION_ADDED: _recommendation,
    EventKind.DEBRIEF_ASSESSED: _assessment(
        N_("Outcome assessment version %(version)s written; the debrief report is ready")
    ),
    EventKind.DEBRIEF_ASSESSMENT_FAILED: _assessment_failed,
    EventKind.DEBRIEF_ASSESSMENT_RETRIED: _assessment_retried,
    EventKind.DEBRIEF_CLOSED: _missing(
        N_("Debrief closed"), N_("Debrief closed; no input from %(agencies)s")
    ),
    EventKind.OPERATION_ABORTED: _with_reason(N_("Operation aborted: %(reason)s")),
    EventKind.OPERATION_FAILED: _failed,
}


# Kinds whose line says what the plan agreed (an interval, a window, a contingency rule).
NEEDS_PLAN: Final = frozenset(
    {
        EventKind.CHECKPOINT_OVERDUE,
        EventKind.SURVEILLANCE_LOST,
        EventKind.SURVEILLANCE_WINDOW_EXPIRED,
    }
)


def event_line(event: Event, *, view: View, plan: OperationPlan | None) -> str:
    """The event's line in the viewer's language; its stored summary for a kind without one
    (or, where the plan is not at hand, for a kind whose line needs it)."""
    writer = WRITERS.get(event.kind)
    if writer is None or (plan is None and event.kind in NEEDS_PLAN):
        return event.summary
    return writer(Line(view, plan), event)


def named_in(events: Iterable[Event]) -> set[str]:
    """The agencies the events' details name, beside their actors, for the directory look-up."""
    named: set[str] = set()
    for event in events:
        detail = event.detail
        for field in ("agency", "receiving_agency", "custodian", "owner"):
            value = getattr(detail, field, None)
            if isinstance(value, str):
                named.add(value)
        named.update(getattr(detail, "missing_inputs", ()))
    return named
