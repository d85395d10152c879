"""Events through the sandbox: sign up with companions, waiting list, promotion, bad input."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.buttons import EventAdminButton
from bot.services.chat_state import PendingInput
from bot.services.events import EventView
from storage.db import create_session_factory
from storage.models import Delivery, Role
from tests.conftest import ADMIN_ID
from tests.support.actors import STAFF
from tests.support.clock import RunningClock
from tests.support.live import LiveBot, onboard, tr

ARABIC = re.compile(r"[\u0600-\u06FF]")


async def published_event(live_bot: LiveBot, capacity: int) -> EventView:
    events = live_bot.runtime.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(
        STAFF, draft.id, "de", title="Hoffest", description="Mit Musik und Kuchen"
    )
    await events.set_version(STAFF, draft.id, "tr", title="Avlu şenliği")
    start = live_bot.runtime.clock() + timedelta(days=3)
    await events.update(
        STAFF,
        draft.id,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        place_name="Innenhof",
        address="Berliner Str. 1",
        latitude=49.99,
        longitude=8.41,
        capacity=capacity,
        topics=["children"],
    )
    return await events.publish(STAFF, draft.id)


async def test_sign_up_waiting_list_and_promotion_in_arabic(live_bot: LiveBot) -> None:
    event = await published_event(live_bot, capacity=4)
    events = live_bot.runtime.services.events
    await events.sign_up(event.id, 790, "de", adults=1)  # someone else: 3 seats left

    ayse = live_bot.resident("Ayşe", "tr", 791)
    omar = live_bot.resident("Omar", "ar", 792)
    await onboard(ayse, "tr")
    await onboard(omar, "ar")

    listing = await ayse.tap("menu:events")
    assert "Avlu şenliği" in listing.text  # the Turkish title
    detail = await ayse.tap(f"ev:show:{event.id}")
    assert "Innenhof" in detail.text
    await ayse.tap(f"ev:join:{event.id}")
    await ayse.tap(f"ev:ad:{event.id}:1")
    await ayse.tap(f"ev:ch:{event.id}:1:2")
    await ayse.tap(f"ev:nd:{event.id}:1:2:2")  # childcare
    await ayse.tap(f"ev:chk:{event.id}:1:2:2")  # the check
    await ayse.tap(f"ev:ok:{event.id}:1:2:2")
    await live_bot.emulator.wait_until(
        lambda: re.search(r"\b([A-Z2-9]{6})\b", ayse.last.text or "") is not None
    )
    code = re.search(r"\b([A-Z2-9]{6})\b", ayse.last.text or "")
    assert code, ayse.last.text
    assert (await events.get(STAFF, event.id)).seats_left == 0

    await omar.say(f"/start event_{event.id}")  # the share link
    # Full: said at once, with the waiting list offered before the party is asked.
    offer = await omar.tap(f"ev:join:{event.id}")
    assert offer.buttons()[0][1] == f"ev:wlq:{event.id}"
    assert ARABIC.search(offer.text) and "ev:ad:" not in str(offer.buttons())
    await omar.tap(f"ev:wlq:{event.id}")
    await omar.tap(f"ev:ad:{event.id}:1")
    await omar.tap(f"ev:ch:{event.id}:1:0")
    check = await omar.tap(f"ev:chk:{event.id}:1:0:0")
    assert f"ev:wl:{event.id}:1:0:0" in [data for _, data in check.buttons()]
    waiting = await omar.tap(f"ev:wl:{event.id}:1:0:0")
    assert ARABIC.search(waiting.text)
    summary = await events.attendees(STAFF, event.id)
    assert len(summary.waitlisted) == 1 and summary.childcare == 1

    await ayse.tap("menu:signups")
    await ayse.tap(f"ev:show:{event.id}")
    await ayse.tap(f"ev:cx:{event.id}")
    await ayse.tap(f"ev:cxy:{event.id}")

    promoted_text = tr(
        live_bot, "ar", "🎉 Good news: a place became free and you are now signed up for"
    )
    await live_bot.emulator.wait_until(
        lambda: any(
            (m.text or "").startswith(promoted_text.split(":")[0])
            for m in live_bot.emulator.bot_messages(792)
        ),
        timeout=15,
    )
    summary = await events.attendees(STAFF, event.id)
    assert [s.telegram_id for s in summary.confirmed] == [790, 792]


async def test_bad_input_changes_nothing(live_bot: LiveBot) -> None:
    event = await published_event(live_bot, capacity=10)
    resident = live_bot.resident("Olena", "uk", 793)
    await onboard(resident, "uk")
    expired = tr(live_bot, "uk", "⚠️ This button is no longer valid. Please send /menu.")
    await resident.tap_forged("ev:show:987654")
    gone = tr(live_bot, "uk", "😕 This event doesn't exist (any more).")
    await live_bot.emulator.wait_until(lambda: resident.last.text == gone)
    assert (await resident.tap_forged("ev:cxy:987654"))["text"] == expired
    # Numbers no button carries don't unpack (bot/buttons.py); a party too large in all is
    # the service's to refuse.
    assert (await resident.tap_forged(f"ev:ok:{event.id}:-1:0:0"))["text"] == expired
    assert (await resident.tap_forged(f"ev:ok:{event.id}:500:0:0"))["text"] == expired
    assert (await resident.tap_forged(f"ev:ok:{event.id}:1:-3:0"))["text"] == expired
    party = tr(live_bot, "uk", "Please choose between 1 and 10 people in all.")
    assert (await resident.tap_forged(f"ev:ok:{event.id}:6:6:0"))["text"] == party
    assert (await live_bot.runtime.services.events.get(STAFF, event.id)).seats_taken == 0

    await resident.say(f"/start event_{event.id}")
    await resident.tap(f"ev:join:{event.id}")
    await resident.tap(f"ev:ad:{event.id}:2")
    await resident.tap(f"ev:ch:{event.id}:2:0")
    await resident.tap(f"ev:chk:{event.id}:2:0:0")
    await resident.tap(f"ev:ok:{event.id}:2:0:0")
    twice = await resident.tap_forged(f"ev:ok:{event.id}:2:0:0")
    assert twice["text"] == tr(live_bot, "uk", "You are already signed up for this event.")
    assert (await live_bot.runtime.services.events.get(STAFF, event.id)).seats_taken == 2


async def test_coordinator_dates_are_checked(live_bot: LiveBot) -> None:
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    await coordinator.say("/newevent")
    await coordinator.say("Nachbarschaftscafé")
    description = coordinator.last.buttons()[-1][1]
    await coordinator.tap(description)
    unreadable = await coordinator.say("next tuesday 25:00")
    assert unreadable.text == tr(
        live_bot, "de", "I couldn't read that. Please write the date and time like {example}."
    ).format(example="28.11.2026 15:00")  # next Saturday 15:00 from the test clock
    past = await coordinator.say("01.01.2020 10:00")
    assert past.text == tr(
        live_bot, "de", "That time has already passed. Please choose a later one."
    )
    next_step = await coordinator.say("24.12.2099 15:00")
    assert "17:00" in next_step.text  # asks until when


async def test_a_reminder_survives_a_restart_and_goes_out_once(tmp_path: Path) -> None:
    from bot.runtime import Runtime
    from bot.sandbox.emulator import BotApiEmulator, SandboxServer
    from tests.conftest import make_settings

    clock = RunningClock()
    emulator = BotApiEmulator(clock=clock)
    emulator.add_user("Maria", "el", user_id=795)
    async with SandboxServer(emulator) as server:
        settings = make_settings(tmp_path, telegram_api_url=server.base_url)
        first = Runtime(settings, serve_http=False, poll_timeout=1, clock=clock)
        await first.start()
        services = first.services
        await services.residents.register(795, "el")
        await services.residents.set_quiet_hours(795, 0, 0)
        events = services.events
        draft = await events.create_draft(STAFF)
        await events.set_version(STAFF, draft.id, "de", title="Elterncafé")
        # The reminder is due 2 s from now: one hour before a start in one hour and 2 s.
        start = clock() + timedelta(hours=1, seconds=2)
        await events.update(STAFF, draft.id, starts_at=start, reminder_hours=1, place_name="Kita")
        await events.publish(STAFF, draft.id)
        await events.sign_up(draft.id, 795, "el", adults=1)
        await first.stop()  # down before the reminder is due

        await asyncio.sleep(2.5)
        second = Runtime(settings, serve_http=False, poll_timeout=1, clock=clock)
        await second.start()
        reminder = second.application.bot_data.i18n.translator("el").gettext(
            "⏰ Reminder: you are signed up for"
        )
        try:
            await emulator.wait_until(
                lambda: any(
                    (m.text or "").startswith(reminder) for m in emulator.bot_messages(795)
                ),
                timeout=15,
            )
            await asyncio.sleep(1.5)
            copies = [m for m in emulator.bot_messages(795) if (m.text or "").startswith(reminder)]
            assert len(copies) == 1 and "Elterncafé" in copies[0].text
        finally:
            await second.stop()


async def test_a_note_with_the_sign_up_and_a_new_place_for_everyone(live_bot: LiveBot) -> None:
    event = await published_event(live_bot, capacity=10)
    events = live_bot.runtime.services.events
    giulia = live_bot.resident("Giulia", "it", 796)
    await onboard(giulia, "it")
    await giulia.say(f"/start event_{event.id}")
    await giulia.tap(f"ev:join:{event.id}")
    await giulia.tap(f"ev:ad:{event.id}:1")
    await giulia.tap(f"ev:ch:{event.id}:1:1")
    await giulia.tap(f"ev:note:{event.id}:1:1:0")
    check = await giulia.say("Porto una torta <b>senza glutine</b>")
    assert "<code>" not in check.text and "senza glutine</b>" in check.text  # escaped, shown
    await giulia.tap(f"ev:ok:{event.id}:1:1:0")
    await live_bot.emulator.wait_until(
        lambda: re.search(r"\b[A-Z2-9]{6}\b", giulia.last.text or "") is not None
    )
    assert "senza glutine</b>" in (giulia.last.text or "")  # the ticket shows the note
    summary = await events.attendees(STAFF, event.id)
    assert [s.note for s in summary.confirmed] == ["Porto una torta <b>senza glutine</b>"]

    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    await coordinator.say(f"/start event_{event.id}")
    await coordinator.tap(f"eva:menu:{event.id}")
    await coordinator.tap(f"eve:{event.id}")
    await coordinator.tap(f"eve:{event.id}:ask:place")
    done = await coordinator.say("Gemeindesaal")
    assert done.text.startswith(tr(live_bot, "de", "✅ Saved."))
    assert tr(live_bot, "de", "Everyone signed up is told in their language.") in done.text
    changed = tr(live_bot, "it", "🔄 This event has changed ({changes}):").split("{")[0]
    await live_bot.emulator.wait_until(
        lambda: any(
            (m.text or "").startswith(changed) and "Gemeindesaal" in (m.text or "")
            for m in live_bot.emulator.bot_messages(796)
        ),
        timeout=15,
    )


async def test_the_event_list_pages_and_filters(live_bot: LiveBot) -> None:
    for _ in range(4):
        await published_event(live_bot, capacity=0)
    resident = live_bot.resident("Jonas", "de", 797)
    await onboard(resident, "de")
    first = await resident.tap("menu:events")
    assert first.text.count("📍") == 3 and ("▶️", "evl:3:all") in first.buttons()
    second = await resident.tap("evl:3:all")
    assert second.text.count("📍") == 1 and ("◀️", "evl:0:all") in second.buttons()
    by_topic = await resident.tap("evl:0:t_seniors")
    assert "📍" not in by_topic.text  # no seniors' events


async def test_a_draft_events_place_is_not_given_to_a_forged_map_button(live_bot: LiveBot) -> None:
    """The hole: ids are sequential, and a map button for a draft's id sent its address."""
    events = live_bot.runtime.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title="Geheimes Treffen")
    await events.update(
        STAFF, draft.id, place_name="Hinterhof", address="Geheimweg 3", latitude=50.0, longitude=8.4
    )
    curious = live_bot.resident("Olena", "uk", 781)
    await onboard(curious, "uk")
    answer = await curious.tap_forged(f"ev:map:{draft.id}")
    assert answer["text"] == tr(
        live_bot, "uk", "⚠️ This button is no longer valid. Please send /menu."
    )
    await curious.tap_forged(f"ev:show:{draft.id}")
    await live_bot.emulator.wait_until(
        lambda: curious.last.text == tr(live_bot, "uk", "😕 This event doesn't exist (any more).")
    )
    await asyncio.sleep(0.5)
    seen = [m for m in live_bot.emulator.bot_messages(781) if m.kind == "venue"]
    assert seen == []
    assert not any("Geheim" in (m.text or "") for m in live_bot.emulator.bot_messages(781))


async def test_a_partner_changing_its_published_event_sends_it_back_not_to_residents(
    live_bot: LiveBot,
) -> None:
    """The hole: a partner's tap on a wizard button changed a published event's capacity
    with no re-approval, and signed-up residents were notified."""
    services = live_bot.runtime.services
    kita = live_bot.resident("Kita Sonne", "de", 782)
    await onboard(kita, "de")
    await services.residents.grant_role(782, Role.PARTNER)
    partner = await services.residents.actor(782)
    proposal = await services.events.create_draft(partner, organiser="Kita Sonne")
    await services.events.set_version(partner, proposal.id, "de", title="Elterncafé")
    start = live_bot.runtime.clock() + timedelta(days=3)
    await services.events.update(
        partner, proposal.id, starts_at=start, place_name="Kita", capacity=10
    )
    await services.events.approve(STAFF, proposal.id)
    await services.events.sign_up(proposal.id, 783, "tr", adults=1)
    # A button from the finished wizard: refused, nothing changes.
    await kita.tap_forged(f"evc:cap:{proposal.id}:20")
    unchanged = await services.events.get(STAFF, proposal.id)
    assert unchanged is not None and unchanged.capacity == 10 and unchanged.status == "published"
    # The wizard open at its capacity step (as when the partner edits the event again).
    await services.chat_state.expect(782, PendingInput("event", "capacity", {"id": proposal.id}))
    await kita.tap_forged(f"evc:cap:{proposal.id}:20")
    view = await services.events.get(STAFF, proposal.id)
    assert view is not None and view.status == "proposed"  # back with the coordinators
    assert [p.id for p in await services.events.proposals(STAFF)] == [proposal.id]
    async with create_session_factory(live_bot.runtime.engine)() as session:
        told = list(
            await session.scalars(
                select(Delivery.source).where(Delivery.source.like(f"event:{proposal.id}:changed%"))
            )
        )
    assert told == []


async def test_a_partners_proposal_reaches_the_coordinator_and_the_decision_the_partner(
    live_bot: LiveBot,
) -> None:
    """Both through the outbox, each in their own language; a double tap tells once."""
    services = live_bot.runtime.services
    coordinator = live_bot.resident("Koordination", "tr", ADMIN_ID)
    await onboard(coordinator, "tr")
    kita = live_bot.resident("Kita Sonne", "ar", 785)
    await onboard(kita, "ar")
    await services.residents.grant_role(785, Role.PARTNER)
    partner = await services.residents.actor(785)
    proposal = await services.events.create_draft(partner, organiser="Kita Sonne")
    await services.events.set_version(partner, proposal.id, "de", title="Elterncafé")
    start = live_bot.runtime.clock() + timedelta(days=3)
    await services.events.update(partner, proposal.id, starts_at=start, place_name="Kita")
    await services.chat_state.expect(785, PendingInput("event", "capacity", {"id": proposal.id}))

    await asyncio.gather(
        kita.tap_forged(f"evc:propose:{proposal.id}"),
        kita.tap_forged(f"evc:propose:{proposal.id}"),
    )
    asks = tr(live_bot, "tr", "📨 A partner organisation asks you to approve this event:")
    await live_bot.emulator.wait_until(
        lambda: any(asks in (m.text or "") for m in live_bot.emulator.bot_messages(ADMIN_ID))
    )
    await asyncio.sleep(0.5)
    notices = [m for m in live_bot.emulator.bot_messages(ADMIN_ID) if asks in (m.text or "")]
    assert len(notices) == 1 and "Elterncafé" in (notices[0].text or "")
    review = EventAdminButton("menu", proposal.id).pack()
    assert review in [data for _, data in notices[0].buttons()]

    await services.events.approve(STAFF, proposal.id)
    approved = tr(live_bot, "ar", "✅ Your event was approved and is now published:")
    await live_bot.emulator.wait_until(
        lambda: any(approved in (m.text or "") for m in live_bot.emulator.bot_messages(785))
    )
