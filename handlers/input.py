"""Messages that no command took: input a flow is waiting for, or else a short help."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers import broadcast, events, fallback, ideas, newevent


async def route_message(update: Update, context: BotContext) -> None:
    user = update.effective_user
    pending = await context.services.chat_state.get(user.id) if user else None
    if pending is not None and pending.flow == broadcast.FLOW:
        await broadcast.handle_input(update, context, pending)
        return
    if pending is not None and pending.flow == events.NOTE_FLOW:
        await events.note_input(update, context, pending)
        return
    if pending is not None and pending.flow == ideas.FLOW:
        await ideas.handle_input(update, context, pending)
        return
    if pending is not None and pending.flow == ideas.MODERATION_FLOW:
        await ideas.moderation_input(update, context, pending)
        return
    if pending is not None and pending.flow == newevent.FLOW:
        await newevent.handle_input(update, context, pending)
        return
    await fallback.unknown_message(update, context)
