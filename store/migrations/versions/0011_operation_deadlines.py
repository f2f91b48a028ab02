"""What an operation's participants must do next and by when, kept on its row for the inbox.

The officer's inbox lists, for every operation the agency takes part in, the handover offer it
must answer, the checkpoint its custody is due to report and the debrief deadline, without one
workflow query per operation. Rows written before this migration get them on their next event.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("operations") as table:
        table.add_column(sa.Column("offered_leg", sa.Integer(), nullable=True))
        table.add_column(sa.Column("handover_due_at", Stamp, nullable=True))
        table.add_column(sa.Column("checkpoint_due_at", Stamp, nullable=True))
        table.add_column(sa.Column("debrief_due_at", Stamp, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operations") as table:
        for column in ("debrief_due_at", "checkpoint_due_at", "handover_due_at", "offered_leg"):
            table.drop_column(column)
