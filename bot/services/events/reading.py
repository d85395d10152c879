"""Reading events: one event for an actor, the coming ones by page, topic and week, and those
of a period (the weekly overview, the calendar feed)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from bot.services.events.core import EventCore
from bot.services.events.views import VIEW_FIELDS, EventVersionView, EventView
from bot.services.permissions import Actor, may_see_event, require
from storage.models import Event, EventStatus, EventTopic, EventVersion, Signup, SignupStatus


def has_topic(topic: str) -> ColumnElement[bool]:
    """The event has ``topic``: looked up in ``event_topics`` by its key (the JSON column,
    tested event by event, was the slow part of the list by topic)."""
    return Event.id.in_(select(EventTopic.event_id).where(EventTopic.topic == topic))


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
        offset, limit = max(0, offset), max(0, limit)
        async with self._sessions() as session:
            if topic:
                conditions.append(has_topic(topic))
            # One statement for the page, its versions, its seats and the total (a statement's
            # round trip to the database's thread or server cost more than the reading): the
            # page's ids come along ix_events_status_starts_at, the seats are counted for its
            # rows only, the total once.
            page = (
                select(Event.id)
                .where(*conditions)
                .order_by(Event.starts_at, Event.id)
                .offset(offset)
                .limit(limit)
                .subquery()
            )
            total = (
                select(func.count()).select_from(Event).where(*conditions).correlate(None)
            ).scalar_subquery()
            taken = (
                select(func.coalesce(func.sum(Signup.adults + Signup.children), 0))
                .where(Signup.event_id == Event.id, Signup.status == SignupStatus.CONFIRMED)
                .scalar_subquery()
            )
            waiting = (
                select(func.count())
                .select_from(Signup)
                .where(Signup.event_id == Event.id, Signup.status == SignupStatus.WAITLISTED)
                .scalar_subquery()
            )
            rows = (
                await session.execute(
                    select(
                        *(getattr(Event, name) for name in VIEW_FIELDS),
                        taken.label("seats_taken"),
                        waiting.label("waitlisted"),
                        total.label("total"),
                        EventVersion.locale.label("version_locale"),
                        EventVersion.title,
                        EventVersion.description,
                        EventVersion.needs_review,
                    )
                    .select_from(Event)
                    .join(page, page.c.id == Event.id)
                    .outerjoin(EventVersion, EventVersion.event_id == Event.id)
                    .order_by(Event.starts_at, Event.id)
                )
            ).all()
            if not rows:  # past the end, or nothing to come: the total on its own
                count = await session.scalar(
                    select(func.count()).select_from(Event).where(*conditions)
                )
                return [], int(count or 0)
        # One row per version: the page's events in order, each with its versions.
        events: dict[int, tuple[Any, list[EventVersionView]]] = {}
        for row in rows:
            versions = events.setdefault(row.id, (row, []))[1]
            if row.version_locale is not None:
                versions.append(
                    EventVersionView(
                        row.version_locale, row.title, row.description, bool(row.needs_review)
                    )
                )
        views = [
            EventView.of_values(row._mapping, versions, row.seats_taken, row.waitlisted)
            for row, versions in events.values()
        ]
        return views, int(rows[0].total)

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
