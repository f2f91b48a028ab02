"""NIGHTJAR with known events and debrief inputs at known times, for assessment and report tests.

Built by running commands through the lifecycle rules, as the workflow would, so the outcome
assessment sees exactly what a real operation records. The times are chosen so each figure can
be worked out by hand; the tests write those sums down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

from tests.factories import sample_plan
from workflows.commands import (
    SYSTEM,
    AcknowledgeHandoverInput,
    Actor,
    ActorRole,
    AddRecommendationInput,
    AnyCommand,
    ArrestRole,
    AssetKind,
    CheckpointSilenceReached,
    CheckpointStatus,
    ConcludeInterdictionInput,
    ConfirmParticipationInput,
    DebriefDeadlineReached,
    DebriefReminderDue,
    HandoverDeadlineReached,
    InterdictionKind,
    LaunchOperationInput,
    OfferHandoverInput,
    OrderInterdictionInput,
    RecordArrestInput,
    RecordAuthorisationInput,
    RecordSeizureInput,
    ReportCheckpointInput,
    ReportedArrest,
    ReportedAsset,
    ReportedSeizure,
    ReportSurveillanceLostInput,
    ReportSurveillanceRegainedInput,
    SubmitDebriefInput,
)
from workflows.plan import AuthorisationGranted, EscalationDelays, OperationPlan
from workflows.rules import Accepted, decide, open_operation
from workflows.state import OperationState

CREATED = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
LAUNCHED = datetime(2026, 3, 4, 6, 30, tzinfo=UTC)  # planned departure 06:00
DEADLINE = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)  # concluded 03-06 06:00 + 14 days
LATE_INPUT = datetime(2026, 3, 21, 10, 0, tzinfo=UTC)
RECOMMENDED = datetime(2026, 3, 21, 11, 0, tzinfo=UTC)

COORDINATOR = Actor(agency="caricc", officer="lo-almaty", role=ActorRole.COORDINATOR)


def officer(agency: str) -> Actor:
    return Actor(agency=agency, officer=f"duty-{agency}", role=ActorRole.OFFICER)


AF, TJ, KZ = officer("af-cnpa"), officer("tj-dca"), officer("kz-police")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def known_plan() -> OperationPlan:
    plan = sample_plan(now=CREATED)
    # Leg 2 waits 30 min (not 15) after the coordinator before its contingency rule interdicts.
    slow = EscalationDelays(contingency_after=timedelta(minutes=30))
    legs = [plan.legs[0], plan.legs[1].model_copy(update={"escalation": slow})]
    return plan.model_copy(update={"legs": legs})


@dataclass
class Run:
    state: OperationState
    ids: count[int]

    def do(self, command: AnyCommand, when: datetime) -> None:
        decision = decide(self.state, command, now=when)
        assert isinstance(decision, Accepted), decision
        self.state = decision.state

    def rid(self) -> str:
        return f"req-{next(self.ids)}"


@dataclass(frozen=True)
class KnownOperation:
    at_deadline: OperationState  # the debrief deadline has just passed: assessment version 1
    after_late_input: OperationState  # TJ's late input and a recommendation: version 2


def known_operation() -> KnownOperation:
    plan = known_plan()
    run = Run(
        open_operation(operation_id="op-known", plan=plan, created_by=COORDINATOR, now=CREATED),
        count(1),
    )
    for country, actor in (("AF", AF), ("TJ", TJ), ("KZ", KZ)):
        authorisation = AuthorisationGranted(
            country=country,
            authority=f"Prosecutor's office of {country}",
            reference=f"CD-{country}-0042",
            legal_basis="Criminal procedure code",
            granted_at=CREATED - timedelta(days=1),
            valid_until=CREATED + timedelta(days=30),
            substitution_allowed=True,
        )
        run.do(
            RecordAuthorisationInput(
                actor=actor, request_id=run.rid(), authorisation=authorisation
            ),
            CREATED,
        )
    for actor in (AF, TJ, KZ):
        run.do(ConfirmParticipationInput(actor=actor, request_id=run.rid()), CREATED)
    run.do(LaunchOperationInput(actor=COORDINATOR, request_id=run.rid()), LAUNCHED)

    def checkpoint(actor: Actor, place: str, country: str, when: datetime, **extra: object) -> None:
        run.do(
            ReportCheckpointInput.model_validate(
                {
                    "actor": actor,
                    "request_id": run.rid(),
                    "place": place,
                    "country": country,
                    "observed_at": when,
                    **extra,
                }
            ),
            when,
        )

    checkpoint(AF, "Kunduz bypass", "AF", at(4, 8), status=CheckpointStatus.DEVIATED)
    run.do(
        ReportSurveillanceLostInput(
            actor=AF,
            request_id=run.rid(),
            last_known_place="Kunduz bazaar",
            circumstances="lorry entered a covered market",
        ),
        at(4, 9),
    )
    run.do(
        ReportSurveillanceRegainedInput(actor=AF, request_id=run.rid(), place="Kunduz north road"),
        at(4, 9, 40),
    )
    run.do(
        CheckpointSilenceReached(actor=SYSTEM, request_id="timer-1", due_at=at(4, 10, 40)),
        at(4, 10, 40),
    )
    checkpoint(AF, "Sherkhan Bandar", "AF", at(4, 11))
    run.do(OfferHandoverInput(actor=AF, request_id=run.rid(), leg=1), at(4, 13, 30))
    run.do(AcknowledgeHandoverInput(actor=TJ, request_id=run.rid(), leg=1), at(4, 13, 42))
    checkpoint(TJ, "Dushanbe", "TJ", at(5, 8))
    run.do(OfferHandoverInput(actor=TJ, request_id=run.rid(), leg=2), at(5, 21))
    for step, when in ((1, at(5, 21, 30)), (2, at(5, 21, 40)), (3, at(5, 21, 50))):
        run.do(HandoverDeadlineReached(actor=SYSTEM, request_id="timer-2", leg=2, step=step), when)
    run.do(AcknowledgeHandoverInput(actor=KZ, request_id=run.rid(), leg=2), at(5, 22, 17))
    checkpoint(KZ, "Almaty", "KZ", at(5, 23))
    run.do(
        OrderInterdictionInput(
            actor=COORDINATOR,
            request_id=run.rid(),
            interdiction=InterdictionKind.PLANNED,
            place="Almaty, recipient's warehouse",
            country="KZ",
        ),
        at(6, 2),
    )
    run.do(
        RecordSeizureInput(
            actor=KZ,
            request_id=run.rid(),
            substance="heroin",
            quantity=12.5,
            place="Almaty",
            country="KZ",
        ),
        at(6, 3),
    )
    run.do(
        RecordSeizureInput(
            actor=TJ,
            request_id=run.rid(),
            substance="heroin",
            quantity=0.5,
            place="Dushanbe, courier's flat",
            country="TJ",
        ),
        at(6, 3, 10),
    )
    run.do(
        RecordArrestInput(
            actor=KZ,
            request_id=run.rid(),
            count=2,
            nationality="TJ",
            role=ArrestRole.RECIPIENT,
            country="KZ",
        ),
        at(6, 3, 20),
    )
    run.do(
        RecordArrestInput(
            actor=TJ,
            request_id=run.rid(),
            count=1,
            nationality="TJ",
            role=ArrestRole.FACILITATOR,
            country="TJ",
        ),
        at(6, 3, 30),
    )
    run.do(ConcludeInterdictionInput(actor=COORDINATOR, request_id=run.rid()), at(6, 6))
    run.do(
        SubmitDebriefInput(
            actor=KZ,
            request_id=run.rid(),
            problems=["Acknowledgement at the TJ-KZ border came late"],
            lessons=["Share the courier's ETA with the receiving agency an hour ahead"],
            proposals=["A standing duty officer at the Almaty road checkpoint"],
            seizures=[
                ReportedSeizure(substance="heroin", quantity=12.1, place="Almaty", country="KZ"),
                ReportedSeizure(substance="mephedrone", quantity=0.4, place="Almaty", country="KZ"),
            ],
            arrests=[
                ReportedArrest(count=2, nationality="TJ", role=ArrestRole.RECIPIENT, country="KZ"),
                ReportedArrest(count=1, nationality="AF", role=ArrestRole.COURIER, country="KZ"),
            ],
            assets=[
                ReportedAsset(
                    kind=AssetKind.CASH,
                    description="US dollar banknotes",
                    value=8000,
                    currency="USD",
                    country="KZ",
                ),
                ReportedAsset(
                    kind=AssetKind.VEHICLE,
                    description="Lorry, plate 12-345 KBL",
                    value=15000,
                    currency="USD",
                    country="KZ",
                ),
            ],
        ),
        at(10, 9),
    )
    run.do(
        SubmitDebriefInput(
            actor=AF,
            request_id=run.rid(),
            problems=["Surveillance lost in the Kunduz bazaar for 40 minutes"],
            lessons=["Two vehicles behind the lorry in towns"],
        ),
        at(12, 10),
    )
    run.do(DebriefReminderDue(actor=SYSTEM, request_id="timer-3", number=1), at(17, 6))
    run.do(DebriefReminderDue(actor=SYSTEM, request_id="timer-4", number=2), at(19, 6))
    run.do(DebriefDeadlineReached(actor=SYSTEM, request_id="timer-5"), DEADLINE)
    at_deadline = run.state
    run.do(
        SubmitDebriefInput(
            actor=TJ,
            request_id=run.rid(),
            problems=["No interpreter at the Nizhny Panj crossing"],
        ),
        LATE_INPUT,
    )
    run.do(
        AddRecommendationInput(
            actor=COORDINATOR,
            request_id=run.rid(),
            text="Keep a duty officer at the Almaty road checkpoint during deliveries",
            owner="kz-police",
            due=datetime(2026, 6, 30, tzinfo=UTC),
        ),
        RECOMMENDED,
    )
    return KnownOperation(at_deadline=at_deadline, after_late_input=run.state)
