"""Outcome assessments: one row per version, never updated or deleted.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

POSTGRES_GUARD = """
CREATE FUNCTION outcome_assessments_are_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'outcome_assessments keeps every version: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER outcome_assessments_no_update_delete
    BEFORE UPDATE OR DELETE ON outcome_assessments
    FOR EACH ROW EXECUTE FUNCTION outcome_assessments_are_kept();
"""


def upgrade() -> None:
    op.create_table(
        "outcome_assessments",
        sa.Column("operation_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at_seq", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("body", Document, nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name="fk_outcome_assessments_operation_id_operations",
        ),
        sa.PrimaryKeyConstraint("operation_id", "version", name="pk_outcome_assessments"),
        sa.UniqueConstraint(
            "operation_id", "at_seq", name="uq_outcome_assessments_operation_seq"
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_GUARD)
    else:
        op.execute(
            "CREATE TRIGGER outcome_assessments_no_update BEFORE UPDATE ON outcome_assessments "
            "BEGIN SELECT RAISE(ABORT, 'outcome_assessments keeps every version'); END"
        )
        op.execute(
            "CREATE TRIGGER outcome_assessments_no_delete BEFORE DELETE ON outcome_assessments "
            "BEGIN SELECT RAISE(ABORT, 'outcome_assessments keeps every version'); END"
        )


def downgrade() -> None:
    op.drop_table("outcome_assessments")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS outcome_assessments_are_kept()")
