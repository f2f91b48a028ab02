"""Notifications: agencies' targets (sealed apprise URLs) and the delivery log.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_targets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("label", sa.String(200)),
        sa.Column("url_sealed", sa.Text, nullable=False),
        sa.Column("url_hint", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("retired_at", UtcDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_notification_targets"),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name="fk_notification_targets_agency_id_agencies"
        ),
    )
    op.create_index("ix_notification_targets_agency_id", "notification_targets", ["agency_id"])

    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("notice_key", sa.String(300), nullable=False),
        sa.Column("operation_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(36)),
        sa.Column("language", sa.String(2)),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notification_deliveries"),
    )
    op.create_index(
        "ix_notification_deliveries_operation_id", "notification_deliveries", ["operation_id"]
    )
    op.create_index(
        "ix_notification_deliveries_notice",
        "notification_deliveries",
        ["notice_key", "target_id"],
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_targets")
