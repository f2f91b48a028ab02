"""The outcome assessment of a known operation, every figure against one worked out by hand."""

from __future__ import annotations

import pytest

from activities.report.render import render_report_html
from i18n import Language
from tests.activities.known_operation import (
    COORDINATOR,
    DEADLINE,
    RECOMMENDED,
    at,
    known_operation,
)
from workflows.assessment import OutcomeAssessment, assess, assessment_reason
from workflows.commands import SYSTEM, CloseDebriefInput, RecordAssessmentInput
from workflows.rules import Accepted, decide
from workflows.state import OperationState, Phase

KNOWN = known_operation()


@pytest.fixture(scope="module")
def first() -> OutcomeAssessment:
    state = KNOWN.at_deadline
    return assess(
        state, version=1, at_seq=state.timeline[-1].seq, reason="debrief deadline", now=DEADLINE
    )


@pytest.fixture(scope="module")
def second() -> OutcomeAssessment:
    state = KNOWN.after_late_input
    return assess(
        state, version=2, at_seq=state.timeline[-1].seq, reason="late input", now=RECOMMENDED
    )


def test_phase_and_total_durations(first: OutcomeAssessment) -> None:
    spans = {span.phase: span for span in first.phases}
    # Planning: created 03-02 06:00, launched 03-04 06:30 = 48 h 30 min = 174 600 s.
    assert spans[Phase.PLANNING].duration_seconds == 174_600
    # Execution: 03-04 06:30 to the interdiction order 03-06 02:00 = 43 h 30 min = 156 600 s.
    assert spans[Phase.EXECUTION].duration_seconds == 156_600
    assert spans[Phase.EXECUTION].suspended_seconds == 0
    # Interdiction: 03-06 02:00 to the conclusion at 06:00 = 4 h = 14 400 s.
    assert spans[Phase.INTERDICTION].duration_seconds == 14_400
    # Debrief: still open, 03-06 06:00 to the assessment at the deadline 03-20 06:00 = 14 days.
    assert spans[Phase.DEBRIEF].ended_at is None
    assert spans[Phase.DEBRIEF].duration_seconds == 14 * 86_400
    # Whole operation so far: 03-02 06:00 to 03-20 06:00 = 18 days = 1 555 200 s.
    assert first.total_seconds == 1_555_200


def test_each_leg_against_its_plan(first: OutcomeAssessment) -> None:
    leg1, leg2 = first.legs
    # Leg 1 AF->TJ: from the launch 06:30 to the acknowledgement 13:42 = 7 h 12 min = 25 920 s,
    # planned 06:00-14:00 = 8 h = 28 800 s, handed over 18 min early = -1 080 s.
    assert (leg1.duration_seconds, leg1.planned_seconds) == (25_920, 28_800)
    assert leg1.arrival_delay_seconds == -1_080
    # Leg 2 TJ->KZ: 03-04 13:42 to 03-05 22:17 = 32 h 35 min = 117 300 s, planned
    # 03-04 16:00-03-05 22:00 = 30 h = 108 000 s, handed over 17 min late = 1 020 s.
    assert (leg2.duration_seconds, leg2.planned_seconds) == (117_300, 108_000)
    assert leg2.arrival_delay_seconds == 1_020


def test_handover_latency_against_the_deadline(first: OutcomeAssessment) -> None:
    leg1, leg2 = first.handovers
    # Leg 1: offered 13:30, deadline 30 min, acknowledged 13:42 = 12 min = 720 s, in time.
    assert (leg1.allowed_seconds, leg1.latency_seconds, leg1.late_seconds) == (1_800, 720, 0)
    assert leg1.within_deadline
    assert leg1.escalation_steps == 0
    # Leg 2: offered 21:00, deadline 21:30, acknowledged 22:17: 77 min = 4 620 s after the offer,
    # 47 min = 2 820 s after the deadline, after three escalation steps.
    assert (leg2.allowed_seconds, leg2.latency_seconds, leg2.late_seconds) == (1_800, 4_620, 2_820)
    assert not leg2.within_deadline
    assert (leg2.outcome, leg2.escalation_steps) == ("acknowledged", 3)


def test_escalations_and_what_ended_them(first: OutcomeAssessment) -> None:
    rows = [(e.leg, e.step, e.escalation, e.at, e.overdue_seconds) for e in first.escalations]
    # Steps at 0, 10 and 20 min after the 21:30 deadline.
    assert rows == [
        (2, 1, "reminder", at(5, 21, 30), 0),
        (2, 2, "contact_point", at(5, 21, 40), 600),
        (2, 3, "coordinator", at(5, 21, 50), 1_200),
    ]
    assert {(e.ended_by, e.ended_at) for e in first.escalations} == {
        ("acknowledged", at(5, 22, 17))
    }


def test_surveillance_coverage_and_gaps(first: OutcomeAssessment) -> None:
    watched = first.surveillance
    # Launched 03-04 06:30, interdicted 03-05 02:00: 156 600 s of execution. Lost 09:00,
    # regained 09:40: one gap of 40 min = 2 400 s, so 154 200 s under surveillance;
    # coverage 154 200 / 156 600 = 98.4674 % -> 98.47 %.
    assert watched.execution_seconds == 156_600
    assert watched.under_surveillance_seconds == 154_200
    assert watched.gap_seconds == 2_400
    assert watched.coverage_percent == 98.47
    assert [(g.lost_at, g.regained_at) for g in watched.gaps] == [(at(4, 9), at(4, 9, 40))]
    # Checkpoints: Kunduz bypass, Sherkhan Bandar, Dushanbe, Almaty; one silence alert.
    assert (watched.checkpoints, watched.silence_alerts) == (4, 1)
    assert first.under_control is False, "out of sight for 40 minutes"


def test_deviations_from_the_plan(first: OutcomeAssessment) -> None:
    assert [d.text for d in first.deviations] == [
        "Launched 30 min after the planned departure",  # 06:30 against 06:00
        # Early beyond the 15 min tolerance is as much a deviation as late: 13:42 against 14:00.
        "Leg 1 (AF->TJ) handed over 18 min earlier than planned",
        "Leg 2 (TJ->KZ) handed over 17 min later than planned",  # 22:17 against 22:00
        "Checkpoint Kunduz bypass (AF) reported a deviation from the route",
        "Seized mephedrone, which the plan did not list",
    ]
    assert [d.kind for d in first.deviations] == ["time", "time", "time", "route", "substitution"]


def test_seizures_by_substance_and_country(first: OutcomeAssessment) -> None:
    # KZ's debrief confirms 12.1 kg heroin (replacing the 12.5 kg it recorded) and 0.4 kg
    # mephedrone; TJ has not yet submitted, so its recorded 0.5 kg heroin stands.
    totals = [(t.substance, t.unit.value, t.quantity, t.seizures) for t in first.seizure_totals]
    assert totals == [("heroin", "kg", 12.6, 2), ("mephedrone", "kg", 0.4, 1)]
    by_country = [(c.country, c.substance, c.quantity) for c in first.seizures_by_country]
    assert by_country == [("KZ", "heroin", 12.1), ("KZ", "mephedrone", 0.4), ("TJ", "heroin", 0.5)]
    assert sorted(s.source for s in first.seizures) == ["debrief", "debrief", "interdiction"]


def test_arrests_by_role_and_nationality_and_assets(first: OutcomeAssessment) -> None:
    # KZ: 2 recipients (TJ) + 1 courier (AF); TJ: 1 facilitator (TJ) = 4 persons.
    assert first.persons_arrested == 4
    assert [(r.key, r.persons) for r in first.arrests_by_role] == [
        ("recipient", 2),
        ("courier", 1),
        ("facilitator", 1),
    ]
    assert [(r.key, r.persons) for r in first.arrests_by_nationality] == [("TJ", 3), ("AF", 1)]
    # 8 000 USD in cash + a lorry valued at 15 000 USD.
    assert [(t.currency, t.value, t.assets) for t in first.asset_totals] == [("USD", 23_000, 2)]


def test_findings_at_the_deadline(first: OutcomeAssessment) -> None:
    assert [f.text for f in first.findings] == [
        "Handover TJ->KZ (leg 2) acknowledged 47 min after its deadline",
        "Handover TJ->KZ (leg 2) went through 3 escalation steps",
        "Surveillance lost for 40 min near Kunduz bazaar",
        "Checkpoint reports were overdue 1 times",
        "No debrief input from tj-dca",
    ]
    assert first.missing_inputs == ["tj-dca"]
    assert first.recommendations == []


def test_late_input_and_a_recommendation_make_version_two(second: OutcomeAssessment) -> None:
    assert (second.version, second.missing_inputs) == (2, [])
    late = [f.text for f in second.findings if f.code == "debrief_late"]
    # Deadline 03-20 06:00, TJ's input 03-21 10:00: 28 hours late.
    assert late == ["Debrief input from tj-dca came 28.0 h after the deadline"]
    assert "debrief_missing" not in {f.code for f in second.findings}
    # TJ's input lists no seizures, so the 0.5 kg it recorded still counts.
    assert [t.quantity for t in second.seizure_totals] == [12.6, 0.4]
    (recommendation,) = second.recommendations
    assert (recommendation.number, recommendation.owner) == (1, "kz-police")
    spans = {span.phase: span for span in second.phases}
    # 03-06 06:00 to 03-21 11:00 = 15 days 5 hours = 1 314 000 s.
    assert spans[Phase.DEBRIEF].duration_seconds == 1_314_000


def test_the_same_state_gives_the_same_assessment(first: OutcomeAssessment) -> None:
    again = assess(
        KNOWN.at_deadline,
        version=1,
        at_seq=first.at_seq,
        reason="debrief deadline",
        now=DEADLINE,
    )
    assert again == first
    assert OutcomeAssessment.model_validate_json(first.model_dump_json()) == first


def by_road_then_sea() -> OperationState:
    """The known operation, its second leg planned by sea container."""
    state = KNOWN.at_deadline
    legs = [state.plan.legs[0], state.plan.legs[1].model_copy(update={"mode": "sea_container"})]
    return state.model_copy(update={"plan": state.plan.model_copy(update={"legs": legs})})


def test_each_leg_is_reported_with_its_own_mode(first: OutcomeAssessment) -> None:
    assert [leg.mode for leg in first.legs] == ["road", "road"], "the consignment's one mode"
    state = by_road_then_sea()
    mixed = assess(state, version=1, at_seq=state.timeline[-1].seq, reason="r", now=DEADLINE)
    assert [leg.mode for leg in mixed.legs] == ["road", "sea_container"]
    html = render_report_html(mixed, lang=Language.ENGLISH)
    rows = html[html.index("Crossing point") : html.index("</table>", html.index("Crossing point"))]
    assert rows.count("<td>road</td>") == 1
    assert rows.count("<td>sea container</td>") == 1
    russian = render_report_html(mixed, lang=Language.RUSSIAN)
    assert "морской контейнер" in russian


def test_a_version_written_after_a_close_that_raced_it_says_after_the_close() -> None:
    state = KNOWN.after_late_input
    debrief = state.debrief
    assert debrief is not None
    assert assessment_reason(state) == "after debrief.recommendation_added"
    # The close lands while version 1 is being written; version 1 is then noted after it.
    closed = decide(
        state, CloseDebriefInput(actor=COORDINATOR, request_id="close"), now=RECOMMENDED
    )
    assert isinstance(closed, Accepted)
    noted = decide(
        closed.state,
        RecordAssessmentInput(
            actor=SYSTEM,
            request_id="assessment-1",
            version=1,
            at_seq=state.timeline[-1].seq,
            revision=debrief.revision,
        ),
        now=RECOMMENDED,
    )
    assert isinstance(noted, Accepted)
    assert noted.state.timeline[-1].kind == "debrief.assessed"
    assert assessment_reason(noted.state) == "after debrief.closed"
