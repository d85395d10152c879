"""Ideas from the neighbourhood and their supporters.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ideas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("voice_file_id", sa.String(length=255), nullable=True),
        sa.Column("photo_file_id", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=40), nullable=True),
        sa.Column("place_text", sa.String(length=300), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "under_review",
                "planned",
                "in_progress",
                "done",
                "not_possible",
                "rejected",
                "merged",
                name="idea_status",
            ),
            nullable=False,
        ),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("status_changes", sa.Integer(), nullable=False),
        sa.Column("milestone", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["ideas.id"],
            name=op.f("fk_ideas_merged_into_id_ideas"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas")),
    )
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ideas_author_telegram_id"), ["author_telegram_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ideas_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ideas_status"), ["status"], unique=False)

    op.create_table(
        "idea_supports",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_idea_supports_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idea_id", "telegram_id", name=op.f("pk_idea_supports")),
    )
    with op.batch_alter_table("idea_supports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idea_supports_telegram_id"), ["telegram_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("idea_supports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idea_supports_telegram_id"))

    op.drop_table("idea_supports")
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ideas_status"))
        batch_op.drop_index(batch_op.f("ix_ideas_created_at"))
        batch_op.drop_index(batch_op.f("ix_ideas_author_telegram_id"))

    op.drop_table("ideas")
    # PostgreSQL keeps enum types after their tables are gone.
    sa.Enum(name="idea_status").drop(op.get_bind(), checkfirst=True)
