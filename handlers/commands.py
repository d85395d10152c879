"""The command menus and /help, from one list: residents' per language (``set_my_commands``
with ``language_code``), staff's per chat (``BotCommandScopeChat``) in their own language: set
again when they change language (handlers/onboarding.py); ``quartierbot admin remove`` deletes
it when their last staff role goes (bot/cli.py)."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat

from bot.i18n import Translator


def resident_commands(t: Translator) -> list[tuple[str, str]]:
    _ = t.gettext
    return [
        ("start", _("Start and choose your language")),
        ("menu", _("Main menu")),
        ("events", _("Upcoming events")),
        ("ideas", _("Ideas for the neighbourhood")),
        ("groups", _("Projects and working groups")),
        ("translate", _("Help translate into your language")),
        ("cancel", _("Stop what you are doing")),
        ("language", _("Change the language")),
        ("settings", _("Your settings")),
        ("privacy", _("Your data and privacy")),
        ("mydata", _("Everything we store about you, as a file")),
        ("stop", _("No more news messages")),
        # Translators: the /help command in Telegram's command menu
        ("help", _("Help")),
    ]


def staff_commands(t: Translator) -> list[tuple[str, str]]:
    """Coordinators' and admins' commands: their own first, then the residents' ones."""
    _ = t.gettext
    own = [
        ("newevent", _("Create an event")),
        ("newgroup", _("Start a project or working group")),
        ("proposals", _("Events proposed by partner organisations")),
        ("ideas", _("Residents' ideas waiting for you")),
        ("broadcast", _("Write to residents")),
        ("roles", _("The team: invite and revoke roles")),
        ("dashboard", _("Log in to the web dashboard")),
        ("ban", _("Ban someone who abuses the bot (their Telegram id)")),
        ("unban", _("Lift a ban")),
        # Translators: /notice in the staff's command menu; only admins may use it
        ("notice", _("The privacy notice: new version (admins)")),
    ]
    names = {name for name, _description in own}
    return own + [item for item in resident_commands(t) if item[0] not in names]


def help_lines(t: Translator, commands: list[tuple[str, str]]) -> str:
    """One line per command: "/events – Upcoming events"."""
    return "\n".join(f"{t.isolate('/' + name)} – {description}" for name, description in commands)


async def set_staff_menu(bot: Bot, chat_id: int, t: Translator) -> None:
    """A staff member's chat gets the staff commands in their language. Telegram's chat scope
    is looked up before the language menus, so no ``language_code``: it shows in any client."""
    commands = [BotCommand(name, description) for name, description in staff_commands(t)]
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))


async def clear_staff_menu(bot: Bot, chat_id: int) -> None:
    """Their last staff role is gone: the chat's own menu is deleted, so Telegram shows them
    the residents' menu in their language again. For a revocation inside the bot; the command
    line (``quartierbot admin remove``) does the same with a bot of its own."""
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
