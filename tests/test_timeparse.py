"""Lenient dates: what coordinators type in their language, read with a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import DEFAULT_LOCALES
from bot.services.timeparse import (
    example_datetime,
    format_example,
    parse_local_datetime,
    parser_languages,
)
from tests.conftest import ADMIN_ID
from tests.support.live import LiveBot, onboard, tr

BERLIN = ZoneInfo("Europe/Berlin")
THURSDAY = datetime(2026, 11, 26, 15, 0, tzinfo=BERLIN)
SATURDAY_MORNING = datetime(2026, 11, 28, 8, 0, tzinfo=BERLIN)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("locale", "typed", "expected"),
    [
        ("de", "Samstag 10 Uhr", berlin(2026, 11, 28, 10, 0)),
        ("de", "samstag, 10:30 Uhr", berlin(2026, 11, 28, 10, 30)),
        ("de", "am Samstag um 10 Uhr", berlin(2026, 11, 28, 10, 0)),
        ("de", "Sa 10:00", berlin(2026, 11, 28, 10, 0)),
        ("de", "morgen 18:30", berlin(2026, 11, 27, 18, 30)),
        ("de", "übermorgen 9 Uhr", berlin(2026, 11, 28, 9, 0)),
        ("de", "heute 18 Uhr", berlin(2026, 11, 26, 18, 0)),
        ("de", "12.12. 15 Uhr", berlin(2026, 12, 12, 15, 0)),
        ("de", "12. Dezember 15:00", berlin(2026, 12, 12, 15, 0)),
        ("de", "Donnerstag 16:00", berlin(2026, 12, 3, 16, 0)),  # today's weekday: next week
        ("de", "28.11.2026 10:00", berlin(2026, 11, 28, 10, 0)),  # the fixed forms still
        ("de_simple", "Samstag 10 Uhr", berlin(2026, 11, 28, 10, 0)),
        ("en", "Saturday 10am", berlin(2026, 11, 28, 10, 0)),
        ("en", "tomorrow 18:30", berlin(2026, 11, 27, 18, 30)),
        ("en", "Dec 12 3pm", berlin(2026, 12, 12, 15, 0)),
        ("tr", "Cumartesi 10:00", berlin(2026, 11, 28, 10, 0)),
        ("tr", "yarın 18:30", berlin(2026, 11, 27, 18, 30)),
        ("tr", "cumartesi saat 10", berlin(2026, 11, 28, 10, 0)),
        ("tr", "12 Aralık 15:00", berlin(2026, 12, 12, 15, 0)),
        ("ar", "السبت 10:00", berlin(2026, 11, 28, 10, 0)),
        ("ar", "٢٨.١١.٢٠٢٦ ١٠:٠٠", berlin(2026, 11, 28, 10, 0)),  # Arabic-Indic digits
        ("ar", "\u2068٢٨.١١.٢٠٢٦ ١٠:٠٠\u2069", berlin(2026, 11, 28, 10, 0)),  # copied, isolated
        ("fa", "۲۸.۱۱.۲۰۲۶ ۱۰:۰۰", berlin(2026, 11, 28, 10, 0)),  # Persian digits
        ("fa", "فردا 18:30", berlin(2026, 11, 27, 18, 30)),
        ("ru", "суббота 10:00", berlin(2026, 11, 28, 10, 0)),
        ("uk", "завтра 18:30", berlin(2026, 11, 27, 18, 30)),
        ("ku", "12.12. 15 Uhr", berlin(2026, 12, 12, 15, 0)),  # no words for Kurdish: numbers
    ],
)
def test_typed_in_the_coordinators_language(locale: str, typed: str, expected: datetime) -> None:
    result = parse_local_datetime(typed, THURSDAY.astimezone(UTC), BERLIN, (locale, "de"))
    assert result == expected
    assert result is not None and result.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("locale", "typed"),
    [
        ("de", "Samstag"),  # no time of day
        ("de", "morgen"),
        ("en", "tomorrow"),
        ("de", "irgendwann bald"),
        ("de", "next tuesday 25:00"),
        ("de", "Samstag 25 Uhr"),
        ("en", "1700000000"),  # a timestamp is not a date a person types
        ("tr", "Cumartesi " + "x" * 200),
        ("ku", "Samstag 10 Uhr"),  # Kurdish reads only the numeric forms; default language off
    ],
)
def test_nonsense_gives_none(locale: str, typed: str) -> None:
    locales = (locale,) if locale == "ku" else (locale, "de")
    assert parse_local_datetime(typed, THURSDAY, BERLIN, locales) is None


def test_a_language_is_only_read_when_it_is_the_readers_or_the_default() -> None:
    assert parse_local_datetime("Cumartesi 10:00", THURSDAY, BERLIN, ("de",)) is None
    assert parse_local_datetime("Cumartesi 10:00", THURSDAY, BERLIN, ("tr", "de")) == berlin(
        2026, 11, 28, 10, 0
    )
    assert parser_languages(["de_simple", "ku", "de", "tr"]) == ("de", "tr")


def test_the_weekday_of_today_means_next_week_and_heute_today() -> None:
    on_saturday = SATURDAY_MORNING.astimezone(UTC)
    assert parse_local_datetime("Samstag 10 Uhr", on_saturday, BERLIN, ("de",)) == berlin(
        2026, 12, 5, 10, 0
    )
    assert parse_local_datetime("heute 10 Uhr", on_saturday, BERLIN, ("de",)) == berlin(
        2026, 11, 28, 10, 0
    )
    assert parse_local_datetime("Cumartesi 10:00", on_saturday, BERLIN, ("tr",)) == berlin(
        2026, 12, 5, 10, 0
    )


def test_a_past_moment_is_returned_for_the_caller_to_refuse() -> None:
    assert parse_local_datetime("gestern 10 Uhr", THURSDAY, BERLIN, ("de",)) == berlin(
        2026, 11, 25, 10, 0
    )
    assert parse_local_datetime("heute 10 Uhr", THURSDAY, BERLIN, ("de",)) == berlin(
        2026, 11, 26, 10, 0
    )


def test_daylight_saving_in_berlin() -> None:
    before_spring = berlin(2027, 3, 27, 12, 0)  # Saturday; clocks go forward on Sunday at 2:00
    sunday = parse_local_datetime("morgen 10 Uhr", before_spring, BERLIN, ("de",))
    assert sunday == berlin(2027, 3, 28, 10, 0)
    assert sunday is not None and sunday.astimezone(UTC).hour == 8  # CEST, not CET
    assert parse_local_datetime("Sonntag 10:00", before_spring, BERLIN, ("de",)) == sunday
    assert parse_local_datetime("morgen 2:30", before_spring, BERLIN, ("de",)) is None  # skipped
    assert parse_local_datetime("28.03.2027 02:30", before_spring, BERLIN, ("de",)) is None
    before_autumn = berlin(2027, 10, 30, 12, 0)  # clocks go back on Sunday at 3:00
    after = parse_local_datetime("Sunday 10am", before_autumn, BERLIN, ("en",))
    assert after is not None and after.astimezone(UTC) == datetime(2027, 10, 31, 9, 0, tzinfo=UTC)


def test_a_typed_offset_is_converted_into_local_time() -> None:
    at = parse_local_datetime("Saturday 10:00 UTC", THURSDAY, BERLIN, ("en",))
    assert at == berlin(2026, 11, 28, 11, 0)


@pytest.mark.parametrize(
    "now",
    [
        THURSDAY,
        SATURDAY_MORNING,
        berlin(2026, 11, 28, 16, 0),  # Saturday after 15:00
        berlin(2026, 12, 31, 23, 59),  # the example's Saturday is next year
        berlin(2027, 3, 22, 9, 0),  # the week the clocks go forward
    ],
)
@pytest.mark.parametrize("locale", DEFAULT_LOCALES)
def test_the_example_lies_ahead_and_reads_back_in_every_language(
    locale: str, now: datetime
) -> None:
    example = example_datetime(now.astimezone(UTC), BERLIN)
    assert example > now and example.weekday() == 5 and example.hour == 15
    shown = format_example(example, BERLIN)
    assert parse_local_datetime(shown, now.astimezone(UTC), BERLIN, (locale, "de")) == example


async def _compose_until_preview(live_bot: LiveBot, locale: str, typed: str) -> str:
    """/newevent as the coordinator in ``locale``, ``typed`` at the date step, to the preview."""
    coordinator = live_bot.resident("Koordination", locale, ADMIN_ID)
    await onboard(coordinator, locale)
    await coordinator.say("/newevent")
    await coordinator.say("Hoffest")
    await coordinator.tap(coordinator.last.buttons()[-1][1])  # no description
    asked_until = await coordinator.say(typed)
    assert "17:00" in asked_until.text  # read: on to "until what time?"
    await coordinator.say("12:00")
    await coordinator.say("Innenhof")
    await coordinator.tap(coordinator.last.buttons()[-1][1])  # no address
    unlimited = dict(coordinator.last.buttons())[tr(live_bot, locale, "Unlimited")]
    await coordinator.tap(unlimited)
    await coordinator.tap(coordinator.last.buttons()[-1][1])  # no topic
    preview = await coordinator.tap(coordinator.last.buttons()[-1][1])  # no photo
    return preview.text


@pytest.mark.parametrize(("locale", "typed"), [("de", "Samstag 10 Uhr"), ("tr", "Cumartesi 10:00")])
async def test_a_coordinator_types_a_weekday_and_the_preview_shows_that_saturday(
    live_bot: LiveBot, locale: str, typed: str
) -> None:
    assert live_bot.runtime.clock().astimezone(BERLIN).date() == date(2026, 11, 26)  # Thursday
    text = await _compose_until_preview(live_bot, locale, typed)
    t = live_bot.runtime.application.bot_data.i18n.translator(locale)
    saturday = berlin(2026, 11, 28, 10, 0)
    ends = berlin(2026, 11, 28, 12, 0)
    when = f"📅 {t.format_date(saturday, 'full')}, {t.format_time(saturday)}–{t.format_time(ends)}"
    assert when in text, text
