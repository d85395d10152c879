"""Abuse protection: bans by Telegram id, residents' reports of public ideas, and ideas hidden
after enough reports until a coordinator looks.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bans",
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("banned_by", sa.BigInteger(), nullable=False),
        sa.Column("banned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id", name=op.f("pk_bans")),
    )
    op.create_table(
        "idea_reports",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("reporter_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_idea_reports_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idea_id", "reporter_telegram_id", name=op.f("pk_idea_reports")),
    )
    with op.batch_alter_table("idea_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idea_reports_reporter_telegram_id"),
            ["reporter_telegram_id"],
            unique=False,
        )
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_column("hidden_at")
    with op.batch_alter_table("idea_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idea_reports_reporter_telegram_id"))
    op.drop_table("idea_reports")
    op.drop_table("bans")
