"""leaderboard_scores: each succeeded job's score per benchmark and per suite, for ranking

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leaderboard_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("benchmarks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_leaderboard_scores_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_leaderboard_scores_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaderboard_scores")),
        sa.UniqueConstraint("job_id", "scope", name="uq_leaderboard_scores_job_scope"),
    )
    op.create_index(
        "ix_leaderboard_scores_rank",
        "leaderboard_scores",
        ["team_id", "scope", sa.text("score DESC"), "job_id"],
    )
    # Backfill from the results of jobs that already succeeded (same rule as the service).
    op.execute(
        "INSERT INTO leaderboard_scores (team_id, job_id, scope, score, benchmarks) "
        "SELECT j.team_id, r.job_id, r.benchmark, 100 * r.accuracy, 1 "
        "FROM job_results r JOIN jobs j ON j.id = r.job_id WHERE j.status = 'succeeded'"
    )
    op.execute(
        "INSERT INTO leaderboard_scores (team_id, job_id, scope, score, benchmarks) "
        "SELECT j.team_id, r.job_id, r.suite, 100 * avg(r.accuracy), count(*) "
        "FROM job_results r JOIN jobs j ON j.id = r.job_id WHERE j.status = 'succeeded' "
        "GROUP BY j.team_id, r.job_id, r.suite"
    )


def downgrade() -> None:
    op.drop_index("ix_leaderboard_scores_rank", table_name="leaderboard_scores")
    op.drop_table("leaderboard_scores")
