"""iCalendar files: one event ("add to calendar") and the public feed of published events.

Times are written in the neighbourhood's zone (``DTSTART;TZID=Europe/Berlin``) with a matching
VTIMEZONE, so calendar apps show local time across daylight saving changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo

from icalendar import Calendar, Event, vGeo

from bot.services.events import EventView
from storage.models import EventStatus

PRODID = "-//Quartierbot//Events//EN"
DEFAULT_DURATION = timedelta(hours=2)


def event_link(event_id: int, bot_username: str | None) -> str | None:
    """The deep link that opens the event in the bot."""
    return f"https://t.me/{bot_username}?start=event_{event_id}" if bot_username else None


def _uid(event: EventView, public_url: str | None) -> str:
    host = "quartierbot"
    if public_url:
        host = public_url.split("://", 1)[-1].split("/", 1)[0] or host
    return f"event-{event.id}@{host}"


def _location(event: EventView) -> str | None:
    parts = [part for part in (event.place_name, event.address) if part]
    return ", ".join(parts) or None


def _component(
    event: EventView,
    locale: str,
    *,
    public_url: str | None,
    bot_username: str | None,
    tz: tzinfo,
    stamp: datetime,
) -> Event | None:
    if event.starts_at is None:
        return None
    version = event.version_for(locale)
    item = Event()
    item.add("uid", _uid(event, public_url))
    item.add("dtstamp", stamp)
    start = event.starts_at.astimezone(tz)
    end = (event.ends_at or event.starts_at + DEFAULT_DURATION).astimezone(tz)
    item.add("dtstart", start)
    item.add("dtend", end)
    item.add("summary", version.title if version else f"#{event.id}")
    description = (version.description if version else None) or ""
    link = event_link(event.id, bot_username)
    if link:
        description = f"{description}\n\n{link}".strip()
        item.add("url", link)
    if description:
        item.add("description", description)
    location = _location(event)
    if location:
        item.add("location", location)
    if event.latitude is not None and event.longitude is not None:
        item.add("geo", vGeo((event.latitude, event.longitude)))
    if event.organiser:
        item.add("x-organiser-name", event.organiser)
    for topic in event.topics:
        item.add("categories", topic)
    item.add("status", "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED")
    return item


def _calendar(
    events: Iterable[EventView],
    locale: str,
    *,
    public_url: str | None,
    bot_username: str | None,
    tz: tzinfo,
    now: datetime,
    name: str | None = None,
) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if name:
        cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", str(tz))
    stamp = now.replace(microsecond=0)
    for event in events:
        item = _component(
            event, locale, public_url=public_url, bot_username=bot_username, tz=tz, stamp=stamp
        )
        if item is not None:
            cal.add_component(item)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def event_ics(
    event: EventView,
    locale: str,
    *,
    public_url: str | None,
    bot_username: str | None,
    tz: tzinfo,
    now: datetime,
) -> bytes:
    """One event; ``now`` is the calendar's DTSTAMP (when this copy was made)."""
    return _calendar(
        [event], locale, public_url=public_url, bot_username=bot_username, tz=tz, now=now
    )


def feed_ics(
    events: Iterable[EventView],
    locale: str,
    *,
    public_url: str | None,
    bot_username: str | None,
    tz: tzinfo,
    now: datetime,
    name: str | None = None,
) -> bytes:
    return _calendar(
        events,
        locale,
        public_url=public_url,
        bot_username=bot_username,
        tz=tz,
        now=now,
        name=name,
    )
