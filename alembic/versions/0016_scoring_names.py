"""scoring columns widened to 64 characters: "harness:exact_match" names an lm-evaluation-harness
metric as a result's scoring rule (beside paper | strict)

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-03 10:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("job_results", "eval_points", "leaderboard_scores")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(
                "scoring", type_=sa.String(64), existing_type=sa.String(16), existing_nullable=True
            )


def downgrade() -> None:
    # Rules longer than 16 characters (the harness's) do not fit the old width: cut them.
    for table in TABLES:
        op.execute(sa.text(f"UPDATE {table} SET scoring = substr(scoring, 1, 16)"))  # noqa: S608
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(
                "scoring", type_=sa.String(16), existing_type=sa.String(64), existing_nullable=True
            )
