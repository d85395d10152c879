"""Scale: the indexes the event list, the idea board and recipient selection read through, and
a maintained supporters count on ideas.

``ideas.supporters_count`` is backfilled here from ``idea_supports`` and from then on kept in
step by every write to that table (bot/services/ideas.py, bot/services/privacy.py), so the
board orders by a column instead of counting the supports of every idea.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("supporters_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE ideas SET supporters_count = "
        "(SELECT count(*) FROM idea_supports WHERE idea_supports.idea_id = ideas.id)"
    )
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ideas_board_supported",
            ["published", "supporters_count", "created_at", "id", "status", "hidden_at", "topic"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ideas_board_newest",
            ["published", "created_at", "id", "status", "hidden_at", "topic"],
            unique=False,
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_status_starts_at", ["status", "starts_at"], unique=False)
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_residents_recipients",
            ["status", "locale", "broadcast_opt_in", "telegram_id", "quiet_start", "quiet_end"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_recipients")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_status_starts_at")
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index("ix_ideas_board_newest")
        batch_op.drop_index("ix_ideas_board_supported")
        batch_op.drop_column("supporters_count")
