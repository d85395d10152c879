"""Consent per purpose and a versioned privacy notice.

News consent stays ``broadcast_opt_in`` (and ``digest_opt_in`` for the weekly digest); this adds
the two purposes that had no column: ``service_opt_in`` (messages about one's own sign-ups and
groups) and ``lead_contact_opt_in`` (being written to by a group's lead). Both default to true,
as they were implied before. The agreed notice version stays ``residents.consent_version``.

``privacy_notices`` holds the notice texts admins publish in the bot, one row per version and
language; version 1 is the built-in text from the catalogs and has no rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("service_opt_in", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("lead_contact_opt_in", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "privacy_notices",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", "locale", name=op.f("pk_privacy_notices")),
    )


def downgrade() -> None:
    op.drop_table("privacy_notices")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("lead_contact_opt_in")
        batch_op.drop_column("service_opt_in")
