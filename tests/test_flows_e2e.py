"""Multi-step flows through the sandbox: they end on any command, Back or the main menu,
expire, refuse buttons from finished flows, and act once on double and concurrent taps.

Each test replays what was seen when the bot was tried as a new user would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update

from bot.services.chat_state import FLOW_TTL
from storage.db import create_session_factory
from storage.models import ChatState, Group, Idea, Signup
from tests.conftest import ADMIN_ID
from tests.support.actors import STAFF
from tests.support.live import LiveBot, LiveResident, onboard, tr

EXPIRED = "⚠️ This button is no longer valid. Please send /menu."
STALE = "⌛ That was a while ago, so let's start again: /menu"


async def count(live_bot: LiveBot, model: type, *where: object) -> int:
    async with create_session_factory(live_bot.runtime.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def published_event(live_bot: LiveBot) -> int:
    events = live_bot.runtime.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title="Hoffest")
    start = live_bot.runtime.clock() + timedelta(days=3)
    await events.update(STAFF, draft.id, starts_at=start, place_name="Hof", capacity=20)
    await events.publish(STAFF, draft.id)
    return draft.id


async def forge(live_bot: LiveBot, telegram_id: int, flow: str, step: str, data: object) -> None:
    """A chat_states row as an older version, or someone tampering with it, might leave it."""
    row = ChatState(
        telegram_id=telegram_id,
        flow=flow,
        step=step,
        data=data,
        updated_at=live_bot.runtime.clock(),
    )
    async with create_session_factory(live_bot.runtime.engine).begin() as session:
        await session.merge(row)


async def newgroup_until_topic(live_bot: LiveBot, kind: str, name: str) -> LiveResident:
    """The coordinator's /newgroup up to the step that waits for a topic."""
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    await coordinator.say("/newgroup")
    await coordinator.tap(f"grn:kind:{kind}")
    await coordinator.say(name)
    await coordinator.say("Wir machen es zusammen.")
    return coordinator


async def test_a_note_left_with_back_and_menu_is_not_taken_from_later_text(
    live_bot: LiveBot,
) -> None:
    """Seen: tap "Add a note", then "Back", send /menu, type "merhaba": the bot answered
    "Kaydınız yapıldı!" and stored a confirmed sign-up with that note."""
    event_id = await published_event(live_bot)
    ayse = live_bot.resident("Ayşe", "tr", 811)
    await onboard(ayse, "tr")
    await ayse.say(f"/start event_{event_id}")
    await ayse.tap(f"ev:join:{event_id}")
    await ayse.tap(f"ev:ad:{event_id}:1")
    await ayse.tap(f"ev:ch:{event_id}:1:0")
    await ayse.tap(f"ev:note:{event_id}:1:0:0")
    await ayse.tap(f"ev:show:{event_id}")  # ↩️ Back
    await ayse.say("/menu")
    answer = await ayse.say("merhaba")
    assert answer.text == tr(
        live_bot,
        "tr",
        "Sorry, I didn't understand that. 🙂\n"
        "Please use the buttons, or send /menu. /help shows everything I can do.",
    )
    assert await count(live_bot, Signup, Signup.telegram_id == 811) == 0
    # Back alone ends the note too.
    await ayse.say(f"/start event_{event_id}")
    await ayse.tap(f"ev:join:{event_id}")
    await ayse.tap(f"ev:ad:{event_id}:1")
    await ayse.tap(f"ev:ch:{event_id}:1:0")
    await ayse.tap(f"ev:note:{event_id}:1:0:0")
    await ayse.tap(f"ev:show:{event_id}")
    await ayse.say("merhaba")
    assert await count(live_bot, Signup, Signup.telegram_id == 811) == 0


async def test_an_old_skip_from_a_finished_wizard_changes_nothing(live_bot: LiveBot) -> None:
    """Seen: an old "⏭ Skip" from a finished /newevent reopened the wizard on the published
    event and moved it a day (residents were told)."""
    event_id = await published_event(live_bot)
    before = await live_bot.runtime.services.events.get(STAFF, event_id)
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    for step in ("description", "until", "address", "topic", "photo"):
        answer = await coordinator.tap_forged(f"evc:skip:{event_id}:{step}")
        assert answer["text"] == tr(live_bot, "de", EXPIRED)
    for data in (f"evc:cap:{event_id}:50", f"evc:topic:{event_id}:children"):
        assert (await coordinator.tap_forged(data))["text"] == tr(live_bot, "de", EXPIRED)
    after = await live_bot.runtime.services.events.get(STAFF, event_id)
    assert after == before
    assert await live_bot.runtime.services.chat_state.get(ADMIN_ID) is None


async def test_typed_text_at_a_tap_step_gets_an_answer_and_the_next_tap_works(
    live_bot: LiveBot,
) -> None:
    """Seen: in /newgroup, typed text at the topic step got no answer, and the next tap said
    "something went wrong" (the query was answered twice)."""
    coordinator = await newgroup_until_topic(live_bot, "group", "Nachbarschaftsgarten")
    answer = await coordinator.say("Umwelt")
    assert answer.text == tr(live_bot, "de", "Please use the buttons above, or send /cancel.")
    rhythm = await coordinator.tap("grn:topic:environment")
    assert rhythm.text == tr(
        live_bot, "de", "🗓 When do you meet? For example: every Tuesday at 17:00."
    )
    wrong = tr(live_bot, "de", "😕 Something went wrong on our side. Please try again in a moment.")
    assert not any(m.text == wrong for m in live_bot.emulator.bot_messages(ADMIN_ID))


async def test_double_and_triple_taps_act_once(live_bot: LiveBot) -> None:
    """Seen: double taps on a button that opens a typed step raised an IntegrityError (26 of
    40 tries); three taps on "send idea" stored three ideas; three taps on the last /newgroup
    step created three groups."""
    emulator = live_bot.emulator
    omar = live_bot.resident("Omar", "ar", 821)
    await onboard(omar, "ar")
    menu = await omar.say("/menu")
    answered = len(emulator.callback_answers())
    for _ in range(2):  # two taps at once on a button that opens a typed step
        emulator.press_button(821, menu.message_id, "idea:new:go")
    await emulator.wait_until(lambda: len(emulator.callback_answers()) >= answered + 2)
    await asyncio.sleep(0.3)  # both replies written
    await omar.say("نافورة مياه للشرب في الحديقة")
    await omar.tap("idea:topic:environment")
    await omar.tap("idea:place:skip")
    summary = await omar.tap("idea:anon:0")
    for _ in range(3):
        emulator.press_button(821, summary.message_id, "idea:send:go")
    await asyncio.sleep(1.5)
    assert await count(live_bot, Idea, Idea.author_telegram_id == 821) == 1
    wrong = tr(live_bot, "ar", "😕 Something went wrong on our side. Please try again in a moment.")
    assert not any(m.text == wrong for m in emulator.bot_messages(821))

    coordinator = await newgroup_until_topic(live_bot, "project", "Straßenfest")
    rhythm = await coordinator.tap("grn:topic:culture_sport")
    for _ in range(3):
        emulator.press_button(ADMIN_ID, rhythm.message_id, "grn:skip:rhythm")
    await asyncio.sleep(1.5)
    assert await count(live_bot, Group) == 1


async def test_an_idle_flow_expires_with_a_friendly_word(live_bot: LiveBot) -> None:
    maria = live_bot.resident("Maria", "el", 831)
    await onboard(maria, "el")
    await maria.tap("menu:idea")
    await maria.tap("idea:new:go")
    async with create_session_factory(live_bot.runtime.engine).begin() as session:
        await session.execute(  # as if she had left it for longer than the flow waits
            update(ChatState)
            .where(ChatState.telegram_id == 831)
            .values(updated_at=live_bot.runtime.clock() - FLOW_TTL - timedelta(minutes=1))
        )
    answer = await maria.say("Ένα παγκάκι στη στάση")
    assert answer.text == tr(live_bot, "el", "⌛ That was a while ago, so let's start again: /menu")
    assert await count(live_bot, Idea, Idea.author_telegram_id == 831) == 0
    assert await live_bot.runtime.services.chat_state.get(831) is None


async def test_typed_text_on_a_row_that_does_not_read_starts_again_and_stores_nothing(
    live_bot: LiveBot,
) -> None:
    """A step whose data is ill-typed (the event's id as text) or incomplete (a note without
    its party) is a stale flow: the resident hears "let's start again", it is ended, and
    nothing is written."""
    services = live_bot.runtime.services
    draft = await services.events.create_draft(STAFF)
    before = await services.events.get(STAFF, draft.id)
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    await forge(live_bot, ADMIN_ID, "event", "title", {"id": str(draft.id)})
    answer = await coordinator.say("Hoffest")
    assert answer.text == tr(live_bot, "de", STALE)
    assert await services.events.get(STAFF, draft.id) == before
    assert await services.chat_state.get(ADMIN_ID) is None

    event_id = await published_event(live_bot)
    ayse = live_bot.resident("Ayşe", "tr", 811)
    await onboard(ayse, "tr")
    await forge(live_bot, 811, "signup_note", "note", {"id": event_id, "adults": 1})
    answer = await ayse.say("Vejetaryen yemek getiriyorum")
    assert answer.text == tr(live_bot, "tr", STALE)
    assert await count(live_bot, Signup, Signup.telegram_id == 811) == 0
    assert await services.chat_state.get(811) is None


async def test_a_tap_on_a_row_that_does_not_read_is_refused_and_stores_nothing(
    live_bot: LiveBot,
) -> None:
    services = live_bot.runtime.services
    omar = live_bot.resident("Omar", "ar", 821)
    await onboard(omar, "ar")
    await forge(live_bot, 821, "idea", "confirm", {"text": "نافورة مياه", "anonymous": "no"})
    answer = await omar.tap_forged("idea:send:go")
    assert answer["text"] == tr(live_bot, "ar", EXPIRED)
    assert await count(live_bot, Idea, Idea.author_telegram_id == 821) == 0
    assert await services.chat_state.get(821) is None

    event_id = await published_event(live_bot)
    before = await services.events.get(STAFF, event_id)
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    await forge(live_bot, ADMIN_ID, "event", "capacity", {"id": str(event_id)})
    answer = await coordinator.tap_forged(f"evc:cap:{event_id}:50")
    assert answer["text"] == tr(live_bot, "de", EXPIRED)
    assert await services.events.get(STAFF, event_id) == before
    assert await services.chat_state.get(ADMIN_ID) is None
