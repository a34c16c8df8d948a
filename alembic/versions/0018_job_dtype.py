"""jobs.dtype: the precision a job's base model computed in (precision "auto" resolves to bf16
on a CPU with bf16 units, fp32 on others), recorded from its run summary

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-03 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("dtype", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("dtype")
