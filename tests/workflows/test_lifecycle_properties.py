"""Properties of the lifecycle rules under arbitrary sequences of actions, actors and timers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.factories import sample_plan
from workflows.commands import SYSTEM, TIMER_KINDS, Actor, ActorRole, AnyCommand
from workflows.plan import AuthorisationGranted, AuthorisationRefused
from workflows.rules import (
    PHASE_MOVES,
    RULES,
    Accepted,
    decide,
    open_operation,
    pending_deadlines,
)
from workflows.state import OperationState, Phase

START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
PLAN = sample_plan(now=START - timedelta(days=2))
COORDINATOR = Actor(agency="caricc", officer="lo-1", role=ActorRole.COORDINATOR)
ACTORS = [
    COORDINATOR,
    Actor(agency="other-centre", officer="lo-9", role=ActorRole.COORDINATOR),
    *(
        Actor(agency=p.agency, officer=f"o-{p.agency}", role=ActorRole.OFFICER)
        for p in PLAN.participants
    ),
    Actor(agency="nl-police", officer="outsider", role=ActorRole.OFFICER),
    SYSTEM,
]
STEERING_KINDS = sorted(kind for kind in RULES if kind not in TIMER_KINDS)
COUNTRIES = ["AF", "TJ", "KZ", "UZ"]
ENDINGS = frozenset({"abort_operation", "declare_consignment_lost"})


@dataclass(frozen=True)
class Choices:
    """The free parts of a command, drawn by Hypothesis."""

    leg: int = 1
    country: str = "AF"
    granted: bool = True
    hours_ago: int = 1
    valid_days: int = 10
    substitution: bool = True
    observed_minutes_ago: int = 5
    interdiction: str = "early"
    removed: str = "nl-police"


CHOICES = st.builds(
    Choices,
    leg=st.integers(1, 3),
    country=st.sampled_from(COUNTRIES),
    granted=st.booleans(),
    hours_ago=st.integers(-2, 5),
    valid_days=st.integers(1, 30),
    substitution=st.booleans(),
    observed_minutes_ago=st.integers(-10, 30),
    interdiction=st.sampled_from(["planned", "early", "emergency"]),
    removed=st.sampled_from(["tj-dca", "nl-police"]),
)


def _fields(kind: str, chosen: Choices, now: datetime) -> dict[str, Any]:
    """Plausible (not always valid) fields for a command of this kind."""
    leg, country = chosen.leg, chosen.country
    text = "reason given"
    if kind == "record_authorisation":
        if chosen.granted:
            authorisation: Any = AuthorisationGranted(
                country=country,
                authority="prosecutor",
                reference="ref",
                legal_basis="law",
                granted_at=now - timedelta(hours=chosen.hours_ago),
                valid_until=now + timedelta(days=chosen.valid_days),
                substitution_allowed=chosen.substitution,
            )
        else:
            authorisation = AuthorisationRefused(country=country, authority="court", reasons=text)
        return {"authorisation": authorisation}
    by_kind: dict[str, dict[str, Any]] = {
        "offer_handover": {"leg": leg},
        "acknowledge_handover": {"leg": leg},
        "refuse_handover": {"leg": leg, "reasons": text},
        "report_checkpoint": {
            "place": "somewhere",
            "country": country,
            "observed_at": now - timedelta(minutes=chosen.observed_minutes_ago),
        },
        "report_surveillance_lost": {"last_known_place": "market", "circumstances": text},
        "report_surveillance_regained": {"place": "road"},
        "report_compromise": {"circumstances": text},
        "suspend_operation": {"reason": text},
        "order_interdiction": {
            "interdiction": chosen.interdiction,
            "place": "border",
            "country": country,
        },
        "approve_emergency_interdiction": {"authority": "court", "reference": "r"},
        "record_seizure": {"substance": "heroin", "quantity": 1.5, "place": "x", "country": "KZ"},
        "record_arrest": {"nationality": "TJ", "role": "courier", "country": "KZ"},
        "remove_participant": {"agency": chosen.removed, "reason": text},
        "abort_operation": {"reason": text},
        "declare_consignment_lost": {"circumstances": text},
    }
    return by_kind.get(kind, {})


class Lifecycle(RuleBasedStateMachine):
    state: OperationState
    now: datetime

    @initialize()
    def open(self) -> None:
        self.now = START
        self.state = open_operation(
            operation_id="op-1", plan=PLAN, created_by=COORDINATOR, now=self.now
        )
        self.counter = 0

    def _apply(self, command: AnyCommand) -> None:
        before = self.state
        dump = before.model_dump()
        decision = decide(before, command, now=self.now)
        if isinstance(decision, Accepted):
            assert before.phase not in (Phase.CLOSED, Phase.ABORTED, Phase.FAILED)
            after = decision.state
            assert after.timeline[:-1] == before.timeline, "earlier events never change"
            assert after.timeline[-1] == decision.event
            assert decision.event.seq == before.next_seq
            assert decision.event.at == self.now
            assert after.phase == before.phase or after.phase in PHASE_MOVES[before.phase]
            self.state = after
            event(f"reached {after.phase.value}")
        else:
            assert before.model_dump() == dump, "a refused command leaves the state as it was"
            assert decision.reason

    @rule(
        kind=st.sampled_from(STEERING_KINDS),
        actor=st.sampled_from(ACTORS),
        likely=st.booleans(),
        chosen=CHOICES,
        minutes=st.integers(0, 90),
    )
    def act(self, kind: str, actor: Actor, likely: bool, chosen: Choices, minutes: int) -> None:
        if kind in ENDINGS and chosen.valid_days > 3:
            return  # ending is easy; do it rarely, so the runs reach the later phases
        self.now += timedelta(minutes=minutes)
        self.counter += 1
        if likely:
            # Steering the right way often enough to reach the later phases.
            actor = self._likely_actor(kind)
        fields = _fields(kind, chosen, self.now)
        command: Any = RULES_INPUTS[kind](actor=actor, request_id=f"r{self.counter}", **fields)
        self._apply(command)

    @rule()
    def pass_the_legal_gate_and_launch(self) -> None:
        if self.state.phase is not Phase.PLANNING:
            return
        for participant in PLAN.participants:
            officer = Actor(agency=participant.agency, officer="o", role=ActorRole.OFFICER)
            self.counter += 1
            self._apply(
                RULES_INPUTS["record_authorisation"](
                    actor=officer,
                    request_id=f"r{self.counter}",
                    **_fields(
                        "record_authorisation", Choices(country=participant.country), self.now
                    ),
                )
            )
            self.counter += 1
            self._apply(
                RULES_INPUTS["confirm_participation"](actor=officer, request_id=f"r{self.counter}")
            )
        self.counter += 1
        self._apply(
            RULES_INPUTS["launch_operation"](actor=COORDINATOR, request_id=f"r{self.counter}")
        )

    def _likely_actor(self, kind: str) -> Actor:
        custodian = self.state.custodian
        offer = self.state.handover_offer
        if kind in ("acknowledge_handover", "refuse_handover") and offer is not None:
            agency = PLAN.legs[offer.leg - 1].receiving_agency
        elif custodian is not None and kind in ("offer_handover", "report_checkpoint"):
            agency = custodian
        else:
            return COORDINATOR
        return Actor(agency=agency, officer=f"o-{agency}", role=ActorRole.OFFICER)

    @rule()
    def fire_earliest_deadline(self) -> None:
        deadlines = pending_deadlines(self.state)
        if not deadlines:
            return
        due, timer = deadlines[0]
        self.now = max(self.now, due)
        self._apply(timer.model_copy(update={"request_id": f"timer-{self.state.next_seq}"}))

    @invariant()
    def custody_is_held_by_exactly_one_participant_after_launch(self) -> None:
        if not hasattr(self, "state"):
            return
        if self.state.launched_at is None:
            assert self.state.custodian is None
        else:
            assert self.state.plan.participant(self.state.custodian or "") is not None

    @invariant()
    def timeline_is_numbered_without_gaps(self) -> None:
        if not hasattr(self, "state"):
            return
        seqs = [e.seq for e in self.state.timeline]
        assert seqs == list(range(1, len(seqs) + 1))

    @invariant()
    def nothing_leaves_a_final_phase(self) -> None:
        if not hasattr(self, "state") or not self.state.phase.is_final:
            return
        for kind in STEERING_KINDS:
            command: Any = RULES_INPUTS[kind](
                actor=COORDINATOR, request_id="late", **_fields(kind, Choices(), self.now)
            )
            assert not isinstance(decide(self.state, command, now=self.now), Accepted)


RULES_INPUTS: dict[str, type[Any]] = {
    member.model_fields["kind"].default: member for member in get_args(get_args(AnyCommand)[0])
}

TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(
    max_examples=200,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
