"""The access log (Directive 2016/680, Art. 25): append-only, a signed Merkle tree, verifiable.

Built like a transparency log (RFC 9162, Trillian). An append is an insert of the entry and of
its id into a queue of entries not yet integrated; nothing shared is updated, so appends never
wait on each other. One sequencer (the audit workflow's activity) takes the queue in id order,
gives the entries consecutive leaf indices, extends the tree from the compact range it carried
over from its previous head (never from the stored leaves, which an insider could have rewritten)
and signs the new head with a key the database does not hold. Heads are published outside the
database: in the audit workflow's history and in a heads file. Verification recomputes every
root from the entries themselves and compares it with every signed head it is given.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, cast

from pydantic import ValidationError
from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    delete,
    exists,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base
from store.checkpoint import (
    Checkpoint,
    LogSigner,
    LogVerifier,
    canonical_entry_bytes,
    note_text,
)
from store.files import private_directory
from store.merkle import CompactRange, inclusion_proof, leaf_hash
from workflows.messages import SignedTreeHead

# SQLite gives a rowid alias only to a column declared exactly INTEGER.
EntryId = BigInteger().with_variant(Integer(), "sqlite")

# The triggers that keep the log append-only, as the migration creates them.
GUARDED_TABLES = ("access_log", "access_log_leaves", "access_log_heads")
POSTGRES_TRIGGERS = frozenset(
    f"{table}_{kind}" for table in GUARDED_TABLES for kind in ("no_update_delete", "no_truncate")
)
SQLITE_TRIGGERS = frozenset(
    f"{table}_{kind}" for table in GUARDED_TABLES for kind in ("no_update", "no_delete")
)


class AccessCategory(StrEnum):
    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    COMBINATION = "combination"
    ERASURE = "erasure"


@dataclass(frozen=True)
class Accessor:
    """Who accessed the data: a person acting for an agency, in a role (None: cdtrack itself)."""

    user_id: str
    name: str | None
    agency: str
    role: str


class AccessEntry(Base):
    __tablename__ = "access_log"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(EntryId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    user_id: Mapped[str | None] = mapped_column(String(128))
    user_name: Mapped[str | None] = mapped_column(String(200))
    agency: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(20))
    operation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    recipients: Mapped[list[str]]
    justification: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]]


class QueuedEntry(Base):
    """An entry not yet integrated into the tree (Trillian's unsequenced table)."""

    __tablename__ = "access_log_queue"

    entry_id: Mapped[int] = mapped_column(
        EntryId, ForeignKey("access_log.id"), primary_key=True, autoincrement=False
    )
    queued_at: Mapped[datetime]


class LeafRow(Base):
    __tablename__ = "access_log_leaves"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(EntryId, unique=True)
    leaf_hash: Mapped[str] = mapped_column(String(44))


class HeadRow(Base):
    __tablename__ = "access_log_heads"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(200))
    root_hash: Mapped[str] = mapped_column(String(44))
    signed_at: Mapped[datetime]
    guarded: Mapped[bool] = mapped_column(Boolean)
    key_id: Mapped[str] = mapped_column(String(8))
    signature: Mapped[str] = mapped_column(String(88))
    frontier: Mapped[list[str]]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def entry_fields(entry: AccessEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.astimezone(UTC).isoformat(),
        "user_id": entry.user_id,
        "user_name": entry.user_name,
        "agency": entry.agency,
        "role": entry.role,
        "action": entry.action,
        "category": entry.category,
        "operation_id": entry.operation_id,
        "recipients": list(entry.recipients),
        "justification": entry.justification,
        "outcome": entry.outcome,
        "reason_code": entry.reason_code,
        "rule": entry.rule,
        "detail": entry.detail,
    }


def entry_bytes(entry: AccessEntry) -> bytes:
    """The entry as its leaf hashes it: every field, its id included, as canonical JSON."""
    return canonical_entry_bytes(entry_fields(entry))


def entry_leaf_hash(entry: AccessEntry) -> bytes:
    return leaf_hash(entry_bytes(entry))


def append_access(
    session: Session,
    *,
    accessor: Accessor | None,
    action: str,
    category: AccessCategory,
    operation_id: str | None,
    justification: str | None,
    recipients: list[str] | None = None,
    outcome: str = "allowed",
    reason_code: str | None = None,
    rule: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one entry and queue it for the sequencer, in the caller's transaction; its id.

    A refused or failed access names a `reason_code` (a fixed word such as `not_visible`) and the
    `rule` that refused it (such as a command kind), never free text: a refusal's text can carry
    operational detail that the log's readers, administrators, may not see.
    """
    now = datetime.now(UTC)
    entry_id: int = session.execute(
        _APPEND_ENTRY,
        {
            "at": (at or now).astimezone(UTC).replace(microsecond=0),
            "user_id": accessor.user_id if accessor else None,
            "user_name": accessor.name if accessor else None,
            "agency": accessor.agency if accessor else None,
            "role": accessor.role if accessor else None,
            "action": action,
            "category": category.value,
            "operation_id": operation_id,
            "recipients": list(recipients or []),
            "justification": justification,
            "outcome": outcome,
            "reason_code": reason_code,
            "rule": rule,
            "detail": dict(detail or {}),
        },
    ).scalar_one()
    # The queue, not a scan of the log, is what the sequencer reads: an entry whose transaction
    # commits after later ids were integrated is still there to be taken next time.
    session.execute(_QUEUE_ENTRY, {"entry_id": entry_id, "queued_at": now})
    return entry_id


# Built once: every answered read and every accepted action appends an entry, and building the
# statement cost more than sending it.
_ENTRIES: Final = cast(Table, AccessEntry.__table__)
_APPEND_ENTRY: Final = insert(_ENTRIES).returning(_ENTRIES.c.id)
_QUEUE_ENTRY: Final = insert(cast(Table, QueuedEntry.__table__))


def list_access(
    session: Session,
    *,
    operation_id: str | None = None,
    user_id: str | None = None,
    category: AccessCategory | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int = 0,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AccessEntry]:
    """Entries after `after_id` in order, of one operation, user, category and period if given
    (`since` included, `until` excluded); with `before_id`, the newest before it first, as a
    person reads a log."""
    query = select(AccessEntry).where(AccessEntry.id > after_id)
    if before_id is not None:
        query = query.where(AccessEntry.id < before_id)
    if operation_id is not None:
        query = query.where(AccessEntry.operation_id == operation_id)
    if user_id is not None:
        query = query.where(AccessEntry.user_id == user_id)
    if category is not None:
        query = query.where(AccessEntry.category == category.value)
    if since is not None:
        query = query.where(AccessEntry.at >= since)
    if until is not None:
        query = query.where(AccessEntry.at < until)
    order = AccessEntry.id.desc() if before_id is not None else AccessEntry.id
    return list(session.scalars(query.order_by(order).limit(limit)))


# --- signed heads -------------------------------------------------------------------------


def checkpoint_of(head: SignedTreeHead) -> Checkpoint:
    return Checkpoint(
        origin=head.origin,
        size=head.tree_size,
        root=base64.b64decode(head.root_hash),
        signed_at=head.signed_at,
        guarded=head.guarded,
    )


def head_note(head: SignedTreeHead) -> str:
    """The head as a C2SP signed note, the text an oversight body checks with standard tools."""
    return note_text(
        checkpoint_of(head),
        key=bytes.fromhex(head.key_id),
        signature=base64.b64decode(head.signature),
    )


def head_is_signed(head: SignedTreeHead, verifier: LogVerifier) -> bool:
    """The head carries the log's signature, and its frontier folds to the root it signs."""
    try:
        frontier = CompactRange(
            head.tree_size, tuple(base64.b64decode(h, validate=True) for h in head.frontier)
        )
        signature = base64.b64decode(head.signature, validate=True)
        checkpoint = checkpoint_of(head)
    except ValueError:
        return False
    return (
        head.key_id == verifier.key_id.hex()
        and verifier.verify(checkpoint, signature)
        and frontier.root() == checkpoint.root
    )


def frontier_of(head: SignedTreeHead | None) -> CompactRange:
    if head is None:
        return CompactRange()
    return CompactRange(head.tree_size, tuple(base64.b64decode(h) for h in head.frontier))


def database_head(row: HeadRow) -> SignedTreeHead:
    return SignedTreeHead(
        origin=row.origin,
        tree_size=row.tree_size,
        root_hash=row.root_hash,
        signed_at=row.signed_at,
        guarded=row.guarded,
        key_id=row.key_id,
        signature=row.signature,
        frontier=list(row.frontier),
    )


def database_heads(session: Session) -> list[SignedTreeHead]:
    return [
        database_head(row) for row in session.scalars(select(HeadRow).order_by(HeadRow.tree_size))
    ]


def latest_database_head(
    session: Session, *, verifier: LogVerifier, beyond: int = -1
) -> SignedTreeHead | None:
    """The largest head the database holds beyond `beyond` entries that the log's key signed."""
    rows = session.scalars(
        select(HeadRow).where(HeadRow.tree_size > beyond).order_by(HeadRow.tree_size.desc())
    )
    for row in rows:
        head = database_head(row)
        if head_is_signed(head, verifier):
            return head
    return None


def latest_signed_head(
    heads: Iterable[SignedTreeHead], *, verifier: LogVerifier
) -> SignedTreeHead | None:
    """The largest of `heads` that the log's key signed; forged ones are passed over."""
    signed = [head for head in heads if head_is_signed(head, verifier)]
    return max(signed, key=lambda head: head.tree_size, default=None)


def guard_problems(session: Session) -> list[str]:
    """The append-only triggers that are missing or disabled now ([] when all are in place)."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(
                "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c "
                "ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid) "
                "AND c.relname IN ('access_log', 'access_log_leaves', 'access_log_heads')"
            )
        ).all()
        # 'O' fires in the ordinary session role, 'A' always; 'D' is disabled, 'R' replica only.
        enabled = {str(name) for name, state in rows if str(state) in ("O", "A")}
        present = {str(name) for name, _ in rows}
        expected = POSTGRES_TRIGGERS
    else:
        names = session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        present = enabled = {str(name) for name in names}
        expected = SQLITE_TRIGGERS
    return [
        f"trigger {name} is {'disabled' if name in present else 'missing'}"
        for name in sorted(expected - enabled)
    ]


# --- the sequencer ------------------------------------------------------------------------


def integrate_pending(
    session: Session,
    *,
    frontier: CompactRange,
    signer: LogSigner,
    now: datetime,
    limit: int = 5_000,
) -> SignedTreeHead | None:
    """Integrate up to `limit` queued entries, in id order, and sign the new head.

    The new root comes from `frontier`, the compact range of the last signed head, and the new
    leaves alone: leaves stored before are never read, so rows rewritten since that head cannot
    be signed into this one. Leaves, the queue and the head change in the caller's transaction.
    None when nothing is queued.
    """
    queued = session.execute(
        select(AccessEntry, QueuedEntry)
        .join(QueuedEntry, QueuedEntry.entry_id == AccessEntry.id)
        .order_by(AccessEntry.id)
        .limit(limit)
    ).all()
    if not queued:
        return None
    extended = frontier
    leaves: list[dict[str, Any]] = []
    for entry, _ in queued:
        hashed = entry_leaf_hash(entry)
        leaves.append(
            {"leaf_index": extended.size, "entry_id": entry.id, "leaf_hash": _b64(hashed)}
        )
        extended = extended.append(hashed)
    session.execute(insert(LeafRow), leaves)
    session.execute(
        delete(QueuedEntry).where(QueuedEntry.entry_id.in_([entry.id for entry, _ in queued]))
    )
    checkpoint = Checkpoint(
        origin=signer.origin,
        size=extended.size,
        root=extended.root(),
        signed_at=now.astimezone(UTC).replace(microsecond=0),
        guarded=not guard_problems(session),
    )
    head = SignedTreeHead(
        origin=checkpoint.origin,
        tree_size=checkpoint.size,
        root_hash=_b64(checkpoint.root),
        signed_at=checkpoint.signed_at,
        guarded=checkpoint.guarded,
        key_id=signer.verifier.key_id.hex(),
        signature=_b64(signer.sign(checkpoint)),
        frontier=[_b64(subtree) for subtree in extended.hashes],
    )
    session.add(HeadRow(**head.model_dump()))
    session.flush()
    return head


# --- publication outside the database -----------------------------------------------------


def publish_head(path: Path, head: SignedTreeHead) -> bool:
    """Append the head to the heads file (one JSON line, its signed note included), once.

    False when the file already ends with this head or a later one (a retried activity).
    """
    last = _last_published(path)
    if last is not None and last.tree_size >= head.tree_size:
        return False
    private_directory(path.parent)
    fields = head.model_dump(mode="json")
    fields["checkpoint"] = head_note(head)
    line = json.dumps(fields, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as out:
        out.write(line)
        out.flush()
        os.fsync(out.fileno())
    return True


def _last_published(path: Path) -> SignedTreeHead | None:
    if not path.exists():
        return None
    with path.open("rb") as heads:
        # A line is a few kilobytes at most (the frontier holds up to 64 hashes).
        heads.seek(max(heads.seek(0, os.SEEK_END) - 32_768, 0))
        tail = heads.read().decode(errors="replace").splitlines()
    parsed = _parse_heads(tail[-1:])
    return parsed[-1] if parsed else None


def _parse_heads(lines: Iterable[str]) -> list[SignedTreeHead]:
    heads: list[SignedTreeHead] = []
    for line in lines:
        try:
            fields = json.loads(line)
            fields.pop("checkpoint", None)
            heads.append(SignedTreeHead.model_validate(fields))
        except (ValueError, ValidationError, AttributeError):
            continue
    return heads


def read_published_heads(path: Path) -> list[SignedTreeHead]:
    """The heads in a heads file, in file order; lines that do not parse are left out."""
    if not path.exists():
        return []
    return _parse_heads(path.read_text().splitlines())


# --- verification -------------------------------------------------------------------------


class FindingKind(StrEnum):
    EDITED = "edited"
    DELETED = "deleted and renumbered"
    TRUNCATED = "truncated"
    WIPED = "wiped"
    UNGUARDED_HEAD = "signed while unguarded"
    UNGUARDED = "unguarded"
    STALE_QUEUE = "not integrated"
    UNACCOUNTED = "neither integrated nor queued"
    FORGED_HEAD = "forged head"
    FORK = "fork"
    UNSIGNED_LEAVES = "unsigned leaves"
    REWRITTEN = "rewritten"


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    message: str
    entry_id: int | None = None


@dataclass(frozen=True)
class PublishedHead:
    """A signed head and where it was found: the database, a heads file, the audit workflow."""

    source: str
    head: SignedTreeHead


@dataclass(frozen=True)
class LogReport:
    entries: int
    size: int
    root: str
    checked_against: PublishedHead | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    def describe(self) -> str:
        if not self.intact:
            return "\n".join(f"{f.kind.value}: {f.message}" for f in self.findings)
        if self.checked_against is None:
            return f"access log intact: {self.entries} entries, no signed head yet"
        head = self.checked_against.head
        return (
            f"access log intact: {self.entries} entries, {self.size} integrated, root "
            f"{self.root}; checked against the head of {head.tree_size} entries signed at "
            f"{head.signed_at:%Y-%m-%d %H:%M:%S} UTC ({self.checked_against.source})"
        )


def _at(found: PublishedHead) -> str:
    return f"{found.head.signed_at:%Y-%m-%d %H:%M:%S} UTC ({found.source})"


MISSING_LEAF = leaf_hash(b"\x00missing entry")


def _leaves(first: int, last: int) -> str:
    return f"leaf {first}" if first == last else f"leaves {first} to {last}"


def verify_log(
    session: Session,
    *,
    verifier: LogVerifier | None,
    published: Sequence[PublishedHead] = (),
    now: datetime,
    queue_limit: timedelta = timedelta(minutes=5),
) -> LogReport:
    """Check the entries against every signed head given and every head the database holds.

    Every root is recomputed from the entries' own content, not from the stored leaf hashes.
    Without a `verifier` the database's heads are taken as they are (no signature is checked),
    which finds careless tampering only: an insider can recompute hashes but not signatures.
    """
    candidates = [PublishedHead("database", head) for head in database_heads(session)]
    heads, findings = _signed_heads([*candidates, *published], verifier)
    by_size: dict[int, PublishedHead] = {}
    # A head found outside the database is the one to name, so it goes first.
    for found in sorted(heads, key=lambda f: (f.head.tree_size, f.source == "database")):
        known = by_size.setdefault(found.head.tree_size, found)
        if known.head.root_hash != found.head.root_hash:
            findings.append(
                Finding(
                    FindingKind.FORK,
                    f"two signed heads of {known.head.tree_size} entries disagree: "
                    f"{known.source} and {found.source}",
                )
            )
    entries = session.scalar(select(func.count()).select_from(AccessEntry)) or 0
    tree = _recompute(session, by_size)
    findings += _tampering(tree, heads=heads, by_size=by_size, entries=entries)
    largest = max(by_size.values(), key=lambda f: f.head.tree_size, default=None)
    findings += _bookkeeping(
        session,
        signed_size=largest.head.tree_size if largest is not None else 0,
        now=now,
        queue_limit=queue_limit,
    )
    return LogReport(
        entries=entries,
        size=tree.range.size,
        root=_b64(tree.range.root()),
        checked_against=largest,
        findings=findings,
    )


def _signed_heads(
    candidates: Sequence[PublishedHead], verifier: LogVerifier | None
) -> tuple[list[PublishedHead], list[Finding]]:
    """The heads the log's key signed; a finding for each forged one and each signed unguarded."""
    heads: list[PublishedHead] = []
    findings: list[Finding] = []
    for found in candidates:
        if verifier is not None and not head_is_signed(found.head, verifier):
            findings.append(
                Finding(
                    FindingKind.FORGED_HEAD,
                    f"a head of {found.head.tree_size} entries in {found.source} does not carry "
                    "the log's signature (forged or altered)",
                )
            )
            continue
        heads.append(found)
        if not found.head.guarded:
            findings.append(
                Finding(
                    FindingKind.UNGUARDED_HEAD,
                    f"the head of {found.head.tree_size} entries signed at {_at(found)} found "
                    "the log's append-only triggers disabled or missing",
                )
            )
    return heads, findings


@dataclass
class _Recomputed:
    """The tree rebuilt from the entries' content, and how each head fared against it."""

    range: CompactRange = field(default_factory=CompactRange)
    matched: list[PublishedHead] = field(default_factory=list)
    failed: list[PublishedHead] = field(default_factory=list)
    entry_findings: list[Finding] = field(default_factory=list)
    gap: Finding | None = None


def _recompute(session: Session, by_size: dict[int, PublishedHead]) -> _Recomputed:
    tree = _Recomputed()
    rows = session.execute(
        select(LeafRow, AccessEntry)
        .outerjoin(AccessEntry, AccessEntry.id == LeafRow.entry_id)
        .order_by(LeafRow.leaf_index)
        .execution_options(yield_per=1000)
    )
    for leaf, entry in rows:
        if leaf.leaf_index != tree.range.size:
            # No root from here on can be recomputed, so no later head can be checked.
            tree.gap = Finding(
                FindingKind.DELETED,
                f"{_leaves(tree.range.size + 1, leaf.leaf_index)} gone: deleted without "
                f"renumbering; no head beyond {tree.range.size} entries can be checked",
            )
            break
        if entry is None:
            content = MISSING_LEAF
            tree.entry_findings.append(
                Finding(
                    FindingKind.DELETED,
                    f"leaf {leaf.leaf_index + 1} names entry {leaf.entry_id}, which is gone",
                    leaf.entry_id,
                )
            )
        else:
            content = entry_leaf_hash(entry)
            if _b64(content) != leaf.leaf_hash:
                tree.entry_findings.append(
                    Finding(
                        FindingKind.EDITED,
                        f"entry {entry.id} (leaf {leaf.leaf_index + 1}) was edited: its "
                        "content no longer matches its leaf hash",
                        entry.id,
                    )
                )
        tree.range = tree.range.append(content)
        covering = by_size.get(tree.range.size)
        if covering is not None:
            same = _b64(tree.range.root()) == covering.head.root_hash
            (tree.matched if same else tree.failed).append(covering)
    return tree


def _tampering(
    tree: _Recomputed,
    *,
    heads: list[PublishedHead],
    by_size: dict[int, PublishedHead],
    entries: int,
) -> list[Finding]:
    """What the recomputed tree says against the heads: wiped, edited, deleted or truncated."""
    size = tree.range.size
    beyond = sorted(
        (found for found in by_size.values() if found.head.tree_size > size),
        key=lambda f: f.head.tree_size,
    )
    if entries == 0 and size == 0 and beyond:
        return [
            Finding(
                FindingKind.WIPED,
                f"the log is empty but a head of {beyond[-1].head.tree_size} entries was "
                f"published at {_at(beyond[-1])}",
            )
        ]
    if tree.failed:
        first = tree.failed[0]
        last_good = max(
            (f.head.tree_size for f in tree.matched if f.head.tree_size < first.head.tree_size),
            default=0,
        )
        span = _leaves(last_good + 1, first.head.tree_size)
        if beyond:
            summary = Finding(
                FindingKind.DELETED,
                f"entries were deleted and the rest renumbered: the log holds {size} "
                f"leaves where a head of {beyond[-1].head.tree_size} entries was published "
                f"at {_at(beyond[-1])}, and {span} no longer match the head of "
                f"{first.head.tree_size} entries signed at {_at(first)}",
            )
        else:
            still = (
                f"the head of {last_good} entries still matches"
                if last_good
                else "no earlier head matches"
            )
            summary = Finding(
                FindingKind.EDITED,
                f"the entries at {span} were changed after they were signed: the head of "
                f"{first.head.tree_size} entries signed at {_at(first)} no longer matches; "
                f"{still}",
            )
        return [summary, *tree.entry_findings]
    if tree.gap is not None:
        return [tree.gap, *tree.entry_findings]
    if beyond:
        database_size = max((f.head.tree_size for f in heads if f.source == "database"), default=0)
        set_back = (
            f"; the database's heads were set back to {database_size} entries"
            if database_size < beyond[-1].head.tree_size
            else ""
        )
        return [
            Finding(
                FindingKind.TRUNCATED,
                f"the log holds {size} entries but a head of {beyond[-1].head.tree_size} "
                f"entries was published at {_at(beyond[-1])}: entries {size + 1} to "
                f"{beyond[-1].head.tree_size} were deleted{set_back}",
            )
        ]
    return tree.entry_findings


def _bookkeeping(
    session: Session, *, signed_size: int, now: datetime, queue_limit: timedelta
) -> list[Finding]:
    """Leaves no head signed, the guard as it is now, rewritten rows, the queue."""
    findings: list[Finding] = []
    leaves = session.scalar(select(func.count()).select_from(LeafRow)) or 0
    if leaves > signed_size:
        findings.append(
            Finding(
                FindingKind.UNSIGNED_LEAVES,
                f"the log holds {leaves} leaves but its latest signed head covers "
                f"{signed_size}: leaves were added behind the sequencer",
            )
        )
    findings += [
        Finding(FindingKind.UNGUARDED, f"{problem}: the log can be rewritten now")
        for problem in guard_problems(session)
    ]
    findings += _rewritten_rows(session)
    unaccounted = session.scalars(
        select(AccessEntry.id)
        .where(~exists().where(LeafRow.entry_id == AccessEntry.id))
        .where(~exists().where(QueuedEntry.entry_id == AccessEntry.id))
        .order_by(AccessEntry.id)
    ).all()
    findings += [
        Finding(
            FindingKind.UNACCOUNTED,
            f"entry {entry_id} is neither integrated nor queued (its queue row was deleted, "
            "or it was inserted behind the application)",
            entry_id,
        )
        for entry_id in unaccounted
    ]
    stale, oldest = session.execute(
        select(func.count(), func.min(QueuedEntry.queued_at)).where(
            QueuedEntry.queued_at < now - queue_limit
        )
    ).one()
    if stale:
        findings.append(
            Finding(
                FindingKind.STALE_QUEUE,
                f"{stale} entries queued for more than {queue_limit.total_seconds():.0f} s "
                f"are not integrated (the oldest since {oldest:%Y-%m-%d %H:%M:%S} UTC): is "
                "the audit workflow running?",
            )
        )
    return findings


# PostgreSQL stamps every row version with the transaction that wrote it (xmin), and an entry is
# always written before the sequencer's transaction that writes its leaf. An entry younger than
# its leaf was updated since, which the triggers refuse: they were off at some time after it was
# integrated, even if its content now reads as it did. Ages past a billion transactions are left
# alone, as xids that old may have wrapped around.
POSTGRES_REWRITES = """
SELECT e.id, l.leaf_index FROM access_log e JOIN access_log_leaves l ON l.entry_id = e.id
WHERE age(e.xmin) < age(l.xmin) AND age(l.xmin) < 1000000000
ORDER BY l.leaf_index
"""


def _rewritten_rows(session: Session) -> list[Finding]:
    if session.get_bind().dialect.name != "postgresql":
        return []
    rows = session.execute(text(POSTGRES_REWRITES)).all()
    return [
        Finding(
            FindingKind.REWRITTEN,
            f"entry {entry_id} (leaf {leaf_index + 1}) was rewritten after it was integrated: "
            "the log's triggers were off at some time since",
            int(entry_id),
        )
        for entry_id, leaf_index in rows
    ]


def verify_chain(session: Session) -> LogReport:
    """The log against the heads the database holds, signatures unchecked (see `verify_log`)."""
    return verify_log(session, verifier=None, now=datetime.now(UTC))


# --- inclusion proofs ---------------------------------------------------------------------


class NotIntegratedError(LookupError):
    """The entry is not (yet) covered by the signed head a proof was asked against."""


def prove_inclusion(
    session: Session, *, entry_id: int, head: SignedTreeHead, verifier: LogVerifier
) -> dict[str, Any]:
    """An RFC 9162 inclusion proof of one entry against a signed head, as JSON-ready fields.

    The audit path is computed from the entries' content; `store.checkpoint.check_inclusion_proof`
    checks the result with the public key alone.
    """
    leaf = session.scalar(select(LeafRow).where(LeafRow.entry_id == entry_id))
    if leaf is None or leaf.leaf_index >= head.tree_size:
        raise NotIntegratedError(
            f"entry {entry_id} is not covered by the head of {head.tree_size} entries"
        )
    hashes: list[bytes] = []
    entry_text = ""
    rows = session.execute(
        select(LeafRow.leaf_index, AccessEntry)
        .outerjoin(AccessEntry, AccessEntry.id == LeafRow.entry_id)
        .where(LeafRow.leaf_index < head.tree_size)
        .order_by(LeafRow.leaf_index)
        .execution_options(yield_per=1000)
    )
    for index, entry in rows:
        hashes.append(MISSING_LEAF if entry is None else entry_leaf_hash(entry))
        if index == leaf.leaf_index and entry is not None:
            entry_text = entry_bytes(entry).decode()
    if not entry_text:
        raise NotIntegratedError(f"entry {entry_id} is gone: run `cdtrack audit verify`")
    if len(hashes) != head.tree_size:
        raise NotIntegratedError(
            f"the log holds {len(hashes)} leaves, fewer than the head of {head.tree_size} "
            "entries: run `cdtrack audit verify`"
        )
    return {
        "entry_id": entry_id,
        "leaf_index": leaf.leaf_index,
        "entry": entry_text,
        "leaf_hash": _b64(hashes[leaf.leaf_index]),
        "tree_size": head.tree_size,
        "audit_path": [_b64(step) for step in inclusion_proof(leaf.leaf_index, hashes)],
        "checkpoint": head_note(head),
        "public_key": verifier.vkey(),
    }
