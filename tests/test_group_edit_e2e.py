"""Editing a group through the sandbox, in German and Arabic: the coordinator, who leads the
group, changes its meeting time (the Arabic member is told once, in Arabic), changes a help
task's capacity and removes it (its Arabic holder is told), and hands the lead to that member,
who then finds the edit screen without the coordinators' lead button; bad input changes
nothing, and stale or foreign taps are refused.

The notices' new strings may not be translated into Arabic yet: a notice is compared with what
the running bot's Arabic catalog says (its fixed parts, whatever language they are in today),
and checked for Arabic script only once the catalog translates it."""

from __future__ import annotations

import asyncio
import re

from bot.bidi import RLM, begins_rtl
from bot.sandbox.emulator import SandboxMessage
from bot.services.groups import GroupView
from tests.conftest import ADMIN_ID
from tests.support.actors import STAFF
from tests.support.live import LiveBot, onboard, tr

ARABIC = re.compile(r"[\u0600-\u06FF]")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z]+>")
OMAR = 903


async def raised_beds(live_bot: LiveBot) -> GroupView:
    groups = live_bot.runtime.services.groups
    group = await groups.create(
        STAFF,
        "project",
        name="Hochbeete im Hof",
        description="Wir gärtnern zusammen.",
        rhythm="dienstags 17 Uhr",
        topic="environment",
        lead_id=ADMIN_ID,
        locale="de",
    )
    return await groups.add_slot(STAFF, group.id, "Gießen", 3, locale="de")


def reads_as(live_bot: LiveBot, locale: str, msgid: str, text: str) -> bool:
    """Whether ``text`` is ``msgid`` as the bot's catalog for ``locale`` writes it: every
    fixed part of the translation is there, in order (tags and placeholders aside)."""
    template = TAG.sub("", tr(live_bot, locale, msgid))
    at = 0
    for piece in (p.strip() for p in PLACEHOLDER.split(template)):
        if not piece:
            continue
        found = text.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def in_arabic(live_bot: LiveBot, msgid: str, message: SandboxMessage) -> None:
    text = message.text or ""
    assert begins_rtl(text), text  # an Arabic reader's message begins right to left
    assert reads_as(live_bot, "ar", msgid, text), (msgid, text)
    if tr(live_bot, "ar", msgid) != msgid:  # translated by now: then it is Arabic
        assert ARABIC.search(TAG.sub("", PLACEHOLDER.sub("", text)))


def seen(live_bot: LiveBot, chat_id: int) -> int:
    return len(live_bot.emulator.bot_messages(chat_id))


async def notice(live_bot: LiveBot, chat_id: int, before: int) -> SandboxMessage:
    """The one message the outbox sent to someone who was not using the bot meanwhile."""
    await live_bot.emulator.wait_until(lambda: seen(live_bot, chat_id) > before, timeout=15)
    await asyncio.sleep(0.5)  # long enough for a second copy to arrive, if there were one
    (found,) = live_bot.emulator.bot_messages(chat_id)[before:]  # once
    return found


async def test_edit_a_group_in_german_and_tell_the_arabic_member(live_bot: LiveBot) -> None:
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    omar = live_bot.resident("Omar", "ar", OMAR)
    await onboard(coordinator, "de")
    await onboard(omar, "ar")
    group = await raised_beds(live_bot)
    slot = group.slots[0]
    services = live_bot.runtime.services
    await omar.say(f"/start project_{group.id}")
    await omar.tap(f"grp:join:{group.id}")
    page = await omar.tap(f"grp:slot:{group.id}:{slot.id}")
    assert f"gre:open:{group.id}" not in [data for _, data in page.buttons()]
    only_leads = tr(live_bot, "ar", "🤝 Only the group's lead and coordinators can do this.")
    assert (await omar.tap_forged(f"gre:open:{group.id}"))["text"] == only_leads
    assert (await omar.tap_forged(f"gre:rmok:{group.id}:{slot.id}"))["text"] == only_leads

    # The coordinator leads the group: its page has ✏️ Edit, and the edit screen a button for
    # everything that can change.
    page = await coordinator.say(f"/start project_{group.id}")
    assert (tr(live_bot, "de", "✏️ Edit"), f"gre:open:{group.id}") in page.buttons()
    screen = await coordinator.tap(f"gre:open:{group.id}")
    assert "dienstags 17 Uhr" in (screen.text or "")
    assert {data for _, data in screen.buttons()} == {
        *(f"gre:{action}:{group.id}" for action in ("name", "desc", "rhythm", "topics", "leads")),
        f"gre:slot:{group.id}:{slot.id}",
        f"grp:show:{group.id}",
    }

    # A new meeting time: too long first (nothing changes), then sent twice at once.
    prompt = await coordinator.tap(f"gre:rhythm:{group.id}")
    assert "dienstags 17 Uhr" in (prompt.text or "")
    refused = await coordinator.say("x" * 201)
    assert refused.text == tr(
        live_bot, "de", "That is too long: please use at most {limit} characters."
    ).format(limit="200")
    before = seen(live_bot, OMAR)
    for _ in range(2):
        live_bot.emulator.send_text(ADMIN_ID, "mittwochs 18 Uhr")
    told = await notice(live_bot, OMAR, before)
    assert "mittwochs 18 Uhr" in (told.text or "")
    in_arabic(live_bot, "🔄 {name}: now meets {rhythm}", told)
    assert ("grp:show:" + str(group.id)) in [data for _, data in told.buttons()]
    saved = tr(live_bot, "de", "✅ Saved. Everyone concerned is told in their language.")
    await live_bot.emulator.wait_until(
        lambda: any(saved in (m.text or "") for m in live_bot.emulator.bot_messages(ADMIN_ID))
    )
    confirmed = [m for m in live_bot.emulator.bot_messages(ADMIN_ID) if saved in (m.text or "")]
    assert len(confirmed) == 1 and "mittwochs 18 Uhr" in (confirmed[0].text or "")
    assert f"gre:rhythm:{group.id}" in [data for _, data in confirmed[0].buttons()]
    version = (await services.groups.get(group.id)).versions["de"]  # type: ignore[union-attr]
    assert version.rhythm == "mittwochs 18 Uhr"

    # The help task: a capacity that isn't a number or is out of range is refused, 5 is saved.
    task = await coordinator.tap(f"gre:slot:{group.id}:{slot.id}")
    assert {data for _, data in task.buttons()} == {
        f"gre:label:{group.id}:{slot.id}",
        f"gre:cap:{group.id}:{slot.id}",
        f"gre:rm:{group.id}:{slot.id}",
        f"gre:open:{group.id}",
    }
    await coordinator.tap(f"gre:cap:{group.id}:{slot.id}")
    range_text = tr(live_bot, "de", "Please send a number from 1 to {max}.").format(max="100")
    assert (await coordinator.say("viele")).text == range_text
    assert (await coordinator.say("0")).text == range_text
    done = await coordinator.say("5")
    assert (done.text or "").startswith("✅ " + tr(live_bot, "de", "Saved"))
    assert (await services.groups.get(group.id)).slots[0].capacity == 5  # type: ignore[union-attr]

    # Removing it: asked first, then its holder is told in Arabic; a second tap is stale.
    await coordinator.tap(f"gre:slot:{group.id}:{slot.id}")
    await coordinator.tap(f"gre:rm:{group.id}:{slot.id}")
    before = seen(live_bot, OMAR)
    after = await coordinator.tap(f"gre:rmok:{group.id}:{slot.id}")
    assert f"gre:slot:{group.id}:{slot.id}" not in [data for _, data in after.buttons()]
    removed = await notice(live_bot, OMAR, before)
    assert "Gießen" in (removed.text or "")
    in_arabic(
        live_bot,
        "🗑 {name}: the help task {task} has been removed. Thank you for offering your help!",
        removed,
    )
    assert (await services.groups.get(group.id)).slots == ()  # type: ignore[union-attr]
    expired = tr(live_bot, "de", "⚠️ This button is no longer valid. Please send /menu.")
    assert (await coordinator.tap_forged(f"gre:rmok:{group.id}:{slot.id}"))["text"] == expired

    # The lead goes to Omar, chosen by his first name; he is told in Arabic.
    await coordinator.tap(f"gre:open:{group.id}")
    picker = await coordinator.tap(f"gre:leads:{group.id}")
    assert any("Omar" in text for text, data in picker.buttons() if data.endswith(f":{OMAR}"))
    assert f"gre:me:{group.id}" not in [data for _, data in picker.buttons()]  # leads already
    before = seen(live_bot, OMAR)
    await coordinator.tap(f"gre:lead:{group.id}:{OMAR}")
    given = await notice(live_bot, OMAR, before)
    in_arabic(
        live_bot,
        "🤝 You now lead {name}. Your tools (members, messages, help tasks) are on its page.",
        given,
    )
    assert (await services.groups.get(group.id)).lead_id == OMAR  # type: ignore[union-attr]

    # Omar now edits it, without the coordinators' lead button.
    page = await omar.say(f"/start project_{group.id}")
    screen = await omar.tap(f"gre:open:{group.id}")
    assert f"gre:leads:{group.id}" not in [data for _, data in screen.buttons()]
    only_staff = tr(live_bot, "ar", "🤝 Only coordinators can hand a group to a new lead.")
    # (begins right to left, as an Arabic alert must, while the string is still English)
    assert (await omar.tap_forged(f"gre:me:{group.id}"))["text"].removeprefix(RLM) == only_staff
    await omar.tap(f"gre:topics:{group.id}")
    await omar.tap(f"gre:topic:{group.id}:none")
    assert (await services.groups.get(group.id)).topic is None  # type: ignore[union-attr]


async def test_the_old_lead_is_told_and_loses_the_edit_screen(live_bot: LiveBot) -> None:
    """A resident who led the group (in Arabic) hears who leads it now, and their old edit
    screen's buttons are refused."""
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    omar = live_bot.resident("Omar", "ar", OMAR)
    jonas = live_bot.resident("Jonas", "de", 904)
    for person, locale in [(coordinator, "de"), (omar, "ar"), (jonas, "de")]:
        await onboard(person, locale)
    group = await raised_beds(live_bot)
    services = live_bot.runtime.services
    for person in (omar, jonas):
        await person.say(f"/start project_{group.id}")
        await person.tap(f"grp:join:{group.id}")
    before = seen(live_bot, OMAR)
    await services.groups.set_lead(STAFF, group.id, OMAR)  # the coordinator is not a member
    await notice(live_bot, OMAR, before)  # "you now lead …"
    await omar.say(f"/start project_{group.id}")
    await omar.tap(f"gre:open:{group.id}")

    await coordinator.say(f"/start project_{group.id}")
    await coordinator.tap(f"gre:open:{group.id}")
    picker = await coordinator.tap(f"gre:leads:{group.id}")
    assert f"gre:me:{group.id}" in [data for _, data in picker.buttons()]
    before = seen(live_bot, OMAR), seen(live_bot, 904)
    await coordinator.tap(f"gre:lead:{group.id}:904")
    handed = await notice(live_bot, OMAR, before[0])
    assert "Jonas" in (handed.text or "")
    in_arabic(live_bot, "🤝 {person} now leads {name}. Thank you for leading it!", handed)
    given = await notice(live_bot, 904, before[1])
    assert reads_as(
        live_bot,
        "de",
        "🤝 You now lead {name}. Your tools (members, messages, help tasks) are on its page.",
        given.text or "",
    )
    only_leads = tr(live_bot, "ar", "🤝 Only the group's lead and coordinators can do this.")
    assert (await omar.tap_forged(f"gre:rhythm:{group.id}"))["text"] == only_leads
    # The coordinator takes it themselves ("me"): Jonas is told, the coordinator isn't.
    await coordinator.tap(f"gre:leads:{group.id}")
    before = seen(live_bot, 904), seen(live_bot, ADMIN_ID)
    await coordinator.tap(f"gre:me:{group.id}")
    assert (await services.groups.get(group.id)).lead_id == ADMIN_ID  # type: ignore[union-attr]
    handed = await notice(live_bot, 904, before[0])
    assert "Koordination" in (handed.text or "")
    assert seen(live_bot, ADMIN_ID) == before[1]  # the screen was edited; no notice to them
