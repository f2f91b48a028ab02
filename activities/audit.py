"""The access log's sequencer activity: integrate queued entries, sign, publish the head."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from store.access_log import (
    HeadRow,
    database_head,
    frontier_of,
    head_is_signed,
    integrate_pending,
    latest_signed_head,
    publish_head,
    read_published_heads,
)
from store.checkpoint import LogSigner
from workflows.messages import IntegrateEntriesInput, IntegrateEntriesResult, SignedTreeHead


class AuditActivities:
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
            raise ValueError("the head to extend does not carry the log's signature")
        with self._sessions.begin() as session:
            committed = self._committed_since(session, start)
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

    def _committed_since(
        self, session: Session, head: SignedTreeHead | None
    ) -> SignedTreeHead | None:
        """The newest head in the database beyond `head` that the log's key signed."""
        since = head.tree_size if head is not None else -1
        rows = session.scalars(
            select(HeadRow).where(HeadRow.tree_size > since).order_by(HeadRow.tree_size.desc())
        )
        for row in rows:
            found = database_head(row)
            if head_is_signed(found, self._signer.verifier):
                return found
        return None

    def _publish(self, head: SignedTreeHead) -> None:
        publish_head(self._heads_file, head)
