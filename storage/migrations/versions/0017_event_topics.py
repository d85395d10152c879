"""Event topics: the events of one topic found along an index.

The event list by topic tested every upcoming event's ``topics`` JSON (no B-tree index serves
a JSON list), which made it the one event list above 10 ms at 5,000 events. ``event_topics``
holds one row per event and topic, keyed by the topic first; the JSON column stays what an
event's view reads, and the service writes both in one transaction.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    event_topics = op.create_table(
        "event_topics",
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_topics_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("topic", "event_id", name=op.f("pk_event_topics")),
    )
    events = sa.table("events", sa.column("id", sa.Integer()), sa.column("topics", sa.JSON()))
    rows = op.get_bind().execute(sa.select(events.c.id, events.c.topics)).all()
    op.bulk_insert(
        event_topics,
        [
            {"topic": topic, "event_id": event_id}
            for event_id, topics in rows
            for topic in dict.fromkeys(str(topic) for topic in topics or ())
        ],
    )


def downgrade() -> None:
    op.drop_table("event_topics")
