"""The main menu, and the privacy notice and topic picker that /start and /settings both show."""

from __future__ import annotations

from typing import Literal

from telegram import Update

from bot.context import BotContext
from handlers import keyboards
from handlers.render import escape, show


def menu_text(context: BotContext) -> str:
    _ = context.t.gettext
    return _("🏠 <b>Main menu</b>\nWhat would you like to do?")


async def show_menu(update: Update, context: BotContext) -> None:
    await show(update, menu_text(context), keyboards.main_menu(context.t))


def privacy_notice(context: BotContext) -> str:
    _ = context.t.gettext
    return (
        _(
            "🔒 <b>Your data</b>\n"
            "So that we can help you, we store your Telegram ID, your language, the topics you "
            "choose and whether you want news from us.\n"
            "We use this only for the neighbourhood bot of {neighbourhood} and never pass it on.\n"
            "You can see and delete everything at any time with /privacy."
        ).format(neighbourhood=escape(context.t, context.settings.neighbourhood_name))
        + "\n"
        + _(
            "We also store your first name from Telegram: the organiser of an event you sign up "
            "for and our coordinators see it with your sign-up, a group's lead with its members, "
            "coordinators with an idea you share under your name."
        )
    )


async def show_topics(
    update: Update,
    context: BotContext,
    *,
    first_time: bool = False,
    then: Literal["settings"] | None = None,
) -> None:
    assert context.resident is not None
    _ = context.t.gettext
    text = _("Which topics interest you? Tap to choose, then press “Done”.")
    if first_time:
        text = _("Thank you! 🎉") + "\n" + text + "\n" + _("You can also skip this.")
    keyboard = keyboards.topics(context.t, context.settings.topics, context.resident.topics, then)
    await show(update, text, keyboard)
