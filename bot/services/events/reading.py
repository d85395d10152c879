"""Reading events: one event for an actor, the coming ones by page, topic and week, and those
of a period (the weekly overview, the calendar feed)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import or_, select

from bot.services.events.core import EventCore
from bot.services.events.views import EventView
from bot.services.permissions import Actor, may_see_event, require
from storage.models import Event, EventStatus


class Reading(EventCore):
    """Reads only: nothing here writes or locks."""

    async def get(self, actor: Actor, event_id: int) -> EventView | None:
        """The event if this actor may see it: published and cancelled events are public,
        drafts and proposals only for coordinators and the partner who made them."""
        view = await self.load(event_id)
        if view is None or not may_see_event(actor, view.created_by, view.status):
            return None
        return view

    def end_of_week(self, moment: datetime) -> datetime:
        """Sunday 24:00 local time of ``moment``'s week."""
        local = moment.astimezone(self.tz).date()
        monday = local + timedelta(days=7 - local.weekday())
        return datetime.combine(monday, time(0, 0), tzinfo=self.tz)

    async def upcoming(
        self,
        *,
        topic: str | None = None,
        this_week: bool = False,
        offset: int = 0,
        limit: int = 3,
    ) -> tuple[list[EventView], int]:
        now = self._clock()
        conditions = [Event.status == EventStatus.PUBLISHED, Event.starts_at > now]
        if this_week:
            conditions.append(Event.starts_at < self.end_of_week(now))
        async with self._sessions() as session:
            rows = list(
                await session.scalars(select(Event).where(*conditions).order_by(Event.starts_at))
            )
            if topic:
                rows = [row for row in rows if topic in (row.topics or [])]
            page = rows[max(0, offset) : max(0, offset) + max(0, limit)]
            return await self._views(session, page), len(rows)

    async def desk(self, actor: Actor) -> list[EventView]:
        """The events a coordinator or partner works on (the dashboard's list): drafts,
        proposals, scheduled and published ones not yet begun (or without a start), the soonest
        first. Coordinators see all of them, a partner organisation only its own."""
        require(
            actor.telegram_id is not None and (actor.is_staff or actor.is_partner), "event.desk"
        )
        statuses = (
            EventStatus.DRAFT,
            EventStatus.PROPOSED,
            EventStatus.SCHEDULED,
            EventStatus.PUBLISHED,
        )
        conditions = [
            Event.status.in_(statuses),
            or_(Event.starts_at.is_(None), Event.starts_at > self._clock()),
        ]
        if not actor.is_staff:
            conditions.append(Event.created_by == actor.telegram_id)
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(Event)
                    .where(*conditions)
                    .order_by(Event.starts_at.is_(None), Event.starts_at, Event.id)
                )
            )
            return await self._views(session, rows)

    async def published_between(
        self, start: datetime, end: datetime, *, include_cancelled: bool = False
    ) -> list[EventView]:
        statuses = [EventStatus.PUBLISHED]
        if include_cancelled:
            statuses.append(EventStatus.CANCELLED)
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(Event)
                    .where(
                        Event.status.in_(statuses), Event.starts_at >= start, Event.starts_at < end
                    )
                    .order_by(Event.starts_at, Event.id)
                )
            )
            return await self._views(session, rows)
