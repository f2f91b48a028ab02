"""Access log: hash-chained entries that nobody can update, delete or truncate.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
GENESIS = "0" * 64

POSTGRES_GUARD = """
CREATE FUNCTION access_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER access_log_no_update_delete BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_is_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_is_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON access_log FROM PUBLIC;
"""


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("seq", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
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
        sa.Column("reason", sa.Text),
        sa.Column("detail", Document, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_access_log"),
    )
    op.create_index("ix_access_log_operation_id", "access_log", ["operation_id"])
    head = op.create_table(
        "access_log_head",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_access_log_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_GUARD)
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER access_log_no_{event.lower()} BEFORE {event} ON access_log "
                f"BEGIN SELECT RAISE(ABORT, 'access_log is append-only: {event} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE access_log CASCADE")
        op.execute("DROP FUNCTION access_log_is_append_only()")
    else:
        op.drop_table("access_log")
    op.drop_table("access_log_head")
