"""Showing a screen: edit the message a button belongs to, or send a new one."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import Translator

#: Telegram's limit for a message's text, counted after parsing the HTML, in UTF-16 units.
MESSAGE_LIMIT = 4096
#: What we fill at most: room for the right-to-left mark ``bot/telegram_bidi.py`` may add.
_FILL_LIMIT = MESSAGE_LIMIT - 8
ELLIPSIS = "…"

# A tag, a character reference, or one character: what a message's HTML is made of.
_HTML_TOKEN = re.compile(r"<[^>]*>|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][a-zA-Z0-9-]*)")
_ISOLATE_OPENERS = "\u2066\u2067\u2068"  # LRI, RLI, FSI
_POP_ISOLATE = "\u2069"  # PDI


def _units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, length: int) -> str:
    """Someone's text of at most ``length`` characters: cut at a word if one is near, with …"""
    if len(text) <= length:
        return text
    cut = text[: max(length - 1, 0)]
    space = cut.rfind(" ")
    if space > length * 0.8:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def fit(text: str, limit: int = _FILL_LIMIT) -> str:
    """An HTML message whose visible text Telegram accepts: if it is longer than ``limit``,
    it is cut there with "…", closing the tags and direction isolates left open, so the HTML
    stays valid. The safety net of every screen (``show``); screens clip long parts first."""
    if _units(text) <= limit:  # the visible text is never longer than the HTML
        return text
    budget = limit - _units(ELLIPSIS)
    out: list[str] = []
    tags: list[str] = []
    isolates = 0
    for token in _HTML_TOKEN.finditer(text):
        piece = token.group()
        if piece.startswith("<") and len(piece) > 1:
            name = _TAG_NAME.match(piece)
            if name is not None:
                if piece.startswith("</"):
                    if tags and tags[-1] == name.group(1).lower():
                        tags.pop()
                else:
                    tags.append(name.group(1).lower())
            out.append(piece)
            continue
        size = 1 if piece.startswith("&") else _units(piece)
        if size > budget:
            break
        budget -= size
        if piece in _ISOLATE_OPENERS:
            isolates += 1
        elif piece == _POP_ISOLATE and isolates:
            isolates -= 1
        out.append(piece)
    while out and out[-1].startswith("<") and not out[-1].startswith("</"):
        out.pop()  # a tag opened right at the cut would wrap nothing
        tags.pop()
    closing = "".join(f"</{name}>" for name in reversed(tags))
    return "".join(out).rstrip() + ELLIPSIS + _POP_ISOLATE * isolates + closing


def escape(t: Translator, text: str, limit: int | None = None) -> str:
    """Resident-written text, safe inside HTML parse mode and isolated in RTL messages;
    with ``limit``, clipped to that many characters first (see ``clip``)."""
    if limit is not None:
        text = clip(text, limit)
    return t.isolate(html.escape(text, quote=False))


async def show(update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Edit the message of the tapped button, or send a new one; never longer than Telegram
    allows (``fit``)."""
    text = fit(text)
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
