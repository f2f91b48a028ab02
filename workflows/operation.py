"""ControlledDeliveryWorkflow: one operation, durable from planning to closed, thin over the rules.

Every steering action is an Update whose validator asks the rules, so a refused action never enters
the history. Timers are whatever `pending_deadlines` asks for; when one fires its command goes
through the same rules. Every accepted change is projected into the read model before the Update
answers, so a client that reads after writing sees its write.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Final, NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from workflows.assessment import assessment_reason
    from workflows.commands import (
        SYSTEM,
        AbortOperationInput,
        AcknowledgeHandoverInput,
        AddRecommendationInput,
        AnyCommand,
        ApproveEmergencyInterdictionInput,
        CloseDebriefInput,
        ConcludeInterdictionInput,
        ConfirmParticipationInput,
        DeclareConsignmentLostInput,
        ExtendDebriefDeadlineInput,
        LaunchOperationInput,
        OfferHandoverInput,
        OrderInterdictionInput,
        RecordArrestInput,
        RecordAssessmentFailureInput,
        RecordAssessmentInput,
        RecordAuthorisationInput,
        RecordSeizureInput,
        RefuseHandoverInput,
        RemoveParticipantInput,
        ReportCheckpointInput,
        ReportCompromiseInput,
        ReportSurveillanceLostInput,
        ReportSurveillanceRegainedInput,
        ResumeOperationInput,
        RetryAssessmentInput,
        SubmitDebriefInput,
        SuspendOperationInput,
    )
    from workflows.events import EventKind
    from workflows.messages import (
        AcceptedAction,
        AssessOperationInput,
        NotifyAgenciesInput,
        ProjectOperationInput,
        RunOperationInput,
        RunOperationResult,
    )
    from workflows.notices import Notice, NoticeAction, delivery_failed, notices_for
    from workflows.reasons import Reason
    from workflows.rules import (
        Accepted,
        RefusalError,
        Refused,
        RoleRefused,
        assessment_due,
        compact_checkpoints,
        decide,
        open_operation,
        pending_deadlines,
    )
    from workflows.rules import previous_answer as answer_already_given
    from workflows.side_effects import AgencyNotification, OutcomeAssessment, ReadModelProjection
    from workflows.state import ActionResult, Debrief, OperationState, RuleChange

# Search attributes are stored unencrypted and are visible to anyone who can list workflows,
# so only non-sensitive values belong here: never names, routes, seizures or informants.
PHASE_ATTRIBUTE = SearchAttributeKey.for_keyword("CdtrackPhase")
REFUSED = "LifecycleRefusal"
# A command another role gives (the coordinator's, say, asked for by an officer); its details
# name the role required.
ROLE_REFUSED = "RoleRefusal"
# The refusal's reason as template and parameters (workflows/reasons.py), for a reader's language:
# the refusal's cause, so a client that knows only the two types above reads them as before.
REFUSAL_REASON = "RefusalReason"
ASSESSMENT_PATCH = "outcome-assessment"

# Runs whose projection failed before it was retried until it landed replay as they ran.
PROJECTION_RETRY_PATCH = "projection-retried-until-it-lands"
# One attempt per local activity: the workflow retries it behind a durable timer (see _project).
PROJECTION_ATTEMPT = RetryPolicy(maximum_attempts=1)
# Runs that went on past a refused timer or assessment record replay as they ran.
SYSTEM_REFUSAL_PATCH = "refused-system-command-fails-the-task"
# Operations started before agencies were notified replay without notices.
NOTIFICATIONS_PATCH = "notify-agencies"
# Runs whose assessment failed for good without a timeline event replay as they ran.
ASSESSMENT_FAILURE_PATCH = "assessment-failure-on-the-timeline"
# Runs that ended with their closing assessment failed for good replay as they ran.
CLOSING_ASSESSMENT_RETRY_PATCH = "closing-assessment-retried-until-written"
# Runs that told everyone "report ready" for every version replay as they ran.
REPORT_READY_PATCH = "report-ready-after-a-quiet-period"
# "Report ready" waits this long after the latest version, so a burst of versions (every input
# and recommendation writes one) is told once, for the version current at the end of it.
REPORT_READY_QUIET = timedelta(minutes=5)
REPORT_READY: Final = (NoticeAction.DEBRIEF_REPORT_READY, NoticeAction.DEBRIEF_REPORT_FINAL)
ASSESSMENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    non_retryable_error_types=["AssessmentConflict"],
)


@workflow.defn(name="ControlledDelivery")
class ControlledDeliveryWorkflow:
    @workflow.init
    def __init__(self, start: RunOperationInput) -> None:
        if start.carried_state is not None:
            self._state = start.carried_state
            self._projected_seq = self._state.timeline[-1].seq
        else:
            assert start.plan is not None, "a new operation starts from a plan"
            assert start.created_by is not None
            self._state = open_operation(
                operation_id=start.operation_id,
                plan=start.plan,
                created_by=start.created_by,
                now=workflow.now(),
            )
            self._projected_seq = 0
        # Each change of the rules is adopted by a run that starts after it; a replayed run
        # recorded before it finds no marker, and decides as it did.
        self._state.rule_changes = frozenset(
            change for change in RuleChange if workflow.patched(change.value)
        )
        # Accepted actions not yet projected, by the seq of their event.
        self._accepted: dict[int, AcceptedAction] = {}
        if start.carried_state is None:
            assert start.created_by is not None
            self._accepted[1] = AcceptedAction(
                seq=1, action="create_operation", actor=start.created_by
            )
        self._history_event_limit = start.history_event_limit
        self._checkpoints_carried = start.checkpoints_carried
        self._delivery = start.delivery
        self._projection_retry = start.projection_retry
        self._assessment_retry = start.assessment_retry
        self._changes = 0
        self._projection = asyncio.Lock()
        self._deliveries: dict[str, tuple[Notice, asyncio.Task[None]]] = {}
        # The debrief revision whose assessment failed for good: not retried until input changes.
        self._assessment_failed_revision: int | None = None
        # "Report ready" for the latest version, held until no newer version came for a while.
        self._report_ready: Notice | None = None
        self._report_ready_due: datetime | None = None

    @workflow.run
    async def run(self, start: RunOperationInput) -> RunOperationResult:
        if start.carried_state is None and workflow.patched(NOTIFICATIONS_PATCH):
            for notice in notices_for(self._state, self._state.timeline[0]):
                self._dispatch(notice)
        await self._project()
        while not self._state.phase.is_final:
            if self._continue_as_new_due():
                await self._continue_as_new()
            await self._assess_if_due()
            if self._state.phase.is_final:
                break
            await self._wait_for_change_or_deadline()
        await workflow.wait_condition(workflow.all_handlers_finished)
        # The close asks for the closing assessment: written before the operation ends.
        await self._assess_if_due()
        await self._retry_closing_assessment()
        # The final version needs no quiet period: nothing can follow it.
        self._tell_report_ready()
        await self._settle()
        await self._project()
        return RunOperationResult(
            operation_id=self._state.operation_id,
            phase=self._state.phase.value,
            outcome=self._state.outcome.text if self._state.outcome else None,
            events=self._state.timeline[-1].seq,
        )

    @workflow.query
    def state(self) -> OperationState:
        return self._state

    # --- steering actions ----------------------------------------------------------------------

    @workflow.update
    async def record_authorisation(self, command: RecordAuthorisationInput) -> ActionResult:
        return await self._act(command)

    @record_authorisation.validator
    def _check_record_authorisation(self, command: RecordAuthorisationInput) -> None:
        self._check(command)

    @workflow.update
    async def confirm_participation(self, command: ConfirmParticipationInput) -> ActionResult:
        return await self._act(command)

    @confirm_participation.validator
    def _check_confirm_participation(self, command: ConfirmParticipationInput) -> None:
        self._check(command)

    @workflow.update
    async def launch_operation(self, command: LaunchOperationInput) -> ActionResult:
        return await self._act(command)

    @launch_operation.validator
    def _check_launch_operation(self, command: LaunchOperationInput) -> None:
        self._check(command)

    @workflow.update
    async def offer_handover(self, command: OfferHandoverInput) -> ActionResult:
        return await self._act(command)

    @offer_handover.validator
    def _check_offer_handover(self, command: OfferHandoverInput) -> None:
        self._check(command)

    @workflow.update
    async def acknowledge_handover(self, command: AcknowledgeHandoverInput) -> ActionResult:
        return await self._act(command)

    @acknowledge_handover.validator
    def _check_acknowledge_handover(self, command: AcknowledgeHandoverInput) -> None:
        self._check(command)

    @workflow.update
    async def refuse_handover(self, command: RefuseHandoverInput) -> ActionResult:
        return await self._act(command)

    @refuse_handover.validator
    def _check_refuse_handover(self, command: RefuseHandoverInput) -> None:
        self._check(command)

    @workflow.update
    async def report_checkpoint(self, command: ReportCheckpointInput) -> ActionResult:
        return await self._act(command)

    @report_checkpoint.validator
    def _check_report_checkpoint(self, command: ReportCheckpointInput) -> None:
        self._check(command)

    @workflow.update
    async def report_surveillance_lost(self, command: ReportSurveillanceLostInput) -> ActionResult:
        return await self._act(command)

    @report_surveillance_lost.validator
    def _check_report_surveillance_lost(self, command: ReportSurveillanceLostInput) -> None:
        self._check(command)

    @workflow.update
    async def report_surveillance_regained(
        self, command: ReportSurveillanceRegainedInput
    ) -> ActionResult:
        return await self._act(command)

    @report_surveillance_regained.validator
    def _check_report_surveillance_regained(self, command: ReportSurveillanceRegainedInput) -> None:
        self._check(command)

    @workflow.update
    async def report_compromise(self, command: ReportCompromiseInput) -> ActionResult:
        return await self._act(command)

    @report_compromise.validator
    def _check_report_compromise(self, command: ReportCompromiseInput) -> None:
        self._check(command)

    @workflow.update
    async def suspend_operation(self, command: SuspendOperationInput) -> ActionResult:
        return await self._act(command)

    @suspend_operation.validator
    def _check_suspend_operation(self, command: SuspendOperationInput) -> None:
        self._check(command)

    @workflow.update
    async def resume_operation(self, command: ResumeOperationInput) -> ActionResult:
        return await self._act(command)

    @resume_operation.validator
    def _check_resume_operation(self, command: ResumeOperationInput) -> None:
        self._check(command)

    @workflow.update
    async def order_interdiction(self, command: OrderInterdictionInput) -> ActionResult:
        return await self._act(command)

    @order_interdiction.validator
    def _check_order_interdiction(self, command: OrderInterdictionInput) -> None:
        self._check(command)

    @workflow.update
    async def approve_emergency_interdiction(
        self, command: ApproveEmergencyInterdictionInput
    ) -> ActionResult:
        return await self._act(command)

    @approve_emergency_interdiction.validator
    def _check_approve_emergency_interdiction(
        self, command: ApproveEmergencyInterdictionInput
    ) -> None:
        self._check(command)

    @workflow.update
    async def record_seizure(self, command: RecordSeizureInput) -> ActionResult:
        return await self._act(command)

    @record_seizure.validator
    def _check_record_seizure(self, command: RecordSeizureInput) -> None:
        self._check(command)

    @workflow.update
    async def record_arrest(self, command: RecordArrestInput) -> ActionResult:
        return await self._act(command)

    @record_arrest.validator
    def _check_record_arrest(self, command: RecordArrestInput) -> None:
        self._check(command)

    @workflow.update
    async def conclude_interdiction(self, command: ConcludeInterdictionInput) -> ActionResult:
        return await self._act(command)

    @conclude_interdiction.validator
    def _check_conclude_interdiction(self, command: ConcludeInterdictionInput) -> None:
        self._check(command)

    @workflow.update
    async def submit_debrief(self, command: SubmitDebriefInput) -> ActionResult:
        return await self._act(command)

    @submit_debrief.validator
    def _check_submit_debrief(self, command: SubmitDebriefInput) -> None:
        self._check(command)

    @workflow.update
    async def extend_debrief_deadline(self, command: ExtendDebriefDeadlineInput) -> ActionResult:
        return await self._act(command)

    @extend_debrief_deadline.validator
    def _check_extend_debrief_deadline(self, command: ExtendDebriefDeadlineInput) -> None:
        self._check(command)

    @workflow.update
    async def add_recommendation(self, command: AddRecommendationInput) -> ActionResult:
        return await self._act(command)

    @add_recommendation.validator
    def _check_add_recommendation(self, command: AddRecommendationInput) -> None:
        self._check(command)

    @workflow.update
    async def close_debrief(self, command: CloseDebriefInput) -> ActionResult:
        return await self._act(command)

    @close_debrief.validator
    def _check_close_debrief(self, command: CloseDebriefInput) -> None:
        self._check(command)

    @workflow.update
    async def retry_assessment(self, command: RetryAssessmentInput) -> ActionResult:
        return await self._act(command)

    @retry_assessment.validator
    def _check_retry_assessment(self, command: RetryAssessmentInput) -> None:
        self._check(command)

    @workflow.update
    async def remove_participant(self, command: RemoveParticipantInput) -> ActionResult:
        return await self._act(command)

    @remove_participant.validator
    def _check_remove_participant(self, command: RemoveParticipantInput) -> None:
        self._check(command)

    @workflow.update
    async def synchronise(self) -> int:
        """Returns once every event so far is in the read model: read-your-writes for clients."""
        await self._project()
        return self._projected_seq

    @workflow.update
    async def abort_operation(self, command: AbortOperationInput) -> ActionResult:
        return await self._act(command)

    @abort_operation.validator
    def _check_abort_operation(self, command: AbortOperationInput) -> None:
        self._check(command)

    @workflow.update
    async def declare_consignment_lost(self, command: DeclareConsignmentLostInput) -> ActionResult:
        return await self._act(command)

    @declare_consignment_lost.validator
    def _check_declare_consignment_lost(self, command: DeclareConsignmentLostInput) -> None:
        self._check(command)

    # --- the machinery -------------------------------------------------------------------------

    def _check(self, command: AnyCommand) -> None:
        """Refuse before the history records anything; a retried request passes to its answer."""
        if self._answer_given(command) is not None:
            return
        decision = decide(self._state, command, now=workflow.now())
        if not isinstance(decision, Accepted):
            raise _refusal(decision)

    def _answer_given(self, command: AnyCommand) -> ActionResult | None:
        try:
            return answer_already_given(self._state, command, command.kind)
        except RefusalError as refusal:
            raise ApplicationError(str(refusal), type=REFUSED, non_retryable=True) from _reason_of(
                str(refusal), refusal.why
            )

    async def _act(self, command: AnyCommand) -> ActionResult:
        given = self._answer_given(command)
        if given is not None:
            # The first attempt may still be writing to the read model; answer after it has.
            await self._project()
            return given
        # Between the validator and here another handler may have changed the state.
        decision = decide(self._state, command, now=workflow.now())
        if not isinstance(decision, Accepted):
            raise _refusal(decision)
        self._commit(decision)
        self._accepted[decision.event.seq] = AcceptedAction(
            seq=decision.event.seq,
            action=command.kind,
            actor=command.actor,
            justification=command.justification,
        )
        await self._project()
        return decision.answer(command.request_id)

    def _commit(self, decision: Accepted) -> None:
        phase_before = self._state.phase
        self._state = decision.state
        self._changes += 1
        if self._state.phase is not phase_before:
            workflow.upsert_search_attributes([PHASE_ATTRIBUTE.value_set(self._state.phase.value)])
        if not workflow.patched(NOTIFICATIONS_PATCH):
            return
        for event in decision.events:
            self._stop_moot_deliveries(event.kind)
            for notice in notices_for(self._state, event):
                if notice.action in REPORT_READY and workflow.patched(REPORT_READY_PATCH):
                    # A newer version replaces the one not yet told, and restarts the wait.
                    self._report_ready = notice
                    self._report_ready_due = workflow.now() + REPORT_READY_QUIET
                else:
                    self._dispatch(notice)

    def _tell_report_ready(self) -> None:
        """Tell everyone of the version current now, once, if a version is waiting to be told."""
        if self._report_ready is not None:
            self._dispatch(self._report_ready)
        self._report_ready = None
        self._report_ready_due = None

    async def _settle(self) -> None:
        """Before the run ends or continues as new: every handler and every delivery finished."""
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._deliveries
        )

    def _dispatch(self, notice: Notice) -> None:
        if notice.key not in self._deliveries:
            task = asyncio.create_task(self._deliver(notice))
            self._deliveries[notice.key] = (notice, task)

    def _stop_moot_deliveries(self, kind: EventKind) -> None:
        """An acknowledgement (say) stops its reminders at once, even mid-retry."""
        for notice, task in list(self._deliveries.values()):
            if kind in notice.void_after:
                task.cancel()

    async def _deliver(self, notice: Notice) -> None:
        """Deliver a notice; whoever could not be reached is reported to the chain's next step."""
        policy = self._delivery
        unreachable: list[str]
        try:
            result = await workflow.execute_activity_method(
                AgencyNotification.notify_agencies,
                NotifyAgenciesInput(notice=notice, max_attempts=policy.attempts),
                start_to_close_timeout=timedelta(minutes=2),
                # A moot notice is left to its activity, which checks the read model before every
                # send and stands down; the workflow stops waiting for it at once.
                cancellation_type=ActivityCancellationType.ABANDON,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=policy.first_retry_seconds),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=policy.maximum_retry_seconds),
                    maximum_attempts=policy.attempts,
                ),
            )
            unreachable = [] if result.moot else result.unreachable
        except asyncio.CancelledError:
            return  # made moot by what happened since; see _stop_moot_deliveries
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):
                return
            workflow.logger.exception("notice %s could not be delivered", notice.key)
            unreachable = [recipient.label for recipient in notice.recipients]
        finally:
            del self._deliveries[notice.key]
        for label in unreachable:
            follow_up = delivery_failed(notice, unreachable=label)
            if follow_up is not None:
                self._dispatch(follow_up)

    async def _wait_for_change_or_deadline(self) -> None:
        deadlines = pending_deadlines(self._state)
        seen = self._changes
        quiet_until = self._report_ready_due
        if quiet_until is not None and (not deadlines or quiet_until <= deadlines[0][0]):
            if await self._changed_within(quiet_until - workflow.now(), since=seen):
                return
            self._tell_report_ready()
            return
        if deadlines:
            due, _ = deadlines[0]
            if await self._changed_within(due - workflow.now(), since=seen):
                return
            await self._fire_earliest_deadline()
        else:
            await workflow.wait_condition(
                lambda: self._changes != seen or self._continue_as_new_due()
            )

    async def _changed_within(self, wait: timedelta, *, since: int) -> bool:
        """Whether an accepted change came within `wait` (none waited for once it is past)."""
        if wait <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(lambda: self._changes != since, timeout=wait)
        except TimeoutError:
            return False
        return True

    async def _fire_earliest_deadline(self) -> None:
        # Recomputed: an action may have answered the deadline while the timer was firing.
        deadlines = pending_deadlines(self._state)
        if not deadlines or deadlines[0][0] > workflow.now():
            return
        _, timer = deadlines[0]
        await self._decide_own(
            timer.model_copy(update={"request_id": f"timer-{self._state.next_seq}"})
        )

    async def _assess_if_due(self) -> None:
        """Have the outcome assessment written as its next version, then note it on the timeline.

        Asked when the debrief deadline passes, when the debrief is closed, and after every
        change the assessment depends on once one exists (late input, a recommendation); after
        the close, again on a timer while the closing one fails (`_retry_closing_assessment`).
        """
        # Runs started before outcome assessments existed replay as they ran: without them.
        if not workflow.patched(ASSESSMENT_PATCH):
            return
        debrief = self._state.debrief
        if debrief is None or not assessment_due(self._state):
            return
        revision = debrief.revision
        if revision == self._assessment_failed_revision:
            return
        version = len(debrief.assessments) + 1
        at_seq = self._state.timeline[-1].seq
        await self._project()
        try:
            result = await workflow.execute_activity_method(
                OutcomeAssessment.assess_operation,
                AssessOperationInput(
                    operation=self._state.model_copy(update={"applied": {}}),
                    version=version,
                    at_seq=at_seq,
                    reason=assessment_reason(self._state),
                    requested_at=workflow.now(),
                ),
                start_to_close_timeout=timedelta(minutes=2),
                schedule_to_close_timeout=timedelta(minutes=30),
                retry_policy=ASSESSMENT_RETRY,
            )
        except ActivityError:
            workflow.logger.exception("outcome assessment version %d failed", version)
            if not workflow.patched(ASSESSMENT_FAILURE_PATCH):
                self._assessment_failed_revision = revision
            elif _first_failure(self._state.debrief, revision):
                # On the timeline and told to the coordinator, once; before the close the rules
                # then wait for a change, after it the run tries again on a timer.
                await self._decide_own(
                    RecordAssessmentFailureInput(
                        actor=SYSTEM,
                        request_id=f"assessment-failure-{version}-{revision}",
                        version=version,
                        at_seq=at_seq,
                        revision=revision,
                    )
                )
            return
        await self._decide_own(
            RecordAssessmentInput(
                actor=SYSTEM,
                request_id=f"assessment-{result.version}",
                version=result.version,
                at_seq=at_seq,
                revision=revision,
            )
        )

    async def _retry_closing_assessment(self) -> None:
        """Try a failed closing assessment again on a timer until it is written.

        Before the close the next change tries again; after it none comes, and a run that ended
        here would leave the operation closed with no outcome assessment. The failure was told
        once; the attempts that follow fail without a word. A long outage continues as new, the
        state (its failure on the timeline) carried, so the history stays bounded.
        """
        # Once final, only a closed operation can still owe an assessment: the closing one.
        while assessment_due(self._state):
            # Runs that ended with their closing assessment failed replay as they ran.
            if not workflow.patched(CLOSING_ASSESSMENT_RETRY_PATCH):
                return
            if self._continue_as_new_due():
                await self._continue_as_new()
            # The coordinator may ask for the next attempt at once (retry_assessment).
            await self._changed_within(self._wait_before_next_assessment(), since=self._changes)
            await self._assess_if_due()

    def _wait_before_next_assessment(self) -> timedelta:
        """As long as the closing assessment has been failing, within the policy's bounds.

        So each wait doubles the one before, and a run continued as new goes on where the last
        left off with nothing carried but the timeline.
        """
        now = workflow.now()
        failed_at = next(
            (
                event.at
                for event in reversed(self._state.timeline)
                if event.kind == EventKind.DEBRIEF_ASSESSMENT_FAILED
            ),
            now,
        )
        policy = self._assessment_retry
        first = timedelta(seconds=policy.first_retry_seconds)
        ceiling = timedelta(seconds=policy.maximum_retry_seconds)
        return min(max(now - failed_at, first), ceiling)

    async def _continue_as_new(self) -> NoReturn:
        """Carry the state into a new run, once everything of this one is told and written."""
        self._tell_report_ready()
        await self._settle()
        await self._project()
        workflow.continue_as_new(
            RunOperationInput(
                operation_id=self._state.operation_id,
                carried_state=compact_checkpoints(self._state, keep=self._checkpoints_carried),
                history_event_limit=self._history_event_limit,
                checkpoints_carried=self._checkpoints_carried,
                delivery=self._delivery,
                projection_retry=self._projection_retry,
                assessment_retry=self._assessment_retry,
            )
        )

    async def _decide_own(self, command: AnyCommand) -> None:
        """Apply a command the workflow gives itself; the rules refusing it is a bug."""
        decision = decide(self._state, command, now=workflow.now())
        if not isinstance(decision, Accepted):
            self._refused(command)
            return
        self._commit(decision)
        await self._project()

    def _refused(self, command: AnyCommand) -> None:
        """The rules refused a command of the workflow's own: a bug to fix, not a state to live in.

        The workflow task fails, so Temporal retries it and shows the run as stuck, rather than
        the run going on with nothing to wait for. The rules' reason stays out of the message:
        it names agencies and places, and a failed task is written to the worker's log.
        """
        if workflow.patched(SYSTEM_REFUSAL_PATCH):
            raise SystemCommandRefusedError(
                f"the rules refused {command.kind} at seq {self._state.next_seq} "
                f"of operation {self._state.operation_id}"
            )
        workflow.logger.error("%s refused by the rules", command.kind)

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._history_event_limit
        )

    async def _project(self) -> None:
        """Write every event not yet in the read model, with the operation as it stands now.

        Returns only once they are written: an Update answers, and a run ends or continues as
        new, only with its events (and their access-log entries) in the read model. A failed
        attempt is retried behind a durable timer, not inside the local activity: retries shorter
        than its local retry threshold would hold the workflow task open, heartbeating, for as
        long as the read model is down. Between attempts the workflow task is free, so queries
        answer and Updates are accepted; they wait here for the same projection to land.
        """
        async with self._projection:
            attempt = 1
            backoff = timedelta(seconds=self._projection_retry.first_retry_seconds)
            ceiling = timedelta(seconds=self._projection_retry.maximum_retry_seconds)
            while True:
                # Taken afresh each attempt: changes accepted meanwhile are written with it.
                events = [e for e in self._state.timeline if e.seq > self._projected_seq]
                if not events:
                    return
                snapshot = self._state.model_copy(update={"timeline": [], "applied": {}})
                actions = [self._accepted[e.seq] for e in events if e.seq in self._accepted]
                try:
                    result = await workflow.execute_local_activity_method(
                        ReadModelProjection.project_operation,
                        ProjectOperationInput(operation=snapshot, events=events, actions=actions),
                        start_to_close_timeout=timedelta(seconds=30),
                        retry_policy=PROJECTION_ATTEMPT,
                    )
                except FailureError as failure:
                    # A local activity's last failure arrives as it was raised (an
                    # ApplicationError, a TimeoutError), not wrapped in an ActivityError.
                    if isinstance(failure, CancelledError):
                        raise
                    # Only ids and numbers: the failure's message may quote what was written.
                    workflow.logger.warning(
                        "read model projection of operation %s up to seq %d failed (attempt %d)",
                        self._state.operation_id,
                        events[-1].seq,
                        attempt,
                    )
                    if not workflow.patched(PROJECTION_RETRY_PATCH):
                        # As before: an ActivityError was swallowed, anything else raised.
                        if isinstance(failure, ActivityError):
                            return
                        raise
                    await workflow.sleep(backoff)
                    attempt += 1
                    backoff = min(backoff * 2, ceiling)
                    continue
                self._projected_seq = max(self._projected_seq, result.last_seq)
                for action in actions:
                    self._accepted.pop(action.seq, None)
                return


def _first_failure(debrief: Debrief | None, revision: int) -> bool:
    """Whether a failure of this revision's assessment is still to be recorded and told.

    Not when a change came meanwhile (it asks for a new version at once), nor when it is
    already on the timeline (the closing assessment, tried again on a timer).
    """
    return (
        debrief is not None and debrief.revision == revision and debrief.failed_revision != revision
    )


class SystemCommandRefusedError(RuntimeError):
    """The rules refused a timer's command or an assessment record the workflow issued itself.

    Deliberately not an ApplicationError: it fails the workflow task, not the workflow.
    """


def _refusal(decision: Refused) -> ApplicationError:
    """The answer to a refused Update: the lifecycle's reason, typed by what would help; a role
    refusal's details name the role required. Its cause carries the reason as template and
    parameters (`_reason_of`)."""
    if isinstance(decision, RoleRefused):
        refusal = ApplicationError(
            decision.reason, decision.required, type=ROLE_REFUSED, non_retryable=True
        )
    else:
        refusal = ApplicationError(decision.reason, type=REFUSED, non_retryable=True)
    refusal.__cause__ = _reason_of(decision.reason, decision.why)
    return refusal


def _reason_of(reason: str, why: Reason) -> ApplicationError:
    """The reason as template and parameters, in a failure of its own under the refusal, so the
    refusal's own details keep the shape every client reads."""
    return ApplicationError(reason, why.as_details(), type=REFUSAL_REASON, non_retryable=True)
