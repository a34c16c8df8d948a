"""scoring rules: each prediction keeps both rules' readings; results, eval points and
leaderboard scores name the rule they were scored with

Rows written before this revision were scored with the studio's earlier rule, which is the
`strict` rule: they are labelled so, their reading copied to the strict columns; the paper
columns stay empty (`studio rescore --rule paper` re-scores saved predictions files).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_RULE_TABLES = ("eval_points", "job_results", "leaderboard_scores", "predictions")
_PREDICTION_COLUMNS = (
    ("extracted_paper", sa.Text()),
    ("correct_paper", sa.Boolean()),
    ("extracted_strict", sa.Text()),
    ("correct_strict", sa.Boolean()),
)


def upgrade() -> None:
    for table in _RULE_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("scoring", sa.String(length=16), nullable=True))
    with op.batch_alter_table("predictions") as batch_op:
        for name, type_ in _PREDICTION_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    for table in _RULE_TABLES:
        op.execute(sa.table(table, sa.column("scoring")).update().values(scoring="strict"))
    op.execute("UPDATE predictions SET extracted_strict = extracted, correct_strict = correct")


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch_op:
        for name, _ in reversed(_PREDICTION_COLUMNS):
            batch_op.drop_column(name)
    for table in _RULE_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("scoring")
