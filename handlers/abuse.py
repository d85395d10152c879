"""Abuse protection before any handler: the per-person limit on updates, and bans.

Group -4, the first: the limit is counted in memory first (``ModerationService.limiter``), so
a flood is dropped before anything is read; then one read (``ResidentService.arrive``) loads the
resident, who they act as and whether they are banned, for this gate and every handler after.
A banned person's update gets one translated answer and nothing else; an update past the limit
gets one "slow down" (the first one) or nothing; during a pause nothing at all, but a button's
tap is still acknowledged so it doesn't spin. Both stop the update with
``ApplicationHandlerStop``.

Nobody is exempt from the limit, coordinators included: knowing who is staff would take a read
before the limit, which is what it protects, and its numbers (20 updates in 10 seconds by
default) are far above what a person types or taps. Staff can't be banned (the service refuses).

Coordinators ban and unban with ``/ban <telegram id>`` and ``/unban <telegram id>``, or from an
idea's card (its author; handlers/ideas.py); the service checks who may.
"""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.moderation import CannotBan, Verdict
from bot.services.permissions import NotAllowed
from handlers.render import refuse
from handlers.resident import load_resident


def banned_text(t: Translator) -> str:
    return t.gettext(
        "⛔ Sorry, you can't use this bot at the moment. "
        "If you think this is a mistake, please contact the neighbourhood office."
    )


def slow_down_text(t: Translator) -> str:
    # Translators: someone sent very many messages or taps within a few seconds
    return t.gettext("🐢 Slow down a little, please. I'll answer again in a moment.")


async def _answer(update: Update, text: str | None) -> None:
    """One answer to an update we don't handle: on a button, its alert (always answered, so
    it doesn't spin); on a message, a reply; ``text`` None answers a tap silently."""
    query = update.callback_query
    with contextlib.suppress(TelegramError):
        if query is not None:
            await query.answer(text, show_alert=text is not None)
        elif text is not None and update.effective_chat is not None:
            await update.effective_chat.send_message(text)


async def gate(update: Update, context: BotContext) -> None:
    """Group -4: the rate limit, then the resident's load with their ban; stops the update
    when the limit or a ban says so."""
    user = update.effective_user
    if user is None or user.is_bot or update.my_chat_member is not None:
        # Telegram's own news of a block or unblock is always taken; its handler needs nobody
        # loaded (handlers/resident.track_block).
        return
    verdict = context.services.moderation.limiter.check(user.id)
    if verdict is Verdict.DROP:
        await _answer(update, None)
        raise ApplicationHandlerStop
    # Also sets the language, so the answer reads in the person's direction.
    banned = await load_resident(update, context, touch=verdict is Verdict.PASS)
    t = context.t
    if verdict is Verdict.SLOW_DOWN:
        await _answer(update, slow_down_text(t))
        raise ApplicationHandlerStop
    if banned:
        await _answer(update, banned_text(t))
        raise ApplicationHandlerStop


def _telegram_id(context: BotContext) -> int | None:
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit() or not args[0].isascii():
        return None
    return int(args[0])


async def ban_command(update: Update, context: BotContext) -> None:
    """/ban <telegram id>: coordinators ban someone from the bot."""
    await _ban_or_unban(update, context, ban=True)


async def unban_command(update: Update, context: BotContext) -> None:
    """/unban <telegram id>: coordinators let someone use the bot again."""
    await _ban_or_unban(update, context, ban=False)


async def _ban_or_unban(update: Update, context: BotContext, *, ban: bool) -> None:
    message = update.effective_message
    assert message is not None
    t = context.t
    _ = t.gettext
    moderation = context.services.moderation
    telegram_id = _telegram_id(context)
    try:
        if telegram_id is None:
            # Only a courtesy: the service checks again on every ban.
            if not context.actor.is_staff:
                raise NotAllowed("resident.ban")
            await message.reply_text(
                _("Please add a Telegram id, for example: {example}").format(
                    example=t.isolate("/ban 123456789" if ban else "/unban 123456789")
                )
            )
            return
        if ban:
            result = await moderation.ban(context.actor, telegram_id)
        else:
            result = await moderation.unban(context.actor, telegram_id)
    except NotAllowed:
        await refuse(update, _("⛔ Only coordinators can do this."))
        return
    except CannotBan:
        await message.reply_text(_("Coordinators and admins can't be banned."))
        return
    number = t.isolate(str(telegram_id))
    if ban:
        text = (
            _("⛔ {id} is banned: they can't use the bot and get no news.")
            if result.changed
            else _("{id} is banned already.")
        )
    else:
        text = _("✅ {id} can use the bot again.") if result.changed else _("{id} is not banned.")
    await message.reply_text(text.format(id=number))
