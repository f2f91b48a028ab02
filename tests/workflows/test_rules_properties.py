"""Invariants of the lifecycle rules over random runs of commands, actors, times and timers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from tests.factories import sample_plan
from workflows.commands import (
    SYSTEM,
    SYSTEM_KINDS,
    Actor,
    ActorRole,
    AnyCommand,
    InterdictionKind,
    RecordAssessmentInput,
)
from workflows.events import EventKind
from workflows.notices import notices_for
from workflows.plan import AuthorisationGranted, OperationPlan
from workflows.rules import (
    ACTION_NAMES,
    PHASE_MOVES,
    Accepted,
    RefusalError,
    assessment_due,
    decide,
    launch_blockers,
    missing_debrief_inputs,
    open_operation,
    pending_deadlines,
    previous_answer,
)
from workflows.state import OperationState, Phase

START = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
_SAMPLE = sample_plan(now=START)
# An observer besides the three route agencies, so that removing a participant can succeed.
PLAN = OperationPlan.model_validate(
    _SAMPLE.model_dump()
    | {
        "participants": [
            *(p.model_dump() for p in _SAMPLE.participants),
            {"agency": "unodc-rop", "country": "UZ", "role": "observer"},
        ]
    }
)
COORDINATOR = Actor(agency="caricc", officer="lo-almaty", role=ActorRole.COORDINATOR)


def officer(agency: str) -> Actor:
    return Actor(agency=agency, officer=f"duty-{agency}", role=ActorRole.OFFICER)


ACTORS: dict[str, Actor] = {
    "coordinator": COORDINATOR,
    "other-centre": Actor(agency="eu-centre", officer="lo-hague", role=ActorRole.COORDINATOR),
    **{p.agency: officer(p.agency) for p in PLAN.participants},
    "outsider": officer("nl-police"),
    "system": SYSTEM,
}
# Resolved against the state when the command is built: the agencies most likely to act, and
# the one the rules expect for the command's kind.
ACTOR_KEYS = [*ACTORS, "custodian", "receiver", "expected"]
COORDINATOR_KINDS = frozenset(
    {
        "launch_operation",
        "suspend_operation",
        "resume_operation",
        "approve_emergency_interdiction",
        "conclude_interdiction",
        "close_debrief",
        "extend_debrief_deadline",
        "add_recommendation",
        "remove_participant",
        "abort_operation",
        "declare_consignment_lost",
        "order_interdiction",
    }
)
KINDS = sorted(ACTION_NAMES)
COUNTRIES = ["AF", "TJ", "KZ", "UZ"]
# Drawn more often, so that runs spend time under surveillance before the way forward ends it.
WHILE_UNDER_SURVEILLANCE = [
    "report_checkpoint",
    "report_surveillance_lost",
    "report_surveillance_regained",
    "suspend_operation",
    "resume_operation",
    "refuse_handover",
    "report_compromise",
    "order_interdiction",
]
COMMANDS: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)


@dataclass(frozen=True)
class Draft:
    """A command with its free parts drawn; who and when are resolved against the run."""

    kind: str
    actor: str
    minutes: int = 0
    leg: int = 1
    country: str = "AF"
    granted: bool = True
    granted_hours_ago: int = 1
    valid_hours: int = 240
    substitution: bool = True
    observed_minutes_ago: int = 0
    interdiction: InterdictionKind = InterdictionKind.EARLY
    removed: str = "unodc-rop"
    number: int = 1
    reuse_request_id: bool = False


@dataclass(frozen=True)
class Advance:
    """The next step along the plan, by whoever should take it."""

    minutes: int


@dataclass(frozen=True)
class FireTimer:
    """The earliest pending deadline falls due."""


DRAFTS = st.builds(
    Draft,
    kind=st.one_of(st.sampled_from(KINDS), st.sampled_from(WHILE_UNDER_SURVEILLANCE)),
    actor=st.one_of(st.just("expected"), st.sampled_from(ACTOR_KEYS)),
    minutes=st.integers(0, 240),
    leg=st.integers(1, 3),
    country=st.sampled_from(COUNTRIES),
    granted=st.booleans(),
    granted_hours_ago=st.integers(-6, 48),
    valid_hours=st.integers(1, 2000),
    substitution=st.booleans(),
    observed_minutes_ago=st.integers(-30, 90),
    interdiction=st.sampled_from(InterdictionKind),
    removed=st.sampled_from(["unodc-rop", "tj-dca", "nl-police"]),
    number=st.integers(1, 4),
    reuse_request_id=st.integers(0, 9).map(lambda n: n == 0),
)
STEPS = st.one_of(
    DRAFTS,
    DRAFTS,
    st.builds(Advance, minutes=st.integers(0, 90)),
    st.just(FireTimer()),
)


def _fields(draft: Draft, now: datetime) -> dict[str, Any]:
    """Plausible fields for the draft's kind; not always ones the rules accept."""
    text = "as reported by the team on the ground"
    if draft.kind == "record_authorisation":
        if not draft.granted:
            refused = {"decision": "refused", "country": draft.country, "authority": "court"}
            return {"authorisation": refused | {"reasons": text}}
        granted_at = now - timedelta(hours=draft.granted_hours_ago)
        authorisation = {
            "decision": "granted",
            "country": draft.country,
            "authority": "prosecutor",
            "reference": "ref-1",
            "legal_basis": "criminal procedure code",
            "granted_at": granted_at,
            "valid_until": granted_at + timedelta(hours=draft.valid_hours),
            "substitution_allowed": draft.substitution,
        }
        return {"authorisation": authorisation}
    leg = {"leg": draft.leg}
    by_kind: dict[str, dict[str, Any]] = {
        "offer_handover": leg,
        "acknowledge_handover": leg,
        "refuse_handover": leg | {"reasons": text},
        "report_checkpoint": {
            "place": "road checkpoint",
            "country": draft.country,
            "observed_at": now - timedelta(minutes=draft.observed_minutes_ago),
        },
        "report_surveillance_lost": {"last_known_place": "bazaar", "circumstances": text},
        "report_surveillance_regained": {"place": "ring road"},
        "report_compromise": {"circumstances": text},
        "suspend_operation": {"reason": text},
        "order_interdiction": {
            "interdiction": draft.interdiction,
            "place": "depot",
            "country": draft.country,
        },
        "approve_emergency_interdiction": {"authority": "prosecutor", "reference": "ref-2"},
        "record_seizure": {
            "substance": "heroin",
            "quantity": 2.5,
            "place": "depot",
            "country": draft.country,
        },
        "record_arrest": {"nationality": "TJ", "role": "courier", "country": draft.country},
        "remove_participant": {"agency": draft.removed, "reason": text},
        "abort_operation": {"reason": text},
        "declare_consignment_lost": {"circumstances": text},
        "handover_deadline_reached": leg | {"step": draft.number},
        "checkpoint_silence_reached": {
            "due_at": now - timedelta(minutes=draft.observed_minutes_ago)
        },
        "debrief_reminder_due": {"number": draft.number},
        "extend_debrief_deadline": {"deadline": now + timedelta(days=draft.number)},
        "add_recommendation": {
            "text": text,
            "owner": draft.removed,
            "due": now + timedelta(days=30 * draft.number),
        },
        "record_assessment": {"version": draft.number, "at_seq": 1, "revision": draft.number},
        "record_assessment_failure": {
            "version": draft.number,
            "at_seq": 1,
            "revision": draft.number,
        },
    }
    return by_kind.get(draft.kind, {})


# What the operation notes of its outcome assessment, and the coordinator's call to try a failed
# one again: allowed after the close too.
ASSESSMENT_NOTES = ("record_assessment", "record_assessment_failure", "retry_assessment")


def expected_custodian(state: OperationState) -> str:
    legs = state.plan.legs
    if state.legs_completed == 0:
        return legs[0].sending_agency
    return legs[state.legs_completed - 1].receiving_agency


@dataclass
class Run:
    state: OperationState
    now: datetime = START
    issued: int = 0
    finals_checked: set[Phase] = field(default_factory=set)

    def request_id(self) -> str:
        self.issued += 1
        return f"req-{self.issued}"

    def actor(self, key: str, kind: str) -> Actor:
        state = self.state
        if key == "expected":
            if kind in SYSTEM_KINDS:
                key = "system"
            elif kind in COORDINATOR_KINDS:
                key = "coordinator"
            elif kind in ("acknowledge_handover", "refuse_handover"):
                key = "receiver"
            else:
                key = "custodian"
        if key == "custodian":
            return officer(state.custodian) if state.custodian else COORDINATOR
        if key == "receiver":
            offered = state.handover_offer
            number = offered.leg if offered else min(state.legs_completed + 1, len(PLAN.legs))
            return officer(PLAN.legs[number - 1].receiving_agency)
        return ACTORS[key]

    def command(self, draft: Draft) -> AnyCommand:
        request_id = self.request_id()
        if draft.reuse_request_id and self.state.applied:
            request_id = sorted(self.state.applied)[0]
        return COMMANDS.validate_python(
            {
                "kind": draft.kind,
                "actor": self.actor(draft.actor, draft.kind),
                "request_id": request_id,
                **_fields(draft, self.now),
            }
        )

    def submit(self, command: AnyCommand) -> bool:
        """As the workflow does: a retried request gets its first answer, else the rules decide."""
        if command.actor != SYSTEM:
            earlier = self.state.applied.get(command.request_id)
            if earlier is not None and earlier.command != command.kind:
                with pytest.raises(RefusalError, match="was already used for"):
                    previous_answer(self.state, command, command.kind)
                return False
            given = previous_answer(self.state, command, command.kind)
            if given is not None:
                assert given.event in self.state.timeline
                return False
        return self.apply(command)

    def apply(self, command: AnyCommand) -> bool:
        before = self.state
        dump = before.model_dump()
        decision = decide(before, command, now=self.now)
        if not isinstance(decision, Accepted):
            assert decision.reason.startswith("cannot ")
            assert before.model_dump() == dump, "a refused command leaves the state as it was"
            return False
        # The closing outcome assessment is the one thing the operation notes after its close.
        if command.kind not in ASSESSMENT_NOTES:
            assert not before.phase.is_final, f"{command.kind} accepted in {before.phase}"
        after = decision.state
        written = len(decision.events)
        assert after.timeline[:-written] == before.timeline, "earlier events never change"
        assert after.timeline[-written:] == list(decision.events)
        assert [e.seq for e in decision.events] == list(
            range(before.timeline[-1].seq + 1, before.timeline[-1].seq + 1 + written)
        )
        # Only an interdiction a contingency rule ordered follows its cause, as the system's.
        assert all(
            e.kind is EventKind.INTERDICTION_ORDERED and e.actor == SYSTEM
            for e in decision.events[1:]
        )
        assert decision.event.at == self.now
        assert decision.event.actor == command.actor
        assert after.phase == before.phase or after.phase in PHASE_MOVES[before.phase]
        if command.actor != SYSTEM:
            answer = previous_answer(after, command, command.kind)
            assert answer == decision.answer(command.request_id)
        self.state = after
        event(f"reached {after.phase.value}")
        event(f"accepted {command.kind}")
        return True

    def record_assessment(self) -> RecordAssessmentInput:
        """As the workflow does once the assessment activity has written the next version."""
        debrief = self.state.debrief
        assert debrief is not None
        return RecordAssessmentInput(
            actor=SYSTEM,
            request_id=f"assessment-{self.state.next_seq}",
            version=len(debrief.assessments) + 1,
            at_seq=self.state.timeline[-1].seq,
            revision=debrief.revision,
        )

    def fire_earliest_deadline(self) -> None:
        deadlines = pending_deadlines(self.state)
        if not deadlines:
            return
        due, timer = deadlines[0]
        self.now = max(self.now, due)
        fired = timer.model_copy(update={"request_id": f"timer-{self.state.next_seq}"})
        assert self.apply(fired), f"the rules refused the timer they asked for: {timer}"
        assert (due, timer) not in pending_deadlines(self.state), "a fired timer is answered"

    def advance(self) -> None:
        command = self.next_along_the_plan()
        if command is not None:
            assert self.submit(command), f"the way forward was refused: {command.kind}"

    def next_along_the_plan(self) -> AnyCommand | None:
        state, now = self.state, self.now
        phase = state.phase

        def command(kind: str, actor: Actor, **fields: Any) -> AnyCommand:
            request = {"kind": kind, "actor": actor, "request_id": self.request_id()}
            return COMMANDS.validate_python(request | fields)

        def custodian() -> Actor:
            assert state.custodian is not None
            return officer(state.custodian)

        if phase is Phase.PLANNING:
            if not launch_blockers(state, now=now):
                return command("launch_operation", COORDINATOR)
            for number, country in enumerate(PLAN.route_countries):
                current = state.authorisations.get(country)
                if not (
                    isinstance(current, AuthorisationGranted)
                    and current.granted_at <= now < current.valid_until
                    and current.substitution_allowed
                ):
                    agency = (
                        PLAN.legs[0].sending_agency,
                        *(leg.receiving_agency for leg in PLAN.legs),
                    )[number]
                    authorisation = AuthorisationGranted(
                        country=country,
                        authority="prosecutor",
                        reference=f"{country}-1",
                        legal_basis="criminal procedure code",
                        granted_at=now - timedelta(hours=1),
                        valid_until=now + timedelta(days=60),
                        substitution_allowed=True,
                    )
                    return command(
                        "record_authorisation", officer(agency), authorisation=authorisation
                    )
            unconfirmed = [
                p for p in state.plan.participants if p.agency not in state.confirmations
            ]
            return command("confirm_participation", officer(unconfirmed[0].agency))
        if phase is Phase.SUSPENDED:
            return command("resume_operation", COORDINATOR)
        if phase is Phase.EXECUTION:
            if state.surveillance_lost is not None:
                return command("report_surveillance_regained", custodian(), place="ring road")
            if state.handover_offer is not None:
                leg = PLAN.legs[state.handover_offer.leg - 1]
                return command(
                    "acknowledge_handover",
                    officer(leg.receiving_agency),
                    leg=state.handover_offer.leg,
                )
            if state.legs_completed < len(PLAN.legs):
                return command("offer_handover", custodian(), leg=state.legs_completed + 1)
            return command(
                "order_interdiction",
                COORDINATOR,
                interdiction="planned",
                place="Almaty depot",
                country="KZ",
            )
        if phase is Phase.INTERDICTION:
            interdiction = state.interdiction
            assert interdiction is not None
            if interdiction.approval_due is not None and interdiction.approved_at is None:
                return command(
                    "approve_emergency_interdiction",
                    COORDINATOR,
                    authority="prosecutor",
                    reference="ref-3",
                )
            if not state.seizures:
                return command(
                    "record_seizure",
                    custodian(),
                    substance="heroin",
                    quantity=12.5,
                    place="Almaty depot",
                    country="KZ",
                )
            return command("conclude_interdiction", COORDINATOR)
        if phase is Phase.DEBRIEF:
            missing = missing_debrief_inputs(state)
            if missing:
                return command("submit_debrief", officer(missing[0]), lessons=["brief earlier"])
            return command("close_debrief", COORDINATOR)
        return None

    def check_final_phase(self) -> None:
        """Once finished, every action by anyone is refused, and no timer is asked for."""
        phase = self.state.phase
        if not phase.is_final or phase in self.finals_checked:
            return
        self.finals_checked.add(phase)
        assert pending_deadlines(self.state) == []
        if assessment_due(self.state):
            self.apply(self.record_assessment())
        assert not assessment_due(self.state)
        for kind in KINDS:
            for key in ("coordinator", "custodian", "receiver", "system"):
                command = self.command(Draft(kind=kind, actor=key))
                decision = decide(self.state, command, now=self.now)
                assert not isinstance(decision, Accepted), f"{kind} accepted in {phase}"
                if kind in ASSESSMENT_NOTES and phase is Phase.CLOSED:
                    continue  # allowed after the close, but refused: none is due any more
                assert f"while the operation is {phase.value}" in decision.reason


def check_invariants(state: OperationState) -> None:
    seqs = [e.seq for e in state.timeline]
    assert seqs == sorted(set(seqs)), "timeline seqs strictly increase"
    assert seqs[0] == 1
    if state.launched_at is None:
        assert state.phase in (Phase.PLANNING, Phase.ABORTED)
        assert state.custodian is None
    else:
        # Exactly one agency holds custody: the one the completed legs put it with.
        assert state.custodian == expected_custodian(state)
        assert state.plan.participant(state.custodian) is not None
    if state.handover_offer is not None:
        assert state.phase in (Phase.EXECUTION, Phase.SUSPENDED)
        assert state.handover_offer.leg == state.legs_completed + 1
    deadlines = pending_deadlines(state)
    assert [due for due, _ in deadlines] == sorted(due for due, _ in deadlines)
    # Need-to-know: an event's notices reach the coordinator and participants, and a missed
    # acknowledgement the contact point of a country on the route; nobody else.
    allowed = {state.plan.coordinator_agency, *(p.agency for p in state.plan.participants)}
    for notice in notices_for(state, state.timeline[-1]):
        for recipient in notice.recipients:
            if recipient.agency is None:
                assert recipient.contact_point_of in state.plan.route_countries
            else:
                assert recipient.agency in allowed, f"{notice.action} to {recipient.agency}"


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(head_start=st.integers(0, 14), steps=st.lists(STEPS, min_size=25, max_size=80))
def test_random_runs_keep_the_lifecycle_invariants(
    head_start: int, steps: list[Draft | Advance | FireTimer]
) -> None:
    """Each run first follows the plan for `head_start` steps, so later phases are reached too."""
    run = Run(
        state=open_operation(operation_id="op-p", plan=PLAN, created_by=COORDINATOR, now=START)
    )
    check_invariants(run.state)
    for step in [Advance(minutes=10)] * head_start + steps:
        if isinstance(step, FireTimer):
            run.fire_earliest_deadline()
        elif isinstance(step, Advance):
            run.now += timedelta(minutes=step.minutes)
            run.advance()
        else:
            run.now += timedelta(minutes=step.minutes)
            run.submit(run.command(step))
        check_invariants(run.state)
        run.check_final_phase()
    event(f"ended in {run.state.phase.value}")
