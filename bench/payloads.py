"""How large an operation's payloads are, encoded as the worker encodes them: the reference's sizes.

The sample walkthrough (the one the lifecycle rows send through the API) is answered here by the
lifecycle rules alone, in process: each call becomes what the workflow would be given, answer and
write to the read model for it (the start input; per Update its argument, its answer, the
projection's input and result), and each of those is encoded with the converter the product's
client and worker use (pydantic, then the encrypting codec). No Temporal, no HTTP: it takes
milliseconds and gives the same messages a real run sends, up to the random ids and timestamps.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter
from temporalio.converter import DataConverter

from api.schemas.operations import ACTION_BODIES, ACTIONS
from bench.reference import OperationSizes, UpdateSizes, encoded_size
from cdtrack.walkthrough import JUSTIFICATION, SAMPLE_AGENCIES, Cast, Walkthrough
from workflows.commands import Actor, ActorRole, AnyCommand
from workflows.messages import (
    AcceptedAction,
    ProjectOperationInput,
    ProjectOperationResult,
    RunOperationInput,
)
from workflows.plan import OperationPlan
from workflows.rules import Accepted, decide, open_operation
from workflows.state import OperationState, RuleChange

COORDINATOR_TOKEN = "coordinator"
COMMANDS: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)


@dataclass
class _Messages:
    """What the workflow would receive and send for one operation, not yet encoded."""

    start: BaseModel | None = None
    # Per Update: its argument (None: it takes none), answer, projection input and result.
    updates: list[tuple[BaseModel | None, Any, BaseModel, BaseModel]] = field(default_factory=list)


class RulesWalkthrough(Walkthrough):
    """The sample walkthrough answered by the lifecycle rules, as the workflow would answer it."""

    def __init__(self, *, coordinator_agency: str) -> None:
        suffix = secrets.token_hex(3)
        cast = Cast(
            coordinator=COORDINATOR_TOKEN,
            officers={agency["id"]: agency["id"] for agency in SAMPLE_AGENCIES},
        )
        super().__init__(httpx.Client(), cast)
        self._coordinator_agency = coordinator_agency
        # The actors the API would name: user ids as `enrol_cast` makes them.
        self._actors = {
            COORDINATOR_TOKEN: Actor(
                agency=coordinator_agency,
                officer=f"demo-coordinator-{suffix}",
                role=ActorRole.COORDINATOR,
            )
        }
        for agency in cast.officers:
            self._actors[agency] = Actor(
                agency=agency, officer=f"demo-{agency}-{suffix}", role=ActorRole.OFFICER
            )
        self._state: OperationState | None = None
        self.messages = _Messages()

    def _call(self, token: str, method: str, path: str, body: Any = None) -> Any:
        actor = self._actors[token]
        now = datetime.now(UTC)
        if (method, path) == ("GET", "/me"):
            return {"agency": self._coordinator_agency}
        if (method, path) == ("POST", "/operations"):
            return self._create(actor, OperationPlan.model_validate(body), now=now)
        assert self._state is not None, "the walkthrough acts only on the operation it created"
        if method == "GET":
            return {"state": self._state.model_dump(mode="json")}
        kind = path.rsplit("/", 1)[-1].replace("-", "_")
        return self._act(actor, kind, body, now=now)

    def _create(self, actor: Actor, plan: OperationPlan, *, now: datetime) -> Any:
        operation_id = str(uuid.uuid4())
        self.messages.start = RunOperationInput(
            operation_id=operation_id, plan=plan, created_by=actor
        )
        state = open_operation(operation_id=operation_id, plan=plan, created_by=actor, now=now)
        # A run started today adopts every change of the rules (`workflow.patched`).
        self._state = state.model_copy(update={"rule_changes": frozenset(RuleChange)})
        first = self._state.timeline[0]
        accepted = AcceptedAction(seq=first.seq, action="create_operation", actor=actor)
        # Creation's `synchronise` takes no argument and answers the projected seq.
        self._record(None, first.seq, accepted=[accepted], since=0)
        return {"operation_id": operation_id}

    def _act(self, actor: Actor, kind: str, body: Any, *, now: datetime) -> Any:
        assert self._state is not None
        # As the API makes it: the body model's fields, the caller, an opaque request id.
        fields = ACTION_BODIES[kind].model_validate(body).model_dump()
        if kind not in ACTIONS:
            raise RuntimeError(f"the walkthrough sent {kind}, which is no steering action")
        command = COMMANDS.validate_python(
            {
                **fields,
                "kind": kind,
                "actor": actor,
                "request_id": hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                "justification": JUSTIFICATION,
            }
        )
        decision = decide(self._state, command, now=now)
        if not isinstance(decision, Accepted):
            raise RuntimeError(f"the rules refused the walkthrough's {kind}: {decision.reason}")
        since = self._state.timeline[-1].seq
        self._state = decision.state
        answer = decision.answer(command.request_id)
        accepted = AcceptedAction(
            seq=decision.event.seq,
            action=command.kind,
            actor=command.actor,
            justification=command.justification,
        )
        self._record(command, answer, accepted=[accepted], since=since)
        return answer.model_dump(mode="json")

    def _record(
        self, argument: BaseModel | None, answer: Any, *, accepted: list[AcceptedAction], since: int
    ) -> None:
        assert self._state is not None
        events = [event for event in self._state.timeline if event.seq > since]
        # The operation as the workflow sends it with its new events (see its `_project`).
        snapshot = self._state.model_copy(update={"timeline": [], "applied": {}})
        projection = ProjectOperationInput(operation=snapshot, events=events, actions=accepted)
        result = ProjectOperationResult(written=len(events), last_seq=events[-1].seq)
        self.messages.updates.append((argument, answer, projection, result))


async def operation_sizes(converter: DataConverter, *, coordinator_agency: str) -> OperationSizes:
    """The encoded sizes of one sample operation's payloads, creation to closed."""
    walk = RulesWalkthrough(coordinator_agency=coordinator_agency)
    try:
        walk.run(code_name=f"SIZES-{uuid.uuid4().hex[:6].upper()}")
    finally:
        walk.http.close()
    assert walk.messages.start is not None
    updates = [
        UpdateSizes(
            argument=0 if argument is None else await encoded_size(converter, argument),
            answer=await encoded_size(converter, answer),
            projection_input=await encoded_size(converter, projection),
            projection_result=await encoded_size(converter, result),
        )
        for argument, answer, projection, result in walk.messages.updates
    ]
    return OperationSizes(start=await encoded_size(converter, walk.messages.start), updates=updates)
