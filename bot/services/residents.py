"""Residents: consent, language, topics, broadcast opt-in, roles, and forgetting them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import SQLCoreOperations

from bot.clock import Clock
from bot.services.audiences import BROADCAST, DIGEST, LEAD, quiet_until
from bot.services.chat_state import PendingInput, StoredFlow
from bot.services.delivery import DeliveryService
from bot.services.events.views import REMINDER_KIND
from bot.services.notices import BUILT_IN_VERSION, current_notice_version
from bot.services.permissions import Actor, require_staff
from storage.models import (
    Ban,
    ChatState,
    Group,
    GroupStatus,
    PrivacyNotice,
    Resident,
    ResidentStatus,
    ResidentTopic,
    Role,
    RoleAssignment,
)
from storage.repositories import ResidentRepository, RoleRepository

__all__ = [
    "PRIVACY_NOTICE_VERSION",
    "Arrival",
    "ResidentProfile",
    "ResidentService",
    "ResidentStatus",
    "Role",
    "UnknownTopicError",
]

#: The built-in privacy notice's version; admins publish newer ones with /notice
#: (bot/services/notices.py), and residents are then asked again.
PRIVACY_NOTICE_VERSION = BUILT_IN_VERSION

#: last_seen_at is refreshed at most this often, so that reading a resident stays a read.
SEEN_RESOLUTION = timedelta(minutes=5)

STAFF_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR})

#: What /stop ends (``stop_news``): broadcasts and the weekly overview by their kind, and an
#: event's announcement by its source (``event:<id>:announce``, bot/services/events/publishing.py);
#: its kind, ``event``, is also that of the notices about one's own sign-ups, which stay.
NEWS_KINDS = (BROADCAST, DIGEST)
NEWS_SOURCES = ("event:%:announce",)

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
    #: Consent per purpose (besides news, ``broadcast_opt_in``): messages about one's own
    #: sign-ups and groups, and being written to by a group's lead.
    service_opt_in: bool = True
    lead_contact_opt_in: bool = True
    #: The privacy notice's newest version when the profile was read (``seen`` reads it).
    current_notice: int = PRIVACY_NOTICE_VERSION

    @property
    def consent_is_current(self) -> bool:
        """Agreed to the newest privacy notice; else asked again (handlers/notice.py)."""
        return self.consent_version >= self.current_notice

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
            service_opt_in=resident.service_opt_in,
            lead_contact_opt_in=resident.lead_contact_opt_in,
        )


#: Telegram allows 64 characters in a first name; the column holds as many.
MAX_NAME_LENGTH = 64


def _clean_name(first_name: str | None) -> str | None:
    name = " ".join((first_name or "").split())[:MAX_NAME_LENGTH]
    return name or None


@dataclass(frozen=True)
class Arrival:
    """What the gates before any handler need about the person behind an update: their
    profile (None: not registered), who they act as, whether they are banned, and their
    chat's flow as stored (fresh or expired: ``ChatStateService.opened`` judges it)."""

    profile: ResidentProfile | None
    actor: Actor
    banned: bool
    flow: StoredFlow | None = None


#: Separates the values that ``_arrival_query`` folds into one column each.
_SEPARATOR = ","
_RESIDENT_COLUMNS = tuple(Resident.__table__.c)


def _joined(column: SQLCoreOperations[Any]) -> ColumnElement[str]:
    return func.aggregate_strings(cast(column, String), _SEPARATOR)


def _arrival_query() -> Select[Any]:
    """One statement, each part through an index: the resident's row, their topics, roles,
    the open groups they lead (through the status index: ``lead_telegram_id`` has none, and
    open groups are few), the newest privacy notice, their ban and their chat's flow
    (handlers/flows.py). Topic keys, role names and ids hold no ``_SEPARATOR``.

    It starts from a one-row table so that a person without a row (not registered, or
    erased) still gets the row with their roles and ban. The person is the bound parameter
    ``telegram_id``."""
    telegram_id = bindparam("telegram_id", type_=BigInteger)
    one = select(literal(1).label("one")).subquery("one")
    topics = (
        select(_joined(ResidentTopic.topic))
        .where(ResidentTopic.resident_id == Resident.id)
        .scalar_subquery()
    )
    roles = (
        select(_joined(RoleAssignment.role))
        .where(RoleAssignment.telegram_id == telegram_id)
        .scalar_subquery()
    )
    led = (
        select(_joined(Group.id))
        .where(Group.lead_telegram_id == telegram_id, Group.status == GroupStatus.OPEN)
        .scalar_subquery()
    )
    notice = select(func.max(PrivacyNotice.version)).scalar_subquery()
    banned = exists().where(Ban.telegram_id == telegram_id)
    return (
        select(
            *_RESIDENT_COLUMNS,
            topics.label("arrival_topics"),
            roles.label("arrival_roles"),
            led.label("arrival_led"),
            notice.label("arrival_notice"),
            banned.label("arrival_banned"),
            ChatState.flow.label("arrival_flow"),
            ChatState.step.label("arrival_step"),
            ChatState.data.label("arrival_data"),
            ChatState.updated_at.label("arrival_flow_at"),
        )
        .select_from(one)
        .outerjoin(Resident, Resident.telegram_id == telegram_id)
        .outerjoin(ChatState, ChatState.telegram_id == telegram_id)
    )


#: Built once: building it took as much CPU as running it (ORM coercions on every update).
_ARRIVAL = _arrival_query()


def _split(joined: str | None) -> list[str]:
    return joined.split(_SEPARATOR) if joined else []


def _profile_of_row(row: Row[Any], current_notice: int) -> ResidentProfile:
    values = row._mapping
    return ResidentProfile(
        telegram_id=values["telegram_id"],
        locale=values["locale"],
        consent_version=values["consent_version"],
        consent_at=values["consent_at"],
        broadcast_opt_in=values["broadcast_opt_in"],
        digest_opt_in=values["digest_opt_in"],
        quiet_start=values["quiet_start"],
        quiet_end=values["quiet_end"],
        status=values["status"],
        topics=frozenset(_split(values["arrival_topics"])),
        created_at=values["created_at"],
        last_seen_at=values["last_seen_at"],
        first_name=values["first_name"],
        service_opt_in=values["service_opt_in"],
        lead_contact_opt_in=values["lead_contact_opt_in"],
        current_notice=current_notice,
    )


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
        """The resident behind an incoming update and who they are acting as (``arrive``)."""
        arrival = await self.arrive(telegram_id, first_name)
        return arrival.profile, arrival.actor

    async def arrive(
        self, telegram_id: int, first_name: str | None = None, *, touch: bool = True
    ) -> Arrival:
        """The person behind an incoming update, read in one statement: their profile, who
        they act as (roles read fresh, so a revoked role counts at once) and their ban.

        A read: ``last_seen_at`` is written only when it is older than a few minutes, and a
        ``blocked`` status is lifted (a resident who writes to us has unblocked the bot).
        ``first_name`` (Telegram's) is stored when it differs from the stored one, with
        ``last_seen_at`` (or at once while none is stored yet), never on every update. None
        of that is written for a banned person, nor with ``touch`` False (an update the rate
        limit turns away).
        """
        now = self._clock()
        async with self._sessions() as session:
            # On the session's connection: a plain statement needs none of the ORM's
            # execution work.
            connection = await session.connection()
            row = (await connection.execute(_ARRIVAL, {"telegram_id": telegram_id})).one()
        values = row._mapping
        registered = values["id"] is not None
        roles = {Role(role) for role in _split(values["arrival_roles"])}
        if telegram_id in self._admin_ids:
            roles.add(Role.ADMIN)
        led = frozenset(int(group) for group in _split(values["arrival_led"]))
        actor = Actor(telegram_id, frozenset(roles), led, registered)
        banned = bool(values["arrival_banned"])
        flow = (
            None
            if values["arrival_flow"] is None
            else StoredFlow(
                PendingInput(
                    values["arrival_flow"], values["arrival_step"], dict(values["arrival_data"])
                ),
                values["arrival_flow_at"],
            )
        )
        if not registered:
            return Arrival(None, actor, banned, flow)
        current = max(int(values["arrival_notice"] or 0), BUILT_IN_VERSION)
        profile = _profile_of_row(row, current)
        if banned or not touch:
            return Arrival(profile, actor, banned, flow)
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
        return Arrival(profile, actor, banned, flow)

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
            version = await current_notice_version(session)
            await repo.insert_if_absent(
                {
                    "telegram_id": telegram_id,
                    "locale": locale,
                    "consent_version": version,
                    "consent_at": now,
                    "broadcast_opt_in": True,
                    "digest_opt_in": False,
                    "service_opt_in": True,
                    "lead_contact_opt_in": True,
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
            resident.consent_version = version
            resident.consent_at = now
            resident.status = ResidentStatus.ACTIVE
            return replace(ResidentProfile.of(resident), current_notice=version)

    async def agree_to_notice(self, telegram_id: int, version: int) -> ResidentProfile | None:
        """A resident agreed to the privacy notice's ``version`` (the one they were shown):
        recorded with the time. A version that isn't published is refused (ValueError); an
        older one than they had agreed to changes nothing. None when there is no such
        resident."""
        async with self._sessions.begin() as session:
            current = await current_notice_version(session)
            if not 1 <= version <= current:
                raise ValueError(f"no privacy notice version {version}")
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            if resident is None:
                return None
            if version > resident.consent_version:
                resident.consent_version = version
                resident.consent_at = self._clock()
            return replace(ResidentProfile.of(resident), current_notice=current)

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

    async def set_service_opt_in(self, telegram_id: int, opt_in: bool) -> ResidentProfile | None:
        """Messages about one's own sign-ups and groups (reminders, moved or cancelled events,
        a seat from the waiting list, group notices, a coordinator's message to an event's or
        a group's people). Off, what is queued of them is dropped when its time comes (the
        engine checks at send time), so they come again once switched back on."""

        def change(resident: Resident) -> None:
            resident.service_opt_in = opt_in

        return await self._update(telegram_id, change)

    async def set_lead_contact_opt_in(
        self, telegram_id: int, opt_in: bool
    ) -> ResidentProfile | None:
        """Being written to by the lead of a group one belongs to or helps. Off, the lead's
        messages already queued are cancelled in the same transaction."""
        async with self._sessions.begin() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            if resident is None:
                return None
            resident.lead_contact_opt_in = opt_in
            if not opt_in and self._delivery is not None:
                await self._delivery.cancel_news_for_chat(telegram_id, (LEAD,), session=session)
            return ResidentProfile.of(resident)

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
        profile, _released = await self.change_quiet_hours(telegram_id, start_minute, end_minute)
        return profile

    async def change_quiet_hours(
        self, telegram_id: int, start_minute: int, end_minute: int
    ) -> tuple[ResidentProfile | None, int]:
        """``set_quiet_hours``, and how many held messages that released to go at once (0 when
        they now wait for the new hours' end), for the resident's confirmation."""
        if not (0 <= start_minute < 24 * 60 and 0 <= end_minute < 24 * 60):
            raise ValueError("quiet hours must lie within a day")
        async with self._sessions.begin() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            if resident is None:
                return None, 0
            resident.quiet_start, resident.quiet_end = start_minute, end_minute
            released = 0
            if self._delivery is not None:
                until = quiet_until(self._clock(), self._tz, start_minute, end_minute)
                moved = await self._delivery.retime_held(
                    telegram_id, until, keep_kinds=(REMINDER_KIND,), session=session
                )
                released = moved if until is None else 0
            return ResidentProfile.of(resident), released

    async def stop_news(self, telegram_id: int) -> ResidentProfile | None:
        """``/stop``: no news of any kind from now on (broadcasts, event announcements, the
        weekly overview), and what is already queued of it is cancelled, in one transaction.
        Messages about one's own sign-ups, groups and ideas keep coming. None when there is no
        such resident."""
        async with self._sessions.begin() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            if resident is None:
                return None
            resident.broadcast_opt_in = False
            resident.digest_opt_in = False
            if self._delivery is not None:
                await self._delivery.cancel_news_for_chat(
                    telegram_id, NEWS_KINDS, NEWS_SOURCES, session=session
                )
            return ResidentProfile.of(resident)

    async def set_status(self, telegram_id: int, status: ResidentStatus) -> None:
        async with self._sessions.begin() as session:
            resident = await ResidentRepository(session).by_telegram_id(telegram_id)
            if resident is not None:
                resident.status = status

    async def forget(self, telegram_id: int) -> bool:
        """Delete the resident's row (their topics go with it), and nothing else: erasing
        everything stored about a person is ``PrivacyService.erase`` (/privacy)."""
        async with self._sessions.begin() as session:
            return await ResidentRepository(session).delete(telegram_id)

    async def count(self) -> int:
        async with self._sessions() as session:
            return await ResidentRepository(session).count()

    async def count_by_locale(self, actor: Actor) -> dict[str, int]:
        """Active residents per language, for coordinators (counts only, never who)."""
        require_staff(actor, "residents.count")
        async with self._sessions() as session:
            rows = await session.execute(
                select(Resident.locale, func.count())
                .where(Resident.status == ResidentStatus.ACTIVE)
                .group_by(Resident.locale)
            )
            return {str(locale): int(count) for locale, count in rows}

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
