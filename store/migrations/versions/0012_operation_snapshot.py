"""Each operation's state as its latest projection left it, kept on its row for reads.

`GET /operations/{id}` and the console's operation pages asked the operation's workflow for its
state; a workflow the worker no longer caches (every closed one) is replayed from its history to
answer. The projection already carries that state (without its timeline and request ids) and now
writes it beside the row's columns, only moving forward as the row does, so reads need no
workflow and no worker. Rows written before this migration have none until their next event;
reads of them still query the workflow.

Text, not JSON or JSONB: the document is written and read only whole, by the application, and
never searched (what is searched has columns of its own); pydantic parses it from text in one
pass, and PostgreSQL keeps it compressed without parsing it on every projection.

On PostgreSQL the application role `cdtrack_app` needs no new grant: 0008 granted it SELECT,
INSERT, UPDATE and DELETE on `operations` for the whole table, and privileges granted on a table
cover columns added to it later (only column-level grants would need widening).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as table:
        table.add_column(sa.Column("snapshot", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operations") as table:
        table.drop_column("snapshot")
