"""Delivery sources: report the end of each batch of deliveries exactly once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_sources",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_delivery_sources")),
    )
    with op.batch_alter_table("delivery_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_sources_finished_at"), ["finished_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_sources_finished_at"))
    op.drop_table("delivery_sources")
