"""generations: the sampling settings of each playground answer (temperature, top_p) and who
asked, so the playground keeps a history of prompts with their settings

Revision ID: 0012
Revises: 0017
Create Date: 2026-12-03 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite adds a column with a foreign key only by rebuilding the table.
    with op.batch_alter_table("generations") as batch:
        batch.add_column(sa.Column("temperature", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("top_p", sa.Float(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_generations_owner_id_users"), "users", ["owner_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
        batch.create_index(op.f("ix_generations_team_id_created_at"), ["team_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("generations") as batch:
        batch.drop_index(op.f("ix_generations_team_id_created_at"))
        batch.drop_constraint(op.f("fk_generations_owner_id_users"), type_="foreignkey")
        batch.drop_column("owner_id")
        batch.drop_column("top_p")
        batch.drop_column("temperature")
