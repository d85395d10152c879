"""A sign-up with a typed note is one step (issue 12): Confirm writes the sign-up and ends the
note flow in one transaction, so neither is ever there without the other. Through the sandbox,
in Turkish and Arabic; the rollback itself through the services' hook."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.chat_state import StepGone
from handlers.flow_data import SignupNote
from handlers.flows import SIGNUP_NOTE
from storage.models import Signup
from tests.support.actors import STAFF
from tests.support.live import LiveBot, LiveResident, onboard
from tests.test_flows_e2e import count
from tests.test_signup_ticket_e2e import NOTES, an_event, to_the_needs, translator

LANGUAGES = pytest.mark.parametrize("locale", ["tr", "ar"])


async def at_the_check(live_bot: LiveBot, locale: str, user_id: int, event_id: int) -> LiveResident:
    resident = live_bot.resident("Ayşe" if locale == "tr" else "Omar", locale, user_id)
    await onboard(resident, locale)
    await to_the_needs(resident, event_id, 1, 0)
    await resident.tap(f"ev:note:{event_id}:1:0:0")
    await resident.say(NOTES[locale])
    return resident


async def note_flow(live_bot: LiveBot, user_id: int) -> SignupNote | None:
    pending = await live_bot.runtime.services.chat_state.get(user_id)
    return SIGNUP_NOTE.read(pending) if pending is not None else None


async def answers(live_bot: LiveBot, before: int) -> list[str | None]:
    emulator = live_bot.emulator
    await emulator.wait_until(lambda: len(emulator.callback_answers()) > before)
    return [a.get("text") for a in emulator.callback_answers().values()]


@LANGUAGES
async def test_confirm_stores_the_sign_up_with_its_note_and_ends_the_flow(
    live_bot: LiveBot, locale: str
) -> None:
    event = await an_event(live_bot, capacity=10)
    resident = await at_the_check(live_bot, locale, 911, event.id)
    held = await note_flow(live_bot, 911)
    assert held == SignupNote(event.id, 1, 0, 0, NOTES[locale])
    await resident.tap(f"ev:ok:{event.id}:1:0:0")
    signup = await live_bot.runtime.services.events.signup_of(event.id, 911)
    assert signup is not None and signup.note == NOTES[locale]
    assert await live_bot.runtime.services.chat_state.get(911) is None
    # Later text is not taken for a note: the flow is over.
    later = await resident.say("merhaba" if locale == "tr" else "مرحبا")
    t = translator(live_bot, locale)
    assert t.gettext("Please check your sign-up:") not in (later.text or "")


@LANGUAGES
async def test_an_event_filled_meanwhile_keeps_the_flow_and_its_note(
    live_bot: LiveBot, locale: str
) -> None:
    event = await an_event(live_bot, capacity=2)
    resident = await at_the_check(live_bot, locale, 912, event.id)
    events = live_bot.runtime.services.events
    await events.sign_up(event.id, 960, "de", adults=2)  # the last seats go meanwhile
    t = translator(live_bot, locale)
    told = await resident.tap(f"ev:ok:{event.id}:1:0:0")
    assert t.gettext("🔴 Full: you can join the waiting list.") in (told.text or "")
    assert await count(live_bot, Signup, Signup.telegram_id == 912) == 0
    # The flow is where it was, note and all: the waiting list takes it from there.
    assert await note_flow(live_bot, 912) == SignupNote(event.id, 1, 0, 0, NOTES[locale])
    await resident.tap(f"ev:wl:{event.id}:1:0:0")
    signup = await events.signup_of(event.id, 912)
    assert signup is not None and signup.status == "waitlisted"
    assert signup.note == NOTES[locale]
    assert await live_bot.runtime.services.chat_state.get(912) is None


@LANGUAGES
async def test_an_event_cancelled_meanwhile_stores_nothing_and_keeps_the_flow(
    live_bot: LiveBot, locale: str
) -> None:
    event = await an_event(live_bot, capacity=10)
    resident = await at_the_check(live_bot, locale, 913, event.id)
    await live_bot.runtime.services.events.cancel(STAFF, event.id)
    t = translator(live_bot, locale)
    before = len(live_bot.emulator.callback_answers())
    live_bot.emulator.press_button(913, resident.last.message_id, f"ev:ok:{event.id}:1:0:0")
    assert t.gettext("Sign-up for this event is closed.") in await answers(live_bot, before)
    assert await count(live_bot, Signup, Signup.telegram_id == 913) == 0
    assert await note_flow(live_bot, 913) == SignupNote(event.id, 1, 0, 0, NOTES[locale])


async def test_a_failure_after_ending_the_flow_rolls_both_back(live_bot: LiveBot) -> None:
    """A crash between the two writes: the hook ends the flow, then the transaction fails."""
    event = await an_event(live_bot, capacity=10)
    services = live_bot.runtime.services
    chat_state = services.chat_state
    data = SignupNote(event.id, 1, 0, 0, "ohne Nüsse")
    await chat_state.expect(914, SIGNUP_NOTE.at("check", data))
    pending = await chat_state.get(914)
    assert pending is not None
    end = chat_state.ending(914, SIGNUP_NOTE.name, ("check",), data=pending.data)

    async def end_then_crash(session: AsyncSession) -> None:
        await end(session)
        raise RuntimeError("the process died here")

    with pytest.raises(RuntimeError):
        await services.events.sign_up(event.id, 914, "de", note=data.note, within=end_then_crash)
    assert await count(live_bot, Signup, Signup.telegram_id == 914) == 0
    assert await note_flow(live_bot, 914) == data  # still open, still claimable

    # A flow that moved on meanwhile (a new note typed) refuses the sign-up of the old one.
    await chat_state.expect(914, SIGNUP_NOTE.at("check", SignupNote(event.id, 1, 0, 0, "neu")))
    with pytest.raises(StepGone):
        await services.events.sign_up(event.id, 914, "de", note=data.note, within=end)
    assert await count(live_bot, Signup, Signup.telegram_id == 914) == 0
    assert (await note_flow(live_bot, 914)) == SignupNote(event.id, 1, 0, 0, "neu")

    # Both at once when it goes through.
    pending = await chat_state.get(914)
    assert pending is not None
    end = chat_state.ending(914, SIGNUP_NOTE.name, ("check",), data=pending.data)
    await services.events.sign_up(event.id, 914, "de", note="neu", within=end)
    assert await count(live_bot, Signup, Signup.telegram_id == 914) == 1
    assert await chat_state.get(914) is None
