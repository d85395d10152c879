"""Projects and working groups: versions per language, members, help slots, meetings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("project", "group", name="group_kind"), nullable=False),
        sa.Column("status", sa.Enum("open", "closed", name="group_status"), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("lead_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("topic", sa.String(length=40), nullable=True),
        sa.Column("default_locale", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("idea_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_groups_idea_id_ideas"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("idea_id", name=op.f("uq_groups_idea_id")),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_groups_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_groups_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_groups_topic"), ["topic"], unique=False)

    op.create_table(
        "group_versions",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("rhythm", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_versions_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "locale", name=op.f("pk_group_versions")),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "telegram_id", name=op.f("pk_group_members")),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_members_telegram_id"), ["telegram_id"], unique=False
        )

    op.create_table(
        "help_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_help_slots_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_slots")),
    )
    with op.batch_alter_table("help_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_help_slots_group_id"), ["group_id"], unique=False)

    op.create_table(
        "slot_holders",
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["help_slots.id"],
            name=op.f("fk_slot_holders_slot_id_help_slots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("slot_id", "telegram_id", name=op.f("pk_slot_holders")),
    )
    with op.batch_alter_table("slot_holders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slot_holders_telegram_id"), ["telegram_id"], unique=False
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_events_group_id"), ["group_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_events_group_id_groups"),
            "groups",
            ["group_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_events_group_id_groups"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_events_group_id"))
        batch_op.drop_column("group_id")

    with op.batch_alter_table("slot_holders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slot_holders_telegram_id"))
    op.drop_table("slot_holders")
    with op.batch_alter_table("help_slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_help_slots_group_id"))
    op.drop_table("help_slots")
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_members_telegram_id"))
    op.drop_table("group_members")
    op.drop_table("group_versions")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groups_topic"))
        batch_op.drop_index(batch_op.f("ix_groups_status"))
        batch_op.drop_index(batch_op.f("ix_groups_created_at"))
    op.drop_table("groups")
    # PostgreSQL keeps enum types after their tables are gone.
    sa.Enum(name="group_status").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="group_kind").drop(op.get_bind(), checkfirst=True)
