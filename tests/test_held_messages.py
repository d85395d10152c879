"""Nothing held back without a word (issue 12): what waits for quiet hours is counted and its
time named, an announcement repeated reaches only those who hadn't had it, switching quiet
hours off releases what waited for them at once; one fill alert per sign-up; the reminder and
"still coming?" never arrive together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bidi import begins_rtl
from bot.buttons import BroadcastButton, EventComposerButton
from bot.services.delivery import DeliveryService, Held
from bot.services.events import EventService
from bot.services.residents import ResidentService
from handlers.broadcast.progress import held_line
from storage.db import create_session_factory
from storage.models import Delivery, DeliveryState
from tests.conftest import ADMIN_ID, BotHarness, make_settings
from tests.support import updates
from tests.support.actors import COORDINATOR, STAFF
from tests.support.clock import BERLIN, FixedClock, RunningClock
from tests.support.live import LiveBot, LiveResident, onboard
from tests.test_events_service import LOCALES, FakeRenderer, clean_engine, published, rows

__all__ = ["clean_engine"]

#: Thursday 22:34 in Berlin: inside the default quiet hours (21:00-08:00).
LATE = datetime(2026, 11, 26, 22, 34, tzinfo=BERLIN)
MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=BERLIN)
#: When a world's delivery service woke its engines (after a commit).
WOKEN: list[datetime] = []


def world(engine: AsyncEngine, clock: FixedClock) -> tuple[ResidentService, EventService]:
    sessions = create_session_factory(engine)
    delivery = DeliveryService(sessions, clock=clock)
    delivery.add_listener(lambda: WOKEN.append(clock()))
    residents = ResidentService(sessions, delivery=delivery, tz=BERLIN, clock=clock)
    events = EventService(
        sessions,
        delivery,
        FakeRenderer(),
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        clock=clock,
    )
    return residents, events


async def test_the_announcement_counts_what_waits_and_a_repeat_reaches_only_the_new(
    clean_engine: AsyncEngine,
) -> None:
    clock = FixedClock(LATE)
    residents, events = world(clean_engine, clock)
    for telegram_id, locale in [(1, "de"), (2, "ar"), (3, "tr"), (4, "de")]:
        await residents.register(telegram_id, locale)  # quiet hours 21:00-08:00
    await residents.set_quiet_hours(4, 0, 0)  # the fourth has none
    event = await published(events, starts_at=LATE + timedelta(days=3))

    # Waiting for its translations until 22:34, it would find three of them asleep; at noon, none.
    assert await events.announce_quiet_at({}, LATE) == Held(3, MORNING)
    assert await events.announce_quiet_at({}, MORNING + timedelta(hours=4)) == Held(0, None)

    first = await events.announce(COORDINATOR, event.id, {})
    assert (first.new, first.already) == (4, 0)
    assert first.queued == {"de": 2, "ar": 1, "tr": 1}
    assert (first.held, first.held_until) == (3, MORNING)

    # Announced again: nobody gets it twice, and the answer says so.
    again = await events.announce(COORDINATOR, event.id, {})
    assert (again.new, again.already, again.held) == (0, 4, 3)
    assert len(await rows(clean_engine, f"event:{event.id}:announce")) == 4

    # A new resident (and one who turned quiet hours off meanwhile): only the new one is told.
    await residents.register(5, "ar")
    await residents.set_quiet_hours(5, 0, 0)
    third = await events.announce(COORDINATOR, event.id, {})
    assert (third.queued, third.already, third.held) == ({"ar": 1}, 4, 3)
    told = await rows(clean_engine, f"event:{event.id}:announce")
    assert sorted(d.chat_id for d, _ in told) == [1, 2, 3, 4, 5]


async def test_quiet_hours_off_releases_what_waited_but_keeps_reminders_at_their_time(
    clean_engine: AsyncEngine,
) -> None:
    clock = FixedClock(LATE)
    residents, events = world(clean_engine, clock)
    await residents.register(1, "ar")
    await residents.register(2, "de")
    event = await published(events, starts_at=LATE + timedelta(days=3))
    await events.sign_up(event.id, 1, "ar")
    await events.announce(COORDINATOR, event.id, {})
    source = f"event:{event.id}:announce"
    delivery = DeliveryService(create_session_factory(clean_engine), clock=clock)
    assert await delivery.held(source) == Held(2, MORNING)

    WOKEN.clear()
    await residents.set_quiet_hours(1, 0, 0)
    assert WOKEN == [LATE]  # the engine is woken, after the commit
    by_chat = {d.chat_id: d for d, _ in await rows(clean_engine, source)}
    assert by_chat[1].not_before == LATE and by_chat[1].state == DeliveryState.PENDING
    assert by_chat[2].not_before == MORNING  # the other resident still sleeps
    assert await delivery.held(source) == Held(1, MORNING)
    # Her reminder stays where it was (Sunday 08:00, after the quiet hours it was planned
    # around): reminders are due at their own time, not held.
    (reminder,) = await rows(clean_engine, f"event:{event.id}:reminder:")
    assert reminder[0].not_before == MORNING + timedelta(days=2)

    # Other hours re-time what waits: 22:00-07:00 holds it until 07:00, 20:00-22:00 frees it.
    await residents.set_quiet_hours(2, 22 * 60, 7 * 60)
    assert {d.chat_id: d.not_before for d, _ in await rows(clean_engine, source)}[2] == (
        MORNING - timedelta(hours=1)
    )
    await residents.set_quiet_hours(2, 20 * 60, 22 * 60)
    assert {d.chat_id: d.not_before for d, _ in await rows(clean_engine, source)}[2] == LATE
    assert await delivery.held(source) == Held(0, None)


NOON = datetime(2026, 11, 26, 12, 0)


@pytest.mark.parametrize(
    ("now", "quiet", "starts", "asked"),
    [
        # An evening event: the reminder (Saturday 18:00) is far from the check (Saturday
        # 10:00); both stay.
        (NOON, (0, 0), datetime(2026, 11, 29, 18, 0), datetime(2026, 11, 28, 10, 0)),
        # A morning event at 10:00: the reminder comes Saturday 10:00, with the check; the
        # check moves three hours ahead of it...
        (NOON, (0, 0), datetime(2026, 11, 29, 10, 0), datetime(2026, 11, 28, 7, 0)),
        # ...or, when 07:00 is in the resident's quiet hours, to before those begin.
        (NOON, (21 * 60, 8 * 60), datetime(2026, 11, 29, 10, 0), datetime(2026, 11, 27, 20, 30)),
        (NOON, (21 * 60, 8 * 60), datetime(2026, 11, 29, 11, 30), datetime(2026, 11, 28, 8, 30)),
        # Signed up at 09:30 for tomorrow noon: the reminder comes today at 12:00, the check
        # would move to 09:00, which has passed; so the reminder alone comes.
        (datetime(2026, 11, 26, 9, 30), (0, 0), datetime(2026, 11, 27, 12, 0), None),
    ],
)
async def test_the_reminder_and_still_coming_are_at_least_three_hours_apart(
    clean_engine: AsyncEngine,
    now: datetime,
    quiet: tuple[int, int],
    starts: datetime,
    asked: datetime | None,
) -> None:
    clock = FixedClock(now.replace(tzinfo=BERLIN))
    residents, events = world(clean_engine, clock)
    await residents.register(1, "tr")
    await residents.set_quiet_hours(1, *quiet)
    event = await published(events, starts_at=starts.replace(tzinfo=BERLIN))
    await events.sign_up(event.id, 1, "tr")
    (reminder,) = await rows(clean_engine, f"event:{event.id}:reminder:")
    still = [d.not_before for d, _ in await rows(clean_engine, f"event:{event.id}:still:")]
    assert still == ([] if asked is None else [asked.replace(tzinfo=BERLIN)])
    if still:
        assert abs(reminder[0].not_before - still[0]) >= timedelta(hours=3)


# --- through the bot, against the sandbox, late in the evening -----------------------------


@pytest.fixture
async def late_bot(tmp_path: Path) -> AsyncIterator[LiveBot]:
    """The real runtime against the sandbox, its clock running from Thursday 22:34."""
    from bot.runtime import Runtime
    from bot.sandbox.emulator import BotApiEmulator, SandboxServer

    clock = RunningClock(LATE)
    emulator = BotApiEmulator(clock=clock)
    server = SandboxServer(emulator)
    await server.start()
    settings = make_settings(
        tmp_path, telegram_api_url=server.base_url, telegram_bot_token="654321:LIVE"
    )
    runtime = Runtime(settings, serve_http=False, poll_timeout=1, clock=clock)
    try:
        await runtime.start()
        yield LiveBot(emulator, runtime)
    finally:
        await runtime.stop()
        await server.stop()


async def _press(person: LiveResident, data: str) -> str:
    """Tap a button as the bot's own keyboards would carry it; returns the answer."""
    before = person._screen()
    person.emulator.press_button(person.user_id, person.last.message_id, data)
    answer = await person._until_screen_changes(before, data)
    return answer.text or ""


def _told(live: LiveBot, person: LiveResident, title: str) -> int:
    return sum(title in (m.text or "") for m in live.emulator.bot_messages(person.user_id))


async def test_the_coordinator_hears_what_waits_and_quiet_hours_off_releases_it(
    late_bot: LiveBot,
) -> None:
    live, services = late_bot, late_bot.runtime.services
    i18n = live.runtime.application.bot_data.i18n
    admin = live.resident("Amal", "ar", ADMIN_ID)
    await onboard(admin, "ar")  # the coordinator reads Arabic, without quiet hours
    emre = live.resident("Emre", "tr", 821)
    await onboard(emre, "tr", quiet_hours=True)  # asleep at 22:34
    lena = live.resident("Lena", "de", 822)
    await onboard(lena, "de")

    draft = await services.events.create_draft(STAFF)
    await services.events.set_version(STAFF, draft.id, "de", title="Hoffest", description="…")
    await services.events.update(
        STAFF, draft.id, starts_at=LATE + timedelta(days=3), place_name="Innenhof"
    )
    event = await services.events.publish(STAFF, draft.id)
    announce = EventComposerButton("ann", event.id, audience="all").pack()

    ar = i18n.translator("ar")
    text = await _press(admin, announce)
    assert (
        ar.ngettext("{count} resident", "{count} residents", 3).format(count=ar.format_number(3))
        in text
    )
    assert held_line(ar, 1, MORNING) in text  # "1 waits for quiet hours, goes out at 08:00"
    assert begins_rtl(text)  # right to left
    await live.emulator.wait_until(lambda: _told(live, lena, "Hoffest") == 1)
    assert _told(live, emre, "Hoffest") == 0

    # A broadcast sent now: its progress says why one message is still waiting.
    actor = await services.residents.actor(ADMIN_ID)
    draft_bc = await services.broadcasts.create_draft(actor)
    await services.broadcasts.set_version(actor, draft_bc.id, "de", text="Hallo Nachbarn")
    text = await _press(admin, BroadcastButton("go", draft_bc.id).pack())
    assert held_line(ar, 1, MORNING) in text and begins_rtl(text)
    await live.emulator.wait_until(lambda: _told(live, lena, "Hallo Nachbarn") == 1)

    # Emre switches quiet hours off: what waited comes at once, not in the morning.
    await emre.say("/settings")
    await emre.tap("set:quiet")
    await emre.tap("quiet:off")
    await live.emulator.wait_until(lambda: _told(live, emre, "Hoffest") == 1, timeout=10)
    await live.emulator.wait_until(lambda: _told(live, emre, "Hallo Nachbarn") == 1, timeout=10)
    text = await _press(admin, BroadcastButton("prog", draft_bc.id).pack())
    assert "🌙" not in text
    # The broadcast's end edits its progress message, whenever the engine sees it: wait for
    # that edit, so that it isn't taken for the answer to the next tap (seen in CI).
    refresh = BroadcastButton("prog", draft_bc.id).pack()
    await live.emulator.wait_until(
        lambda: refresh not in [data for _, data in admin.last.buttons()], timeout=10
    )

    # A new neighbour; announced again (the coordinator now reads German): only she is told,
    # and the answer gives both numbers.
    nora = live.resident("Nora", "de", 823)
    await onboard(nora, "de")
    await services.residents.set_locale(ADMIN_ID, "de")
    de = i18n.translator("de")
    text = await _press(admin, announce)
    assert de.ngettext("{count} resident", "{count} residents", 1).format(count="1") in text
    assert (
        de.ngettext(
            "✔️ {count} resident had it already.", "✔️ {count} residents had it already.", 3
        ).format(count="3")
        in text
    )
    assert "🌙" not in text  # nothing waits any more
    await live.emulator.wait_until(lambda: _told(live, nora, "Hoffest") == 1)
    assert [_told(live, p, "Hoffest") for p in (lena, emre)] == [1, 1]
    async with create_session_factory(live.runtime.engine)() as session:
        count = await session.scalar(
            select(func.count()).where(Delivery.source == f"{event.source}:announce")
        )
    assert count == 4


async def test_a_morning_events_check_comes_the_evening_before_not_with_its_reminder(
    harness: BotHarness,
) -> None:
    """Signed up through the bot for Sunday 10:00 (reminder Saturday 10:00, 24 hours ahead):
    "still coming?" comes Friday 20:30, before her quiet hours (21:00-08:00), not with it."""
    services = harness.application.bot_data.services
    layla = updates.user(1201, "Layla", "ar")
    await harness.send(layla, "/start")
    await harness.tap(layla, "lang:ar")
    await harness.tap(layla, "consent:yes:ar")
    await harness.tap(layla, "topics:done")
    draft = await services.events.create_draft(STAFF)
    await services.events.set_version(STAFF, draft.id, "de", title="Frühstück")
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=BERLIN)
    await services.events.update(STAFF, draft.id, starts_at=sunday, place_name="Innenhof")
    event = await services.events.publish(STAFF, draft.id)

    await harness.tap(layla, f"ev:ok:{event.id}:1:0:0")
    signup = await services.events.signup_of(event.id, layla["id"])
    assert signup is not None and signup.code in harness.request.last_message().text
    async with create_session_factory(harness.engine)() as session:
        due = dict(
            (source.split(":")[2], at)
            for source, at in await session.execute(
                select(Delivery.source, Delivery.not_before).where(
                    Delivery.chat_id == layla["id"], Delivery.source.like(f"event:{event.id}:%")
                )
            )
        )
    assert due == {
        "reminder": sunday - timedelta(days=1),
        "still": datetime(2026, 11, 27, 20, 30, tzinfo=BERLIN),
    }
