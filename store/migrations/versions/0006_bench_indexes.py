"""Listing by code name reads an index instead of sorting every visible operation.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # GET /operations?sort=code_name orders by (code_name, id); with 10,000 operations the sort
    # took 9 ms on PostgreSQL, the index walk well under 1 ms (see docs/benchmarks.md).
    op.create_index("ix_operations_code_name_id", "operations", ["code_name", "id"])


def downgrade() -> None:
    op.drop_index("ix_operations_code_name_id", table_name="operations")
