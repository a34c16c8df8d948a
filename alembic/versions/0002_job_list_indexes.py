"""job indexes that end in id: list order (created_at, id) and leaderboard index-only scans

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:45:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_index("ix_jobs_team_created")
        batch_op.drop_index("ix_jobs_team_status")
        batch_op.create_index("ix_jobs_team_created_id", ["team_id", "created_at", "id"])
        batch_op.create_index("ix_jobs_team_status_id", ["team_id", "status", "id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_index("ix_jobs_team_status_id")
        batch_op.drop_index("ix_jobs_team_created_id")
        batch_op.create_index("ix_jobs_team_status", ["team_id", "status"])
        batch_op.create_index("ix_jobs_team_created", ["team_id", "created_at"])
