"""Load the resident and their language once per update (group -4, handlers/abuse.py), for
every handler after; and Telegram's news of a block or unblock."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus

from bot.context import BotContext
from bot.services.residents import ResidentStatus


async def load_resident(update: Update, context: BotContext, *, touch: bool = True) -> bool:
    """Set the context's resident, actor and language in one read; True when the person is
    banned. ``touch`` False writes nothing (see ``ResidentService.arrive``)."""
    user = update.effective_user
    if user is None or user.is_bot:
        return False
    arrival = await context.services.residents.arrive(user.id, user.first_name, touch=touch)
    context.arrival = arrival
    context.resident, context.actor = arrival.profile, arrival.actor
    saved = arrival.profile.locale if arrival.profile else None
    context.locale = context.i18n.resolve(saved, user.language_code)
    return arrival.banned


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
