"""Plan validation: nonsense is refused with a message that says what to change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from pydantic import ValidationError
from temporalio.client import Client

from tests.factories import plan_at_limits, sample_plan
from tests.temporal_env import converter_for_tests
from workflows.commands import Actor, ActorRole
from workflows.messages import RunOperationInput
from workflows.plan import (
    MAX_PLAN_BYTES,
    AuthorisationGranted,
    Handling,
    HandlingCode,
    LeftIn,
    OperationPlan,
    QuantityUnit,
    Substance,
    TransportMode,
    plan_size_problem,
    schedule_faults,
    schedule_problems,
    serialized_size,
)
from workflows.starter import PlanRejectedError, start_operation

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
PLAN = sample_plan(now=NOW)
DEPARTURE = PLAN.legs[0].planned_departure


def variant(**changes: Any) -> OperationPlan:
    """The sample plan with some top-level fields replaced, validated again."""
    return OperationPlan.model_validate(PLAN.model_dump() | changes)


def legs(**second_leg: Any) -> list[dict[str, Any]]:
    """The sample route with the second leg's fields replaced."""
    first, second = (leg.model_dump() for leg in PLAN.legs)
    return [first, second | second_leg]


def participants(*extra: tuple[str, str]) -> list[dict[str, Any]]:
    listed = [p.model_dump() for p in PLAN.participants]
    return listed + [{"agency": a, "country": c, "role": "transit"} for a, c in extra]


def refusal(**changes: Any) -> str:
    with pytest.raises(ValidationError) as refused:
        variant(**changes)
    return str(refused.value)


def granted(**changes: Any) -> AuthorisationGranted:
    fields: dict[str, Any] = {
        "country": "TJ",
        "authority": "Prosecutor General's Office",
        "reference": "TJ-2026-114",
        "legal_basis": "Criminal Procedure Code art. 232",
        "granted_at": NOW,
        "valid_until": NOW + timedelta(days=30),
    }
    return AuthorisationGranted.model_validate(fields | changes)


def test_the_sample_plan_is_valid_and_runs_af_tj_kz() -> None:
    assert PLAN.route_countries == ["AF", "TJ", "KZ"]
    assert schedule_problems(PLAN, now=NOW) == []


def test_legs_whose_countries_do_not_chain_are_refused() -> None:
    message = refusal(
        legs=legs(from_country="UZ", sending_agency="uz-police"),
        participants=participants(("uz-police", "UZ")),
    )
    assert "legs 1 and 2 do not chain: leg 1 ends in TJ but leg 2 starts in UZ" in message


def test_legs_whose_agencies_do_not_chain_are_refused() -> None:
    message = refusal(
        legs=legs(sending_agency="tj-customs"), participants=participants(("tj-customs", "TJ"))
    )
    assert "legs 1 and 2 do not chain: tj-dca receives leg 1 but tj-customs sends leg 2" in message


def test_a_leg_agency_that_is_not_a_participant_is_named() -> None:
    message = refusal(legs=legs(receiving_agency="kz-customs"))
    assert "leg 2: receiving agency kz-customs is not a participant" in message


def test_an_agency_of_the_wrong_country_on_a_leg_is_named_with_both_countries() -> None:
    message = refusal(
        legs=legs(receiving_agency="uz-police"), participants=participants(("uz-police", "UZ"))
    )
    assert "leg 2: receiving agency uz-police belongs to UZ, not KZ" in message


@pytest.mark.parametrize(
    "changes",
    [
        {"legs": legs(to_country="XX")},
        {"participants": participants(("xx-police", "XX"))},
    ],
    ids=["leg", "participant"],
)
def test_an_unknown_country_code_is_refused_with_examples(changes: dict[str, Any]) -> None:
    message = refusal(**changes)
    assert "'XX' is not an ISO 3166-1 alpha-2 country code (e.g. KZ, TJ, AF)" in message


def test_a_lower_case_country_code_is_understood() -> None:
    plan = variant(legs=legs(to_country="kz"))
    assert plan.route_countries == ["AF", "TJ", "KZ"]


@pytest.mark.parametrize("quantity", [0.0, -3.5])
def test_a_quantity_that_is_not_positive_is_refused(quantity: float) -> None:
    with pytest.raises(ValidationError, match="greater than 0") as refused:
        Substance(name="heroin", quantity=quantity)
    assert refused.value.errors()[0]["loc"] == ("quantity",)


def test_an_infinite_quantity_is_refused() -> None:
    with pytest.raises(ValidationError, match="quantity"):
        Substance.model_validate_json('{"name": "heroin", "quantity": 1e400}')


def test_a_departure_without_timezone_is_refused() -> None:
    message = refusal(legs=legs(planned_departure=datetime(2026, 3, 4, 16, 0)))
    assert "planned_departure" in message
    assert "should have timezone info" in message


def test_an_authorisation_granted_at_a_time_without_timezone_is_refused() -> None:
    with pytest.raises(ValidationError, match="should have timezone info"):
        granted(granted_at=datetime(2026, 3, 2, 6, 0))


def test_times_in_another_timezone_are_kept_in_utc() -> None:
    dushanbe = timezone(timedelta(hours=5))
    departure = (DEPARTURE + timedelta(hours=12)).astimezone(dushanbe)
    plan = variant(legs=legs(planned_departure=departure))
    assert plan.legs[1].planned_departure == departure
    assert plan.legs[1].planned_departure.tzinfo is UTC


@pytest.mark.parametrize("valid_for", [timedelta(0), -timedelta(days=1)], ids=["same", "before"])
def test_an_authorisation_valid_until_no_later_than_granted_is_refused(
    valid_for: timedelta,
) -> None:
    with pytest.raises(ValidationError, match="valid_until must come after granted_at"):
        granted(valid_until=NOW + valid_for)


def test_h3_without_restrictions_is_refused() -> None:
    with pytest.raises(ValidationError, match="H3 needs the restriction spelled out"):
        Handling(code=HandlingCode.H3)
    message = refusal(handling={"code": "H3", "restrictions": "   "})
    assert "restrictions" in message


def test_h3_with_restrictions_is_accepted_and_labelled() -> None:
    plan = variant(handling={"code": "H3", "restrictions": "Not to be shared with country C"})
    assert plan.handling.label == "Other restrictions apply"
    assert plan.handling.restrictions == "Not to be shared with country C"


def test_a_participant_listed_twice_is_named() -> None:
    message = refusal(participants=participants(("tj-dca", "TJ")))
    assert "agencies listed twice among participants: tj-dca" in message


def test_a_lead_agency_that_is_not_a_participant_is_named() -> None:
    assert "lead agency kz-customs is not a participant" in refusal(lead_agency="kz-customs")


def test_the_coordinator_cannot_also_be_a_participant() -> None:
    message = refusal(participants=participants(("caricc", "KZ")))
    assert "the coordinator agency steers the operation and is not a participant" in message


def test_a_leg_within_one_country_is_refused() -> None:
    message = refusal(
        legs=legs(to_country="TJ", receiving_agency="tj-customs"),
        participants=participants(("tj-customs", "TJ")),
    )
    assert "leg 2 starts and ends in TJ: a leg crosses a border" in message


def test_times_out_of_order_are_named() -> None:
    message = refusal(
        legs=legs(
            planned_departure=DEPARTURE + timedelta(hours=2),
            planned_arrival=DEPARTURE + timedelta(hours=1),
        )
    )
    assert "leg 2 arrives before it departs" in message
    assert "leg 2 departs before leg 1 arrives" in message


def test_every_problem_is_reported_at_once() -> None:
    message = refusal(lead_agency="kz-customs", participants=participants(("tj-dca", "TJ")))
    assert "agencies listed twice among participants: tj-dca" in message
    assert "lead agency kz-customs is not a participant" in message


def test_a_departure_in_the_past_is_a_schedule_problem() -> None:
    later = DEPARTURE + timedelta(hours=5)
    problems = schedule_problems(PLAN, now=later)
    assert problems == [f"leg 1 departure {DEPARTURE.isoformat()} is in the past"]
    assert len(schedule_problems(PLAN, now=DEPARTURE + timedelta(days=5))) == 2
    assert schedule_problems(PLAN, now=DEPARTURE) == []


def test_a_schedule_problem_says_where_in_the_plan_it_is() -> None:
    faults = schedule_faults(PLAN, now=DEPARTURE + timedelta(days=5))
    assert [fault.location for fault in faults] == [
        ("legs", 0, "planned_departure"),
        ("legs", 1, "planned_departure"),
    ]
    assert faults[0].message == f"departure {DEPARTURE.isoformat()} is in the past"
    assert faults[0].text == f"leg 1 departure {DEPARTURE.isoformat()} is in the past"


# --- limits ------------------------------------------------------------------------------------

TEMPORAL_BLOB_LIMIT = 2 * 1024 * 1024


def consignment(**changes: Any) -> dict[str, Any]:
    return PLAN.consignment.model_dump() | changes


def test_a_plan_with_25000_tracker_ids_is_refused_with_the_limit() -> None:
    message = refusal(consignment=consignment(tracker_ids=[f"GPS-{n}" for n in range(25_000)]))
    assert "consignment.tracker_ids" in message
    assert "at most 200 items" in message


def test_a_plan_with_10000_substances_is_refused_with_the_limit() -> None:
    substances = [{"name": f"substance {n}", "quantity": 1.0} for n in range(10_000)]
    message = refusal(consignment=consignment(substances=substances))
    assert "consignment.substances" in message
    assert "at most 50 items" in message


def test_a_name_longer_than_200_characters_is_refused() -> None:
    message = refusal(consignment=consignment(packaging="x" * 201))
    assert "at most 200 characters" in message


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x9b", "\n", "\t"])
def test_control_characters_in_a_name_are_refused_and_named(character: str) -> None:
    message = refusal(legs=legs(crossing_point=f"Nizhny{character}Panj"))
    assert "legs.1.crossing_point" in message
    assert f"control character U+{ord(character):04X} is not allowed" in message


@pytest.mark.parametrize("character", ["\x00", "\r", "\x0b", "\x85"])
def test_control_characters_in_a_text_are_refused_and_named(character: str) -> None:
    with pytest.raises(ValidationError) as refused:
        granted(conditions=f"Interdiction only{character}at destination")
    assert f"control character U+{ord(character):04X} is not allowed" in str(refused.value)


def test_a_text_keeps_its_line_breaks_and_tabs() -> None:
    conditions = "Interdiction only at destination.\n\tNo substitution."
    assert granted(conditions=conditions).conditions == conditions


def test_a_nul_in_a_participant_name_is_refused() -> None:
    listed = [p.model_dump() for p in PLAN.participants]
    listed[0]["name"] = "Counter Narcotics\x00Police"
    message = refusal(participants=listed)
    assert "participants.0.name" in message
    assert "control character U+0000 is not allowed" in message


@pytest.mark.parametrize("character", ["x", "ж", "字"])
async def test_a_plan_at_every_limit_is_accepted_and_fits_one_temporal_payload(
    character: str,
) -> None:
    plan = OperationPlan.model_validate(plan_at_limits(now=NOW, character=character))
    assert plan_size_problem(plan) is None
    start = RunOperationInput(
        operation_id=str(uuid.uuid4()),
        plan=plan,
        created_by=Actor(agency="caricc", officer="o" * 255, role=ActorRole.COORDINATOR),
    )
    [payload] = await converter_for_tests().encode([start])
    # What the server receives: the plan, the start's other fields and the codec's envelope.
    overhead = payload.ByteSize() - serialized_size(plan)
    assert overhead < 2048
    assert MAX_PLAN_BYTES + overhead < TEMPORAL_BLOB_LIMIT / 4


async def test_a_plan_within_every_list_and_string_limit_can_still_be_too_large() -> None:
    plan = OperationPlan.model_validate(plan_at_limits(now=NOW, character="\N{GRINNING FACE}"))
    size = serialized_size(plan)
    assert size > MAX_PLAN_BYTES
    expected = f"the plan is {size} bytes serialized; the limit is {MAX_PLAN_BYTES} bytes"
    assert plan_size_problem(plan) == expected
    never_reached = cast(Client, object())
    with pytest.raises(PlanRejectedError, match=expected):
        await start_operation(
            never_reached,
            plan=plan,
            created_by=Actor(agency="caricc", officer="liaison", role=ActorRole.COORDINATOR),
            task_queue="nowhere",
            now=NOW,
        )


def test_a_plan_without_leg_modes_sends_every_leg_the_consignments_way() -> None:
    assert [PLAN.mode_of(leg) for leg in PLAN.legs] == [TransportMode.ROAD, TransportMode.ROAD]


def test_each_leg_may_travel_its_own_way() -> None:
    plan = variant(legs=legs(mode="sea_container"))
    assert [plan.mode_of(leg) for leg in plan.legs] == [
        TransportMode.ROAD,
        TransportMode.SEA_CONTAINER,
    ]


def test_an_unknown_leg_mode_is_refused_with_the_modes_there_are() -> None:
    message = refusal(legs=legs(mode="camel"))
    assert "legs.1.mode" in message
    assert "sea_container" in message


def test_a_partial_substitution_keeps_the_quantity_left_in() -> None:
    plan = variant(consignment=consignment(left_in={"substance": "Heroin", "quantity": 200}))
    assert plan.consignment.left_in == LeftIn(substance="Heroin", quantity=200, unit=QuantityUnit.G)


@pytest.mark.parametrize(
    ("left_in", "expected"),
    [
        (
            {"substance": "heroin", "quantity": 13, "unit": "kg"},
            "12.5 kg of heroin",
        ),
        ({"substance": "heroin", "quantity": 12501}, "12.5 kg of heroin"),
        ({"substance": "cocaine", "quantity": 200}, "does not hold (heroin)"),
        ({"substance": "heroin", "quantity": 2, "unit": "l"}, "heroin is counted in kg"),
        ({"substance": "heroin", "quantity": 0}, "greater than 0"),
        ({"substance": "heroin", "quantity": -200}, "greater than 0"),
    ],
)
def test_a_quantity_left_in_that_does_not_fit_is_refused(
    left_in: dict[str, Any], expected: str
) -> None:
    assert expected in refusal(consignment=consignment(left_in=left_in))


def test_a_quantity_left_in_belongs_to_a_partial_substitution_only() -> None:
    message = refusal(
        consignment=consignment(
            delivery_type="intact", left_in={"substance": "heroin", "quantity": 200}
        )
    )
    assert "the consignment is intact" in message


def _durations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every duration in the plan's JSON schema, by where it is."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if any(branch.get("format") == "duration" for branch in node.get("anyOf", [])):
                found.append((where, node))
                return
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(schema, "")
    return found


def test_every_duration_of_the_plan_schema_says_its_unit() -> None:
    durations = _durations(OperationPlan.model_json_schema())
    names = {where.rsplit("/", 1)[-1] for where, _ in durations}
    assert {
        "acknowledgement_deadline",
        "surveillance_regain_window",
        "checkpoint_interval",
        "debrief_period",
        "items",  # debrief_reminders_before
        "reminder_after",
        "contact_point_after",
        "coordinator_after",
        "contingency_after",
    } <= names
    for where, node in durations:
        text, number = node["anyOf"]
        assert "ISO 8601" in text["description"], where
        assert number == number | {"type": "number", "description": "a number of seconds"}, where


@pytest.mark.parametrize("window", ["PT45M", 2700, 2700.0, "P0DT0H45M"])
def test_a_duration_is_iso_8601_or_a_bare_number_of_seconds(window: str | float) -> None:
    plan = variant(contingency={"surveillance_regain_window": window})
    assert plan.contingency.surveillance_regain_window == timedelta(minutes=45)
    leg_plan = variant(legs=legs(acknowledgement_deadline=window))
    assert leg_plan.legs[1].acknowledgement_deadline == timedelta(minutes=45)
