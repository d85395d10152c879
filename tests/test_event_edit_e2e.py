"""Editing a published event through the sandbox (issue 12, point 7): every field has a button
on the edit screen, and a change reaches the people it concerns in their own language."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.services.events import EventView
from storage.db import create_session_factory
from storage.models import Delivery, DeliveryState, SignupStatus
from tests.conftest import ADMIN_ID
from tests.support.actors import STAFF
from tests.support.live import LiveBot, LiveResident, onboard, tr

ARABIC = re.compile(r"[\u0600-\u06FF]")


async def _event(live_bot: LiveBot, capacity: int) -> EventView:
    events = live_bot.runtime.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title="Hoffest", description="Mit Musik")
    start = live_bot.runtime.clock() + timedelta(days=5)
    await events.update(
        STAFF,
        draft.id,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place_name="Innenhof",
        address="Berliner Str. 1",
        capacity=capacity,
    )
    return await events.publish(STAFF, draft.id)


def _texts(live_bot: LiveBot, chat: int) -> list[str]:
    return [m.text or "" for m in live_bot.emulator.bot_messages(chat)]


def _what(live_bot: LiveBot, locale: str, change: str) -> str:
    t = live_bot.runtime.application.bot_data.i18n.translator(locale)
    return str(t.pgettext("what changed", change))


def _changed_prefix(live_bot: LiveBot, locale: str) -> str:
    return tr(live_bot, locale, "🔄 This event has changed ({changes}):").split("{")[0]


async def _coordinator(live_bot: LiveBot) -> LiveResident:
    """Onboarded before anyone signs up: the organiser's fill alerts, which sign-ups send
    through the outbox, would otherwise arrive in the middle of the onboarding screens."""
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    return coordinator


async def _coordinator_on_edit_screen(live_bot: LiveBot, event: EventView) -> LiveResident:
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await coordinator.say(f"/start event_{event.id}")
    menu = await coordinator.tap(f"eva:menu:{event.id}")
    assert (tr(live_bot, "de", "✏️ Change the details"), f"eve:{event.id}") in menu.buttons()
    screen = await coordinator.tap(f"eve:{event.id}")
    datas = {data for _label, data in screen.buttons()}
    for field in ("title", "description", "when", "until", "place", "address", "capacity"):
        assert f"eve:{event.id}:ask:{field}" in datas
    for field in ("reminder", "opens", "closes", "topic", "photo"):
        assert f"eve:{event.id}:ask:{field}" in datas
    return coordinator


async def test_a_new_title_and_place_reach_everyone_signed_up_in_their_language(
    live_bot: LiveBot,
) -> None:
    event = await _event(live_bot, capacity=10)
    events = live_bot.runtime.services.events
    await _coordinator(live_bot)
    omar = live_bot.resident("Omar", "ar", 1801)
    jonas = live_bot.resident("Jonas", "de", 1802)
    await onboard(omar, "ar")
    await onboard(jonas, "de")
    await events.sign_up(event.id, 1801, "ar", adults=1)
    await events.sign_up(event.id, 1802, "de", adults=2)
    coordinator = await _coordinator_on_edit_screen(live_bot, event)

    await coordinator.tap(f"eve:{event.id}:ask:title")
    saved = await coordinator.say("Sommerfest im Hof")
    assert saved.text.startswith(tr(live_bot, "de", "✅ Saved."))
    assert tr(live_bot, "de", "Everyone signed up is told in their language.") in saved.text
    assert "Sommerfest im Hof" in saved.text  # the screen shows the event as it is now

    ar_changed, de_changed = _changed_prefix(live_bot, "ar"), _changed_prefix(live_bot, "de")
    await live_bot.emulator.wait_until(
        lambda: (
            any(ar_changed in t for t in _texts(live_bot, 1801))
            and any(de_changed in t for t in _texts(live_bot, 1802))
        ),
        timeout=15,
    )
    notice = next(t for t in _texts(live_bot, 1801) if ar_changed in t)
    assert ARABIC.search(notice) and "Sommerfest im Hof" in notice
    assert _what(live_bot, "ar", "the title") in notice  # says what changed

    # The same title again changes nothing, so nobody is told twice.
    await coordinator.tap(f"eve:{event.id}:ask:title")
    await coordinator.say("Sommerfest im Hof")
    await coordinator.tap(f"eve:{event.id}:ask:address")
    await coordinator.tap(f"eve:{event.id}:clear:address")  # the address goes: a new place
    await live_bot.emulator.wait_until(
        lambda: sum(ar_changed in t for t in _texts(live_bot, 1801)) == 2, timeout=15
    )
    second = [t for t in _texts(live_bot, 1801) if ar_changed in t][-1]
    assert _what(live_bot, "ar", "the place") in second and "Berliner Str" not in second
    assert (await events.get(STAFF, event.id)).address is None


async def test_fewer_seats_than_taken_is_refused_and_more_seats_move_the_waiting_list_up(
    live_bot: LiveBot,
) -> None:
    event = await _event(live_bot, capacity=3)
    events = live_bot.runtime.services.events
    await _coordinator(live_bot)
    ayse = live_bot.resident("Ayşe", "tr", 1803)
    await onboard(ayse, "tr")
    await events.sign_up(event.id, 1804, "de", adults=3)
    waiting = await events.sign_up(event.id, 1803, "tr", adults=1, waitlist=True)
    assert waiting.signup.status == SignupStatus.WAITLISTED
    # The event is full: its organiser's alert comes through the outbox; let it arrive before
    # the coordinator's next screen, which it would otherwise interrupt.
    await live_bot.emulator.wait_until(
        lambda: any("📈" in t for t in _texts(live_bot, ADMIN_ID)), timeout=15
    )
    coordinator = await _coordinator_on_edit_screen(live_bot, event)

    await coordinator.tap(f"eve:{event.id}:ask:capacity")
    refused = await coordinator.say("2")
    assert refused.text.startswith("👥 3 ") and "evc:cap" not in str(refused.buttons())
    assert (await events.get(STAFF, event.id)).capacity == 3  # unchanged

    screen = await coordinator.tap(f"evc:cap:{event.id}:10")
    assert screen.text.startswith(tr(live_bot, "de", "✅ Saved."))
    good_news = tr(
        live_bot, "tr", "🎉 Good news: a place became free and you are now signed up for"
    )
    await live_bot.emulator.wait_until(
        lambda: any(good_news in t for t in _texts(live_bot, 1803)), timeout=15
    )
    assert (await events.get(STAFF, event.id)).capacity == 10


async def test_reminder_time_and_sign_up_window_from_the_edit_screen(live_bot: LiveBot) -> None:
    event = await _event(live_bot, capacity=0)
    events = live_bot.runtime.services.events
    await _coordinator(live_bot)
    await events.sign_up(event.id, 1805, "de", adults=1)
    coordinator = await _coordinator_on_edit_screen(live_bot, event)

    await coordinator.tap(f"eve:{event.id}:ask:reminder")
    screen = await coordinator.tap(f"eve:{event.id}:remind:2")
    assert screen.text.startswith(tr(live_bot, "de", "✅ Saved."))
    sessions = create_session_factory(live_bot.runtime.engine)
    async with sessions() as session:
        reminders = (
            await session.scalars(
                select(Delivery).where(
                    Delivery.source.like(f"event:{event.id}:reminder:%"),
                    Delivery.state == DeliveryState.PENDING,
                )
            )
        ).all()
    assert event.starts_at is not None
    assert [r.not_before for r in reminders] == [event.starts_at - timedelta(hours=2)]

    await coordinator.tap(f"eve:{event.id}:ask:closes")
    past = await coordinator.say("01.01.2020 10:00")
    assert past.text == tr(
        live_bot, "de", "That time has already passed. Please choose a later one."
    )
    closes = event.starts_at - timedelta(days=1)
    local = closes.astimezone(live_bot.runtime.settings.tz)
    await coordinator.say(local.strftime("%d.%m.%Y %H:%M"))
    saved_close = (await events.get(STAFF, event.id)).signup_closes_at
    assert saved_close == closes.replace(second=0, microsecond=0)
    screen = await coordinator.tap(f"eve:{event.id}:clear:closes")
    assert (await events.get(STAFF, event.id)).signup_closes_at is None
    assert screen.text.startswith(tr(live_bot, "de", "✅ Saved."))


async def test_a_resident_cannot_edit_with_a_forged_button(live_bot: LiveBot) -> None:
    event = await _event(live_bot, capacity=5)
    events = live_bot.runtime.services.events
    omar = live_bot.resident("Omar", "ar", 1806)
    await onboard(omar, "ar")
    for data in (f"eve:{event.id}", f"eve:{event.id}:ask:title", f"eve:{event.id}:remind:0"):
        answer = await omar.tap_forged(data)
        assert ARABIC.search(answer.get("text") or "")  # refused, in Arabic
    await omar.say("Gestohlen")
    after = await events.get(STAFF, event.id)
    assert after.reminder_hours == 24 and after.version_for("de").title == "Hoffest"  # type: ignore[union-attr]
