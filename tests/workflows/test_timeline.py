"""Timeline events: each kind reads and writes its own detail model, as the histories stored it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from workflows import details
from workflows.commands import SYSTEM
from workflows.events import EventKind, InterdictionCause
from workflows.timeline import DETAILS, read_event, timeline_event

# Details as the recorded histories (tests/workflows/histories) and the read model hold them,
# one per shape, some written before a field was added.
STORED: list[tuple[str, str]] = [
    ("arrest.recorded", '{"count": 2, "role": "recipient", "nationality": "TJ", "country": "KZ"}'),
    (
        "authorisation.granted",
        '{"country": "AF", "authority": "Prosecutor\'s office of AF", "reference": "CD-AF-0042", '
        '"valid_until": "2026-12-23T18:41:46.478000+00:00", "substitution_allowed": true, '
        '"conditions": null}',
    ),
    (
        "checkpoint.reported",
        '{"place": "Sherkhan Bandar", "country": "AF", "observed_at": '
        '"2026-11-23T18:40:46.778617+00:00", "status": "on_schedule", "remarks": null}',
    ),
    ("debrief.closed", '{"missing_inputs": []}'),
    (
        "debrief.input_submitted",
        '{"agency": "af-cnpa", "revised": false, "late": false, '
        '"reported": {"seizures": 0, "arrests": 0, "assets": 0}}',
    ),
    (
        "handover.acknowledged",
        '{"leg": 1, "custodian": "tj-dca", "latency_seconds": 0.023, "late_seconds": 0.0, '
        '"escalation_steps": 0}',
    ),
    (
        "handover.offered",
        '{"leg": 1, "receiving_agency": "tj-dca", "deadline": "2026-11-23T19:11:46.803000+00:00"}',
    ),
    (
        "handover.contingency_applied",
        '{"leg": 2, "step": 4, "escalation": "contingency", "receiving_agency": "kz-customs", '
        '"overdue_seconds": 3600.0, "contingency": "interdict"}',
    ),
    ("interdiction.concluded", '{"debrief_deadline": "2026-12-07T19:01:47.036000+00:00"}'),
    (
        "interdiction.ordered",
        '{"interdiction": "planned", "place": "Almaty, recipient\'s warehouse", "country": "KZ", '
        '"reason": null, "cause": "ordered"}',
    ),
    ("operation.aborted", '{"reason": "courier arrested"}'),
    ("operation.created", '{"code_name": "NIGHTJAR", "route": ["AF", "TJ", "KZ"]}'),
    ("operation.launched", '{"custodian": "af-cnpa"}'),
    ("participation.confirmed", "{}"),
    (
        "seizure.recorded",
        '{"substance": "heroin", "quantity": 12.5, "unit": "kg", "place": "Almaty", '
        '"country": "KZ"}',
    ),
    (
        "surveillance.lost",
        '{"last_known_place": "Kunduz", "circumstances": "lost", '
        '"window_ends": "2026-11-23T20:41:50.920000+00:00"}',
    ),
]


def _stored(kind: str, detail: str) -> dict[str, object]:
    return {
        "seq": 7,
        "at": datetime(2026, 11, 23, 18, 41, tzinfo=UTC),
        "kind": kind,
        "actor": SYSTEM,
        "summary": "as recorded",
        "detail": json.loads(detail),
    }


@pytest.mark.parametrize(("kind", "detail"), STORED, ids=[kind for kind, _ in STORED])
def test_a_stored_detail_reads_as_its_kinds_model_and_writes_back_the_same_json(
    kind: str, detail: str
) -> None:
    event = read_event(_stored(kind, detail))
    assert type(event.detail) is DETAILS[EventKind(kind)]
    assert event.detail.model_dump(mode="json") == json.loads(detail)


def test_details_written_before_a_field_was_added_still_read() -> None:
    old_input = read_event(
        _stored("debrief.input_submitted", '{"agency": "af-cnpa", "revised": true, "late": true}')
    )
    assert isinstance(old_input.detail, details.DebriefInputSubmitted)
    assert old_input.detail.reported is None
    old_order = read_event(
        _stored(
            "interdiction.ordered",
            '{"interdiction": "early", "place": "Termez", "country": "UZ", "reason": "tip-off"}',
        )
    )
    assert isinstance(old_order.detail, details.InterdictionOrdered)
    assert old_order.detail.cause is InterdictionCause.ORDERED


def test_a_detail_of_another_shape_is_refused() -> None:
    with pytest.raises(ValidationError, match="leg"):
        read_event(_stored("handover.offered", '{"custodian": "af-cnpa"}'))
    with pytest.raises(TypeError, match=r"handover\.offered event carries HandoverOffered"):
        timeline_event(
            seq=1,
            at=datetime.now(UTC),
            kind=EventKind.HANDOVER_OFFERED,
            actor=SYSTEM,
            summary="offered",
            detail=details.Custody(custodian="af-cnpa"),
        )


def test_every_kind_has_a_detail_model() -> None:
    assert set(DETAILS) == set(EventKind)
