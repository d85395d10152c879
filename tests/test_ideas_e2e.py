"""Ideas through the sandbox: a voice idea in Arabic, moderation, anonymity, bad input."""

from __future__ import annotations

import re

from tests.conftest import ADMIN_ID
from tests.support.actors import STAFF
from tests.support.live import LiveBot, LiveResident, onboard, tr

ARABIC = re.compile(r"[\u0600-\u06FF]")


async def share(
    resident: LiveResident,
    *,
    voice: bytes | None = None,
    text: str | None = None,
    anonymous: bool = False,
) -> None:
    await resident.tap("menu:idea")
    await resident.tap("idea:new:go")
    before = len(resident.emulator.bot_messages(resident.user_id))
    if voice is not None:
        resident.emulator.send_voice(resident.user_id, voice, duration=3)
        await resident.emulator.wait_for_bot_messages(resident.user_id, before + 1)
    else:
        await resident.say(text or "")
    await resident.tap("idea:topic:environment")
    await resident.tap("idea:place:skip")
    await resident.tap(f"idea:anon:{1 if anonymous else 0}")
    await resident.tap("idea:send:go")


async def test_a_voice_idea_in_arabic_is_planned_and_the_author_told_in_arabic(
    live_bot: LiveBot,
) -> None:
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    omar = live_bot.resident("Omar", "ar", 801)
    await onboard(omar, "ar")
    await share(omar, voice=b"OggS fake voice note")
    thanks = omar.last
    assert ARABIC.search(thanks.text)

    await live_bot.emulator.wait_until(
        lambda: any("العربية" in (m.text or "") for m in live_bot.emulator.bot_messages(ADMIN_ID)),
        timeout=10,
    )
    kinds = [m.kind for m in live_bot.emulator.bot_messages(ADMIN_ID)]
    assert "voice" in kinds  # the original voice note, forwarded as such
    card = next(m for m in live_bot.emulator.bot_messages(ADMIN_ID) if "العربية" in (m.text or ""))
    idea_id = int(re.search(r"idm:st:(\d+):", str(card.reply_markup)).group(1))
    await coordinator.tap(f"idm:st:{idea_id}:planned")

    planned = tr(live_bot, "ar", "🗓 planned")
    await live_bot.emulator.wait_until(
        lambda: any(planned in (m.text or "") for m in live_bot.emulator.bot_messages(801)),
        timeout=15,
    )


async def test_an_anonymous_author_stays_unknown_to_coordinators(live_bot: LiveBot) -> None:
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    author = live_bot.resident("Geheimnisvolle Nachbarin", "tr", 802)
    await onboard(author, "tr")
    await share(author, text="Mehr Bänke im Park, bitte", anonymous=True)
    await live_bot.emulator.wait_until(
        lambda: any(
            "Mehr Bänke" in (m.text or "") for m in live_bot.emulator.bot_messages(ADMIN_ID)
        ),
        timeout=10,
    )
    await coordinator.say("/ideas")
    seen = " ".join(
        f"{m.text} {m.caption} {m.reply_markup} {m.entities}"
        for m in live_bot.emulator.bot_messages(ADMIN_ID)
    )
    assert "802" not in seen and "Geheimnisvolle" not in seen
    for idea in await live_bot.runtime.services.ideas.inbox(STAFF):
        assert idea.author_id is None and "802" not in repr(idea)


async def test_bad_input_gets_clear_answers(live_bot: LiveBot) -> None:
    resident = live_bot.resident("Olena", "uk", 803)
    await onboard(resident, "uk")
    await resident.tap("menu:idea")
    await resident.tap("idea:new:go")
    too_long = await resident.say("x" * 10_000)
    assert too_long.text == tr(
        live_bot, "uk", "That is too long: please keep your idea under {limit} characters."
    ).format(limit="2\u00a0000")
    before = len(live_bot.emulator.bot_messages(803))
    live_bot.emulator.send_sticker(803)
    await live_bot.emulator.wait_for_bot_messages(803, before + 1)
    assert resident.last.text == tr(
        live_bot, "uk", "Please send your idea as text, a voice message or a photo."
    )
    expired = tr(live_bot, "uk", "⚠️ This button is no longer valid. Please send /menu.")
    assert (await resident.tap_forged("ids:987654"))["text"] == expired
    refused = tr(live_bot, "uk", "💡 Only coordinators can do this.")
    assert (await resident.tap_forged("idm:st:1:done"))["text"] == refused
    cancelled = await resident.say("/cancel")
    assert cancelled.text == tr(live_bot, "uk", "✖️ Cancelled. Nothing was saved.")
    assert await live_bot.runtime.services.ideas.inbox(STAFF) == []
