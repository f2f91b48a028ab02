"""A fingerprint of each operation's participants and legs, so a projection need not read them.

Every steering action waits for its projection. Participants and legs change on few events
(confirmations, handovers, a removal), so the projection compared them with what was stored,
which cost two reads on every event; it now compares a digest of the rows it would write with
the one the operation's row keeps, which the same UPDATE that moves the row forward returns.
Rows written before this migration have none: their next projection rewrites their
participants and legs once (what they were already) and stores it.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as table:
        table.add_column(sa.Column("rows_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operations") as table:
        table.drop_column("rows_digest")
