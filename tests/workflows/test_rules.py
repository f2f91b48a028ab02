"""The lifecycle rules, one example per rule: who may act, when, and what it changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from tests.factories import sample_plan
from workflows import details
from workflows.assessment import assessment_reason
from workflows.commands import (
    SYSTEM,
    AbortOperationInput,
    AcknowledgeHandoverInput,
    Actor,
    ActorRole,
    AddRecommendationInput,
    AnyCommand,
    ApproveEmergencyInterdictionInput,
    CheckpointSilenceReached,
    CloseDebriefInput,
    ConcludeInterdictionInput,
    ConfirmParticipationInput,
    DebriefDeadlineReached,
    DebriefReminderDue,
    EmergencyApprovalOverdue,
    ExtendDebriefDeadlineInput,
    HandoverDeadlineReached,
    InterdictionKind,
    LaunchOperationInput,
    OfferHandoverInput,
    OrderInterdictionInput,
    RecordAssessmentFailureInput,
    RecordAssessmentInput,
    RecordAuthorisationInput,
    RecordSeizureInput,
    RefuseHandoverInput,
    ReportCheckpointInput,
    ReportCompromiseInput,
    ReportSurveillanceLostInput,
    ReportSurveillanceRegainedInput,
    ResumeOperationInput,
    RetryAssessmentInput,
    SubmitDebriefInput,
    SurveillanceWindowExpired,
    SuspendOperationInput,
    TimerCommand,
    kind_of,
)
from workflows.events import EventKind, InterdictionCause
from workflows.plan import (
    Authorisation,
    AuthorisationGranted,
    AuthorisationRefused,
    ContingencyAction,
    DeliveryType,
    EscalationDelays,
    OperationPlan,
)
from workflows.rules import (
    RULES,
    Accepted,
    RefusalError,
    Refused,
    RoleRefused,
    assessment_due,
    decide,
    launch_blockers,
    open_operation,
    pending_deadlines,
    previous_answer,
)
from workflows.state import OperationOutcome, OperationState, OutcomeKind, Phase, RuleChange
from workflows.timeline import detail_of

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
PLAN = sample_plan(now=NOW)
LAUNCH = NOW + timedelta(days=2)
COORDINATOR = Actor(agency="caricc", officer="lo-almaty", role=ActorRole.COORDINATOR)
OTHER_CENTRE = Actor(agency="eu-centre", officer="lo-hague", role=ActorRole.COORDINATOR)


def officer(agency: str) -> Actor:
    return Actor(agency=agency, officer=f"duty-{agency}", role=ActorRole.OFFICER)


AF, TJ, KZ = officer("af-cnpa"), officer("tj-dca"), officer("kz-police")
OUTSIDER = officer("nl-police")
BY_COUNTRY = {"AF": AF, "TJ": TJ, "KZ": KZ}
FIRST_CROSSING = PLAN.legs[0].crossing_point

_ids = itertools.count(1)


def rid() -> str:
    return f"req-{next(_ids)}"


def accept(state: OperationState, command: AnyCommand, at: datetime) -> OperationState:
    decision = decide(state, command, now=at)
    assert isinstance(decision, Accepted), decision
    return decision.state


def refusal(state: OperationState, command: AnyCommand, at: datetime) -> str:
    decision = decide(state, command, now=at)
    assert isinstance(decision, Refused), decision
    return decision.reason


def variant(**changes: Any) -> OperationPlan:
    return OperationPlan.model_validate(PLAN.model_dump() | changes)


def granted(country: str, **changes: Any) -> AuthorisationGranted:
    fields: dict[str, Any] = {
        "country": country,
        "authority": "Prosecutor General's Office",
        "reference": f"{country}-2026-17",
        "legal_basis": "Criminal Procedure Code",
        "granted_at": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=30),
        "substitution_allowed": True,
    }
    return AuthorisationGranted.model_validate(fields | changes)


def record(authorisation: Authorisation, actor: Actor | None = None) -> RecordAuthorisationInput:
    return RecordAuthorisationInput(
        actor=actor or BY_COUNTRY[authorisation.country],
        request_id=rid(),
        authorisation=authorisation,
    )


def confirm(actor: Actor) -> ConfirmParticipationInput:
    return ConfirmParticipationInput(actor=actor, request_id=rid())


def launch(actor: Actor = COORDINATOR) -> LaunchOperationInput:
    return LaunchOperationInput(actor=actor, request_id=rid())


def offer(actor: Actor, leg: int = 1) -> OfferHandoverInput:
    return OfferHandoverInput(actor=actor, request_id=rid(), leg=leg)


def acknowledge(actor: Actor, leg: int = 1) -> AcknowledgeHandoverInput:
    return AcknowledgeHandoverInput(actor=actor, request_id=rid(), leg=leg)


def checkpoint(actor: Actor, at: datetime, country: str = "AF") -> ReportCheckpointInput:
    return ReportCheckpointInput(
        actor=actor, request_id=rid(), place="Kunduz bypass", country=country, observed_at=at
    )


def lost(actor: Actor = AF) -> ReportSurveillanceLostInput:
    return ReportSurveillanceLostInput(
        actor=actor,
        request_id=rid(),
        last_known_place="Kunduz bazaar",
        circumstances="lorry entered a covered market",
    )


def suspend() -> SuspendOperationInput:
    return SuspendOperationInput(actor=COORDINATOR, request_id=rid(), reason="weather")


def interdict(actor: Actor, kind: InterdictionKind) -> OrderInterdictionInput:
    return OrderInterdictionInput(
        actor=actor, request_id=rid(), interdiction=kind, place="Almaty depot", country="KZ"
    )


def planned(plan: OperationPlan = PLAN) -> OperationState:
    return open_operation(operation_id="op-1", plan=plan, created_by=COORDINATOR, now=NOW)


def ready(
    plan: OperationPlan = PLAN,
    *,
    authorisations: dict[str, Authorisation] | None = None,
    confirmed: tuple[Actor, ...] = (AF, TJ, KZ),
) -> OperationState:
    """An operation in planning with the given authorisations recorded and agencies confirmed."""
    state = planned(plan)
    chosen = (
        {c: granted(c) for c in ("AF", "TJ", "KZ")} if authorisations is None else authorisations
    )
    for authorisation in chosen.values():
        state = accept(state, record(authorisation), NOW)
    for actor in confirmed:
        state = accept(state, confirm(actor), NOW)
    return state


def launched(plan: OperationPlan = PLAN) -> OperationState:
    return accept(ready(plan), launch(), LAUNCH)


def handed_to_tajikistan(at: datetime = LAUNCH) -> OperationState:
    state = accept(launched(), offer(AF), at)
    return accept(state, acknowledge(TJ), at + timedelta(minutes=5))


def in_interdiction(kind: InterdictionKind = InterdictionKind.EARLY) -> OperationState:
    actor = AF if kind is InterdictionKind.EMERGENCY else COORDINATOR
    return accept(launched(), interdict(actor, kind), LAUNCH + timedelta(hours=1))


def timer_of(state: OperationState, kind: type[TimerCommand]) -> tuple[datetime, Any]:
    """The pending deadline of this kind, when it falls due and what it fires."""
    matches = [(due, timer) for due, timer in pending_deadlines(state) if isinstance(timer, kind)]
    assert len(matches) == 1, pending_deadlines(state)
    return matches[0]


def pending_kinds(state: OperationState) -> set[str]:
    return {timer.kind for _, timer in pending_deadlines(state)}


# --- the legal gate ----------------------------------------------------------------------------


def test_launch_is_accepted_when_every_country_authorised_and_every_agency_confirmed() -> None:
    state = ready()
    assert launch_blockers(state, now=LAUNCH) == []
    state = accept(state, launch(), LAUNCH)
    assert state.phase is Phase.EXECUTION
    assert state.launched_at == LAUNCH
    assert state.custodian == "af-cnpa"
    assert state.timeline[-1].summary == "Operation launched; af-cnpa holds custody"


def test_launch_is_refused_while_a_country_has_no_authorisation() -> None:
    state = ready(authorisations={"AF": granted("AF"), "TJ": granted("TJ")})
    reason = refusal(state, launch(), LAUNCH)
    assert reason == (
        "cannot launch operation: the operation cannot be launched: "
        "no authorisation recorded for KZ"
    )
    assert state.phase is Phase.PLANNING


def test_launch_is_refused_once_an_authorisation_has_expired() -> None:
    expiry = LAUNCH - timedelta(hours=1)
    state = ready(authorisations={c: granted(c, valid_until=expiry) for c in ("AF", "TJ", "KZ")})
    reason = refusal(state, launch(), LAUNCH)
    assert f"AF authorisation expired at {expiry.isoformat()}" in reason
    assert "KZ authorisation expired" in reason


def test_launch_is_refused_before_an_authorisation_takes_effect() -> None:
    takes_effect = LAUNCH + timedelta(hours=6)
    authorisations: dict[str, Authorisation] = {c: granted(c) for c in ("AF", "TJ")}
    authorisations["KZ"] = granted("KZ", granted_at=takes_effect)
    state = ready(authorisations=authorisations)
    reason = refusal(state, launch(), LAUNCH)
    assert f"KZ authorisation takes effect only at {takes_effect.isoformat()}" in reason
    assert accept(state, launch(), takes_effect).phase is Phase.EXECUTION


def test_a_refused_authorisation_blocks_the_route_with_its_reasons() -> None:
    refused = AuthorisationRefused(
        country="TJ", authority="Prosecutor's Office", reasons="no legal basis for transit"
    )
    state = ready(authorisations={"AF": granted("AF"), "TJ": refused, "KZ": granted("KZ")})
    refusals = [e.summary for e in state.timeline if e.kind == "authorisation.refused"]
    assert refusals == [
        "TJ authorisation refused by Prosecutor's Office: no legal basis for transit"
    ]
    reason = refusal(state, launch(), LAUNCH)
    assert "TJ refused authorisation: no legal basis for transit" in reason


def test_a_refusal_can_be_replaced_by_a_later_grant() -> None:
    refused = AuthorisationRefused(country="TJ", authority="Court", reasons="file incomplete")
    state = ready(authorisations={"AF": granted("AF"), "TJ": refused, "KZ": granted("KZ")})
    state = accept(state, record(granted("TJ")), NOW + timedelta(hours=3))
    assert accept(state, launch(), LAUNCH).phase is Phase.EXECUTION


def test_a_substituted_consignment_needs_every_country_to_allow_substitution() -> None:
    assert PLAN.consignment.delivery_type is DeliveryType.PARTIALLY_SUBSTITUTED
    authorisations: dict[str, Authorisation] = {c: granted(c) for c in ("AF", "KZ")}
    authorisations["TJ"] = granted("TJ", substitution_allowed=False)
    reason = refusal(ready(authorisations=authorisations), launch(), LAUNCH)
    assert "TJ does not allow substitution, but the consignment is partially substituted" in reason


def test_an_intact_consignment_launches_without_permission_to_substitute() -> None:
    consignment = PLAN.consignment.model_dump() | {
        "delivery_type": DeliveryType.INTACT,
        "left_in": None,
    }
    plan = variant(consignment=consignment)
    authorisations: dict[str, Authorisation] = {
        c: granted(c, substitution_allowed=False) for c in ("AF", "TJ", "KZ")
    }
    state = ready(plan, authorisations=authorisations)
    assert accept(state, launch(), LAUNCH).phase is Phase.EXECUTION


def test_launch_is_refused_while_a_participant_has_not_confirmed() -> None:
    state = ready(confirmed=(AF, TJ))
    reason = refusal(state, launch(), LAUNCH)
    assert reason.endswith("awaiting confirmation of participation from kz-police")


def test_an_agency_records_only_its_own_countrys_authorisation() -> None:
    reason = refusal(planned(), record(granted("KZ"), actor=TJ), NOW)
    assert "tj-dca is an agency of TJ and records only TJ's authorisation, not KZ's" in reason


def test_an_authorisation_for_a_country_off_the_route_is_refused() -> None:
    reason = refusal(planned(), record(granted("UZ"), actor=TJ), NOW)
    assert "UZ is not on the route (AF -> TJ -> KZ)" in reason


def test_confirming_twice_is_refused() -> None:
    state = accept(planned(), confirm(KZ), NOW)
    assert "kz-police already confirmed its participation" in refusal(state, confirm(KZ), NOW)


# --- who may act -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (AF, "only the coordinator (caricc) may do this"),
        (OTHER_CENTRE, "only the coordinator (caricc) may do this"),
        (SYSTEM, "only the coordinator (caricc) may do this"),
    ],
)
def test_only_the_coordinator_launches(actor: Actor, expected: str) -> None:
    assert expected in refusal(ready(), launch(actor), LAUNCH)


@pytest.mark.parametrize("actor", [TJ, OTHER_CENTRE, OUTSIDER])
def test_only_the_coordinator_suspends_and_aborts(actor: Actor) -> None:
    state = launched()
    at = LAUNCH + timedelta(hours=1)
    for command in (
        SuspendOperationInput(actor=actor, request_id=rid(), reason="no"),
        AbortOperationInput(actor=actor, request_id=rid(), reason="no"),
    ):
        assert refusal(state, command, at).endswith("only the coordinator (caricc) may do this")
    aborted = accept(
        state, AbortOperationInput(actor=COORDINATOR, request_id=rid(), reason="leak"), at
    )
    assert aborted.phase is Phase.ABORTED
    assert aborted.outcome == OperationOutcome(kind=OutcomeKind.ABORTED, reason="leak")
    assert aborted.outcome.text == "aborted: leak"


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (KZ, "the handover of leg 1 is addressed to tj-dca, not kz-police"),
        (AF, "the handover of leg 1 is addressed to tj-dca, not af-cnpa"),
        (OUTSIDER, "nl-police is not a participating agency of this operation"),
        (COORDINATOR, "caricc is not a participating agency of this operation"),
    ],
)
def test_only_the_receiving_agency_acknowledges(actor: Actor, expected: str) -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    assert expected in refusal(state, acknowledge(actor), LAUNCH + timedelta(minutes=5))


@pytest.mark.parametrize("actor", [TJ, KZ])
def test_only_the_custodian_offers_a_handover(actor: Actor) -> None:
    reason = refusal(launched(), offer(actor), LAUNCH)
    assert f"only the custodian (af-cnpa) may do this; {actor.agency} does not hold custody" in (
        reason
    )


def test_the_coordinator_cannot_offer_a_handover() -> None:
    reason = refusal(launched(), offer(COORDINATOR), LAUNCH)
    assert "caricc is not a participating agency" in reason


def test_only_the_custodian_reports_checkpoints() -> None:
    state = launched()
    at = LAUNCH + timedelta(minutes=20)
    assert "tj-dca does not hold custody" in refusal(state, checkpoint(TJ, at), at)
    state = accept(state, checkpoint(AF, at), at)
    assert state.checkpoint_count == 1
    state = handed_to_tajikistan(at)
    later = at + timedelta(minutes=30)
    assert "af-cnpa does not hold custody" in refusal(state, checkpoint(AF, later), later)
    assert accept(state, checkpoint(TJ, later, "TJ"), later).last_checkpoint is not None


def test_a_checkpoint_observed_in_the_future_is_refused() -> None:
    at = LAUNCH + timedelta(minutes=20)
    future = checkpoint(AF, at + timedelta(minutes=30))
    assert "lies in the future" in refusal(launched(), future, at)


def test_the_next_handover_must_be_for_the_next_leg() -> None:
    reason = refusal(launched(), offer(AF, leg=2), LAUNCH)
    assert "the next handover is for leg 1, not leg 2" in reason


def test_a_second_offer_while_one_awaits_acknowledgement_is_refused() -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    reason = refusal(state, offer(AF), LAUNCH + timedelta(minutes=1))
    assert "leg 1 is already offered and awaits acknowledgement by tj-dca" in reason


def test_timers_are_reported_only_by_the_operation_itself() -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    forged = HandoverDeadlineReached(actor=COORDINATOR, request_id=rid(), leg=1, step=1)
    reason = refusal(state, forged, LAUNCH + timedelta(hours=1))
    assert "only the operation's own timers may report this" in reason


# --- custody -----------------------------------------------------------------------------------


def test_acknowledging_a_handover_nobody_offered_is_refused() -> None:
    state = launched()
    reason = refusal(state, acknowledge(TJ), LAUNCH)
    assert reason == "cannot acknowledge handover: no handover of leg 1 has been offered"
    assert state.custodian == "af-cnpa"


def test_custody_moves_only_on_acknowledgement() -> None:
    offered_at = LAUNCH + timedelta(hours=1)
    state = accept(launched(), offer(AF), offered_at)
    assert state.custodian == "af-cnpa"
    assert state.timeline[-1].summary.endswith(
        f"acknowledgement due {(offered_at + timedelta(minutes=30)).strftime('%Y-%m-%d %H:%M')} UTC"
    )
    acknowledged_at = offered_at + timedelta(minutes=12)
    state = accept(state, acknowledge(TJ), acknowledged_at)
    assert state.custodian == "tj-dca"
    assert state.custody_since == acknowledged_at
    assert state.legs_completed == 1
    assert state.handover_offer is None
    assert state.handovers[-1].outcome == "acknowledged"
    assert detail_of(state.timeline[-1], details.HandoverAcknowledged).latency_seconds == 12 * 60
    due, _ = timer_of(state, CheckpointSilenceReached)
    assert due == acknowledged_at + PLAN.checkpoint_interval


def test_a_refused_handover_leaves_custody_with_the_sender_who_may_offer_again() -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    refuse = RefuseHandoverInput(actor=TJ, request_id=rid(), leg=1, reasons="team not in place")
    state = accept(state, refuse, LAUNCH + timedelta(minutes=3))
    assert state.custodian == "af-cnpa"
    assert state.timeline[-1].summary == (
        "tj-dca refused the handover of leg 1: team not in place; af-cnpa keeps custody"
    )
    assert state.handovers[-1].reasons == "team not in place"
    assert "handover_deadline_reached" not in pending_kinds(state)
    assert accept(state, offer(AF), LAUNCH + timedelta(hours=1)).handover_offer is not None


def test_a_second_acknowledgement_says_who_already_acknowledged_and_when() -> None:
    acknowledged_at = LAUNCH + timedelta(minutes=12)
    state = accept(accept(launched(), offer(AF), LAUNCH), acknowledge(TJ), acknowledged_at)
    reason = refusal(state, acknowledge(TJ), acknowledged_at + timedelta(minutes=5))
    assert reason == (
        "cannot acknowledge handover: the handover of leg 1 was already acknowledged by "
        f"tj-dca (duty-tj-dca) at {acknowledged_at.strftime('%Y-%m-%d %H:%M')} UTC"
    )
    assert state.custodian == "tj-dca"


def test_a_second_refusal_says_who_already_refused_and_when() -> None:
    refused_at = LAUNCH + timedelta(minutes=3)
    refuse = RefuseHandoverInput(actor=TJ, request_id=rid(), leg=1, reasons="team not in place")
    state = accept(accept(launched(), offer(AF), LAUNCH), refuse, refused_at)
    again = RefuseHandoverInput(actor=TJ, request_id=rid(), leg=1, reasons="still not")
    reason = refusal(state, again, refused_at + timedelta(minutes=1))
    assert reason == (
        "cannot refuse handover: the handover of leg 1 was already refused by "
        f"tj-dca (duty-tj-dca) at {refused_at.strftime('%Y-%m-%d %H:%M')} UTC; "
        "no new offer has been made since"
    )
    reoffered = accept(state, offer(AF), refused_at + timedelta(minutes=10))
    assert accept(reoffered, acknowledge(TJ), refused_at + timedelta(minutes=11)).custodian == (
        "tj-dca"
    )


def test_no_handover_is_left_once_the_destination_holds_custody() -> None:
    state = handed_to_tajikistan()
    at = LAUNCH + timedelta(hours=10)
    state = accept(accept(state, offer(TJ, leg=2), at), acknowledge(KZ, leg=2), at)
    assert state.custodian == "kz-police"
    reason = refusal(state, offer(KZ, leg=3), at)
    assert "the consignment has reached its destination" in reason


# --- escalation --------------------------------------------------------------------------------


def test_an_unacknowledged_handover_escalates_then_interdicts_at_the_crossing_point() -> None:
    offered_at = LAUNCH + timedelta(hours=1)
    deadline = offered_at + timedelta(minutes=30)
    state = accept(launched(), offer(AF), offered_at)
    steps = [
        (deadline, "handover.acknowledgement_overdue", "reminder sent"),
        (deadline + timedelta(minutes=10), "handover.escalated", "national contact point of TJ"),
        (deadline + timedelta(minutes=20), "handover.escalated", "escalated to the coordinator"),
        (
            deadline + timedelta(minutes=35),
            "handover.contingency_applied",
            f"early interdiction ordered at {FIRST_CROSSING}",
        ),
    ]
    for number, (expected_due, kind, words) in enumerate(steps, start=1):
        due, timer = timer_of(state, HandoverDeadlineReached)
        assert (due, timer.leg, timer.step) == (expected_due, 1, number)
        before = len(state.timeline)
        state = accept(state, timer, due)
        step = state.timeline[before]
        assert step.kind == kind
        assert words in step.summary
        assert step.actor == SYSTEM
    assert state.timeline[-1].kind is EventKind.INTERDICTION_ORDERED
    assert state.phase is Phase.INTERDICTION
    assert state.custodian == "af-cnpa"
    interdiction = state.interdiction
    assert interdiction is not None
    assert (interdiction.kind, interdiction.place, interdiction.country) == (
        InterdictionKind.EARLY,
        FIRST_CROSSING,
        "AF",
    )
    assert state.handovers[-1].outcome == "withdrawn"
    assert state.handovers[-1].escalation_steps == 4
    assert "handover_deadline_reached" not in pending_kinds(state)


def test_a_late_acknowledgement_after_the_second_step_ends_the_escalation() -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    deadline = LAUNCH + timedelta(minutes=30)
    for _ in range(2):
        due, timer = timer_of(state, HandoverDeadlineReached)
        state = accept(state, timer, due)
    assert state.handover_offer is not None
    assert state.handover_offer.escalation_step == 2
    state = accept(state, acknowledge(TJ), deadline + timedelta(minutes=15))
    assert state.custodian == "tj-dca"
    assert state.timeline[-1].summary.endswith("holds custody, 15 min after its deadline")
    assert state.handover_offer is None
    assert state.handovers[-1].escalation_steps == 2
    assert "handover_deadline_reached" not in pending_kinds(state)
    stale = HandoverDeadlineReached(actor=SYSTEM, request_id="timer", leg=1, step=3)
    reason = refusal(state, stale, deadline + timedelta(minutes=20))
    assert "no handover of leg 1 has been offered" in reason


def test_a_leg_may_set_its_own_escalation_delays() -> None:
    quick = EscalationDelays(reminder_after=timedelta(minutes=5))
    first, second = (leg.model_dump() for leg in PLAN.legs)
    plan = variant(legs=[first | {"escalation": quick.model_dump()}, second])
    state = accept(launched(plan), offer(AF), LAUNCH)
    due, _ = timer_of(state, HandoverDeadlineReached)
    assert due == LAUNCH + timedelta(minutes=35)


def test_an_unacknowledged_handover_aborts_when_the_contingency_says_abort() -> None:
    contingency = {"on_handover_unacknowledged": ContingencyAction.ABORT}
    state = accept(launched(variant(contingency=contingency)), offer(AF), LAUNCH)
    for _ in range(4):
        due, timer = timer_of(state, HandoverDeadlineReached)
        state = accept(state, timer, due)
    assert state.phase is Phase.ABORTED
    assert state.outcome == OperationOutcome(
        kind=OutcomeKind.ABORTED_BY_CONTINGENCY, reason="handover of leg 1 not acknowledged"
    )
    assert pending_deadlines(state) == []


def test_checkpoint_silence_raises_an_alert_each_interval_until_a_checkpoint_comes() -> None:
    state = launched()
    due, timer = timer_of(state, CheckpointSilenceReached)
    assert due == LAUNCH + PLAN.checkpoint_interval
    state = accept(state, timer, due)
    assert (
        state.timeline[-1].summary
        == "No checkpoint from af-cnpa for 60 min (agreed interval 60 min)"
    )
    assert refusal(state, timer, due) == (
        "cannot checkpoint silence reached: this checkpoint silence has already been answered"
    )
    next_due, _ = timer_of(state, CheckpointSilenceReached)
    assert next_due == due + PLAN.checkpoint_interval
    reported = due + timedelta(minutes=10)
    state = accept(state, checkpoint(AF, reported), reported)
    assert timer_of(state, CheckpointSilenceReached)[0] == reported + PLAN.checkpoint_interval


# --- surveillance, compromise, suspension ------------------------------------------------------


def test_surveillance_lost_then_regained_within_the_window() -> None:
    lost_at = LAUNCH + timedelta(hours=1)
    state = accept(launched(), lost(), lost_at)
    assert "to be regained by" in state.timeline[-1].summary
    window_due, _ = timer_of(state, SurveillanceWindowExpired)
    assert window_due == lost_at + timedelta(hours=2)
    assert "checkpoint_silence_reached" not in pending_kinds(state)
    assert "surveillance is already lost since" in refusal(state, lost(), lost_at)
    at = lost_at + timedelta(minutes=10)
    assert "report it regained before a checkpoint" in refusal(state, checkpoint(AF, at), at)
    regained_at = lost_at + timedelta(minutes=40)
    regain = ReportSurveillanceRegainedInput(actor=AF, request_id=rid(), place="Kunduz ring road")
    state = accept(state, regain, regained_at)
    assert state.timeline[-1].summary == "Surveillance regained at Kunduz ring road after 40 min"
    assert state.surveillance_lost is None
    assert [(g.lost_at, g.regained_at) for g in state.surveillance_gaps] == [(lost_at, regained_at)]
    assert pending_kinds(state) == {"checkpoint_silence_reached"}
    expired = SurveillanceWindowExpired(actor=SYSTEM, request_id="timer")
    assert "surveillance is not lost" in refusal(state, expired, window_due)


def test_surveillance_not_regained_in_time_leads_to_interdiction_at_the_last_known_place() -> None:
    state = accept(launched(), lost(), LAUNCH)
    due, timer = timer_of(state, SurveillanceWindowExpired)
    state = accept(state, timer, due)
    assert state.phase is Phase.INTERDICTION
    assert state.interdiction is not None
    assert state.interdiction.place == "Kunduz bazaar"
    assert state.interdiction.country == "AF"
    assert state.interdiction.reason == "surveillance not regained in time"
    expired, ordered = state.timeline[-2:]
    assert expired.summary == (
        "Surveillance not regained within 120 min; contingency rule applied: "
        "early interdiction ordered at Kunduz bazaar"
    )
    assert ordered.summary == (
        "Early interdiction ordered at Kunduz bazaar (AF) by the contingency rule: "
        "surveillance not regained in time"
    )
    assert (ordered.seq, ordered.actor) == (expired.seq + 1, SYSTEM)
    assert state.surveillance_gaps[-1].regained_at is None


def test_surveillance_not_regained_aborts_when_the_contingency_says_abort() -> None:
    contingency = {"on_surveillance_window_expired": ContingencyAction.ABORT}
    state = accept(launched(variant(contingency=contingency)), lost(), LAUNCH)
    due, timer = timer_of(state, SurveillanceWindowExpired)
    state = accept(state, timer, due)
    assert state.phase is Phase.ABORTED
    assert state.outcome == OperationOutcome(
        kind=OutcomeKind.ABORTED_BY_CONTINGENCY, reason="surveillance not regained in time"
    )


def test_a_compromise_triggers_an_emergency_interdiction_at_once() -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    at = LAUNCH + timedelta(minutes=10)
    report = ReportCompromiseInput(actor=TJ, request_id=rid(), circumstances="courier tipped off")
    state = accept(state, report, at)
    assert state.compromised_at == at
    assert state.phase is Phase.INTERDICTION
    assert state.interdiction is not None
    assert state.interdiction.kind is InterdictionKind.EMERGENCY
    assert state.interdiction.approval_due == at + timedelta(hours=72)
    assert state.handovers[-1].outcome == "withdrawn"
    outsider = ReportCompromiseInput(actor=OUTSIDER, request_id=rid(), circumstances="rumour")
    assert "not a participating agency" in refusal(launched(), outsider, at)


def test_every_interdiction_a_contingency_rule_orders_is_an_event_naming_its_cause() -> None:
    lost_state = accept(launched(), lost(), LAUNCH)
    due, expiry = timer_of(lost_state, SurveillanceWindowExpired)
    unacknowledged = accept(launched(), offer(AF), LAUNCH)
    for _ in range(3):
        step_due, step = timer_of(unacknowledged, HandoverDeadlineReached)
        unacknowledged = accept(unacknowledged, step, step_due)
    step_due, last_step = timer_of(unacknowledged, HandoverDeadlineReached)
    compromise = ReportCompromiseInput(actor=TJ, request_id=rid(), circumstances="tipped off")
    cases = [
        (lost_state, expiry, due, InterdictionCause.SURVEILLANCE_NOT_REGAINED),
        (unacknowledged, last_step, step_due, InterdictionCause.HANDOVER_UNACKNOWLEDGED),
        (launched(), compromise, LAUNCH, InterdictionCause.COMPROMISE),
    ]
    for before, command, at, cause in cases:
        decision = decide(before, command, now=at)
        assert isinstance(decision, Accepted), decision
        applied, ordered = decision.events
        assert decision.state.timeline[-2:] == [applied, ordered]
        order = detail_of(ordered, details.InterdictionOrdered)
        assert ordered.kind is EventKind.INTERDICTION_ORDERED
        interdiction = decision.state.interdiction
        assert interdiction is not None
        assert (order.cause, order.interdiction, order.place, order.country, order.reason) == (
            cause,
            interdiction.kind,
            interdiction.place,
            interdiction.country,
            interdiction.reason,
        )
        # A run recorded before such events existed decides as it did: one event.
        old_run = before.model_copy(update={"rule_changes": frozenset()})
        old = decide(old_run, command, now=at)
        assert isinstance(old, Accepted)
        assert [e.kind for e in old.events] == [applied.kind]
    ordered_by_hand = detail_of(in_interdiction().timeline[-1], details.InterdictionOrdered)
    assert ordered_by_hand.cause is InterdictionCause.ORDERED


def test_a_partial_substitution_must_say_what_is_left_in_before_the_launch() -> None:
    consignment = PLAN.consignment.model_dump() | {"left_in": None}
    state = ready(variant(consignment=consignment))
    reason = refusal(state, launch(), LAUNCH)
    assert "partially substituted but the plan does not say what is left in" in reason
    assert "consignment.left_in" in reason
    old_run = state.model_copy(update={"rule_changes": frozenset()})
    assert accept(old_run, launch(), LAUNCH).phase is Phase.EXECUTION
    # What is left in is a substitution too: every country must allow it.
    authorisations: dict[str, Authorisation] = {c: granted(c) for c in ("AF", "TJ")}
    authorisations["KZ"] = granted("KZ", substitution_allowed=False)
    assert PLAN.consignment.left_in is not None
    reason = refusal(ready(authorisations=authorisations), launch(), LAUNCH)
    assert "KZ does not allow substitution, but the consignment is partially substituted" in reason


def test_a_compromise_aborts_when_the_contingency_says_abort() -> None:
    state = launched(variant(contingency={"on_compromise": ContingencyAction.ABORT}))
    report = ReportCompromiseInput(actor=COORDINATOR, request_id=rid(), circumstances="leak")
    state = accept(state, report, LAUNCH)
    assert state.phase is Phase.ABORTED
    assert state.timeline[-1].summary == "Compromise reported by caricc; operation aborted"


def test_suspend_and_resume() -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    suspended_at = LAUNCH + timedelta(minutes=5)
    state = accept(state, suspend(), suspended_at)
    assert state.phase is Phase.SUSPENDED
    assert "checkpoint_silence_reached" not in pending_kinds(state)
    assert "cannot suspend operation while the operation is suspended" in refusal(
        state, suspend(), suspended_at
    )
    assert refusal(state, offer(AF, leg=2), suspended_at) == (
        "cannot offer handover while the operation is suspended; allowed only while execution"
    )
    state = accept(state, acknowledge(TJ), suspended_at + timedelta(minutes=1))
    assert state.custodian == "tj-dca"
    resumed_at = suspended_at + timedelta(minutes=90)
    state = accept(state, ResumeOperationInput(actor=COORDINATOR, request_id=rid()), resumed_at)
    assert state.phase is Phase.EXECUTION
    assert state.timeline[-1].summary == "Operation resumed after 90 min"
    assert timer_of(state, CheckpointSilenceReached)[0] == resumed_at + PLAN.checkpoint_interval
    resume = ResumeOperationInput(actor=COORDINATOR, request_id=rid())
    assert "while the operation is execution" in refusal(state, resume, resumed_at)


# --- interdiction and debrief ------------------------------------------------------------------


def test_an_emergency_interdiction_needs_approval_within_72_hours() -> None:
    ordered_at = LAUNCH + timedelta(hours=1)
    state = in_interdiction(InterdictionKind.EMERGENCY)
    assert state.interdiction is not None
    assert state.interdiction.approval_due == ordered_at + timedelta(hours=72)
    assert "retroactive approval due" in state.timeline[-1].summary
    due, timer = timer_of(state, EmergencyApprovalOverdue)
    assert due == ordered_at + timedelta(hours=72)
    overdue = accept(state, timer, due)
    assert overdue.interdiction is not None
    assert overdue.interdiction.approval_overdue
    assert "emergency_approval_overdue" not in pending_kinds(overdue)
    approve = ApproveEmergencyInterdictionInput(
        actor=COORDINATOR, request_id=rid(), authority="Prosecutor", reference="AF-88"
    )
    approved = accept(state, approve, ordered_at + timedelta(hours=20))
    assert "emergency_approval_overdue" not in pending_kinds(approved)


def test_the_custodian_may_order_only_an_emergency_interdiction() -> None:
    reason = refusal(launched(), interdict(AF, InterdictionKind.EARLY), LAUNCH)
    assert "the custodian may order only an emergency interdiction" in reason
    early = accept(launched(), interdict(COORDINATOR, InterdictionKind.EARLY), LAUNCH)
    assert early.interdiction is not None
    assert early.interdiction.approval_due is None
    assert "emergency_approval_overdue" not in pending_kinds(early)


def test_a_planned_interdiction_waits_for_the_destination() -> None:
    reason = refusal(
        handed_to_tajikistan(), interdict(COORDINATOR, InterdictionKind.PLANNED), LAUNCH
    )
    assert "has completed 1 of 2 legs; order an early interdiction instead" in reason


def test_a_seizure_of_infinite_quantity_is_refused() -> None:
    seizure = {
        "actor": KZ.model_dump(),
        "request_id": "req-inf",
        "substance": "heroin",
        "quantity": float("inf"),
        "place": "depot",
        "country": "KZ",
    }
    with pytest.raises(ValidationError, match="quantity"):
        RecordSeizureInput.model_validate(seizure)


def test_debrief_reminders_then_deadline_name_the_missing_agencies() -> None:
    concluded_at = LAUNCH + timedelta(hours=6)
    state = in_interdiction()
    seizure = RecordSeizureInput(
        actor=KZ, request_id=rid(), substance="heroin", quantity=2.0, place="depot", country="KZ"
    )
    state = accept(state, seizure, concluded_at)
    state = accept(
        state, ConcludeInterdictionInput(actor=COORDINATOR, request_id=rid()), concluded_at
    )
    assert state.phase is Phase.DEBRIEF
    deadline = concluded_at + timedelta(days=14)
    debrief = SubmitDebriefInput(actor=AF, request_id=rid(), lessons=["brief earlier"])
    state = accept(state, debrief, concluded_at + timedelta(days=1))
    assert timer_of(state, DebriefDeadlineReached)[0] == deadline
    for number, before in enumerate((timedelta(days=3), timedelta(days=1)), start=1):
        due, timer = timer_of(state, DebriefReminderDue)
        assert (due, timer.number) == (deadline - before, number)
        state = accept(state, timer, due)
        assert state.timeline[-1].summary.endswith("reminded tj-dca, kz-police")
    assert "debrief_reminder_due" not in pending_kinds(state)
    due, timer = timer_of(state, DebriefDeadlineReached)
    state = accept(state, timer, due)
    assert state.timeline[-1].summary == "Debrief deadline passed; no input from tj-dca, kz-police"
    assert pending_deadlines(state) == []
    late = SubmitDebriefInput(actor=TJ, request_id=rid(), lessons=["late word"])
    state = accept(state, late, deadline + timedelta(hours=1))
    assert state.debrief is not None
    assert state.debrief.inputs["tj-dca"].late
    state = accept(state, CloseDebriefInput(actor=COORDINATOR, request_id=rid()), deadline)
    assert state.phase is Phase.CLOSED
    assert state.timeline[-1].summary == "Debrief closed; no input from kz-police"


def test_no_debrief_timers_once_every_agency_has_submitted() -> None:
    state = accept(
        in_interdiction(), ConcludeInterdictionInput(actor=COORDINATOR, request_id=rid()), LAUNCH
    )
    for actor in (AF, TJ, KZ):
        state = accept(
            state, SubmitDebriefInput(actor=actor, request_id=rid(), lessons=["ETA"]), LAUNCH
        )
    assert pending_deadlines(state) == []


def test_an_empty_debrief_input_is_refused_and_counts_no_agency_as_heard() -> None:
    state = accept(
        in_interdiction(), ConcludeInterdictionInput(actor=COORDINATOR, request_id=rid()), LAUNCH
    )
    empty = SubmitDebriefInput(actor=TJ, request_id=rid())
    assert refusal(state, empty, LAUNCH).endswith(
        "the debrief input is empty: give at least one problem, lesson or proposal, "
        "or a seizure, an arrest or an asset"
    )
    assert state.debrief is not None
    assert "tj-dca" not in state.debrief.inputs
    # A run that started before the change replays as it ran: its empty input was accepted.
    before = state.model_copy(
        update={"rule_changes": state.rule_changes - {RuleChange.DEBRIEF_INPUT_SAYS_SOMETHING}}
    )
    accepted = accept(before, empty, LAUNCH)
    assert accepted.debrief is not None
    assert "tj-dca" in accepted.debrief.inputs


def in_debrief() -> tuple[OperationState, datetime]:
    concluded_at = LAUNCH + timedelta(hours=6)
    conclude = ConcludeInterdictionInput(actor=COORDINATOR, request_id=rid())
    state = accept(in_interdiction(), conclude, concluded_at)
    return state, concluded_at


def record_assessment(state: OperationState) -> RecordAssessmentInput:
    assert state.debrief is not None
    return RecordAssessmentInput(
        actor=SYSTEM,
        request_id=rid(),
        version=len(state.debrief.assessments) + 1,
        at_seq=state.timeline[-1].seq,
        revision=state.debrief.revision,
    )


def test_the_coordinator_extends_the_debrief_deadline_and_reminders_are_planned_again() -> None:
    state, concluded_at = in_debrief()
    deadline = concluded_at + timedelta(days=14)
    extend = ExtendDebriefDeadlineInput(
        actor=COORDINATOR, request_id=rid(), deadline=deadline - timedelta(days=1)
    )
    assert "later than the current one" in refusal(state, extend, concluded_at)
    by_officer = ExtendDebriefDeadlineInput(
        actor=AF, request_id=rid(), deadline=deadline + timedelta(days=7)
    )
    assert "only the coordinator" in refusal(state, by_officer, concluded_at)
    # Both reminders sent, deadline passed: the extension re-opens the debrief.
    for _ in range(2):
        due, timer = timer_of(state, DebriefReminderDue)
        state = accept(state, timer, due)
    state = accept(state, timer_of(state, DebriefDeadlineReached)[1], deadline)
    past = ExtendDebriefDeadlineInput(
        actor=COORDINATOR, request_id=rid(), deadline=deadline + timedelta(hours=1)
    )
    assert "must lie in the future" in refusal(state, past, deadline + timedelta(hours=2))
    later = deadline + timedelta(days=7)
    extended_at = deadline + timedelta(days=5)  # the 3-day reminder is already due: not sent
    extend = ExtendDebriefDeadlineInput(actor=COORDINATOR, request_id=rid(), deadline=later)
    state = accept(state, extend, extended_at)
    assert state.debrief is not None
    assert state.debrief.deadline == later
    assert not state.debrief.deadline_passed
    assert state.timeline[-1].kind == "debrief.deadline_extended"
    due, reminder = timer_of(state, DebriefReminderDue)
    assert (due, reminder.number) == (later - timedelta(days=1), 2)
    assert timer_of(state, DebriefDeadlineReached)[0] == later
    late = SubmitDebriefInput(actor=TJ, request_id=rid(), lessons=["late word"])
    state = accept(state, late, extended_at + timedelta(hours=1))
    assert state.debrief is not None
    assert not state.debrief.inputs["tj-dca"].late


def test_recommendations_are_owned_by_a_participant_or_the_coordinator() -> None:
    state, concluded_at = in_debrief()
    due = concluded_at + timedelta(days=60)

    def recommend(owner: str, actor: Actor = COORDINATOR, when: datetime = due) -> AnyCommand:
        return AddRecommendationInput(
            actor=actor, request_id=rid(), text="Duty officer at crossing", owner=owner, due=when
        )

    assert "nl-police is neither" in refusal(state, recommend("nl-police"), concluded_at)
    assert "only the coordinator" in refusal(state, recommend("kz-police", KZ), concluded_at)
    assert "due date must lie in the future" in refusal(
        state, recommend("kz-police", when=concluded_at), concluded_at
    )
    state = accept(state, recommend("kz-police"), concluded_at)
    state = accept(state, recommend("caricc"), concluded_at)
    assert state.debrief is not None
    assert [(r.number, r.owner) for r in state.debrief.recommendations] == [
        (1, "kz-police"),
        (2, "caricc"),
    ]
    assert state.timeline[-1].kind == "debrief.recommendation_added"


def test_a_debrief_input_carries_validated_seizures_arrests_and_assets() -> None:
    state, concluded_at = in_debrief()
    submit = SubmitDebriefInput.model_validate(
        {
            "actor": KZ.model_dump(),
            "request_id": rid(),
            "seizures": [
                {"substance": "heroin", "quantity": 12.1, "place": "Almaty", "country": "kz"}
            ],
            "arrests": [{"count": 2, "nationality": "TJ", "role": "recipient", "country": "KZ"}],
            "assets": [
                {
                    "kind": "cash",
                    "description": "banknotes",
                    "value": 8000,
                    "currency": "USD",
                    "country": "KZ",
                }
            ],
        }
    )
    state = accept(state, submit, concluded_at)
    submitted = detail_of(state.timeline[-1], details.DebriefInputSubmitted)
    assert submitted.reported == details.ReportedCounts(seizures=1, arrests=1, assets=1)
    bad_asset = {"kind": "cash", "description": "x", "value": -1, "currency": "USD"}
    bad_asset["country"] = "KZ"
    with pytest.raises(ValidationError, match="value"):
        SubmitDebriefInput.model_validate(
            {"actor": KZ.model_dump(), "request_id": rid(), "assets": [bad_asset]}
        )
    with pytest.raises(ValidationError, match="quantity"):
        SubmitDebriefInput.model_validate(
            {
                "actor": KZ.model_dump(),
                "request_id": rid(),
                "seizures": [{"substance": "x", "quantity": 0, "place": "y", "country": "KZ"}],
            }
        )


def test_an_assessment_is_due_at_the_deadline_and_again_after_late_input() -> None:
    state, concluded_at = in_debrief()
    state = accept(
        state, SubmitDebriefInput(actor=AF, request_id=rid(), lessons=["ETA"]), concluded_at
    )
    assert not assessment_due(state), "no assessment before the deadline"
    deadline = concluded_at + timedelta(days=14)
    for _ in range(2):
        due, timer = timer_of(state, DebriefReminderDue)
        state = accept(state, timer, due)
    state = accept(state, timer_of(state, DebriefDeadlineReached)[1], deadline)
    assert assessment_due(state)
    first = record_assessment(state)
    state = accept(state, first, deadline)
    assert state.timeline[-1].kind == "debrief.assessed"
    assert state.timeline[-1].detail.model_dump(mode="json") == {
        "version": 1,
        "at_seq": first.at_seq,
    }
    assert not assessment_due(state)
    again = record_assessment(state).model_copy(update={"version": 1})
    assert "no outcome assessment is due" in refusal(state, again, deadline)
    late = SubmitDebriefInput(actor=TJ, request_id=rid(), lessons=["earlier notice"])
    state = accept(state, late, deadline + timedelta(hours=2))
    assert assessment_due(state)
    assert "is version 2" in refusal(state, again, deadline + timedelta(hours=2))
    state = accept(state, record_assessment(state), deadline + timedelta(hours=2))
    close = CloseDebriefInput(actor=COORDINATOR, request_id=rid())
    state = accept(state, close, deadline + timedelta(hours=3))
    assert state.phase is Phase.CLOSED
    assert assessment_due(state), "the close asks for the closing assessment"
    state = accept(state, record_assessment(state), deadline + timedelta(hours=3))
    assert state.debrief is not None
    assert [a.version for a in state.debrief.assessments] == [1, 2, 3]
    assert not assessment_due(state)
    assert "only the operation's own timers" in refusal(
        state, record_assessment(state).model_copy(update={"actor": COORDINATOR}), deadline
    )


def record_failure(state: OperationState) -> RecordAssessmentFailureInput:
    written = record_assessment(state)
    return RecordAssessmentFailureInput(**written.model_dump(exclude={"kind"}))


def test_a_failed_assessment_waits_for_a_change_until_the_close_then_stays_due() -> None:
    state, concluded_at = in_debrief()
    deadline = concluded_at + timedelta(days=14)
    for _ in range(2):
        due, timer = timer_of(state, DebriefReminderDue)
        state = accept(state, timer, due)
    state = accept(state, timer_of(state, DebriefDeadlineReached)[1], deadline)
    state = accept(state, record_failure(state), deadline)
    assert state.timeline[-1].summary.endswith("; the next change tries again")
    assert not detail_of(state.timeline[-1], details.AssessmentFailure).after_close
    assert not assessment_due(state), "before the close a failure waits for the next change"

    closed_at = deadline + timedelta(hours=1)
    state = accept(state, CloseDebriefInput(actor=COORDINATOR, request_id=rid()), closed_at)
    state = accept(state, record_failure(state), closed_at)
    assert state.timeline[-1].summary == (
        "Outcome assessment version 1 could not be written; it is tried again until it is written"
    )
    assert detail_of(state.timeline[-1], details.AssessmentFailure).after_close
    assert assessment_due(state), "after the close no change comes: it stays due until written"
    assert "already recorded as failed" in refusal(state, record_failure(state), closed_at)
    state = accept(state, record_assessment(state), closed_at + timedelta(hours=6))
    assert state.debrief is not None
    assert [a.version for a in state.debrief.assessments] == [1]
    assert not assessment_due(state)


def test_the_coordinator_may_ask_for_a_failed_closing_assessment_at_once() -> None:
    state, concluded_at = in_debrief()
    retry = RetryAssessmentInput(actor=COORDINATOR, request_id=rid())
    assert "while the operation is debrief" in refusal(state, retry, concluded_at)
    state = accept(state, CloseDebriefInput(actor=COORDINATOR, request_id=rid()), concluded_at)
    waiting = "no failed outcome assessment is waiting to be written"
    assert waiting in refusal(state, retry, concluded_at), "nothing has failed yet"
    state = accept(state, record_failure(state), concluded_at)

    asked_at = concluded_at + timedelta(hours=1)
    assert role_refusal(state, retry.model_copy(update={"actor": AF}), asked_at).required == (
        "coordinator"
    )
    state = accept(state, retry, asked_at)
    assert state.timeline[-1].kind == "debrief.assessment_retried"
    assert state.timeline[-1].actor == COORDINATOR
    twice = RetryAssessmentInput(actor=COORDINATOR, request_id=rid())
    assert waiting in refusal(state, twice, asked_at), "its attempt is already asked for"
    # The attempt asked for fails too: told again, as the coordinator waits for it.
    state = accept(state, record_failure(state), asked_at)
    assert assessment_reason(state) == "after debrief.closed"
    state = accept(state, record_assessment(state), asked_at + timedelta(hours=2))
    again = RetryAssessmentInput(actor=COORDINATOR, request_id=rid())
    assert waiting in refusal(state, again, asked_at + timedelta(hours=2)), "already written"


# --- final phases and retried requests ---------------------------------------------------------


def test_nothing_is_accepted_once_aborted() -> None:
    state = accept(
        ready(), AbortOperationInput(actor=COORDINATOR, request_id=rid(), reason="x"), NOW
    )
    assert state.phase is Phase.ABORTED
    assert state.custodian is None
    reason = refusal(state, launch(), LAUNCH)
    assert reason == (
        "cannot launch operation while the operation is aborted; allowed only while planning"
    )


def test_a_retried_request_gets_the_answer_already_given() -> None:
    state = ready(confirmed=(AF, TJ))
    command = confirm(KZ)
    decision = decide(state, command, now=NOW)
    assert isinstance(decision, Accepted)
    assert previous_answer(state, command, command.kind) is None
    answer = previous_answer(decision.state, command, command.kind)
    assert answer == decision.answer(command.request_id)
    assert answer.event.kind == "participation.confirmed"
    after_more = accept(decision.state, launch(), LAUNCH)
    again = previous_answer(after_more, command, command.kind)
    assert again is not None
    assert again.event.seq == decision.event.seq
    assert again.phase is Phase.PLANNING


def test_a_request_id_reused_for_another_action_is_refused() -> None:
    command = confirm(KZ)
    state = accept(ready(confirmed=(AF, TJ)), command, NOW)
    reused = LaunchOperationInput(actor=COORDINATOR, request_id=command.request_id)
    with pytest.raises(RefusalError, match=f"request id {command.request_id} was already used"):
        previous_answer(state, reused, reused.kind)


def test_timers_leave_no_request_id_behind() -> None:
    state = accept(launched(), offer(AF), LAUNCH)
    due, timer = timer_of(state, HandoverDeadlineReached)
    assert accept(state, timer, due).applied == state.applied


def role_refusal(state: OperationState, command: AnyCommand, at: datetime) -> RoleRefused:
    decision = decide(state, command, now=at)
    assert isinstance(decision, RoleRefused), decision
    return decision


def test_every_command_names_who_may_give_it_in_the_table() -> None:
    assert {kind_of(command) for command in RULES} == {
        kind_of(member) for member in get_args(get_args(AnyCommand)[0])
    }
    for command, row in RULES.items():
        assert row.command is command
        assert row.actor.__name__.startswith("by_"), f"{row.kind}: the check is in the table"


def test_another_roles_command_is_a_role_refusal_naming_the_role() -> None:
    state = ready()
    assert role_refusal(state, launch(AF), NOW).required == "coordinator"
    assert role_refusal(state, confirm(COORDINATOR), NOW).required == (
        "officer of a participating agency"
    )
    state = accept(launched(), offer(AF), LAUNCH)
    wrong = role_refusal(state, acknowledge(KZ), LAUNCH)
    assert wrong.required == "receiving agency of leg 1"
    assert "addressed to tj-dca, not kz-police" in wrong.reason
    early = role_refusal(launched(), interdict(AF, InterdictionKind.EARLY), LAUNCH)
    assert early.required == "coordinator"
    assert role_refusal(launched(), offer(TJ), LAUNCH).required == "custodian"


def test_a_wrong_state_is_not_a_role_refusal() -> None:
    decision = decide(ready(), acknowledge(TJ), now=NOW)
    assert isinstance(decision, Refused)
    assert not isinstance(decision, RoleRefused)
    assert "while the operation is planning" in decision.reason
