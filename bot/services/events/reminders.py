"""What events put in the outbox: reminders, the "still coming?" check, notices (moved,
cancelled, moved up from the waiting list) and the organiser's fill alerts.

Reminders are outbox rows with ``not_before`` in the future, so they survive restarts and are
claimed once by whichever delivery engine sees them due. Their sources carry the start time
(``event:<id>:reminder:<epoch>``): a moved event cancels the old ones and queues new ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.services.audiences import quiet_until
from bot.services.delivery import DeliveryService, Recipient
from bot.services.events.views import (
    EVENT_KIND,
    REMINDER_KIND,
    STILL_COMING_AT,
    EventRenderer,
    EventView,
    SignupView,
)
from storage.models import DeliverySource, Resident

#: The reminder and the "still coming?" check never come closer together than this: two messages
#: about one event within a few hours read as one too many (a morning event's reminder, a day
#: ahead, would meet the check at 10:00 the day before).
STILL_COMING_GAP = timedelta(hours=3)


def _before_quiet(moment: datetime, tz: tzinfo, start: int, end: int) -> datetime:
    """Half an hour before the quiet hours that ``moment`` falls into begin."""
    local = moment.astimezone(tz)
    minute = local.hour * 60 + local.minute
    day = local.date()
    if start > end and minute < end:  # a window across midnight, after midnight
        day -= timedelta(days=1)
    began = datetime.combine(day, time(start // 60, start % 60), tzinfo=tz)
    return began - timedelta(minutes=30)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def reminder_source(event_id: int, starts_at: datetime) -> str:
    return f"event:{event_id}:reminder:{_epoch(starts_at)}"


def still_source(event_id: int, starts_at: datetime) -> str:
    return f"event:{event_id}:still:{_epoch(starts_at)}"


def fill_source(event_id: int, percent: int) -> str:
    return f"event:{event_id}:filled:{percent}"


@dataclass(frozen=True)
class Reminders:
    """The event service's outbox side, with the service's own dependencies. It never opens a
    transaction: every method writes into the caller's ``session``, so its rows commit with the
    change that causes them."""

    delivery: DeliveryService
    renderer: EventRenderer
    default_locale: str
    tz: tzinfo
    clock: Clock

    async def next_number(self, session: AsyncSession, prefix: str) -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(DeliverySource)
            .where(DeliverySource.source.like(f"{prefix}%"))
        )
        return int(count or 0) + 1

    async def tell(
        self,
        session: AsyncSession,
        source: str,
        signups: Iterable[SignupView],
        render: Callable[[str], dict[str, Any]],
        *,
        not_before: datetime | None = None,
        kind: str = EVENT_KIND,
    ) -> int:
        recipients = [Recipient(s.telegram_id, s.locale, not_before) for s in signups]
        if not recipients:
            return 0
        locales = {r.locale for r in recipients}
        payloads = {locale: render(locale) for locale in locales}
        fallback = next(iter(sorted(locales)))
        await self.delivery.enqueue(
            source=source,
            kind=kind,
            broadcast_id=None,
            payloads=payloads,
            fallback_locale=fallback,
            recipients=recipients,
            session=session,
        )
        return len(recipients)

    async def _quiet_hours(
        self, session: AsyncSession, chat_ids: Iterable[int]
    ) -> dict[int, tuple[int, int]]:
        ids = list(chat_ids)
        rows = await session.execute(
            select(Resident.telegram_id, Resident.quiet_start, Resident.quiet_end).where(
                Resident.telegram_id.in_(ids)
            )
        )
        return {int(t): (int(s), int(e)) for t, s, e in rows}

    def _still_coming_time(self, starts_at: datetime) -> datetime:
        day_before = starts_at.astimezone(self.tz).date() - timedelta(days=1)
        return datetime.combine(day_before, STILL_COMING_AT, tzinfo=self.tz)

    async def queue(
        self, session: AsyncSession, event: EventView, signups: Sequence[SignupView]
    ) -> None:
        """The reminder and the "still coming?" check for these confirmed sign-ups."""
        if event.starts_at is None or not signups:
            return
        now = self.clock()
        quiet = await self._quiet_hours(session, (s.telegram_id for s in signups))
        chat_ids = [s.telegram_id for s in signups]
        reminder = reminder_source(event.id, event.starts_at)
        still = still_source(event.id, event.starts_at)
        # A renewed sign-up (or a moved-back event) may have cancelled rows under these sources.
        await self.delivery.forget_cancelled([reminder, still], chat_ids, session=session)
        remind_at = event.starts_at - timedelta(hours=event.reminder_hours)
        still_at = self._still_coming_time(event.starts_at)
        for signup in signups:
            start, end = quiet.get(signup.telegram_id, (0, 0))
            reminded: datetime | None = None
            if event.reminder_hours and remind_at > now:
                at = quiet_until(remind_at, self.tz, start, end) or remind_at
                if at >= event.starts_at:
                    at = remind_at
                reminded = at
                await self.tell(
                    session,
                    reminder,
                    [signup],
                    lambda locale: self.renderer.reminder(event, locale),
                    not_before=at,
                    kind=REMINDER_KIND,
                )
            asked = self._still_coming_for(still_at, reminded, start, end)
            if asked is not None and asked > now and asked < event.starts_at:
                await self.tell(
                    session,
                    still,
                    [signup],
                    lambda locale: self.renderer.still_coming(event, locale),
                    not_before=asked,
                    kind=REMINDER_KIND,
                )

    def _still_coming_for(
        self, still_at: datetime, reminded: datetime | None, start: int, end: int
    ) -> datetime | None:
        """When to ask "still coming?": at its time, unless the reminder comes within
        ``STILL_COMING_GAP`` of it; then earlier, that long before the reminder (so whoever
        cancels frees the seats sooner for the waiting list), or, when that falls into the
        resident's quiet hours, half an hour before those begin. The caller drops a time that
        has passed: then the reminder alone comes."""
        if reminded is None or abs(reminded - still_at) >= STILL_COMING_GAP:
            return still_at
        asked = reminded - STILL_COMING_GAP
        if quiet_until(asked, self.tz, start, end) is not None:
            asked = _before_quiet(asked, self.tz, start, end)
        return asked

    async def cancel(
        self, session: AsyncSession, event_id: int, starts_at: datetime | None
    ) -> None:
        if starts_at is None:
            return
        await self.delivery.cancel_source(reminder_source(event_id, starts_at), session=session)
        await self.delivery.cancel_source(still_source(event_id, starts_at), session=session)

    async def alert_organiser(
        self, session: AsyncSession, event: EventView, levels: Sequence[int]
    ) -> None:
        """Tell whoever created the event that it is 50, 80 or 100 % full, in their language
        (queued with the sign-up that filled it, so it goes out once that has committed). One
        sign-up that crosses several levels sends one alert, the highest; the caller records
        them all as alerted, so a lower one never comes later."""
        if not levels:
            return
        locale = await session.scalar(
            select(Resident.locale).where(Resident.telegram_id == event.created_by)
        )
        locale = locale or self.default_locale
        for level in [max(levels)]:
            await self.delivery.enqueue(
                source=fill_source(event.id, level),
                kind=EVENT_KIND,
                broadcast_id=None,
                payloads={locale: self.renderer.fill_alert(event, level, locale)},
                fallback_locale=locale,
                recipients=[Recipient(event.created_by, locale)],
                session=session,
            )
