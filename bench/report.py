"""The debrief report (PDF) of an operation with thousands of timeline events: time and memory.

The operation is run through the lifecycle rules as the workflow would run it: launched, then a
long journey of checkpoint reports, two handovers, an interdiction and three debrief inputs. The
assessment and the PDF are then produced in a separate process, so its peak resident memory is
the report's own and not the benchmark's.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

from cdtrack.walkthrough import sample_authorisation, sample_plan
from i18n import Language
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
from workflows.rules import Accepted, decide, open_operation
from workflows.state import OperationState

COORDINATOR = Actor(agency="caricc", officer="bench-coordinator", role=ActorRole.COORDINATOR)


@dataclass(frozen=True)
class ReportRun:
    events: int
    seconds: float | None = None
    """A warm render, as in the running worker (fonts and templates loaded)."""
    first_seconds: float | None = None
    """The first render in a fresh process, font and template loading included."""
    peak_bytes: int | None = None
    unavailable: str | None = None


def _officer(agency: str) -> Actor:
    return Actor(agency=agency, officer=f"bench-{agency}", role=ActorRole.OFFICER)


def long_operation(
    *, events: int, operation_id: str = "bench-report", live: bool = False
) -> OperationState:
    """A closed operation whose timeline holds `events` events (at least 30).

    `live`: the operation still under way instead, in Kazakhstan's custody after its last
    checkpoint report, its events ending shortly before now (the next report due in an hour).
    """
    created = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    if live:
        # A day to the launch, then ten minutes an event, ending half an hour ago.
        span = timedelta(days=1, minutes=10 * events + 30)
        created = datetime.now(UTC).replace(microsecond=0) - span
    plan = OperationPlan.model_validate(
        sample_plan(coordinator_agency="caricc", now=created, code_name="LONGHAUL")
    )
    # A journey long enough for thousands of checkpoint reports, ten minutes apart.
    legs = [
        plan.legs[0],
        plan.legs[1].model_copy(
            update={"planned_arrival": plan.legs[1].planned_departure + timedelta(days=60)}
        ),
    ]
    plan = plan.model_copy(update={"legs": legs, "checkpoint_interval": timedelta(hours=1)})
    state = open_operation(
        operation_id=operation_id, plan=plan, created_by=COORDINATOR, now=created
    )
    ids = count(1)
    clock = [created]

    def do(command: AnyCommand, *, after: timedelta = timedelta(minutes=10)) -> None:
        nonlocal state
        clock[0] += after
        decision = decide(state, command, now=clock[0])
        if not isinstance(decision, Accepted):
            raise RuntimeError(f"{command.kind} refused: {decision.reason}")
        state = decision.state

    def rid() -> str:
        return f"bench-{next(ids)}"

    af, tj, kz = (_officer(a) for a in ("af-cnpa", "tj-dca", "kz-police"))
    for country, actor in (("AF", af), ("TJ", tj), ("KZ", kz)):
        # Valid for the whole journey: sixty days of checkpoint reports, then the debrief.
        granted = AuthorisationGranted.model_validate(
            sample_authorisation(country, now=created, valid_for=timedelta(days=120))
        )
        do(RecordAuthorisationInput(actor=actor, request_id=rid(), authorisation=granted))
    for actor in (af, tj, kz):
        do(ConfirmParticipationInput(actor=actor, request_id=rid()))
    do(LaunchOperationInput(actor=COORDINATOR, request_id=rid()), after=timedelta(days=1))

    def checkpoints(actor: Actor, country: str, how_many: int) -> None:
        for number in range(how_many):
            do(
                ReportCheckpointInput(
                    actor=actor,
                    request_id=rid(),
                    place=f"Road marker {number}",
                    country=country,
                    observed_at=clock[0] + timedelta(minutes=9),
                )
            )

    stream = max(events - 30, 3)
    checkpoints(af, "AF", stream // 3)
    do(OfferHandoverInput(actor=af, request_id=rid(), leg=1))
    do(AcknowledgeHandoverInput(actor=tj, request_id=rid(), leg=1), after=timedelta(minutes=12))
    checkpoints(tj, "TJ", stream // 3)
    do(OfferHandoverInput(actor=tj, request_id=rid(), leg=2))
    do(AcknowledgeHandoverInput(actor=kz, request_id=rid(), leg=2), after=timedelta(minutes=20))
    checkpoints(kz, "KZ", stream - 2 * (stream // 3))
    if live:
        return state
    do(
        OrderInterdictionInput(
            actor=COORDINATOR,
            request_id=rid(),
            interdiction=InterdictionKind.PLANNED,
            place="Destination warehouse",
            country="KZ",
        )
    )
    do(
        RecordSeizureInput(
            actor=kz,
            request_id=rid(),
            substance="heroin",
            quantity=12.5,
            place="Destination warehouse",
            country="KZ",
        )
    )
    do(
        RecordArrestInput(
            actor=kz,
            request_id=rid(),
            count=2,
            nationality="TJ",
            role=ArrestRole.RECIPIENT,
            country="KZ",
        )
    )
    do(ConcludeInterdictionInput(actor=COORDINATOR, request_id=rid()))
    for actor in (af, tj, kz):
        do(SubmitDebriefInput(actor=actor, request_id=rid(), lessons=["Earlier ETA notice"]))
    do(CloseDebriefInput(actor=COORDINATOR, request_id=rid()))
    return state


def _render(state_json: str, answer: multiprocessing.connection.Connection) -> None:
    from activities.report.render import render_report_pdf
    from workflows.assessment import assess

    state = OperationState.model_validate_json(state_json)

    timings = []
    for version in (1, 2):
        started = time.perf_counter()
        assessment = assess(
            state,
            version=version,
            at_seq=state.timeline[-1].seq,
            reason="benchmark",
            now=state.ended_at or datetime.now(UTC),
        )
        pdf = render_report_pdf(assessment, lang=Language.ENGLISH)
        timings.append(time.perf_counter() - started)
    # ru_maxrss is in KiB on Linux: the process's peak, imports and rendering included.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    answer.send((timings, peak, len(pdf)))


def measure_debrief_report(*, events: int) -> ReportRun:
    """Seconds (assessment + PDF) and peak memory of the debrief report of a long operation."""
    state = long_operation(events=events)
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    # As JSON: the timeline's event classes are made at import and do not pickle.
    process = context.Process(target=_render, args=(state.model_dump_json(), sending))
    process.start()
    (first, warm), peak, size = receiving.recv()
    process.join()
    print(
        f"debrief report: {len(state.timeline)} events, {warm:.2f} s warm, {first:.2f} s first, "
        f"peak RSS {peak / 2**20:.0f} MiB, PDF {size / 1024:.0f} KiB"
    )
    return ReportRun(events=len(state.timeline), seconds=warm, first_seconds=first, peak_bytes=peak)
