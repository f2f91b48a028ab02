"""The actions offered to a person are exactly those the rule table would accept from them now."""

from __future__ import annotations

from datetime import timedelta

from tests.workflows.test_rules import (
    AF,
    COORDINATOR,
    KZ,
    LAUNCH,
    NOW,
    OUTSIDER,
    TJ,
    accept,
    confirm,
    handed_to_tajikistan,
    in_interdiction,
    launched,
    offer,
    planned,
)
from workflows.commands import (
    AbortOperationInput,
    ApproveEmergencyInterdictionInput,
    InterdictionKind,
)
from workflows.offers import offered_actions
from workflows.rules import Accepted, decide


def kinds(state: object, actor: object, at: object = LAUNCH) -> set[str]:
    return {a.kind for a in offered_actions(state, actor=actor, now=at)}  # type: ignore[arg-type]


def test_in_planning_an_agency_records_and_confirms_and_the_coordinator_launches() -> None:
    state = planned()
    assert {"record_authorisation", "confirm_participation"} <= kinds(state, TJ, NOW)
    assert "launch_operation" not in kinds(state, TJ, NOW)
    assert "launch_operation" in kinds(state, COORDINATOR, NOW)
    assert "confirm_participation" not in kinds(state, COORDINATOR, NOW)
    assert kinds(state, OUTSIDER, NOW) == set()


def test_a_confirmed_agency_is_not_offered_to_confirm_again() -> None:
    state = accept(planned(), confirm(TJ), NOW)
    assert "confirm_participation" not in kinds(state, TJ, NOW)
    assert "confirm_participation" in kinds(state, KZ, NOW)


def test_only_the_receiving_agency_is_offered_the_acknowledgement_of_an_offered_leg() -> None:
    state = launched()
    assert "offer_handover" in kinds(state, AF)
    assert "acknowledge_handover" not in kinds(state, TJ)
    offered = accept(state, offer(AF), LAUNCH)
    assert {"acknowledge_handover", "refuse_handover"} <= kinds(offered, TJ)
    assert "acknowledge_handover" not in kinds(offered, KZ)
    assert "offer_handover" not in kinds(offered, AF)
    leg = next(a.leg for a in offered_actions(offered, actor=TJ, now=LAUNCH) if a.leg)
    assert leg == 1


def test_the_custodian_reports_checkpoints_and_may_order_only_an_emergency_interdiction() -> None:
    state = handed_to_tajikistan()
    at = LAUNCH + timedelta(hours=1)
    assert {"report_checkpoint", "order_interdiction"} <= kinds(state, TJ, at)
    assert "report_checkpoint" not in kinds(state, AF, at)
    assert "suspend_operation" in kinds(state, COORDINATOR, at)


def test_an_ended_operation_offers_nothing_to_anyone() -> None:
    state = launched()
    aborted = decide(
        state, AbortOperationInput(actor=COORDINATOR, request_id="r", reason="leak"), now=LAUNCH
    )
    assert isinstance(aborted, Accepted)
    for actor in (COORDINATOR, AF, TJ, KZ):
        assert kinds(aborted.state, actor) == set()


def test_only_an_emergency_interdiction_not_yet_approved_is_offered_for_approval() -> None:
    at = LAUNCH + timedelta(hours=2)
    planned_one = in_interdiction(InterdictionKind.EARLY)
    assert "approve_emergency_interdiction" not in kinds(planned_one, COORDINATOR, at)
    emergency = in_interdiction(InterdictionKind.EMERGENCY)
    assert "approve_emergency_interdiction" in kinds(emergency, COORDINATOR, at)
    assert "approve_emergency_interdiction" not in kinds(emergency, AF, at)
    approve = ApproveEmergencyInterdictionInput(
        actor=COORDINATOR, request_id="approve-1", authority="Prosecutor", reference="AF-88"
    )
    decision = decide(emergency, approve, now=at)
    assert isinstance(decision, Accepted)
    assert "approve_emergency_interdiction" not in kinds(decision.state, COORDINATOR, at)
