"""Group -1: load the resident and their language once per update, for every handler after."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus

from bot.context import BotContext
from bot.services.residents import ResidentStatus


async def load_resident(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or user.is_bot:
        return
    context.resident, context.actor = await context.services.residents.seen(
        user.id, user.first_name
    )
    saved = context.resident.locale if context.resident else None
    context.locale = context.i18n.resolve(saved, user.language_code)


async def track_block(update: Update, context: BotContext) -> None:
    """Telegram tells us when a resident blocks or unblocks the bot in their private chat."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    if status == ChatMemberStatus.BANNED:
        await context.services.residents.set_status(change.from_user.id, ResidentStatus.BLOCKED)
    elif status == ChatMemberStatus.MEMBER:
        await context.services.residents.set_status(change.from_user.id, ResidentStatus.ACTIVE)
