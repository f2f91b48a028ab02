"""A timeline event the read model holds may be rewritten by the projection.

A projection runs inside a workflow task. When the worker dies before the task completes, the task
runs again on another worker and decides the same seq afresh; what the completed task decided
replaces what the lost one projected (`store.timeline.project_operation`). On PostgreSQL the
application role `cdtrack_app`, which could only add events, may now update them too; it still
cannot delete one. The workflow's history stays the record of what happened.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APP_ROLE = "cdtrack_app"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT UPDATE ON timeline_events TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"REVOKE UPDATE ON timeline_events FROM {APP_ROLE}")
