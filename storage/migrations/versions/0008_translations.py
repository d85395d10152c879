"""Translations: versions to review after the default text changed, translation tasks, an
event's announcement or a broadcast waiting for its translations.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("event_versions", "group_versions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "needs_review", sa.Boolean(), nullable=False, server_default=sa.false()
                )
            )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "wait_for_translations", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announce_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("announce_audience", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_events_announce_at"), ["announce_at"], unique=False)
    op.create_table(
        "translation_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("source_locale", sa.String(length=16), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("translator_id", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translation_tasks")),
    )
    with op.batch_alter_table("translation_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_translation_tasks_subject", ["subject", "subject_id", "locale"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_translation_tasks_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_translation_tasks_translator_id"), ["translator_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("translation_tasks")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("wait_for_translations")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_announce_at"))
        batch_op.drop_column("announce_audience")
        batch_op.drop_column("announce_at")
    for table in ("group_versions", "event_versions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("needs_review")
