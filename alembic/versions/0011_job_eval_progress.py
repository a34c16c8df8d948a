"""jobs.eval_progress: the evaluation a running job is in, examples done of total

`{"benchmark": "svamp", "step": 0, "done": 12, "total": 20}` while a job evaluates, so the job
page and the jobs list can show "evaluating svamp 12/20"; `eta_seconds` beside it counts the
evaluations still to come. Null before a job's first evaluation.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-03 07:50:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(
            sa.Column(
                "eval_progress",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("eval_progress")
