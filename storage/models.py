"""Typed SQLAlchemy models. Timestamps are timezone-aware and stored in UTC."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    String,
    TypeDecorator,
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


def utcnow() -> datetime:
    return datetime.now(UTC)


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

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    locale: Mapped[str] = mapped_column(String(16))
    consent_version: Mapped[int] = mapped_column(Integer)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    broadcast_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[ResidentStatus] = mapped_column(
        Enum(
            ResidentStatus, name="resident_status", values_callable=lambda e: [m.value for m in e]
        ),
        default=ResidentStatus.ACTIVE,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
