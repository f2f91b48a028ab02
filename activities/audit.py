"""The access log's sequencer activity: integrate queued entries, sign, publish the head."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from store.access_log import (
    frontier_of,
    head_is_signed,
    integrate_pending,
    latest_database_head,
    latest_signed_head,
    publish_head,
    read_published_heads,
)
from store.checkpoint import LogSigner
from workflows.messages import IntegrateEntriesInput, IntegrateEntriesResult, SignedTreeHead
from workflows.side_effects import AccessLogSequencer

UNSIGNED_HEAD = "AccessLogHeadUnsigned"


class AuditActivities(AccessLogSequencer):
    def __init__(
        self, sessions: sessionmaker[Session], *, signer: LogSigner, heads_file: Path
    ) -> None:
        self._sessions = sessions
        self._signer = signer
        self._heads_file = heads_file

    @activity.defn(name="integrate_access_log")
    def integrate_access_log(self, request: IntegrateEntriesInput) -> IntegrateEntriesResult:
        """Idempotent: a head an earlier attempt committed is found and returned, not redone."""
        verifier = self._signer.verifier
        start = request.head
        if start is not None and not head_is_signed(start, verifier):
            # Retrying cannot help: the key changed, or the workflow carries a head not ours.
            raise ApplicationError(
                "the head to extend does not carry the log's signature",
                type=UNSIGNED_HEAD,
                non_retryable=True,
            )
        with self._sessions.begin() as session:
            committed = latest_database_head(
                session, verifier=verifier, beyond=start.tree_size if start else -1
            )
            if committed is not None and start is not None:
                # An earlier attempt integrated and committed, then its result was lost.
                self._publish(committed)
                return IntegrateEntriesResult(head=committed, integrated=0, already_integrated=True)
            if start is None:
                # A fresh workflow takes up the newest signed head, in the log or outside it.
                published = read_published_heads(self._heads_file)
                start = latest_signed_head(
                    [*published, *([committed] if committed else [])], verifier=verifier
                )
            head = integrate_pending(
                session,
                frontier=frontier_of(start),
                signer=self._signer,
                now=datetime.now(UTC),
                limit=request.batch_limit,
            )
        if head is None:
            return IntegrateEntriesResult(head=start, integrated=0)
        self._publish(head)
        return IntegrateEntriesResult(
            head=head, integrated=head.tree_size - (start.tree_size if start else 0)
        )

    def _publish(self, head: SignedTreeHead) -> None:
        publish_head(self._heads_file, head)
