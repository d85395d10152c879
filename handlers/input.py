"""Messages that no command took: input a flow is waiting for, or else a short help."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.context import BotContext
from bot.services.chat_state import PendingInput
from handlers import (
    broadcast,
    events,
    fallback,
    flows,
    groups,
    ideas,
    newevent,
    notice,
    translations,
)
from handlers.flow_data import D
from handlers.flows import Flow, waits_for_a_tap
from handlers.render import show

InputHandler = Callable[[Update, BotContext, PendingInput], Awaitable[None]]


async def _start_again(update: Update, context: BotContext) -> None:
    await show(update, context.t.gettext("⌛ That was a while ago, so let's start again: /menu"))


def _typed(
    flow: Flow[D], handler: Callable[[Update, BotContext, str, D], Awaitable[None]]
) -> tuple[str, InputHandler]:
    """The flow's handler, given the step and its data; a step whose data doesn't read (an
    older version's row, or a forged one) is stale: ended, and answered like an expired one."""

    async def handle(update: Update, context: BotContext, pending: PendingInput) -> None:
        data = flow.read(pending)
        if data is None:
            assert update.effective_user is not None
            await context.services.chat_state.clear(update.effective_user.id)
            await _start_again(update, context)
            return
        await handler(update, context, pending.step, data)

    return flow.name, handle


#: Each multi-step flow and the function that takes its typed input.
FLOWS: dict[str, InputHandler] = dict(
    [
        _typed(flows.BROADCAST, broadcast.handle_input),
        _typed(flows.SIGNUP_NOTE, events.note_input),
        _typed(flows.GROUP, groups.handle_input),
        _typed(flows.IDEA, ideas.handle_input),
        _typed(flows.IDEA_MERGE, ideas.moderation_input),
        _typed(flows.EVENT, newevent.handle_input),
        _typed(flows.VERSION, translations.version_input),
        _typed(flows.TRANSLATE, translations.translation_input),
        _typed(flows.TASK_EDIT, translations.correction_input),
        _typed(flows.NOTICE, notice.notice_input),
    ]
)


async def route_message(update: Update, context: BotContext) -> None:
    _ = context.t.gettext
    if context.flow_expired and context.resident is not None:
        await _start_again(update, context)
        return
    pending = context.pending
    if pending is not None and waits_for_a_tap(pending):
        await show(update, _("Please use the buttons above, or send /cancel."))
        return
    if pending is not None and pending.flow in FLOWS:
        await FLOWS[pending.flow](update, context, pending)
        return
    await fallback.unknown_message(update, context)
