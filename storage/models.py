"""Typed SQLAlchemy models. Timestamps are timezone-aware and stored in UTC."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so that migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime on every backend (SQLite forgets the zone; we give it back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ResidentStatus(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"  # the resident blocked the bot; Telegram answers 403
    LEFT = "left"  # the resident asked us to stop (/stop) or deleted their data


class Role(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    PARTNER = "partner"
    TRANSLATOR = "translator"


class Resident(Base):
    """A resident who agreed to the privacy notice. Nobody else gets a row."""

    __tablename__ = "residents"
    __table_args__ = (
        # Recipient selection (bot/services/audiences.py): status, then language, then the
        # news opt-in; the columns a broadcast reads come along, so even "everyone" is read
        # from the index alone (on SQLite, reading rows through a non-covering index was
        # slower than scanning the table).
        Index(
            "ix_residents_recipients",
            "status",
            "locale",
            "broadcast_opt_in",
            "telegram_id",
            "quiet_start",
            "quiet_end",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    locale: Mapped[str] = mapped_column(String(16))
    consent_version: Mapped[int] = mapped_column(Integer)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    broadcast_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    digest_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    # Consent per purpose: ``broadcast_opt_in`` (with ``digest_opt_in``) is "news"; these two
    # are "service" (messages about one's own sign-ups and groups) and "lead_contact" (being
    # written to by a group's lead). ``consent_version`` is the privacy notice agreed to.
    service_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    lead_contact_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    # Quiet hours in the neighbourhood's time zone, as minutes after midnight; start == end
    # means none. The default 21:00-08:00 wraps around midnight.
    quiet_start: Mapped[int] = mapped_column(Integer, default=21 * 60)
    quiet_end: Mapped[int] = mapped_column(Integer, default=8 * 60)
    status: Mapped[ResidentStatus] = mapped_column(
        Enum(
            ResidentStatus, name="resident_status", values_callable=lambda e: [m.value for m in e]
        ),
        default=ResidentStatus.ACTIVE,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Telegram's first name, kept current when the resident writes: shown to an event's
    # organiser and the coordinators with their sign-ups, to a group's lead, on an idea's card.
    first_name: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    # When they were told their data goes after a long absence (bot/services/retention.py);
    # any interaction clears it again (ResidentRepository.mark_seen).
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None)

    topics: Mapped[list[ResidentTopic]] = relationship(
        back_populates="resident", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def topic_keys(self) -> set[str]:
        return {topic.topic for topic in self.topics}


class ResidentTopic(Base):
    """A topic a resident follows: a row each, so audiences can be selected in SQL."""

    __tablename__ = "resident_topics"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)

    resident: Mapped[Resident] = relationship(back_populates="topics")


class RoleAssignment(Base):
    """A role held by a Telegram account; it can be granted before the person starts the bot."""

    __tablename__ = "role_assignments"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", values_callable=lambda e: [m.value for m in e]), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Invitation(Base):
    """A one-time link (``/start invite_<code>``) that grants ``role`` to whoever opens it
    first, before ``expires_at``. Kept after use, as a record of who let whom in."""

    __tablename__ = "invitations"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)  # secrets.token_urlsafe
    role: Mapped[str] = mapped_column(String(16))  # a Role value
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditEntry(Base):
    """One staff action: who (``actor_telegram_id``), what (``action``), when (``at``), on
    what (``subject_kind``/``subject_id``). ``detail`` is small and never holds residents'
    texts: ids, roles, statuses, counts."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- Broadcasts and the delivery outbox (issue 3) ---------------------------------------


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class BroadcastStatus(enum.StrEnum):
    DRAFT = "draft"  # being composed
    SCHEDULED = "scheduled"  # waits for send_at; a repeating one waits for its next occurrence
    SENDING = "sending"  # recipients are in the outbox
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(Base):
    """A message to many residents, with a version per language."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="broadcast")  # broadcast, digest
    status: Mapped[BroadcastStatus] = mapped_column(
        _enum(BroadcastStatus, "broadcast_status"), default=BroadcastStatus.DRAFT, index=True
    )
    created_by: Mapped[int] = mapped_column(BigInteger)
    # Who receives it: {"locales": [...], "topics": [...]}; empty lists mean everyone.
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    default_locale: Mapped[str] = mapped_column(String(16))
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)  # ignores quiet hours
    # Scheduled to wait for its translations: it goes out when none is open any more, or at
    # ``send_at`` at the latest (issue 11).
    wait_for_translations: Mapped[bool] = mapped_column(Boolean, default=False)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # A repeating broadcast: {"day_of_week": "mon", "hour": 10, "minute": 0} in TIMEZONE.
    repeat: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The repeating broadcast this one is an occurrence of.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"))
    # Where the coordinator watches progress (their chat and the message that is kept updated).
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    versions: Mapped[list[BroadcastVersion]] = relationship(
        back_populates="broadcast", cascade="all, delete-orphan", lazy="selectin"
    )


class BroadcastVersion(Base):
    """The text (HTML, already made safe) or voice note of a broadcast in one language."""

    __tablename__ = "broadcast_versions"

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(16), primary_key=True)
    text: Mapped[str | None] = mapped_column(Text)
    voice_file_id: Mapped[str | None] = mapped_column(String(255))

    broadcast: Mapped[Broadcast] = relationship(back_populates="versions")


class OutboxMessage(Base):
    """One rendered message (what a Bot API call sends), shared by all its recipients."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # {"method": "sendMessage"|"sendPhoto"|"sendVoice", "text"|"caption": ..., "photo"|"voice":
    #  file_id, "reply_markup": {...}} -- everything but chat_id.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker until claimed_until
    SENT = "sent"
    FAILED = "failed"  # gave up: a 400, or too many transient errors
    SKIPPED = "skipped"  # the recipient blocked the bot or is inactive
    CANCELLED = "cancelled"


class Delivery(Base):
    """One message to one chat: a row of the durable outbox."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # A recipient gets a message at most once per source, even if it's enqueued twice.
        UniqueConstraint("source", "chat_id", name="uq_deliveries_source_chat"),
        Index("ix_deliveries_due", "state", "not_before"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # What the message belongs to, e.g. "broadcast:12"; `kind` says what sort it is.
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="broadcast")
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    locale: Mapped[str] = mapped_column(String(16))
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, "delivery_state"), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChatState(Base):
    """What the bot expects next from someone in a multi-step flow (e.g. the broadcast text).

    Kept in the database, not in memory, so any replica can take the next message.
    """

    __tablename__ = "chat_states"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeliverySource(Base):
    """One batch of deliveries (e.g. "broadcast:12"), so that its end is reported once.

    The engine that sees a source with nothing pending or sending left sets ``finished_at``
    with a conditional UPDATE; only the engine whose UPDATE changed the row reports it.
    """

    __tablename__ = "delivery_sources"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


# --- Events and sign-ups (issue 4) --------------------------------------------------------


class EventStatus(enum.StrEnum):
    PROPOSED = "proposed"  # by a partner organisation; waits for a coordinator's approval
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # publication scheduled for publish_at
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    REJECTED = "rejected"  # a partner's proposal a coordinator declined


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # The event list: published events from now on, the soonest first, paged in SQL.
        Index("ix_events_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[EventStatus] = mapped_column(
        _enum(EventStatus, "event_status"), default=EventStatus.DRAFT, index=True
    )
    created_by: Mapped[int] = mapped_column(BigInteger)
    organiser: Mapped[str | None] = mapped_column(String(200))  # e.g. a partner's name
    default_locale: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    place_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=0)  # seats; 0 means unlimited
    signup_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signup_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    reminder_hours: Mapped[int] = mapped_column(Integer, default=24)
    # The project or working group this event is a meeting of (issue 6).
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )
    # An announcement waiting for translations: it goes out when none is open any more, or at
    # this time at the latest, to this audience (issue 11).
    announce_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    announce_audience: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Fill levels (50, 80, 100 %) already reported to the organiser, so each alert comes once.
    alerted_levels: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    versions: Mapped[list[EventVersion]] = relationship(
        back_populates="event", cascade="all, delete-orphan", lazy="selectin"
    )


class EventVersion(Base):
    """Title and description in one language (the default language's is required)."""

    __tablename__ = "event_versions"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(16), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # The default language's text changed after this version was written: check it.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)

    event: Mapped[Event] = relationship(back_populates="versions")


class EventTopic(Base):
    """One of an event's topics, so that the events of a topic are found along an index
    (migration 0017). The ``topics`` column stays what an event's view reads; these rows are
    written with it, in the same transaction (bot/services/events/core.py)."""

    __tablename__ = "event_topics"

    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )


class SignupStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Signup(Base):
    """A resident's registration: their party, their needs, and a short code for check-in."""

    __tablename__ = "signups"
    __table_args__ = (
        UniqueConstraint("event_id", "telegram_id", name="uq_signups_event_resident"),
        UniqueConstraint("event_id", "code", name="uq_signups_event_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    locale: Mapped[str] = mapped_column(String(16))
    status: Mapped[SignupStatus] = mapped_column(_enum(SignupStatus, "signup_status"))
    adults: Mapped[int] = mapped_column(Integer, default=1)
    children: Mapped[int] = mapped_column(Integer, default=0)
    interpreter_locale: Mapped[str | None] = mapped_column(String(16))
    childcare: Mapped[bool] = mapped_column(Boolean, default=False)
    wheelchair: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(12))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Ideas from the neighbourhood (issue 5) ------------------------------------------------


class IdeaStatus(enum.StrEnum):
    RECEIVED = "received"  # new; only coordinators see it
    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_POSSIBLE = "not_possible"  # with a reason
    REJECTED = "rejected"  # with a reason; off the board
    MERGED = "merged"  # a duplicate of merged_into_id; its supporters moved there


class Idea(Base):
    """A resident's idea: text, a voice message or a photo, in the resident's language.

    ``author_telegram_id`` is never shown to coordinators when ``anonymous`` is set; it is 0
    once the author deleted their data.
    """

    __tablename__ = "ideas"
    __table_args__ = (
        # The idea board's two orders, read backwards (most supported / newest first), so a
        # page stops after its rows instead of sorting every public idea; the board's other
        # filters come along, so its total is counted in the index alone.
        Index(
            "ix_ideas_board_supported",
            "published",
            "supporters_count",
            "created_at",
            "id",
            "status",
            "hidden_at",
            "topic",
        ),
        Index(
            "ix_ideas_board_newest",
            "published",
            "created_at",
            "id",
            "status",
            "hidden_at",
            "topic",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    voice_file_id: Mapped[str | None] = mapped_column(String(255))
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(40))
    place_text: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    status: Mapped[IdeaStatus] = mapped_column(
        _enum(IdeaStatus, "idea_status"), default=IdeaStatus.RECEIVED, index=True
    )
    published: Mapped[bool] = mapped_column(Boolean, default=False)  # on the idea board
    reason: Mapped[str | None] = mapped_column(String(40))  # a reason key, e.g. "duplicate"
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    # Counts status changes, so each change's notice has its own outbox source.
    status_changes: Mapped[int] = mapped_column(Integer, default=0)
    # The highest supporter milestone (10, 25, ...) the author was told about; claimed with a
    # conditional UPDATE, so each milestone is announced once.
    milestone: Mapped[int] = mapped_column(Integer, default=0)
    # The rows of ``idea_supports`` for this idea, kept in step by every write to that table
    # (an UPDATE ... + 1 / - n in the same transaction), so the board reads it instead of
    # counting per idea.
    supporters_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when enough residents reported it (bot/services/ideas.py, REPORTS_TO_HIDE): off the
    # board until a coordinator keeps it public (reports cleared) or hides it for good.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IdeaReport(Base):
    """One resident reported one public idea: the primary key makes a double tap harmless."""

    __tablename__ = "idea_reports"

    idea_id: Mapped[int] = mapped_column(
        ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True
    )
    reporter_telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Ban(Base):
    """A person a coordinator banned from the bot, by Telegram id: a row of its own, not a
    column of ``residents``, so it holds for someone who never registered or deleted their data
    and comes back. ``reason`` is a short key, never a resident's text."""

    __tablename__ = "bans"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    banned_by: Mapped[int] = mapped_column(BigInteger)
    banned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(40), default="other")


class PrivacyNotice(Base):
    """One published version of the privacy notice in one language. Version 1 is built in
    (the catalogs) and has no rows; admins publish later versions with ``/notice``."""

    __tablename__ = "privacy_notices"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    locale: Mapped[str] = mapped_column(String(16), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdeaSupport(Base):
    """One resident supports one idea: the primary key makes a double tap harmless."""

    __tablename__ = "idea_supports"

    idea_id: Mapped[int] = mapped_column(
        ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True
    )
    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Projects and working groups (issue 6) -------------------------------------------------


class GroupKind(enum.StrEnum):
    PROJECT = "project"  # has an end (and an outcome)
    GROUP = "group"  # an ongoing working group


class GroupStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Group(Base):
    """A project or a working group; its meetings are events with its ``group_id``."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[GroupKind] = mapped_column(_enum(GroupKind, "group_kind"))
    status: Mapped[GroupStatus] = mapped_column(
        _enum(GroupStatus, "group_status"), default=GroupStatus.OPEN, index=True
    )
    created_by: Mapped[int] = mapped_column(BigInteger)
    lead_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    topic: Mapped[str | None] = mapped_column(String(40), index=True)
    default_locale: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(Text)
    # The idea this project grew from; unique, so an idea becomes a project once.
    idea_id: Mapped[int | None] = mapped_column(
        ForeignKey("ideas.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    versions: Mapped[list[GroupVersion]] = relationship(
        back_populates="group", cascade="all, delete-orphan", lazy="selectin"
    )


class GroupVersion(Base):
    """Name, description and meeting rhythm in one language."""

    __tablename__ = "group_versions"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    rhythm: Mapped[str | None] = mapped_column(String(200))  # e.g. "every Tuesday at 17:00"
    # The default language's text changed after this version was written: check it.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)

    group: Mapped[Group] = relationship(back_populates="versions")


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HelpSlot(Base):
    """Help a group needs, e.g. three people to water plants; ``labels`` is {locale: label}."""

    __tablename__ = "help_slots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    capacity: Mapped[int] = mapped_column(Integer, default=1)


class SlotHolder(Base):
    __tablename__ = "slot_holders"

    slot_id: Mapped[int] = mapped_column(
        ForeignKey("help_slots.id", ondelete="CASCADE"), primary_key=True
    )
    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Translations (issue 11) ---------------------------------------------------------------


class TaskStatus(enum.StrEnum):
    OPEN = "open"  # waiting for a translator
    SUBMITTED = "submitted"  # translated (by a volunteer or a machine), waiting for approval
    APPROVED = "approved"  # written into the versions residents read
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # the version was written another way meanwhile


class TranslationTask(Base):
    """One text (an event's or a group's fields) to bring into one language: sent to that
    language's volunteer translators (or drafted by a machine), approved by a coordinator."""

    __tablename__ = "translation_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))  # "event", "group"
    subject_id: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(16))
    source_locale: Mapped[str] = mapped_column(String(16))
    # The fields to translate, as they read when the task was made: {"title": "...", ...}.
    source: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    origin: Mapped[str] = mapped_column(String(16))  # "volunteer", "machine"
    translator_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_translation_tasks_subject", "subject", "subject_id", "locale"),)


# --- Scheduled jobs (issue 13) -------------------------------------------------------------


class JobRun(Base):
    """A scheduled job's run for one period (e.g. "retention" on "2026-12-02", the day in
    ``TIMEZONE``), claimed by the replica whose insert won: the primary key and an insert
    that ignores conflicts let exactly one process run it; the others skip."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- The coordinators' web dashboard (issue 14) --------------------------------------------


class DashboardLogin(Base):
    """A one-time login link (``/dashboard/login/<token>``) sent by the bot to a staff member
    or partner: valid for ten minutes, claimed once (``used_at``) with a conditional UPDATE."""

    __tablename__ = "dashboard_logins"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)  # secrets.token_urlsafe
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DashboardSession(Base):
    """A browser's session, behind the HttpOnly cookie that carries ``id``. It lasts while it is
    used (``expires_at`` moves on) and ends at logout, at its limit, or when the person no
    longer holds a staff or partner role (``ended_at``)."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # secrets.token_urlsafe
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- Replicas: each update handled once (issue 15) -----------------------------------------


class HandledUpdate(Base):
    """A Telegram update some process has taken on: the primary key and an insert that ignores
    conflicts let exactly one replica handle it, however often it is delivered (Telegram's
    retries, the same update given to two replicas). Pruned after a day."""

    __tablename__ = "handled_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
