"""Builders of valid domain objects for tests: a three-country operation plan."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from workflows.plan import (
    MAX_LEGS,
    MAX_NAME_LENGTH,
    MAX_PARTICIPANTS,
    MAX_REMINDERS,
    MAX_SUBSTANCES,
    MAX_TRACKER_IDS,
    Consignment,
    DeliveryType,
    LeftIn,
    Leg,
    OperationPlan,
    Participant,
    ParticipantRole,
    QuantityUnit,
    Substance,
    TransportMode,
)


def sample_plan(*, now: datetime, code_name: str = "NIGHTJAR") -> OperationPlan:
    """Afghanistan -> Tajikistan -> Kazakhstan by road, two handovers, coordinated by the centre."""
    departure = now + timedelta(days=2)
    return OperationPlan(
        code_name=code_name,
        coordinator_agency="caricc",
        lead_agency="af-cnpa",
        consignment=Consignment(
            substances=[Substance(name="heroin", quantity=12.5)],
            packaging="vacuum-sealed bricks in a spare tyre",
            concealment="spare tyre of a lorry",
            tracker_ids=["GPS-7731"],
            delivery_type=DeliveryType.PARTIALLY_SUBSTITUTED,
            left_in=LeftIn(substance="heroin", quantity=200, unit=QuantityUnit.G),
            mode=TransportMode.ROAD,
        ),
        legs=[
            Leg(
                from_country="AF",
                to_country="TJ",
                crossing_point="Sherkhan Bandar - Nizhny Panj bridge",
                carrier="private lorry",
                tracking_number="plate 12-345 KBL",
                planned_departure=departure,
                planned_arrival=departure + timedelta(hours=8),
                sending_agency="af-cnpa",
                receiving_agency="tj-dca",
            ),
            Leg(
                from_country="TJ",
                to_country="KZ",
                crossing_point="Almaty region road checkpoint",
                carrier="private lorry",
                planned_departure=departure + timedelta(hours=10),
                planned_arrival=departure + timedelta(hours=40),
                sending_agency="tj-dca",
                receiving_agency="kz-police",
            ),
        ],
        participants=[
            Participant(agency="af-cnpa", country="AF", role=ParticipantRole.LEAD),
            Participant(agency="tj-dca", country="TJ", role=ParticipantRole.TRANSIT),
            Participant(agency="kz-police", country="KZ", role=ParticipantRole.DESTINATION),
        ],
    )


ROUTE = ["AF", "TJ", "KZ", "UZ", "KG", "TM", "AZ", "RU", "TR", "IR", "PK", "CN", "IN", "AE", "OM"]
ROUTE += ["SA", "EG", "GR", "IT", "BE", "NL"]


def plan_at_limits(*, now: datetime, character: str = "x") -> dict[str, Any]:
    """A plan (as JSON) with every list and every string as long as allowed, in `character`."""
    name = character * MAX_NAME_LENGTH
    agencies = [f"agency-{number:02d}-{'x' * 50}" for number in range(MAX_PARTICIPANTS)]
    departure = now + timedelta(days=2)
    legs = [
        {
            "from_country": ROUTE[number],
            "to_country": ROUTE[number + 1],
            "crossing_point": name,
            "carrier": name,
            "tracking_number": name,
            "planned_departure": (departure + timedelta(hours=2 * number)).isoformat(),
            "planned_arrival": (departure + timedelta(hours=2 * number + 1)).isoformat(),
            "sending_agency": agencies[number],
            "receiving_agency": agencies[number + 1],
            "escalation": {"reminder_after": 60},
        }
        for number in range(MAX_LEGS)
    ]
    on_route = [
        {"agency": agencies[n], "country": ROUTE[n], "role": "transit", "name": name}
        for n in range(MAX_LEGS + 1)
    ]
    observers = [
        {"agency": agency, "country": "KZ", "role": "observer", "name": name}
        for agency in agencies[MAX_LEGS + 1 :]
    ]
    return {
        "code_name": "N" * 40,
        "coordinator_agency": "caricc",
        "lead_agency": agencies[0],
        "consignment": {
            "substances": [{"name": name, "quantity": 1e300, "unit": "units"}] * MAX_SUBSTANCES,
            "packaging": name,
            "concealment": name,
            "tracker_ids": [name] * MAX_TRACKER_IDS,
            "mode": "courier",
        },
        "legs": legs,
        "participants": on_route + observers,
        "debrief_reminders_before": [86_401] * MAX_REMINDERS,
        "handling": {"code": "H3", "restrictions": name},
    }
