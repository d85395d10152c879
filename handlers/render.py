"""Showing a screen: edit the message a button belongs to, or send a new one."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import Translator


def escape(t: Translator, text: str) -> str:
    """Resident-written text, safe inside HTML parse mode and isolated in RTL messages."""
    return t.isolate(html.escape(text, quote=False))


async def show(update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    query = update.callback_query
    if query is not None and query.message is not None and query.message.is_accessible:
        try:
            await query.edit_message_text(text, reply_markup=keyboard)
        except BadRequest as exc:
            # A double tap re-renders the same screen; Telegram refuses that, and it's fine.
            if "not modified" not in exc.message:
                raise
        return
    if update.effective_chat is not None:
        await update.effective_chat.send_message(text, reply_markup=keyboard)


async def update_keyboard(update: Update, keyboard: InlineKeyboardMarkup) -> None:
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_reply_markup(keyboard)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def answer_expired(update: Update, t: Translator) -> None:
    """Old or forged buttons: say so, change nothing."""
    if update.callback_query is not None:
        await update.callback_query.answer(
            t.gettext("⚠️ This button is no longer valid. Please send /menu."), show_alert=True
        )


async def refuse(update: Update, text: str) -> None:
    """A service said no: an alert on the button, or a message for typed input."""
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(text, show_alert=True)
            return
        except BadRequest:  # the query was answered already or is too old: write instead
            pass
    if update.effective_chat is not None:
        await update.effective_chat.send_message(text)


async def not_started(update: Update, context: BotContext) -> None:
    """For someone who hasn't agreed to the privacy notice yet: how to begin."""
    _ = context.t.gettext
    await show(update, _("👋 To begin, send /start and choose your language."))


P = ParamSpec("P")
CallbackHandler = Callable[Concatenate[Update, BotContext, P], Coroutine[Any, Any, None]]


def for_residents(handler: CallbackHandler[P]) -> CallbackHandler[P]:
    """For buttons that need a resident who agreed to the privacy notice; anyone else is
    told how to begin (an old button after deleting one's data, a forwarded message)."""

    @functools.wraps(handler)
    async def wrapped(
        update: Update, context: BotContext, /, *args: P.args, **kwargs: P.kwargs
    ) -> None:
        if context.resident is None:
            if update.callback_query is not None:
                await update.callback_query.answer()
            await not_started(update, context)
            return
        await handler(update, context, *args, **kwargs)

    return wrapped
