"""estimates: each job keeps the estimate made when it was created; workers report their
device's measured throughput (what time estimates divide by)

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-03 07:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("estimate", _JSON, nullable=True))
        batch_op.add_column(sa.Column("seconds_per_step", sa.Float(), nullable=True))
    op.create_table(
        "device_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("dtype", sa.String(length=16), nullable=False),
        sa.Column("matmul_flops", sa.Float(), nullable=False),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("runtime_bytes", sa.BigInteger(), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_profiles")),
        sa.UniqueConstraint("worker", "kind", name="uq_device_profiles_worker_kind"),
    )


def downgrade() -> None:
    op.drop_table("device_profiles")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("seconds_per_step")
        batch_op.drop_column("estimate")
