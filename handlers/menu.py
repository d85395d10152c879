"""The main menu, help, and the entries whose features are still to come."""

from __future__ import annotations

from telegram import Update

from bot.buttons import MenuButton
from bot.context import BotContext
from handlers import keyboards
from handlers.commands import help_lines, resident_commands, set_staff_menu, staff_commands
from handlers.render import for_residents, not_started, show
from handlers.shared.events import list_events, my_signups
from handlers.shared.groups import list_groups
from handlers.shared.home import show_menu
from handlers.shared.ideas import ideas_home


async def menu_command(update: Update, context: BotContext) -> None:
    if context.resident is None:
        await not_started(update, context)
        return
    await show_menu(update, context)


def help_text(context: BotContext) -> str:
    """Every command the reader may use, one line each, from the command menus' own lists."""
    t = context.t
    commands = staff_commands(t) if context.actor.is_staff else resident_commands(t)
    return (
        t.gettext("ℹ️ <b>How this bot works</b>\nTap the buttons, or send one of these commands:")
        + "\n"
        + help_lines(t, commands)
    )


async def help_command(update: Update, context: BotContext) -> None:
    keyboard = keyboards.back_to_menu(context.t) if context.resident else None
    chat = update.effective_chat
    if context.actor.is_staff and chat is not None:
        await set_staff_menu(context.bot, chat.id, context.t)
    await show(update, help_text(context), keyboard)


async def events_command(update: Update, context: BotContext) -> None:
    if context.resident is None:
        await not_started(update, context)
        return
    await list_events(update, context)


async def groups_command(update: Update, context: BotContext) -> None:
    if context.resident is None:
        await not_started(update, context)
        return
    await list_groups(update, context)


@for_residents
async def menu_entry(update: Update, context: BotContext, button: MenuButton) -> None:
    query = update.callback_query
    assert query is not None
    entry = button.entry
    await query.answer()
    if entry == "home":
        await show_menu(update, context)
    elif entry == "events":
        await list_events(update, context)
    elif entry == "signups":
        await my_signups(update, context)
    elif entry == "idea":
        await ideas_home(update, context)
    elif entry == "projects":
        await list_groups(update, context)
