"""studies: a grid of jobs; its cells (pending until their turn in the queue), and on each job
the study and cell it belongs to, with the fingerprint a later cell reuses it by

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 07:20:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("preset", sa.String(length=64), nullable=True),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_studies_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_studies_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
    )
    op.create_index(op.f("ix_studies_team_id"), "studies", ["team_id"])
    op.create_table(
        "study_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_study_cells_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_study_cells_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_cells")),
        sa.UniqueConstraint("study_id", "index", name="uq_study_cells_study_index"),
    )
    op.create_index(op.f("ix_study_cells_job_id"), "study_cells", ["job_id"])
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("study_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("study_cell", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_jobs_study_id_studies"),
            "studies",
            ["study_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_jobs_study_id"), ["study_id"])
        batch_op.create_index(batch_op.f("ix_jobs_fingerprint"), ["fingerprint"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_fingerprint"))
        batch_op.drop_index(batch_op.f("ix_jobs_study_id"))
        batch_op.drop_constraint(batch_op.f("fk_jobs_study_id_studies"), type_="foreignkey")
        batch_op.drop_column("fingerprint")
        batch_op.drop_column("study_cell")
        batch_op.drop_column("study_id")
    op.drop_index(op.f("ix_study_cells_job_id"), table_name="study_cells")
    op.drop_table("study_cells")
    op.drop_index(op.f("ix_studies_team_id"), table_name="studies")
    op.drop_table("studies")
