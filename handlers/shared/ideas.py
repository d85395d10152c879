"""The ideas' entry screen, which the main menu and a deep link open too."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.buttons import IdeaBoardButton, IdeaButton, MenuButton
from bot.context import BotContext
from handlers.keyboards import button as _b
from handlers.render import show


async def ideas_home(update: Update, context: BotContext) -> None:
    _ = context.t.gettext
    await show(
        update,
        _(
            "💡 <b>Ideas for the neighbourhood</b>\n"
            "Share your own idea, or support your neighbours' ideas."
        ),
        InlineKeyboardMarkup(
            [
                [_b(_("✍️ Share an idea"), IdeaButton("new"))],
                [_b(_("📋 Idea board"), IdeaBoardButton())],
                [_b(_("🏠 Main menu"), MenuButton("home"))],
            ]
        ),
    )
