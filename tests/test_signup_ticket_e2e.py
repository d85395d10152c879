"""Signing up reads like a ticket (issue 12): a check before confirming, the ticket as a
message of its own that "My sign-ups" shows again, a full event or a group too large for the
seats left said at once. Through the sandbox, in Turkish and Arabic."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.buttons import CHILDCARE, INTERPRETER
from bot.i18n import Translator
from bot.services.events import EventView
from storage.models import Signup
from tests.support.actors import STAFF
from tests.support.live import LiveBot, LiveResident, onboard
from tests.test_flows_e2e import count

RLM = "\u200f"
TITLES = {"tr": "Avlu şenliği", "ar": "حفلة الفناء"}
NOTES = {"tr": "Glutensiz pasta getiriyorum", "ar": "سأحضر كعكة بلا غلوتين"}
LANGUAGES = pytest.mark.parametrize("locale", ["tr", "ar"])


async def an_event(live_bot: LiveBot, capacity: int) -> EventView:
    events = live_bot.runtime.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title="Hoffest")
    for locale, title in TITLES.items():
        await events.set_version(STAFF, draft.id, locale, title=title)
    start = live_bot.runtime.clock() + timedelta(days=3)
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


def translator(live_bot: LiveBot, locale: str) -> Translator:
    return live_bot.runtime.application.bot_data.i18n.translator(locale)


def party(t: Translator, adults: int, children: int) -> str:
    grown_ups = t.ngettext("{count} adult", "{count} adults", adults)
    kids = t.ngettext("{count} child", "{count} children", children)
    return t.format_list(
        [
            grown_ups.format(count=t.format_number(adults)),
            kids.format(count=t.format_number(children)),
        ]
    )


async def until_the_ticket(live_bot: LiveBot, resident: LiveResident, code: str) -> None:
    await live_bot.emulator.wait_until(lambda: code in (resident.last.text or ""), timeout=10)


async def to_the_needs(resident: LiveResident, event_id: int, adults: int, children: int) -> None:
    await resident.say(f"/start event_{event_id}")
    await resident.tap(f"ev:join:{event_id}")
    await resident.tap(f"ev:ad:{event_id}:{adults}")
    await resident.tap(f"ev:ch:{event_id}:{adults}:{children}")


@LANGUAGES
async def test_the_ticket_names_the_event_and_stays_after_my_signups(
    live_bot: LiveBot, locale: str
) -> None:
    event = await an_event(live_bot, capacity=10)
    t = translator(live_bot, locale)
    resident = live_bot.resident("Ayşe" if locale == "tr" else "Omar", locale, 901)
    await onboard(resident, locale)
    await to_the_needs(resident, event.id, 2, 1)
    needs = INTERPRETER | CHILDCARE
    await resident.tap(f"ev:nd:{event.id}:2:1:{INTERPRETER}")
    await resident.tap(f"ev:nd:{event.id}:2:1:{needs}")
    await resident.tap(f"ev:note:{event.id}:2:1:{needs}")
    await resident.say(NOTES[locale])
    await resident.tap(f"ev:ok:{event.id}:2:1:{needs}")
    signup = await live_bot.runtime.services.events.signup_of(event.id, 901)
    assert signup is not None and signup.note == NOTES[locale]
    await until_the_ticket(live_bot, resident, signup.code)

    ticket = resident.last
    text = ticket.text or ""
    assert ticket.buttons() == [(t.gettext("🗓 Add to calendar"), f"ev:ics:{event.id}")]
    assert event.starts_at is not None and event.ends_at is not None
    for expected in (
        TITLES[locale],
        t.format_date(event.starts_at, "full"),
        t.format_time(event.starts_at),
        t.format_time(event.ends_at),
        "Innenhof",
        "Berliner Str. 1",
        party(t, 2, 1),
        t.gettext("🗣 Interpreter for my language"),
        t.gettext("🧸 Childcare"),
        NOTES[locale],
    ):
        assert expected in text, (expected, text)
    assert t.gettext("♿ Wheelchair access") not in text
    assert text.count(signup.code) == 1

    # "My sign-ups" (from the screen above it) shows the same ticket and leaves it be.
    before = (ticket.message_id, ticket.text, ticket.edit_date, ticket.reply_markup)
    mine = await resident.tap("menu:signups")
    assert mine.message_id != ticket.message_id
    assert text.lstrip(RLM) in (mine.text or "")
    kept = next(m for m in live_bot.emulator.bot_messages(901) if m.message_id == ticket.message_id)
    assert (kept.message_id, kept.text, kept.edit_date, kept.reply_markup) == before
    assert not kept.deleted


@LANGUAGES
async def test_the_check_stores_nothing_until_confirm(live_bot: LiveBot, locale: str) -> None:
    event = await an_event(live_bot, capacity=10)
    t = translator(live_bot, locale)
    resident = live_bot.resident("Ayşe" if locale == "tr" else "Omar", locale, 902)
    await onboard(resident, locale)
    await to_the_needs(resident, event.id, 1, 0)
    await resident.tap(f"ev:note:{event.id}:1:0:0")
    check = await resident.say(NOTES[locale])  # typing the note leads to the check
    assert t.gettext("Please check your sign-up:") in (check.text or "")
    assert NOTES[locale] in (check.text or "") and TITLES[locale] in (check.text or "")
    assert check.buttons() == [
        (t.gettext("✅ Confirm sign-up"), f"ev:ok:{event.id}:1:0:0"),
        (t.gettext("✏️ Change"), f"ev:nd:{event.id}:1:0:0"),
        (t.gettext("✖️ Cancel"), f"ev:stop:{event.id}"),
    ]
    assert await count(live_bot, Signup, Signup.telegram_id == 902) == 0

    # Change goes back to the needs, the note still there; on to the check again.
    needs = await resident.tap(f"ev:nd:{event.id}:1:0:0")
    assert NOTES[locale] in (needs.text or "")
    assert (t.gettext("📝 Change the note"), f"ev:note:{event.id}:1:0:0") in needs.buttons()
    await resident.tap(f"ev:nd:{event.id}:1:0:{CHILDCARE}")
    again = await resident.tap(f"ev:chk:{event.id}:1:0:{CHILDCARE}")
    assert NOTES[locale] in (again.text or "") and t.gettext("🧸 Childcare") in (again.text or "")
    assert await count(live_bot, Signup, Signup.telegram_id == 902) == 0

    # Cancel stores nothing, and the note is gone: later text is not taken for it.
    answers = len(live_bot.emulator.callback_answers())
    await resident.tap(f"ev:stop:{event.id}")
    await live_bot.emulator.wait_until(lambda: len(live_bot.emulator.callback_answers()) > answers)
    said = [a.get("text") for a in live_bot.emulator.callback_answers().values()]
    assert t.gettext("✖️ Cancelled. Nothing was saved.") in said
    later = await resident.say("merhaba" if locale == "tr" else "مرحبا")
    assert t.gettext("Please check your sign-up:") not in (later.text or "")
    assert await count(live_bot, Signup, Signup.telegram_id == 902) == 0

    # Without a note, Continue shows the check too, and only Confirm signs up.
    await to_the_needs(resident, event.id, 1, 0)
    check = await resident.tap(f"ev:chk:{event.id}:1:0:0")
    assert t.gettext("Please check your sign-up:") in (check.text or "")
    assert await count(live_bot, Signup, Signup.telegram_id == 902) == 0
    await resident.tap(f"ev:ok:{event.id}:1:0:0")
    assert await count(live_bot, Signup, Signup.telegram_id == 902) == 1


@LANGUAGES
async def test_a_full_event_offers_the_waiting_list_before_asking_anything(
    live_bot: LiveBot, locale: str
) -> None:
    event = await an_event(live_bot, capacity=2)
    events = live_bot.runtime.services.events
    await events.sign_up(event.id, 950, "de", adults=2)  # all seats taken
    t = translator(live_bot, locale)
    resident = live_bot.resident("Ayşe" if locale == "tr" else "Omar", locale, 903)
    await onboard(resident, locale)
    await resident.say(f"/start event_{event.id}")
    full = await resident.tap(f"ev:join:{event.id}")
    assert t.gettext("🔴 Full: you can join the waiting list.") in (full.text or "")
    assert t.gettext("👥 How many adults are coming, including you?") not in (full.text or "")
    assert full.buttons()[0] == (t.gettext("⏳ Join the waiting list"), f"ev:wlq:{event.id}")
    asked = await resident.tap(f"ev:wlq:{event.id}")
    assert t.gettext("👥 How many adults are coming, including you?") in (asked.text or "")
    await resident.tap(f"ev:ad:{event.id}:1")
    needs = await resident.tap(f"ev:ch:{event.id}:1:1")  # no "not enough" again: the needs
    assert f"ev:chk:{event.id}:1:1:0" in [data for _, data in needs.buttons()]
    check = await resident.tap(f"ev:chk:{event.id}:1:1:0")
    assert (t.gettext("✅ Confirm sign-up"), f"ev:wl:{event.id}:1:1:0") in check.buttons()
    await resident.tap(f"ev:wl:{event.id}:1:1:0")
    signup = await events.signup_of(event.id, 903)
    assert signup is not None and signup.status == "waitlisted"
    # The ticket: its header (which may read like the screen's own line) and the event.
    header = t.gettext("⏳ <b>On the waiting list</b>").replace("<b>", "").replace("</b>", "")
    await live_bot.emulator.wait_until(
        lambda: (
            header in (resident.last.text or "") and TITLES[locale] in (resident.last.text or "")
        )
    )


@LANGUAGES
async def test_a_group_too_large_for_the_seats_left_is_told_at_once(
    live_bot: LiveBot, locale: str
) -> None:
    event = await an_event(live_bot, capacity=3)
    events = live_bot.runtime.services.events
    await events.sign_up(event.id, 951, "de", adults=2)  # one seat left
    t = translator(live_bot, locale)
    resident = live_bot.resident("Ayşe" if locale == "tr" else "Omar", locale, 904)
    await onboard(resident, locale)
    await resident.say(f"/start event_{event.id}")
    await resident.tap(f"ev:join:{event.id}")
    await resident.tap(f"ev:ad:{event.id}:2")
    told = await resident.tap(f"ev:ch:{event.id}:2:1")
    too_few = t.ngettext(
        "😕 Only {count} seat is left, not enough for your group.",
        "😕 Only {count} seats are left, not enough for your group.",
        1,
    ).format(count=t.format_number(1))
    assert too_few in (told.text or "")
    assert told.buttons() == [
        (t.gettext("⏳ Join the waiting list"), f"ev:nd:{event.id}:2:1:0"),
        (t.gettext("👥 Change the group"), f"ev:join:{event.id}"),
        (t.gettext("↩️ Back"), f"ev:show:{event.id}"),
    ]
    # A group that fits goes on to the needs.
    await resident.tap(f"ev:join:{event.id}")
    await resident.tap(f"ev:ad:{event.id}:1")
    needs = await resident.tap(f"ev:ch:{event.id}:1:0")
    assert f"ev:chk:{event.id}:1:0:0" in [data for _, data in needs.buttons()]
    assert await count(live_bot, Signup, Signup.telegram_id == 904) == 0


@LANGUAGES
async def test_double_tapping_confirm_stores_one_sign_up(live_bot: LiveBot, locale: str) -> None:
    event = await an_event(live_bot, capacity=10)
    emulator = live_bot.emulator
    resident = live_bot.resident("Ayşe" if locale == "tr" else "Omar", locale, 905)
    await onboard(resident, locale)
    await to_the_needs(resident, event.id, 2, 0)
    await resident.tap(f"ev:note:{event.id}:2:0:0")
    check = await resident.say(NOTES[locale])
    answered = len(emulator.callback_answers())
    for _ in range(2):
        emulator.press_button(905, check.message_id, f"ev:ok:{event.id}:2:0:0")
    await emulator.wait_until(lambda: len(emulator.callback_answers()) >= answered + 2)
    await asyncio.sleep(0.5)
    assert await count(live_bot, Signup, Signup.telegram_id == 905) == 1
    signup = await live_bot.runtime.services.events.signup_of(event.id, 905)
    assert signup is not None and signup.note == NOTES[locale]
    assert (await live_bot.runtime.services.events.get(STAFF, event.id)).seats_taken == 2
    tickets = [m for m in emulator.bot_messages(905) if signup.code in (m.text or "")]
    assert len(tickets) == 1
