"""Reading a date and time typed by a person, leniently, in the neighbourhood's time zone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

_TIME = r"(?P<hour>\d{1,2})[:.h](?P<minute>\d{2})"
_PATTERNS = [
    # 28.11.2026 10:00, 28.11.26 10:00, 28/11/2026 10:00
    re.compile(
        rf"^(?P<day>\d{{1,2}})[./](?P<month>\d{{1,2}})[./](?P<year>\d{{2}}|\d{{4}})\s*,?\s+{_TIME}$"
    ),
    # 2026-11-28 10:00 (ISO)
    re.compile(rf"^(?P<year>\d{{4}})-(?P<month>\d{{1,2}})-(?P<day>\d{{1,2}})[ T]{_TIME}$"),
    # 28.11. 10:00 (the next such date)
    re.compile(rf"^(?P<day>\d{{1,2}})[./](?P<month>\d{{1,2}})[./]?\s*,?\s+{_TIME}$"),
    # 10:00 (today, or tomorrow if that has passed)
    re.compile(rf"^{_TIME}$"),
]


def parse_time_of_day(text: str) -> time | None:
    match = re.fullmatch(_TIME, text.strip())
    if not match:
        return None
    hour, minute = int(match["hour"]), int(match["minute"])
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parse_local_datetime(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    """A future moment from what was typed, or None when it can't be read unambiguously."""
    cleaned = " ".join(text.strip().split())
    local_now = now.astimezone(tz)
    for pattern in _PATTERNS:
        match = pattern.match(cleaned)
        if not match:
            continue
        parts = match.groupdict()
        clock = parse_time_of_day(f"{parts['hour']}:{parts['minute']}")
        if clock is None:
            return None
        try:
            if parts.get("year"):
                year = int(parts["year"])
                year += 2000 if year < 100 else 0
                day = date(year, int(parts["month"]), int(parts["day"]))
            elif parts.get("day"):
                day = date(local_now.year, int(parts["month"]), int(parts["day"]))
                if datetime.combine(day, clock, tzinfo=tz) <= local_now:
                    day = date(day.year + 1, day.month, day.day)
            else:
                day = local_now.date()
                if datetime.combine(day, clock, tzinfo=tz) <= local_now:
                    day += timedelta(days=1)
        except ValueError:  # 31.02. and friends
            return None
        return datetime.combine(day, clock, tzinfo=tz)
    return None
