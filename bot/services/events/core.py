"""What every part of the event service shares: one set of dependencies, the rows and seat
counts they read, and the event's row lock.

Seats are never oversold: counting and inserting happen in one transaction that holds the
event's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite an UPDATE of the row comes
first, which takes the database's write lock before anything is counted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import tzinfo
from typing import TypeVar

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import StaffAudience
from bot.services.delivery import DeliveryService
from bot.services.events.reminders import Reminders
from bot.services.events.views import ACTIVE, EventNotFound, EventRenderer, EventView, SignupView
from storage.db import in_transaction, lock_row
from storage.models import Event, EventTopic, Signup, SignupStatus

T = TypeVar("T")


class EventCore:
    """The dependencies, reads and lock that publishing, sign-ups and reading share."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryService,
        renderer: EventRenderer,
        *,
        locales: Sequence[str],
        default_locale: str,
        tz: tzinfo,
        clock: Clock,
        staff: StaffAudience | None = None,
    ) -> None:
        self._sessions = sessions
        self._staff = staff or StaffAudience(default_locale=default_locale)
        self._delivery = delivery
        self.renderer = renderer
        self.locales = tuple(locales)
        self.default_locale = default_locale
        self.tz = tz
        self._clock = clock
        #: The outbox side: reminders, "still coming?", notices and fill alerts, written into
        #: the caller's transaction.
        self._reminders = Reminders(delivery, renderer, default_locale, tz, clock)

    # internals --------------------------------------------------------------------------

    async def _counts(
        self, session: AsyncSession, event_ids: Iterable[int]
    ) -> dict[int, tuple[int, int]]:
        ids = list(event_ids)
        if not ids:
            return {}
        seats = func.coalesce(
            func.sum(
                case(
                    (Signup.status == SignupStatus.CONFIRMED, Signup.adults + Signup.children),
                    else_=0,
                )
            ),
            0,
        )
        waiting = func.coalesce(
            func.sum(case((Signup.status == SignupStatus.WAITLISTED, 1), else_=0)), 0
        )
        rows = await session.execute(
            select(Signup.event_id, seats, waiting)
            .where(Signup.event_id.in_(ids))
            .group_by(Signup.event_id)
        )
        return {int(eid): (int(taken), int(wait)) for eid, taken, wait in rows}

    async def _views(self, session: AsyncSession, rows: Sequence[Event]) -> list[EventView]:
        counts = await self._counts(session, [row.id for row in rows])
        return [EventView.of(row, *counts.get(row.id, (0, 0))) for row in rows]

    async def _view(self, session: AsyncSession, row: Event) -> EventView:
        return (await self._views(session, [row]))[0]

    async def _lock_event(self, session: AsyncSession, event_id: int) -> Event | None:
        """The event row, locked for this transaction (see the module docstring)."""
        return await lock_row(session, Event, event_id)

    async def _index_topics(self, session: AsyncSession, row: Event) -> None:
        """Write the event's ``event_topics`` rows from its ``topics``, which the event list
        by topic reads along an index (migration 0017); in the caller's transaction."""
        await session.execute(delete(EventTopic).where(EventTopic.event_id == row.id))
        topics = list(dict.fromkeys(str(topic) for topic in row.topics or ()))
        if topics:
            await session.execute(
                insert(EventTopic), [{"topic": topic, "event_id": row.id} for topic in topics]
            )

    async def _locked(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await in_transaction(self._sessions, work)

    async def _active_signups(
        self, session: AsyncSession, event_id: int, statuses: Sequence[SignupStatus] = ACTIVE
    ) -> list[SignupView]:
        rows = await session.scalars(
            select(Signup)
            .where(Signup.event_id == event_id, Signup.status.in_(list(statuses)))
            .order_by(Signup.created_at, Signup.id)
        )
        return [SignupView.of(row) for row in rows]

    async def load(self, event_id: int) -> EventView | None:
        """For the bot's own work (alerts, jobs), never for a person's request."""
        async with self._sessions() as session:
            row = await session.get(Event, event_id)
            return await self._view(session, row) if row else None

    async def _require(self, event_id: int) -> EventView:
        view = await self.load(event_id)
        if view is None:
            raise EventNotFound(str(event_id))
        return view
