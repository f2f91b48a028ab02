"""Read model: operations, participants, legs, timeline events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("code_name", sa.String(40), nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("lead_agency", sa.String(64), nullable=False),
        sa.Column("coordinator_agency", sa.String(64), nullable=False),
        sa.Column("handling_code", sa.String(2), nullable=False),
        sa.Column("handling_label", sa.String(200), nullable=False),
        sa.Column("custodian", sa.String(64)),
        sa.Column("delivery_type", sa.String(32), nullable=False),
        sa.Column("transport_mode", sa.String(32), nullable=False),
        sa.Column("substances", Document, nullable=False),
        sa.Column("countries", Document, nullable=False),
        sa.Column("countries_key", sa.String(400), nullable=False),
        sa.Column("substances_key", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("launched_at", UtcDateTime),
        sa.Column("ended_at", UtcDateTime),
        sa.Column("outcome", sa.Text),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_operations"),
    )
    op.create_index("ix_operations_phase", "operations", ["phase"])
    op.create_index("ix_operations_coordinator_agency", "operations", ["coordinator_agency"])
    op.create_index("ix_operations_created_at", "operations", ["created_at"])

    op.create_table(
        "operation_participants",
        sa.Column("operation_id", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("confirmed_at", UtcDateTime),
        sa.PrimaryKeyConstraint("operation_id", "agency", name="pk_operation_participants"),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name="fk_operation_participants_operation_id_operations",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_operation_participants_agency", "operation_participants", ["agency"])

    op.create_table(
        "operation_legs",
        sa.Column("operation_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("from_country", sa.String(2), nullable=False),
        sa.Column("to_country", sa.String(2), nullable=False),
        sa.Column("crossing_point", sa.String(200), nullable=False),
        sa.Column("carrier", sa.String(200)),
        sa.Column("tracking_number", sa.String(200)),
        sa.Column("planned_departure", UtcDateTime, nullable=False),
        sa.Column("planned_arrival", UtcDateTime, nullable=False),
        sa.Column("sending_agency", sa.String(64), nullable=False),
        sa.Column("receiving_agency", sa.String(64), nullable=False),
        sa.Column("acknowledgement_deadline_seconds", sa.Integer, nullable=False),
        sa.Column("offered_at", UtcDateTime),
        sa.Column("acknowledged_at", UtcDateTime),
        sa.PrimaryKeyConstraint("operation_id", "position", name="pk_operation_legs"),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name="fk_operation_legs_operation_id_operations",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "timeline_events",
        sa.Column("operation_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor_agency", sa.String(64), nullable=False),
        sa.Column("actor_officer", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("detail", Document, nullable=False),
        sa.PrimaryKeyConstraint("operation_id", "seq", name="pk_timeline_events"),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name="fk_timeline_events_operation_id_operations",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("timeline_events")
    op.drop_table("operation_legs")
    op.drop_table("operation_participants")
    op.drop_table("operations")
