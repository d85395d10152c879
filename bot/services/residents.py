"""Residents: consent, language, topics, broadcast opt-in, roles, and forgetting them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import quiet_until
from bot.services.delivery import DeliveryService
from bot.services.events.views import REMINDER_KIND
from bot.services.permissions import Actor
from storage.models import Group, GroupStatus, Resident, ResidentStatus, Role, RoleAssignment
from storage.repositories import ResidentRepository, RoleRepository

__all__ = [
    "PRIVACY_NOTICE_VERSION",
    "ResidentProfile",
    "ResidentService",
    "ResidentStatus",
    "Role",
    "UnknownTopicError",
]

#: Raise when the privacy notice changes in substance: residents are then asked again.
PRIVACY_NOTICE_VERSION = 1

#: last_seen_at is refreshed at most this often, so that reading a resident stays a read.
SEEN_RESOLUTION = timedelta(minutes=5)

STAFF_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR})

#: 21:00 to 08:00 local time, in minutes after midnight.
DEFAULT_QUIET_HOURS = (21 * 60, 8 * 60)


@dataclass(frozen=True)
class ResidentProfile:
    telegram_id: int
    locale: str
    consent_version: int
    consent_at: datetime
    broadcast_opt_in: bool
    digest_opt_in: bool
    quiet_start: int  # minutes after local midnight; equal to quiet_end: no quiet hours
    quiet_end: int
    status: ResidentStatus
    topics: frozenset[str]
    created_at: datetime
    last_seen_at: datetime
    first_name: str | None = None

    @property
    def consent_is_current(self) -> bool:
        return self.consent_version >= PRIVACY_NOTICE_VERSION

    @classmethod
    def of(cls, resident: Resident) -> ResidentProfile:
        return cls(
            telegram_id=resident.telegram_id,
            locale=resident.locale,
            consent_version=resident.consent_version,
            consent_at=resident.consent_at,
            broadcast_opt_in=resident.broadcast_opt_in,
            digest_opt_in=resident.digest_opt_in,
            quiet_start=resident.quiet_start,
            quiet_end=resident.quiet_end,
            status=resident.status,
            topics=frozenset(resident.topic_keys),
            created_at=resident.created_at,
            last_seen_at=resident.last_seen_at,
            first_name=resident.first_name,
        )


#: Telegram allows 64 characters in a first name; the column holds as many.
MAX_NAME_LENGTH = 64


def _clean_name(first_name: str | None) -> str | None:
    name = " ".join((first_name or "").split())[:MAX_NAME_LENGTH]
    return name or None


class UnknownTopicError(ValueError):
    pass


class ResidentService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        admin_ids: frozenset[int] = frozenset(),
        topics: tuple[str, ...] = (),
        default_quiet_hours: tuple[int, int] = DEFAULT_QUIET_HOURS,
        delivery: DeliveryService | None = None,
        tz: tzinfo = UTC,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._delivery = delivery
        self._tz = tz
        self._default_quiet_hours = default_quiet_hours
        self._clock = clock
        self._admin_ids = admin_ids
        self.topics = topics

    async def get(self, telegram_id: int) -> ResidentProfile | None:
        async with self._sessions() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            return ResidentProfile.of(resident) if resident else None

    async def seen(
        self, telegram_id: int, first_name: str | None = None
    ) -> tuple[ResidentProfile | None, Actor]:
        """The resident behind an incoming update and who they are acting as, loaded once.

        A read: ``last_seen_at`` is written only when it is older than a few minutes, and a
        ``blocked`` status is lifted (a resident who writes to us has unblocked the bot).
        ``first_name`` (Telegram's) is stored when it differs from the stored one, with
        ``last_seen_at`` (or at once while none is stored yet), never on every update.
        """
        now = self._clock()
        async with self._sessions() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            actor = await self._actor(session, telegram_id, registered=resident is not None)
            if resident is None:
                return None, actor
            profile = ResidentProfile.of(resident)
        stale = profile.last_seen_at < now - SEEN_RESOLUTION
        name = _clean_name(first_name)
        rename = name is not None and name != profile.first_name
        rename = rename and (stale or profile.first_name is None)
        if stale or rename or profile.status == ResidentStatus.BLOCKED:
            async with self._sessions.begin() as session:
                repo = ResidentRepository(session)
                if stale:
                    await repo.mark_seen(telegram_id, now, older_than=now - SEEN_RESOLUTION)
                if rename and name is not None:
                    await repo.set_first_name(telegram_id, name)
                if profile.status == ResidentStatus.BLOCKED:
                    await repo.set_status(telegram_id, ResidentStatus.ACTIVE)
            profile = replace(
                profile,
                last_seen_at=now if stale else profile.last_seen_at,
                status=ResidentStatus.ACTIVE,
                first_name=name if rename else profile.first_name,
            )
        return profile, actor

    async def actor(self, telegram_id: int) -> Actor:
        """Who this person acts as right now (roles read fresh: a revoked role counts at once)."""
        async with self._sessions() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            return await self._actor(session, telegram_id, registered=resident is not None)

    async def _actor(self, session: AsyncSession, telegram_id: int, *, registered: bool) -> Actor:
        roles = await RoleRepository(session).roles_of(telegram_id)
        if telegram_id in self._admin_ids:
            roles.add(Role.ADMIN)
        led = await session.scalars(
            select(Group.id).where(
                Group.lead_telegram_id == telegram_id, Group.status == GroupStatus.OPEN
            )
        )
        return Actor(telegram_id, frozenset(roles), frozenset(led), registered)

    async def register(self, telegram_id: int, locale: str) -> ResidentProfile:
        """Store a resident who accepted the privacy notice (idempotent under double taps)."""
        now = self._clock()
        async with self._sessions.begin() as session:
            repo = ResidentRepository(session)
            await repo.insert_if_absent(
                {
                    "telegram_id": telegram_id,
                    "locale": locale,
                    "consent_version": PRIVACY_NOTICE_VERSION,
                    "consent_at": now,
                    "broadcast_opt_in": True,
                    "digest_opt_in": False,
                    "quiet_start": self._default_quiet_hours[0],
                    "quiet_end": self._default_quiet_hours[1],
                    "status": ResidentStatus.ACTIVE,
                    "created_at": now,
                    "last_seen_at": now,
                }
            )
            resident = await repo.by_telegram_id(telegram_id)
            assert resident is not None
            # A resident re-accepting a newer notice keeps their row and renews consent.
            resident.locale = locale
            resident.consent_version = PRIVACY_NOTICE_VERSION
            resident.consent_at = now
            resident.status = ResidentStatus.ACTIVE
            return ResidentProfile.of(resident)

    async def _update(
        self, telegram_id: int, change: Callable[[Resident], None]
    ) -> ResidentProfile | None:
        """Apply ``change`` to a stored resident; None when there is no such resident."""
        async with self._sessions.begin() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            if resident is None:
                return None
            change(resident)
            return ResidentProfile.of(resident)

    async def set_locale(self, telegram_id: int, locale: str) -> ResidentProfile | None:
        def change(resident: Resident) -> None:
            resident.locale = locale

        return await self._update(telegram_id, change)

    async def toggle_topic(self, telegram_id: int, topic: str) -> ResidentProfile | None:
        if topic not in self.topics:
            raise UnknownTopicError(topic)
        async with self._sessions.begin() as session:
            repo = ResidentRepository(session)
            resident = await repo.by_telegram_id(telegram_id)
            if resident is None:
                return None
            if topic in resident.topic_keys:
                await repo.remove_topic(resident.id, topic)
            else:
                await repo.add_topic(resident.id, topic)
            await session.flush()
            await session.refresh(resident, ["topics"])
            return ResidentProfile.of(resident)

    async def set_broadcast_opt_in(self, telegram_id: int, opt_in: bool) -> ResidentProfile | None:
        def change(resident: Resident) -> None:
            resident.broadcast_opt_in = opt_in

        return await self._update(telegram_id, change)

    async def set_digest_opt_in(self, telegram_id: int, opt_in: bool) -> ResidentProfile | None:
        def change(resident: Resident) -> None:
            resident.digest_opt_in = opt_in

        return await self._update(telegram_id, change)

    async def set_quiet_hours(
        self, telegram_id: int, start_minute: int, end_minute: int
    ) -> ResidentProfile | None:
        """Quiet hours in local minutes after midnight; start == end switches them off.

        What waits for the old quiet hours is re-timed in the same transaction: switched off,
        it goes at once; other hours, at their end if now falls inside them, else at once.
        Reminders and "still coming?" keep their own time.
        """
        if not (0 <= start_minute < 24 * 60 and 0 <= end_minute < 24 * 60):
            raise ValueError("quiet hours must lie within a day")
        async with self._sessions.begin() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            if resident is None:
                return None
            resident.quiet_start, resident.quiet_end = start_minute, end_minute
            if self._delivery is not None:
                until = quiet_until(self._clock(), self._tz, start_minute, end_minute)
                await self._delivery.retime_held(
                    telegram_id, until, keep_kinds=(REMINDER_KIND,), session=session
                )
            return ResidentProfile.of(resident)

    async def set_status(self, telegram_id: int, status: ResidentStatus) -> None:
        async with self._sessions.begin() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            if resident is not None:
                resident.status = status

    async def forget(self, telegram_id: int) -> bool:
        """Delete everything stored about a resident (their topics go with them)."""
        async with self._sessions.begin() as session:
            return await ResidentRepository(session).delete(telegram_id)

    async def count(self) -> int:
        async with self._sessions() as session:
            return await ResidentRepository(session).count()

    # Roles -----------------------------------------------------------------------------

    async def roles(self, telegram_id: int) -> frozenset[Role]:
        async with self._sessions() as session:
            roles = await RoleRepository(session).roles_of(telegram_id)
        if telegram_id in self._admin_ids:
            roles.add(Role.ADMIN)
        return frozenset(roles)

    async def is_staff(self, telegram_id: int) -> bool:
        return bool(await self.roles(telegram_id) & STAFF_ROLES)

    async def grant_role(self, telegram_id: int, role: Role) -> bool:
        async with self._sessions.begin() as session:
            return await RoleRepository(session).grant(telegram_id, role, self._clock())

    async def revoke_role(self, telegram_id: int, role: Role) -> bool:
        async with self._sessions.begin() as session:
            return await RoleRepository(session).revoke(telegram_id, role)

    async def staff(self) -> list[RoleAssignment]:
        async with self._sessions() as session:
            return await RoleRepository(session).holders(Role)
