"""Command validation: every list and string has its limit, and so has the command as a whole."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from workflows.commands import (
    MAX_COMMAND_BYTES,
    MAX_DEBRIEF_ENTRIES,
    Actor,
    ActorRole,
    RecordAuthorisationInput,
    ReportSurveillanceLostInput,
    SubmitDebriefInput,
    command_size_problem,
)
from workflows.plan import MAX_PARTICIPANTS, MAX_PLAN_BYTES, MAX_TEXT_LENGTH, serialized_size

OFFICER = Actor(agency="tj-dca", officer="duty-officer-tj-dca", role=ActorRole.OFFICER)


def debrief(**fields: Any) -> SubmitDebriefInput:
    return SubmitDebriefInput.model_validate(
        {"actor": OFFICER.model_dump(), "request_id": "r-1"} | fields
    )


def refusal(model: type[Any], **fields: Any) -> str:
    with pytest.raises(ValidationError) as refused:
        model.model_validate({"actor": OFFICER.model_dump(), "request_id": "r-1"} | fields)
    return str(refused.value)


def test_a_list_longer_than_its_limit_is_refused_with_the_limit() -> None:
    message = refusal(SubmitDebriefInput, lessons=["Share the ETA"] * (MAX_DEBRIEF_ENTRIES + 1))
    assert "lessons" in message
    assert f"at most {MAX_DEBRIEF_ENTRIES} items" in message


def test_a_text_longer_than_its_limit_is_refused_with_the_limit() -> None:
    message = refusal(
        ReportSurveillanceLostInput, last_known_place="Kunduz", circumstances="x" * 2001
    )
    assert "circumstances" in message
    assert f"at most {MAX_TEXT_LENGTH} characters" in message


def test_a_command_within_every_list_limit_can_still_be_too_large() -> None:
    entries = ["x" * MAX_TEXT_LENGTH] * MAX_DEBRIEF_ENTRIES
    message = refusal(SubmitDebriefInput, problems=entries, lessons=entries)
    assert "the command is" in message
    assert f"the limit is {MAX_COMMAND_BYTES} bytes" in message


def test_a_debrief_just_under_the_size_limit_is_accepted() -> None:
    entries = ["x" * MAX_TEXT_LENGTH] * 15
    command = debrief(problems=entries)
    assert command_size_problem(command) is None
    assert serialized_size(command) > MAX_COMMAND_BYTES * 0.9


def test_every_participant_debriefing_at_the_limit_still_fits_beside_the_largest_plan() -> None:
    # The operation's state holds the plan and each participant's debrief input.
    assert MAX_PLAN_BYTES + MAX_PARTICIPANTS * MAX_COMMAND_BYTES < 2 * 1024 * 1024 * 0.7


@pytest.mark.parametrize("character", ["\x00", "\x08", "\x1f", "\x7f"])
def test_control_characters_are_refused_in_texts_and_names(character: str) -> None:
    named = f"control character U+{ord(character):04X} is not allowed"
    message = refusal(
        ReportSurveillanceLostInput,
        last_known_place=f"Kunduz{character}bus station",
        circumstances=f"Courier changed{character}vehicles",
    )
    assert message.count(named) == 2
    assert "last_known_place" in message
    assert "circumstances" in message


def test_a_nul_in_an_authorisation_text_is_refused() -> None:
    authorisation = {
        "decision": "refused",
        "country": "TJ",
        "authority": "Prosecutor General's Office",
        "reasons": "Not\x00authorised",
    }
    message = refusal(RecordAuthorisationInput, authorisation=authorisation)
    assert "authorisation.refused.reasons" in message
    assert "control character U+0000 is not allowed" in message


def test_a_request_id_or_an_actor_with_control_characters_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"control character U\+000A"):
        SubmitDebriefInput(actor=OFFICER, request_id="r\n1")
    with pytest.raises(ValidationError, match=r"control character U\+0000"):
        Actor(agency="tj-dca", officer="duty\x00", role=ActorRole.OFFICER)
    with pytest.raises(ValidationError, match="at most 255 characters"):
        Actor(agency="tj-dca", officer="o" * 256, role=ActorRole.OFFICER)
