"""An idea's card keeps its author's first name (the stored one, unless the idea is anonymous)
and its original voice note in every view: the new card, after publishing, after a status
change, and in /ideas."""

from __future__ import annotations

import re

from bot.sandbox.emulator import SandboxMessage
from tests.conftest import ADMIN_ID
from tests.support.live import LiveBot, LiveResident, onboard, tr
from tests.test_ideas_e2e import share


def _card(messages: list[SandboxMessage], idea_id: int) -> SandboxMessage:
    """The newest card of this idea (the one with its moderation buttons)."""
    return next(m for m in reversed(messages) if f"idm:st:{idea_id}:planned" in str(m.reply_markup))


async def _first_card(live_bot: LiveBot, needle: str) -> tuple[int, SandboxMessage]:
    await live_bot.emulator.wait_until(
        lambda: any(
            needle in (m.text or "") and m.reply_markup
            for m in live_bot.emulator.bot_messages(ADMIN_ID)
        ),
        timeout=10,
    )
    card = next(
        m
        for m in live_bot.emulator.bot_messages(ADMIN_ID)
        if needle in (m.text or "") and m.reply_markup
    )
    found = re.search(r"idm:st:(\d+):", str(card.reply_markup))
    assert found is not None
    return int(found.group(1)), card


async def _coordinator(live_bot: LiveBot) -> LiveResident:
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    return coordinator


async def test_the_card_keeps_its_author_and_voice_in_every_view(live_bot: LiveBot) -> None:
    coordinator = await _coordinator(live_bot)
    omar = live_bot.resident("Omar", "ar", 841)
    await onboard(omar, "ar")
    await share(omar, voice=b"OggS a voice note about a bench")
    arabic = "العربية"
    idea_id, card = await _first_card(live_bot, arabic)
    from_omar = tr(live_bot, "de", "From: {name}").format(name="Omar")
    assert from_omar in (card.text or "")

    published = await coordinator.tap(f"idm:pub:{idea_id}")
    assert from_omar in (published.text or "")
    assert "Koordination" not in (published.text or "")  # not the coordinator's own name

    before = len(live_bot.emulator.bot_messages(ADMIN_ID))
    await coordinator.say("/ideas")
    await live_bot.emulator.wait_until(
        lambda: any(
            f"idm:st:{idea_id}:planned" in str(m.reply_markup)
            for m in live_bot.emulator.bot_messages(ADMIN_ID)[before:]
        ),
        timeout=10,
    )
    listed = live_bot.emulator.bot_messages(ADMIN_ID)[before:]
    inbox_card = _card(listed, idea_id)
    assert from_omar in (inbox_card.text or "")
    voice = [m for m in listed if m.kind == "voice"]
    assert voice and listed.index(voice[0]) < listed.index(inbox_card)  # the voice first
    assert arabic in (voice[0].caption or "")

    planned = await coordinator.tap(f"idm:st:{idea_id}:planned")
    assert from_omar in (planned.text or "")
    assert tr(live_bot, "de", "🗓 planned") in (planned.text or "")


async def test_an_anonymous_idea_stays_anonymous_in_every_view(live_bot: LiveBot) -> None:
    coordinator = await _coordinator(live_bot)
    author = live_bot.resident("Geheimnisvolle Nachbarin", "tr", 842)
    await onboard(author, "tr")
    await share(author, text="Ein Trinkbrunnen am Spielplatz", anonymous=True)
    idea_id, _first = await _first_card(live_bot, "Trinkbrunnen")
    await coordinator.tap(f"idm:pub:{idea_id}")
    await coordinator.say("/ideas")
    await coordinator.tap(f"idm:st:{idea_id}:planned")
    anonymous = tr(live_bot, "de", "Sent anonymously")
    cards = [
        m for m in live_bot.emulator.bot_messages(ADMIN_ID) if "Trinkbrunnen" in (m.text or "")
    ]
    assert len(cards) >= 2 and all(anonymous in (m.text or "") for m in cards)
    seen = " ".join(
        f"{m.text} {m.caption} {m.reply_markup} {m.entities}"
        for m in live_bot.emulator.bot_messages(ADMIN_ID)
    )
    assert "842" not in seen and "Geheimnisvolle" not in seen
    assert tr(live_bot, "de", "From: {name}").split("{")[0] not in seen
