"""Handled updates: each Telegram update is handled once, however often it arrives.

Telegram retries a webhook delivery it did not see answered, and replicas behind one address
may both be given the same update. ``handled_updates`` holds the ids of the updates some
process has taken on (the primary key and an insert that ignores conflicts: whoever inserts
first handles it; bot/services/updates.py). Ids older than a day are pruned, far longer than
Telegram keeps retrying.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handled_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_handled_updates")),
    )
    op.create_index(
        op.f("ix_handled_updates_received_at"), "handled_updates", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_handled_updates_received_at"), table_name="handled_updates")
    op.drop_table("handled_updates")
