"""Access log as a signed Merkle tree: entries, a queue, leaves and heads; the application role.

The hash chain and its head row go. Existing entries are kept, with their sequence number as
their id, the refusal rule moved from `detail` to its own column, and queued: the sequencer
integrates them as the tree's first leaves, in their old order. Their chain hashes are dropped.

On PostgreSQL the application role `cdtrack_app` (created NOLOGIN if missing; deploy/
postgres-init.sql creates it with LOGIN) is granted what the application needs and no more:
on the log SELECT and INSERT, on the queue DELETE too; on the rest of the read model what
store/ does there (SELECT and INSERT on timeline events, deliveries, assessments and
idempotency keys).
Migrations run as the owner; a later migration that adds a table grants on it itself.

Revision ID: 0008
Revises: 0007
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
EntryId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)

GUARDED = ("access_log", "access_log_leaves", "access_log_heads")
APP_ROLE = "cdtrack_app"
# What store/ does to each table of the read model: projections, records and idempotency keys
# are only added to; operations, their participants and legs, identities and targets change.
READ_MODEL_CHANGED = (
    "operations",
    "operation_participants",
    "operation_legs",
    "agencies",
    "users",
    "api_tokens",
    "notification_targets",
)
READ_MODEL_ADDED_TO = (
    "timeline_events",
    "notification_deliveries",
    "outcome_assessments",
    "idempotency_keys",
)

POSTGRES_GUARD = """
CREATE FUNCTION access_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""

POSTGRES_APP_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN;
    END IF;
EXCEPTION
    -- Another database on the same server migrating at the same moment created it first.
    WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
"""


def _old_entries() -> list[dict[str, object]]:
    old = sa.table(
        "access_log",
        *(
            sa.column(name)
            for name in (
                "seq", "user_id", "user_name", "agency", "role", "action", "category",
                "operation_id", "justification", "outcome", "reason",
            )
        ),
        sa.column("recipients", Document),
        sa.column("detail", Document),
        sa.column("at", Stamp),
    )
    rows = op.get_bind().execute(sa.select(old).order_by(old.c.seq)).mappings().all()
    moved = []
    for row in rows:
        detail = dict(row["detail"] or {})
        rule = detail.pop("rule", None)
        moved.append(
            {
                "id": row["seq"],
                "at": row["at"],
                "user_id": row["user_id"],
                "user_name": row["user_name"],
                "agency": row["agency"],
                "role": row["role"],
                "action": row["action"],
                "category": row["category"],
                "operation_id": row["operation_id"],
                "recipients": list(row["recipients"] or []),
                "justification": row["justification"],
                "outcome": row["outcome"],
                "reason_code": row["reason"],
                "rule": None if rule is None else str(rule),
                "detail": detail,
            }
        )
    return moved


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    kept = _old_entries()
    if postgres:
        op.execute("DROP TABLE access_log CASCADE")
        op.execute("DROP FUNCTION access_log_is_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS access_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS access_log_no_delete")
        op.drop_table("access_log")
    op.drop_table("access_log_head")

    entries = op.create_table(
        "access_log",
        sa.Column("id", EntryId, autoincrement=True, nullable=False),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("user_id", sa.String(128)),
        sa.Column("user_name", sa.String(200)),
        sa.Column("agency", sa.String(64)),
        sa.Column("role", sa.String(20)),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("operation_id", sa.String(64)),
        sa.Column("recipients", Document, nullable=False),
        sa.Column("justification", sa.Text),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("rule", sa.String(100)),
        sa.Column("detail", Document, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_access_log"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_access_log_operation_id", "access_log", ["operation_id"])
    queue = op.create_table(
        "access_log_queue",
        sa.Column("entry_id", EntryId, autoincrement=False, nullable=False),
        sa.Column("queued_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["access_log.id"], name="fk_access_log_queue_entry_id_access_log"
        ),
        sa.PrimaryKeyConstraint("entry_id", name="pk_access_log_queue"),
    )
    op.create_table(
        "access_log_leaves",
        sa.Column("leaf_index", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("entry_id", EntryId, nullable=False),
        sa.Column("leaf_hash", sa.String(44), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name="pk_access_log_leaves"),
        sa.UniqueConstraint("entry_id", name="uq_access_log_leaves_entry_id"),
    )
    op.create_table(
        "access_log_heads",
        sa.Column("tree_size", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("root_hash", sa.String(44), nullable=False),
        sa.Column("signed_at", Stamp, nullable=False),
        sa.Column("guarded", sa.Boolean, nullable=False),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("signature", sa.String(88), nullable=False),
        sa.Column("frontier", Document, nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_access_log_heads"),
    )

    if kept:
        now = datetime.now(UTC)
        op.bulk_insert(entries, kept)
        op.bulk_insert(queue, [{"entry_id": row["id"], "queued_at": now} for row in kept])
        if postgres:
            op.execute(
                "SELECT setval(pg_get_serial_sequence('access_log', 'id'), "
                "(SELECT max(id) FROM access_log))"
            )

    if postgres:
        op.execute(POSTGRES_GUARD)
        for table in GUARDED:
            op.execute(
                f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION access_log_is_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION access_log_is_append_only()"
            )
            op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")
        _grant_app_role()
    else:
        for table in GUARDED:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {event} refused'); END"
                )


def _grant_app_role() -> None:
    op.execute(POSTGRES_APP_ROLE)
    log = ("access_log", "access_log_queue", "access_log_leaves", "access_log_heads")
    for table in (*log, *READ_MODEL_CHANGED, *READ_MODEL_ADDED_TO, "alembic_version"):
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    op.execute(f"GRANT USAGE ON SCHEMA {_schema()} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON access_log, access_log_leaves, access_log_heads TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON access_log_queue TO {APP_ROLE}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(READ_MODEL_CHANGED)} TO {APP_ROLE}"
    )
    op.execute(f"GRANT SELECT, INSERT ON {', '.join(READ_MODEL_ADDED_TO)} TO {APP_ROLE}")
    # `cdtrack api` checks the schema is current before it serves (store.migrate.upgrade).
    op.execute(f"GRANT SELECT ON alembic_version TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {_schema()} TO {APP_ROLE}")


def _schema() -> str:
    name = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    return f'"{name}"'


def downgrade() -> None:
    # The tree cannot become a chain again without rewriting every entry: refuse.
    raise NotImplementedError("the access log's Merkle tree has no downgrade")
