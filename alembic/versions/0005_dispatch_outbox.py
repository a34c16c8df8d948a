"""the dispatch outbox: a job records whether its current dispatch reached the broker, and why
a queued job is still waiting

Jobs stored before this revision were sent when they were created: they count as dispatched.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("queue_reason", sa.Text(), nullable=True))
    op.execute("UPDATE jobs SET dispatched_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("queue_reason")
        batch_op.drop_column("dispatched_at")
