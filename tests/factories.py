"""Builders of valid domain objects for tests: a three-country operation plan."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.plan import (
    Consignment,
    DeliveryType,
    Leg,
    OperationPlan,
    Participant,
    ParticipantRole,
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
