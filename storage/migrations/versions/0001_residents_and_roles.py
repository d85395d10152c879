"""Residents, the topics they follow, and roles.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

resident_status = sa.Enum("active", "blocked", "left", name="resident_status")
role = sa.Enum("admin", "coordinator", "partner", "translator", name="role")


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("broadcast_opt_in", sa.Boolean(), nullable=False),
        sa.Column("status", resident_status, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residents")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_residents_telegram_id")),
    )
    op.create_table(
        "role_assignments",
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("role", role, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id", "role", name=op.f("pk_role_assignments")),
    )
    op.create_table(
        "resident_topics",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_resident_topics_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", "topic", name=op.f("pk_resident_topics")),
    )
    op.create_index(
        op.f("ix_resident_topics_topic"), "resident_topics", ["topic"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_resident_topics_topic"), table_name="resident_topics")
    op.drop_table("resident_topics")
    op.drop_table("role_assignments")
    op.drop_table("residents")
    # PostgreSQL keeps enum types after their tables are gone.
    role.drop(op.get_bind(), checkfirst=True)
    resident_status.drop(op.get_bind(), checkfirst=True)
