"""The real bot, unchanged, against the sandbox over HTTP: what a resident sees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.runtime import Runtime
from bot.sandbox.emulator import BotApiEmulator, SandboxServer
from tests.conftest import webhook_settings
from tests.support.clock import RunningClock
from tests.support.live import LiveBot, LiveResident, onboard, tr

ARABIC = re.compile(r"[\u0600-\u06FF]")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@pytest.mark.parametrize(
    ("locale", "name", "script"),
    [
        ("de", "Jonas", re.compile("[äöüÄÖÜß]|Hauptmenü")),
        ("tr", "Ayşe", re.compile("[çğışöüÇĞİŞÖÜ]")),
        ("ar", "Omar", ARABIC),
    ],
)
async def test_onboarding_in_the_residents_language(
    live_bot: LiveBot, locale: str, name: str, script: re.Pattern[str]
) -> None:
    resident = live_bot.resident(name, locale, 700 + len(name))
    picker = await resident.say("/start")
    assert picker.buttons()[0][1] == f"lang:{locale}"  # Telegram's language suggested first
    assert name in picker.text and script.search(picker.text), picker.text

    notice = await resident.tap(f"lang:{locale}")
    assert script.search(notice.text), notice.text
    assert "<b>" not in notice.text and notice.entities  # HTML rendered, not shown as tags

    topics = await resident.tap(f"consent:yes:{locale}")
    assert script.search(topics.text)
    menu = await resident.tap("topics:done")
    assert menu.text == tr(
        live_bot, locale, "🏠 <b>Main menu</b>\nWhat would you like to do?"
    ).replace("<b>", "").replace("</b>", "")
    assert menu.buttons()[0][0] == tr(live_bot, locale, "📅 Events")
    stored = await live_bot.runtime.services.residents.get(resident.user_id)
    assert stored is not None and stored.locale == locale


async def test_arabic_menu_is_right_to_left_text(live_bot: LiveBot) -> None:
    resident = live_bot.resident("Omar <b>Smith</b>", "ar", 801)
    await onboard(resident, "ar", quiet_hours=True)
    menu = resident.last
    assert ARABIC.search(menu.text)
    labels = [label for label, _ in menu.buttons()]
    assert all(ARABIC.search(label) for label in labels), labels
    picker = await resident.say("/start")  # already onboarded: straight to the menu
    assert picker.text == menu.text


async def test_switching_language_later(live_bot: LiveBot) -> None:
    resident = live_bot.resident("Olena", "uk", 802)
    await onboard(resident, "uk", quiet_hours=True)
    assert CYRILLIC.search(resident.last.text)
    await resident.say("/language")
    menu = await resident.tap("lang:de")
    assert menu.text.startswith("🏠") and not CYRILLIC.search(menu.text)
    assert menu.text == tr(
        live_bot, "de", "🏠 <b>Main menu</b>\nWhat would you like to do?"
    ).replace("<b>", "").replace("</b>", "")
    help_message = await resident.say("/help")
    assert not CYRILLIC.search(help_message.text) and "/privacy" in help_message.text


async def test_declining_consent_stores_nothing(live_bot: LiveBot) -> None:
    resident = live_bot.resident("Maryam", "fa", 803)
    await resident.say("/start")
    await resident.tap("lang:fa")
    declined = await resident.tap("consent:no:fa")
    assert ARABIC.search(declined.text)  # Persian, in Arabic script
    assert await live_bot.runtime.services.residents.get(803) is None
    assert await live_bot.runtime.services.residents.count() == 0
    reply = await resident.say("سلام")
    assert reply.text.startswith("👋")
    assert await live_bot.runtime.services.residents.count() == 0


async def test_bad_input_gets_translated_answers_and_nothing_breaks(live_bot: LiveBot) -> None:
    resident = live_bot.resident("<script>alert(1)</script>", "tr", 804)
    picker = await resident.say("/start")
    assert "<script>alert(1)</script>" in picker.text  # shown as text, escaped on the wire
    hint = await resident.say("merhaba, ne yapmalıyım?")  # typed while the picker is open
    assert hint.text == tr(live_bot, "tr", "👋 To begin, send /start and choose your language.")
    await onboard(resident, "tr", quiet_hours=True)

    answer = await resident.tap_forged("consent:yes:xx")
    assert answer["text"] == tr(
        live_bot, "tr", "⚠️ This button is no longer valid. Please send /menu."
    )
    answer = await resident.tap_forged("privacy:delete;--")
    assert answer["text"] == tr(
        live_bot, "tr", "⚠️ This button is no longer valid. Please send /menu."
    )
    assert await live_bot.runtime.services.residents.get(804) is not None

    not_understood = tr(
        live_bot,
        "tr",
        "Sorry, I didn't understand that. 🙂\n"
        "Please use the buttons, or send /menu. /help shows everything I can do.",
    )
    long_reply = await resident.say("x" * 5000)
    assert long_reply.text == not_understood
    before = len(live_bot.emulator.bot_messages(804))
    live_bot.emulator.send_sticker(804)
    await live_bot.emulator.wait_for_bot_messages(804, before + 1)
    assert resident.last.text == not_understood
    assert await live_bot.runtime.services.residents.get(804) is not None


async def test_command_menus_in_every_language(live_bot: LiveBot) -> None:
    calls = [params for method, params in live_bot.emulator.calls if method == "setMyCommands"]
    languages = {params.get("language_code") for params in calls}
    assert languages == {
        None,
        "de",
        "tr",
        "ar",
        "uk",
        "el",
        "ro",
        "pl",
        "it",
        "fa",
        "ku",
        "ru",
        "en",
    }


async def test_webhook_mode_receives_updates_with_the_secret(tmp_path: Path) -> None:
    emulator = BotApiEmulator()
    async with SandboxServer(emulator) as server:
        settings = webhook_settings(tmp_path, server.base_url, "webhook-secret-123")
        async with Runtime(settings, clock=RunningClock()) as runtime:
            resident = LiveResident(emulator, 900)
            emulator.add_user("Giulia", "it", user_id=900)
            picker = await resident.say("/start")
            assert picker.buttons()[0] == ("Italiano", "lang:it")
            async with ClientSession() as http:
                forged = await http.post(str(settings.webhook_url), json={"update_id": 1})
                assert forged.status == 403
                health = await http.get(f"http://127.0.0.1:{runtime.http_port}/health")
                assert health.status == 200
