"""A staff member's command menu follows the person (issue 12): set again in the language they
switch to in /settings, deleted when `quartierbot admin remove` takes their last staff role, so
they see the residents' menu again. Through the sandbox (its getMyCommands answers as Telegram
does)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from telegram import BotCommandScopeChat

from bot.cli import main
from handlers.commands import resident_commands, staff_commands
from storage.models import Role
from tests.support.live import LiveBot, onboard
from tests.test_signup_ticket_e2e import translator

COORDINATOR_ID = 931
REVOKE = ("admin", "remove", str(COORDINATOR_ID), "--role", "coordinator")


async def chat_menu(live_bot: LiveBot, chat_id: int) -> list[tuple[str, str]]:
    bot = live_bot.runtime.application.bot
    commands = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id))
    return [(c.command, c.description) for c in commands]


async def quartierbot(
    live_bot: LiveBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str
) -> None:
    """The command line against the running bot's database and the sandbox."""
    settings = live_bot.runtime.settings
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TELEGRAM_API_URL", settings.telegram_api_url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", settings.token or "")
    assert await asyncio.to_thread(main, list(args)) == 0


async def test_the_menu_follows_the_language_and_goes_with_the_last_staff_role(
    live_bot: LiveBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    residents = live_bot.runtime.services.residents
    await residents.grant_role(COORDINATOR_ID, Role.COORDINATOR)
    person = live_bot.resident("Dilek", "de", COORDINATOR_ID)
    await onboard(person, "de")
    assert await chat_menu(live_bot, COORDINATOR_ID) == staff_commands(translator(live_bot, "de"))

    # Settings → Language → العربية: the chat's menu is now in Arabic, and so on to Turkish.
    for locale in ("ar", "tr"):
        await person.say("/settings")
        await person.tap("set:language")
        await person.tap(f"lang:{locale}")
        expected = staff_commands(translator(live_bot, locale))
        assert await chat_menu(live_bot, COORDINATOR_ID) == expected

    # The coordinator role revoked: no staff role left, so the chat's own menu goes and
    # Telegram shows the residents' menu in their language (Turkish) again.
    await quartierbot(live_bot, monkeypatch, tmp_path, *REVOKE)
    out = capsys.readouterr().out
    assert f"{COORDINATOR_ID} is no longer coordinator" in out
    assert "menu is removed" in out
    assert await chat_menu(live_bot, COORDINATOR_ID) == []
    bot = live_bot.runtime.application.bot
    turkish = await bot.get_my_commands(language_code="tr")
    assert [(c.command, c.description) for c in turkish] == resident_commands(
        translator(live_bot, "tr")
    )


async def test_another_staff_role_left_keeps_the_menu(
    live_bot: LiveBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    residents = live_bot.runtime.services.residents
    await residents.grant_role(COORDINATOR_ID, Role.COORDINATOR)
    await residents.grant_role(COORDINATOR_ID, Role.ADMIN)
    person = live_bot.resident("Dilek", "ar", COORDINATOR_ID)
    await onboard(person, "ar")
    staff = staff_commands(translator(live_bot, "ar"))
    assert await chat_menu(live_bot, COORDINATOR_ID) == staff
    await quartierbot(live_bot, monkeypatch, tmp_path, *REVOKE)
    assert "menu" not in capsys.readouterr().out  # still an admin: nothing to change
    assert await chat_menu(live_bot, COORDINATOR_ID) == staff
