"""Messages that no command took: input a flow is waiting for, or else a short help."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.context import BotContext
from bot.services.chat_state import PendingInput
from handlers import broadcast, events, fallback, groups, ideas, newevent
from handlers.flows import waits_for_a_tap
from handlers.render import show

InputHandler = Callable[[Update, BotContext, PendingInput], Awaitable[None]]

#: Each multi-step flow and the function that takes its typed input.
FLOWS: dict[str, InputHandler] = {
    broadcast.FLOW: broadcast.handle_input,
    events.NOTE_FLOW: events.note_input,
    groups.FLOW: groups.handle_input,
    ideas.FLOW: ideas.handle_input,
    ideas.MODERATION_FLOW: ideas.moderation_input,
    newevent.FLOW: newevent.handle_input,
}


async def route_message(update: Update, context: BotContext) -> None:
    _ = context.t.gettext
    if context.flow_expired and context.resident is not None:
        await show(update, _("⌛ That was a while ago, so let's start again: /menu"))
        return
    pending = context.pending
    if pending is not None and waits_for_a_tap(pending):
        await show(update, _("Please use the buttons above, or send /cancel."))
        return
    if pending is not None and pending.flow in FLOWS:
        await FLOWS[pending.flow](update, context, pending)
        return
    await fallback.unknown_message(update, context)
