"""Reading a date and time typed by a person, leniently, in the neighbourhood's time zone.

The fixed forms (``28.11.2026 10:00``, ``2026-11-28 10:00``, ``28.11. 10:00``, ``10:00``) are
read here; everything else ("Samstag 10 Uhr", "tomorrow 18:30", "Cumartesi 10:00", "yarın 18:30")
by dateparser, in the reader's language and the default one, relative to the injected clock's
now, preferring the future. A weekday means the next one: "Samstag" on a Saturday is a week
later (today is "heute"). Digits of any script count (Arabic ``١٠:٠٠``, Persian ``۱۰:۰۰``).
Something without a time of day, or a time that doesn't exist (skipped when clocks go forward),
gives None; a moment that has passed is returned as such, for the caller to refuse.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateparser.data.languages_info import language_order
from dateparser.date import DateDataParser

from bot.locales import babel_code

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

#: Longer than any date a person types: not handed to dateparser.
_MAX_LENGTH = 80
#: Direction marks and isolates (a copied RTL example carries them) and the Arabic comma.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
_DIGIT = re.compile(r"\d")
#: "10 Uhr", "10.30 Uhr" (German) and "saat 10" (Turkish), which dateparser doesn't read.
_HOUR_WORD = re.compile(
    r"(?<![\d.:])(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?\s*uhr\b"
    r"|\bsaat\s+(?P<hour2>\d{1,2})(?:[:.](?P<minute2>\d{2}))?(?![\d.:])",
    re.IGNORECASE,
)
#: A leading "am" ("am Samstag 10:00"); only in German, where it isn't "a.m.".
_GERMAN_ON = re.compile(r"^am\s+", re.IGNORECASE)


def parse_time_of_day(text: str) -> time | None:
    match = re.fullmatch(_TIME, _normalized(text))
    if not match:
        return None
    hour, minute = int(match["hour"]), int(match["minute"])
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parser_languages(locales: Iterable[str]) -> tuple[str, ...]:
    """dateparser's language codes for catalog locales, in order, those it knows
    (``de_simple`` reads as ``de``; Kurdish isn't known and reads only the fixed forms)."""
    codes: list[str] = []
    for locale in locales:
        code = babel_code(locale).split("_")[0]
        if code in language_order and code not in codes:
            codes.append(code)
    return tuple(codes)


def parse_local_datetime(
    text: str, now: datetime, tz: tzinfo, locales: Iterable[str] = ()
) -> datetime | None:
    """A moment from what was typed, in ``tz``, or None when it can't be read unambiguously.

    ``locales`` are the reader's and the default locale, whose words are understood."""
    cleaned = _normalized(text)
    if not cleaned or len(cleaned) > _MAX_LENGTH:
        return None
    cleaned = _HOUR_WORD.sub(_hour_word, cleaned)  # "12.12. 15 Uhr" is "12.12. 15:00"
    local_now = now.astimezone(tz)
    if fixed := _fixed_form(cleaned, local_now, tz):
        return _existing(fixed[0], fixed[1], tz)
    languages = parser_languages(locales)
    if not languages:
        return None
    wall = _lenient(cleaned, local_now.replace(tzinfo=None), tz, languages)
    return _existing(wall.date(), wall.time(), tz) if wall is not None else None


def example_datetime(now: datetime, tz: tzinfo) -> datetime:
    """What a prompt shows as an example: next Saturday at 15:00 (a week on, on a Saturday)."""
    today = now.astimezone(tz).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    return datetime.combine(saturday, time(15, 0), tzinfo=tz)


def format_example(at: datetime, tz: tzinfo) -> str:
    """A moment the way ``parse_local_datetime`` reads it back in every language."""
    return at.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def _normalized(text: str) -> str:
    text = _DIGIT.sub(lambda digit: str(unicodedata.decimal(digit[0])), text.translate(_INVISIBLE))
    return " ".join(text.replace("\u060c", ",").split())


def _fixed_form(cleaned: str, local_now: datetime, tz: tzinfo) -> tuple[date, time] | None:
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
        return day, clock
    return None


def _lenient(
    cleaned: str, wall_now: datetime, tz: tzinfo, languages: tuple[str, ...]
) -> datetime | None:
    """dateparser's reading as a naive wall time in ``tz``, only if it names a time of day."""
    text = _GERMAN_ON.sub("", cleaned) if "de" in languages else cleaned
    parser = DateDataParser(
        languages=list(languages),
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": wall_now,
            "TIMEZONE": _zone_name(tz),
            "RETURN_AS_TIMEZONE_AWARE": False,
            "DATE_ORDER": "DMY",
            "PREFER_LOCALE_DATE_ORDER": False,
            "USE_GIVEN_LANGUAGE_ORDER": True,
            "RETURN_TIME_AS_PERIOD": True,
            "PARSERS": ["relative-time", "absolute-time"],
        },
    )
    data = parser.get_date_data(text)
    found = data.date_obj
    if not isinstance(found, datetime) or data.period != "time":
        return None  # "Samstag" alone: which time?
    return found.replace(tzinfo=None)


def _hour_word(match: re.Match[str]) -> str:
    hour = match["hour"] or match["hour2"]
    minute = match["minute"] or match["minute2"] or "00"
    return f"{hour}:{minute}"


def _zone_name(tz: tzinfo) -> str:
    """The zone's name for dateparser, which converts a typed offset ("10:00 UTC") into it."""
    return str(getattr(tz, "key", None) or tz.tzname(None) or "UTC")


def _existing(day: date, clock: time, tz: tzinfo) -> datetime | None:
    """The moment at that wall time in ``tz``; None for one the clocks skip (02:30 in spring)."""
    moment = datetime.combine(day, clock, tzinfo=tz)
    if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        return None
    return moment
