"""Time rules: quiet hours, weekly repeats across daylight saving, and reading typed times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services.audiences import quiet_until
from bot.services.broadcasts import WeeklyRule
from bot.services.timeparse import parse_local_datetime, parse_time_of_day

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (berlin(2026, 11, 26, 20, 59), None),  # before quiet hours
        (berlin(2026, 11, 26, 21, 0), berlin(2026, 11, 27, 8, 0)),  # evening: next morning
        (berlin(2026, 11, 27, 3, 30), berlin(2026, 11, 27, 8, 0)),  # night: this morning
        (berlin(2026, 11, 27, 8, 0), None),  # quiet hours are over
        (berlin(2027, 3, 27, 23, 0), berlin(2027, 3, 28, 8, 0)),  # the night clocks go forward
    ],
)
def test_quiet_hours_wrapping_midnight(moment: datetime, expected: datetime | None) -> None:
    result = quiet_until(moment.astimezone(UTC), BERLIN, 21 * 60, 8 * 60)
    assert result == expected
    if expected is not None:
        assert result.astimezone(BERLIN).hour == 8


def test_quiet_hours_off_and_within_one_day() -> None:
    noon = berlin(2026, 11, 26, 12, 0)
    assert quiet_until(noon, BERLIN, 0, 0) is None
    assert quiet_until(noon, BERLIN, 11 * 60, 13 * 60) == berlin(2026, 11, 26, 13, 0)


def test_weekly_repeat_keeps_local_time_across_daylight_saving() -> None:
    rule = WeeklyRule("mon", 10, 0)
    first = rule.next_after(berlin(2027, 3, 22, 10, 0), BERLIN)  # just after Monday 10:00 CET
    assert first == berlin(2027, 3, 29, 10, 0)  # next Monday, now CEST
    assert first.astimezone(UTC).hour == 8  # was 09:00 UTC a week before
    autumn = rule.next_after(berlin(2027, 10, 25, 10, 0), BERLIN)
    assert autumn == berlin(2027, 11, 1, 10, 0) and autumn.astimezone(UTC).hour == 9


def test_weekly_rule_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        WeeklyRule("someday", 10, 0)
    with pytest.raises(ValueError):
        WeeklyRule("mon", 24, 0)


NOW = berlin(2026, 11, 26, 15, 0)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("28.11.2026 10:00", berlin(2026, 11, 28, 10, 0)),
        ("28.11.26 10.30", berlin(2026, 11, 28, 10, 30)),
        ("2026-11-28 09:05", berlin(2026, 11, 28, 9, 5)),
        ("28/11/2026, 18:00", berlin(2026, 11, 28, 18, 0)),
        ("28.11. 10:00", berlin(2026, 11, 28, 10, 0)),
        ("1.1. 10:00", berlin(2027, 1, 1, 10, 0)),  # next New Year's Day
        ("16:00", berlin(2026, 11, 26, 16, 0)),  # later today
        ("14:00", berlin(2026, 11, 27, 14, 0)),  # passed today: tomorrow
        ("  28.11.2026   10:00 ", berlin(2026, 11, 28, 10, 0)),
    ],
)
def test_typed_dates_are_read_in_local_time(typed: str, expected: datetime) -> None:
    assert parse_local_datetime(typed, NOW.astimezone(UTC), BERLIN) == expected


@pytest.mark.parametrize(
    "typed", ["", "tomorrow", "31.02.2026 10:00", "28.11.2026 25:00", "10:75", "x" * 5000]
)
def test_unreadable_dates_give_none(typed: str) -> None:
    assert parse_local_datetime(typed, NOW, BERLIN) is None


def test_time_of_day() -> None:
    assert parse_time_of_day("9:30").hour == 9
    assert parse_time_of_day("24:00") is None
