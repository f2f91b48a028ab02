"""Drives one operation through its workflow as the people in it would, for the workflow tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client

from workflows.commands import (
    AcknowledgeHandoverInput,
    Actor,
    ActorRole,
    AnyCommand,
    ArrestRole,
    CloseDebriefInput,
    ConcludeInterdictionInput,
    ConfirmParticipationInput,
    InterdictionKind,
    LaunchOperationInput,
    OfferHandoverInput,
    OrderInterdictionInput,
    RecordArrestInput,
    RecordAuthorisationInput,
    RecordSeizureInput,
    ReportCheckpointInput,
    SubmitDebriefInput,
)
from workflows.plan import AuthorisationGranted, OperationPlan
from workflows.starter import act, read_state, start_operation
from workflows.state import ActionResult, OperationState

Pause = Callable[[timedelta], Awaitable[None]]

COORDINATOR = Actor(agency="caricc", officer="liaison-officer-1", role=ActorRole.COORDINATOR)
CREATOR = COORDINATOR


def officer(agency: str) -> Actor:
    return Actor(agency=agency, officer=f"duty-officer-{agency}", role=ActorRole.OFFICER)


def request_id() -> str:
    return uuid.uuid4().hex


class OperationDriver:
    """One operation seen from the client side: every call is a real Update or Query."""

    def __init__(self, client: Client, operation_id: str, plan: OperationPlan) -> None:
        self.client = client
        self.operation_id = operation_id
        self.plan = plan

    @classmethod
    async def start(
        cls,
        client: Client,
        *,
        plan: OperationPlan,
        task_queue: str,
        now: datetime,
        **options: Any,
    ) -> OperationDriver:
        operation_id = await start_operation(
            client, plan=plan, created_by=CREATOR, task_queue=task_queue, now=now, **options
        )
        return cls(client, operation_id, plan)

    async def do(self, command: AnyCommand) -> ActionResult:
        return await act(self.client, operation_id=self.operation_id, command=command)

    async def state(self) -> OperationState:
        return await read_state(self.client, operation_id=self.operation_id)

    async def kinds(self) -> list[str]:
        return [event.kind for event in (await self.state()).timeline]

    def agency_of(self, country: str) -> str:
        return next(p.agency for p in self.plan.participants if p.country == country)

    async def authorise_and_confirm(self, *, now: datetime) -> None:
        for country in dict.fromkeys(self.plan.route_countries):
            await self.do(
                RecordAuthorisationInput(
                    actor=officer(self.agency_of(country)),
                    request_id=request_id(),
                    authorisation=AuthorisationGranted(
                        country=country,
                        authority=f"Prosecutor's office of {country}",
                        reference=f"CD-{country}-0042",
                        legal_basis="Criminal procedure code, controlled delivery article",
                        granted_at=now - timedelta(hours=1),
                        valid_until=now + timedelta(days=30),
                        substitution_allowed=True,
                    ),
                )
            )
        for participant in self.plan.participants:
            await self.do(
                ConfirmParticipationInput(
                    actor=officer(participant.agency), request_id=request_id()
                )
            )

    async def launch(self, *, now: datetime) -> ActionResult:
        await self.authorise_and_confirm(now=now)
        return await self.do(LaunchOperationInput(actor=COORDINATOR, request_id=request_id()))

    async def checkpoint(self, agency: str, place: str, country: str) -> ActionResult:
        return await self.do(
            ReportCheckpointInput(
                actor=officer(agency),
                request_id=request_id(),
                place=place,
                country=country,
                observed_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )

    async def offer(self, leg: int) -> ActionResult:
        sender = self.plan.legs[leg - 1].sending_agency
        return await self.do(
            OfferHandoverInput(actor=officer(sender), request_id=request_id(), leg=leg)
        )

    async def acknowledge(self, leg: int, *, request: str | None = None) -> ActionResult:
        receiver = self.plan.legs[leg - 1].receiving_agency
        return await self.do(
            AcknowledgeHandoverInput(
                actor=officer(receiver), request_id=request or request_id(), leg=leg
            )
        )

    async def conclude(self) -> ActionResult:
        return await self.do(ConcludeInterdictionInput(actor=COORDINATOR, request_id=request_id()))

    async def interdict_at_destination(self) -> ActionResult:
        return await self.do(
            OrderInterdictionInput(
                actor=COORDINATOR,
                request_id=request_id(),
                interdiction=InterdictionKind.PLANNED,
                place="Almaty, recipient's warehouse",
                country="KZ",
            )
        )

    async def seize_at_destination(self) -> ActionResult:
        return await self.do(
            RecordSeizureInput(
                actor=officer(self.agency_of("KZ")),
                request_id=request_id(),
                substance="heroin",
                quantity=12.5,
                place="Almaty",
                country="KZ",
            )
        )

    async def arrest_at_destination(self) -> ActionResult:
        return await self.do(
            RecordArrestInput(
                actor=officer(self.agency_of("KZ")),
                request_id=request_id(),
                count=2,
                nationality="TJ",
                role=ArrestRole.RECIPIENT,
                country="KZ",
            )
        )

    async def run_to_closed(self, *, pause: Pause | None = None) -> None:
        """From launch to closed: two handovers, interdiction at destination, three debriefs."""
        await self.run_to_debriefed(pause=pause)
        await self.do(CloseDebriefInput(actor=COORDINATOR, request_id=request_id()))

    async def run_to_debriefed(self, *, pause: Pause | None = None) -> None:
        """From launch to every agency's debrief submitted, the debrief still open."""
        af, tj, kz = (self.agency_of(c) for c in ("AF", "TJ", "KZ"))
        assert (await self.state()).custodian == af
        await self.checkpoint(af, "Sherkhan Bandar", "AF")
        offered = await self.offer(1)
        assert offered.custodian == af, "an offer alone does not transfer custody"
        acknowledged = await self.acknowledge(1)
        assert acknowledged.custodian == tj
        if pause is not None:
            await pause(timedelta(minutes=20))
        await self.checkpoint(tj, "Dushanbe", "TJ")
        await self.offer(2)
        assert (await self.acknowledge(2)).custodian == kz
        await self.checkpoint(kz, "Almaty", "KZ")
        await self.interdict_at_destination()
        await self.seize_at_destination()
        await self.arrest_at_destination()
        await self.conclude()
        for agency in (af, tj, kz):
            await self.do(
                SubmitDebriefInput(
                    actor=officer(agency), request_id=request_id(), lessons=["Earlier ETA notice"]
                )
            )
