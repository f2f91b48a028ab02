"""Agency notification: delivers one notice to every target of its recipients, through apprise.

At least once, never twice: each delivery is logged before the activity moves on, and a retried
attempt skips every target the log shows as delivered. A failing target is retried by the
activity's retry policy; on the last attempt the activity answers with the recipients it could
not reach instead of failing, so the workflow can tell the next step of the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

import apprise
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notice_text import render
from i18n import Language
from store.access_log import AccessCategory, append_access
from store.identity import AgencyName, agency_names
from store.models import TimelineEventRow
from store.notifications import (
    DeliveryStatus,
    NotificationTargetRow,
    delivered_targets,
    national_contact_point,
    record_delivery,
    targets_for,
)
from store.sealing import SecretBox
from workflows.messages import NotifyAgenciesInput, NotifyAgenciesResult
from workflows.notices import Notice, NoticeAction, Recipient
from workflows.side_effects import AgencyNotification

DELIVERY_FAILED = "DeliveryFailed"
SEND_TIMEOUT_SECONDS = 20.0

# The only reasons a failed delivery is given: none names the target's agency, URL or host.
REFUSED = "the target refused the notification or could not be reached"
TIMED_OUT = "the target did not answer in time"
UNREADABLE_URL = "apprise does not understand this target's URL"

_URGENT = {
    NoticeAction.ACKNOWLEDGEMENT_OVERDUE,
    NoticeAction.ACKNOWLEDGEMENT_ESCALATED,
    NoticeAction.CHECKPOINT_SILENCE,
    NoticeAction.SURVEILLANCE_LOST,
    NoticeAction.COMPROMISE,
    NoticeAction.DELIVERY_FAILED,
    NoticeAction.ASSESSMENT_FAILED,
    NoticeAction.CLOSING_ASSESSMENT_FAILED,
}


@dataclass(frozen=True)
class _Target:
    id: str
    url_sealed: str
    language: Language

    @classmethod
    def of(cls, row: NotificationTargetRow) -> _Target:
        return cls(row.id, row.url_sealed, Language(row.language))


@dataclass(frozen=True)
class _Addressee:
    """A recipient as found in the directory: an agency and its targets for the notice."""

    label: str
    agency: str | None
    targets: list[_Target]


# The console page each notice opens, and the reason code that preselects the justification
# fitting it there. A link names only the opaque operation id and the action, nothing else.
CONSOLE_PAGES: Final[dict[NoticeAction, tuple[str, str]]] = {
    NoticeAction.AUTHORISATION_NEEDED: ("authorisation", "action_due"),
    NoticeAction.CONFIRMATION_NEEDED: ("participation", "action_due"),
    NoticeAction.ACKNOWLEDGEMENT_DUE: ("handover", "handover_due"),
    NoticeAction.ACKNOWLEDGEMENT_OVERDUE: ("handover", "handover_due"),
    NoticeAction.ACKNOWLEDGEMENT_ESCALATED: ("handover", "handover_due"),
    NoticeAction.CHECKPOINT_SILENCE: ("checkpoint", "custody"),
    NoticeAction.SURVEILLANCE_LOST: ("", "custody"),
    NoticeAction.COMPROMISE: ("", "custody"),
    # Seizures, arrests and the conclusion are recorded from the operation's page.
    NoticeAction.INTERDICTION_ORDERED: ("", "action_due"),
    NoticeAction.OPERATION_ABORTED: ("", "action_due"),
    NoticeAction.DEBRIEF_INPUT_DUE: ("debrief", "debrief_input"),
    NoticeAction.DEBRIEF_REPORT_READY: ("report", "debrief_analysis"),
    NoticeAction.DEBRIEF_REPORT_FINAL: ("report", "debrief_analysis"),
    NoticeAction.ASSESSMENT_FAILED: ("", "monitoring"),
    NoticeAction.CLOSING_ASSESSMENT_FAILED: ("", "monitoring"),
    NoticeAction.DELIVERY_FAILED: ("", "monitoring"),
}


def console_link(public_base_url: str, notice: Notice) -> str:
    """E.g. https://cdtrack.example.org/o/op-3f2a.../handover?reason=handover_due."""
    page, reason = CONSOLE_PAGES.get(notice.action, ("", "action_due"))
    path = f"/o/{quote(notice.operation_id, safe='')}" + (f"/{page}" if page else "")
    return f"{public_base_url.rstrip('/')}{path}?reason={reason}"


class NotificationActivities(AgencyNotification):
    def __init__(
        self, sessions: sessionmaker[Session], *, box: SecretBox, public_base_url: str
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._public_base_url = public_base_url.rstrip("/")

    @activity.defn(name="notify_agencies")
    def notify_agencies(self, request: NotifyAgenciesInput) -> NotifyAgenciesResult:
        notice = request.notice
        attempt = activity.info().attempt
        with self._sessions.begin() as session:
            if self._moot(session, notice):
                return NotifyAgenciesResult(delivered=0, moot=True)
            addressees = [self._look_up(session, recipient) for recipient in notice.recipients]
            done = delivered_targets(session, notice_key=notice.key)
            named = [notice.undelivered_agency] if notice.undelivered_agency else []
            agencies = agency_names(session, agency_ids=named)
        delivered = 0
        reached: set[str] = set()
        failures: list[str] = []
        unreachable: list[str] = []
        for addressee in addressees:
            if addressee.agency is None or not addressee.targets:
                unreachable.append(addressee.label)
                if attempt == 1:
                    self._log_undeliverable(notice, addressee)
                continue
            for target in addressee.targets:
                if target.id in done:
                    reached.add(addressee.label)
                    continue
                error = self._deliver(
                    notice, addressee.agency, target, attempt=attempt, agencies=agencies
                )
                if error is None:
                    delivered += 1
                    reached.add(addressee.label)
                elif error == "moot":
                    return NotifyAgenciesResult(delivered=delivered, moot=True)
                else:
                    failures.append(f"target {target.id}: {error}")
        if failures and attempt < request.max_attempts:
            # The message reaches Temporal: target ids only, never an agency, URL or host.
            raise ApplicationError(
                f"{len(failures)} delivery(ies) failed on attempt {attempt}: "
                + "; ".join(failures),
                type=DELIVERY_FAILED,
            )
        unreachable += [
            a.label for a in addressees if a.targets and a.agency and a.label not in reached
        ]
        return NotifyAgenciesResult(
            delivered=delivered,
            already_delivered=len(done),
            unreachable=sorted(set(unreachable)),
        )

    def _look_up(self, session: Session, recipient: Recipient) -> _Addressee:
        agency = recipient.agency
        if agency is None and recipient.contact_point_of is not None:
            agency = national_contact_point(session, country=recipient.contact_point_of)
        if agency is None:
            return _Addressee(label=recipient.label, agency=None, targets=[])
        targets = targets_for(session, agency_id=agency, purpose=recipient.purpose)
        return _Addressee(label=agency, agency=agency, targets=[_Target.of(t) for t in targets])

    def _moot(self, session: Session, notice: Notice) -> bool:
        """Whether something since the notice's event (an acknowledgement, say) answered it."""
        if not notice.void_after:
            return False
        return bool(
            session.scalar(
                select(
                    exists().where(
                        TimelineEventRow.operation_id == notice.operation_id,
                        TimelineEventRow.seq > notice.seq,
                        TimelineEventRow.kind.in_(notice.void_after),
                    )
                )
            )
        )

    def _deliver(
        self,
        notice: Notice,
        agency: str,
        target: _Target,
        *,
        attempt: int,
        agencies: dict[str, AgencyName],
    ) -> str | None:
        """Sends to one target and logs the outcome; the error text, "moot", or None if sent."""
        with self._sessions.begin() as session:
            # Checked again right before sending: an acknowledgement stops the chain at once.
            if self._moot(session, notice):
                _log(session, notice, agency, target, attempt=attempt, status=DeliveryStatus.VOID)
                return "moot"
        language = target.language
        text = render(
            notice,
            language=language,
            link=console_link(self._public_base_url, notice),
            agencies=agencies,
        )
        url = self._box.open(target.url_sealed, context=target.id)
        sender = apprise.Apprise()
        if not sender.add(url):
            error: str | None = UNREADABLE_URL
        else:
            result = sender.notify(
                body=text.body,
                title=text.title,
                notify_type=apprise.NotifyType.WARNING
                if notice.action in _URGENT
                else apprise.NotifyType.INFO,
                timeout=SEND_TIMEOUT_SECONDS,
            )
            error = None if result else _reason(result)
        with self._sessions.begin() as session:
            status = DeliveryStatus.FAILED if error else DeliveryStatus.DELIVERED
            _log(session, notice, agency, target, attempt=attempt, status=status, error=error)
            append_access(
                session,
                accessor=None,
                action=f"notification.{notice.action.value}",
                category=AccessCategory.DISCLOSURE,
                operation_id=notice.operation_id,
                justification="Notice to an operation's participant, as its lifecycle requires",
                recipients=[agency, f"target:{target.id}"],
                outcome="delivered" if error is None else "failed",
                reason_code=None if error is None else "delivery_failed",
                detail={"notice": notice.key, "attempt": attempt, "language": language.value},
            )
        return error

    def _log_undeliverable(self, notice: Notice, addressee: _Addressee) -> None:
        with self._sessions.begin() as session:
            _log(
                session,
                notice,
                addressee.agency or addressee.label[:64],
                None,
                attempt=1,
                status=DeliveryStatus.UNDELIVERABLE,
                error="no national contact point is registered"
                if addressee.agency is None
                else "the agency has no notification target for this purpose",
            )


def _log(
    session: Session,
    notice: Notice,
    agency: str,
    target: _Target | None,
    *,
    attempt: int,
    status: DeliveryStatus,
    error: str | None = None,
) -> None:
    record_delivery(
        session,
        notice_key=notice.key,
        operation_id=notice.operation_id,
        seq=notice.seq,
        action=notice.action.value,
        agency_id=agency,
        target_id=target.id if target else None,
        language=target.language.value if target else None,
        attempt=attempt,
        status=status,
        error=error,
    )


def _reason(result: apprise.AppriseResult) -> str:
    # Apprise's own log lines name the URL, host and at times a credential; only a fixed word
    # goes to the delivery log and to Temporal (the worker's log keeps apprise's detail).
    if result.status == apprise.AppriseResultStatus.TIMEOUT or result.timeout_count:
        return TIMED_OUT
    return REFUSED
