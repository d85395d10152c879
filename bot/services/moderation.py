"""Abuse protection without Telegram: a per-person limit on incoming updates, and bans.

``UpdateLimiter`` counts each person's updates in a sliding window, in memory, per process:
past ``RateLimits.updates`` in ``window`` the person is asked once to slow down and their further
updates are dropped; going on past ``pause_after`` pauses them for ``pause`` (every update
dropped). Behind a load balancer each replica counts the updates it receives, so the limit is
per replica; the point is to keep one person's flood from the database and the other residents'
replies, which an in-memory count does before anything is read.

``ModerationService`` bans and unbans people by Telegram id (coordinators only; never a
coordinator or admin) and tells whether someone is banned (``standing``; the update gate reads
the ban with the resident instead, in ``ResidentService.arrive``'s one statement, so a ban
counts at the next update). A ban cancels the person's queued news (broadcasts and
the digest) in the same transaction, and audiences never select them while it lasts (see
``bot.services.audiences``); messages about their own sign-ups and groups still go, since those
concern seats and tasks they hold.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import BROADCAST, DIGEST, StaffAudience
from bot.services.delivery import DeliveryService
from bot.services.permissions import Actor, require_staff
from storage.db import in_transaction
from storage.models import Ban, Idea, Resident
from storage.repositories import insert_ignoring_conflict

__all__ = [
    "BAN_REASONS",
    "NEWS_KINDS",
    "BanResult",
    "CannotBan",
    "ModerationService",
    "RateLimits",
    "Standing",
    "UpdateLimiter",
    "Verdict",
]

#: Why someone was banned: keys, never free text (a ban's row holds no resident's words).
BAN_REASONS = ("other", "idea")
#: Outbox kinds that are news; a ban cancels the person's queued rows of them.
NEWS_KINDS = (BROADCAST, DIGEST)
#: ``ideas.author_telegram_id`` once the author deleted their data (bot/services/ideas.py).
_FORGOTTEN = 0


# --- the rate limit ------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimits:
    """``updates`` within ``window`` pass; beyond, a slow-down; past ``pause_after``, a pause.
    ``updates`` 0 turns the limit off."""

    updates: int = 20
    window: timedelta = timedelta(seconds=10)
    pause_after: int = 40
    pause: timedelta = timedelta(seconds=60)


class Verdict(enum.Enum):
    PASS = "pass"
    #: The first update beyond the limit: answer it with one polite "slow down", handle nothing.
    SLOW_DOWN = "slow_down"
    #: Beyond the limit, already asked, or paused: handle nothing and say nothing.
    DROP = "drop"


@dataclass
class _Window:
    seen: deque[datetime] = field(default_factory=deque)
    warned: bool = False
    paused_until: datetime | None = None


class UpdateLimiter:
    """A sliding window of each person's updates, in this process's memory."""

    #: Forget idle people every so many checks, so the table doesn't grow without end.
    SWEEP_EVERY = 1000

    def __init__(self, limits: RateLimits, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._windows: dict[int, _Window] = {}
        self._checks = 0

    def check(self, telegram_id: int) -> Verdict:
        limits = self.limits
        if limits.updates <= 0:
            return Verdict.PASS
        now = self._clock()
        self._checks += 1
        if self._checks % self.SWEEP_EVERY == 0:
            self._sweep(now)
        window = self._windows.setdefault(telegram_id, _Window())
        if window.paused_until is not None:
            if now < window.paused_until:
                return Verdict.DROP
            window.paused_until = None
            window.seen.clear()
            window.warned = False
        seen = window.seen
        while seen and seen[0] <= now - limits.window:
            seen.popleft()
        seen.append(now)
        count = len(seen)
        if count <= limits.updates:
            window.warned = False
            return Verdict.PASS
        if count > max(limits.pause_after, limits.updates) and limits.pause > timedelta(0):
            window.paused_until = now + limits.pause
            seen.clear()
            return Verdict.DROP
        if not window.warned:
            window.warned = True
            return Verdict.SLOW_DOWN
        return Verdict.DROP

    def paused(self, telegram_id: int) -> bool:
        window = self._windows.get(telegram_id)
        return bool(window and window.paused_until and self._clock() < window.paused_until)

    def _sweep(self, now: datetime) -> None:
        idle = [
            telegram_id
            for telegram_id, window in self._windows.items()
            if (window.paused_until is None or window.paused_until <= now)
            and (not window.seen or window.seen[-1] <= now - self.limits.window)
        ]
        for telegram_id in idle:
            del self._windows[telegram_id]


# --- bans ----------------------------------------------------------------------------------


class CannotBan(Exception):
    """Not someone who can be banned: a coordinator or admin, oneself, an unknown idea's
    author (deleted their data), or no valid Telegram id."""


@dataclass(frozen=True)
class Standing:
    """What the update gate needs: banned or not, and the person's saved language (if any)."""

    banned: bool
    locale: str | None


@dataclass(frozen=True)
class BanResult:
    """``changed`` False: already banned (or, for an unban, not banned). ``telegram_id`` is
    None when it must stay unknown (the author of an anonymous idea)."""

    changed: bool
    telegram_id: int | None


class ModerationService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryService,
        *,
        clock: Clock,
        staff: StaffAudience | None = None,
        limits: RateLimits | None = None,
    ) -> None:
        self._sessions = sessions
        self._delivery = delivery
        self._clock = clock
        self._staff = staff or StaffAudience()
        #: In memory, per process (see the module's docstring).
        self.limiter = UpdateLimiter(limits or RateLimits(), clock)

    async def standing(self, telegram_id: int) -> Standing:
        """One read: whether this person is banned, and their saved language."""
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(Ban.telegram_id, Resident.locale)
                    .select_from(Resident)
                    .outerjoin(Ban, Ban.telegram_id == Resident.telegram_id)
                    .where(Resident.telegram_id == telegram_id)
                )
            ).first()
            if found is not None:
                return Standing(found[0] is not None, str(found[1]))
            # Not registered (or erased): a ban still holds.
            banned = await session.scalar(
                select(Ban.telegram_id).where(Ban.telegram_id == telegram_id)
            )
            return Standing(banned is not None, None)

    async def is_banned(self, telegram_id: int) -> bool:
        return (await self.standing(telegram_id)).banned

    async def _ban(
        self, session: AsyncSession, actor: Actor, telegram_id: int, reason: str
    ) -> bool:
        if telegram_id <= 0 or actor.is_person(telegram_id):
            raise CannotBan(str(telegram_id))
        staff = {chat for chat, _locale in await self._staff.recipients(session)}
        if telegram_id in staff:
            raise CannotBan("staff")
        inserted = await insert_ignoring_conflict(
            session,
            Ban,
            {
                "telegram_id": telegram_id,
                "banned_by": actor.telegram_id or 0,
                "banned_at": self._clock(),
                "reason": reason if reason in BAN_REASONS else "other",
            },
        )
        if inserted:
            # News stops at once, queued rows included; service messages still go.
            await self._delivery.cancel_for_chat(telegram_id, NEWS_KINDS, session=session)
        return inserted

    async def ban(self, actor: Actor, telegram_id: int, *, reason: str = "other") -> BanResult:
        """Ban a person by Telegram id (coordinators only; never staff, never oneself)."""
        require_staff(actor, "resident.ban")

        async def work(session: AsyncSession) -> BanResult:
            return BanResult(await self._ban(session, actor, telegram_id, reason), telegram_id)

        return await in_transaction(self._sessions, work)

    async def ban_author(self, actor: Actor, idea_id: int) -> BanResult:
        """Ban the author of an idea, from its card; an anonymous author stays unknown (the
        result carries no id then)."""
        require_staff(actor, "resident.ban")

        async def work(session: AsyncSession) -> BanResult:
            found = (
                await session.execute(
                    select(Idea.author_telegram_id, Idea.anonymous).where(Idea.id == idea_id)
                )
            ).first()
            if found is None or int(found[0]) == _FORGOTTEN:
                raise CannotBan(f"idea {idea_id}")
            author, anonymous = int(found[0]), bool(found[1])
            changed = await self._ban(session, actor, author, "idea")
            return BanResult(changed, None if anonymous else author)

        return await in_transaction(self._sessions, work)

    async def unban_author(self, actor: Actor, idea_id: int) -> BanResult:
        """Lift the ban of an idea's author, from its card (an anonymous one stays unknown)."""
        require_staff(actor, "resident.unban")

        async def work(session: AsyncSession) -> BanResult:
            found = (
                await session.execute(
                    select(Idea.author_telegram_id, Idea.anonymous).where(Idea.id == idea_id)
                )
            ).first()
            if found is None or int(found[0]) == _FORGOTTEN:
                raise CannotBan(f"idea {idea_id}")
            author = int(found[0])
            removed = await session.execute(delete(Ban).where(Ban.telegram_id == author))
            return BanResult(
                bool(removed.rowcount),  # type: ignore[attr-defined]
                None if found[1] else author,
            )

        return await in_transaction(self._sessions, work)

    async def unban(self, actor: Actor, telegram_id: int) -> BanResult:
        """Lift a ban (coordinators only). News they had opted into reaches them again from
        the next broadcast on; what was cancelled while banned stays cancelled."""
        require_staff(actor, "resident.unban")

        async def work(session: AsyncSession) -> BanResult:
            removed = await session.execute(delete(Ban).where(Ban.telegram_id == telegram_id))
            return BanResult(bool(removed.rowcount), telegram_id)  # type: ignore[attr-defined]

        return await in_transaction(self._sessions, work)
