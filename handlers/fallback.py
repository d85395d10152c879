"""Never silence: whatever we don't understand gets a short help in the resident's language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden

from bot.context import BotContext
from bot.logging_setup import describe_update
from bot.services.permissions import NotAllowed
from handlers.callbacks import settle
from handlers.render import answer_expired, not_started, refuse, show
from handlers.resident import load_resident

log = logging.getLogger(__name__)


async def unknown_message(update: Update, context: BotContext) -> None:
    """Text we can't place, a sticker, a photo out of context, an unknown command."""
    if context.resident is None:
        await not_started(update, context)
        return
    _ = context.t.gettext
    await show(
        update,
        _(
            "Sorry, I didn't understand that. 🙂\n"
            "Please use the buttons, or send /menu. /help shows everything I can do."
        ),
    )


async def unknown_callback(update: Update, context: BotContext) -> None:
    await answer_expired(update, context.t)


async def _load_reader(update: Update, context: BotContext) -> None:
    """The error handler's context is a new one (PTB's ``from_error``): find the resident and
    their language again, so the answer is in their language; if the database is what failed,
    the language their Telegram app reports."""
    user = update.effective_user
    if context.locale is not None or user is None or user.is_bot:
        return
    try:
        await load_resident(update, context)
    except Exception:
        log.warning("could not load the resident to answer an error", exc_info=True)
        context.locale = context.i18n.resolve(None, user.language_code)


async def on_error(update: object, context: BotContext) -> None:
    """Log the error and tell the resident something went wrong, in their language."""
    if isinstance(context.error, Forbidden):
        log.info("resident blocked the bot: %s", context.error)
        return
    if isinstance(update, Update):
        await _load_reader(update, context)
    if isinstance(context.error, NotAllowed) and isinstance(update, Update):
        # A service refused (a stale button, a role revoked meanwhile): say so, change nothing.
        log.info("refused %s for %s", context.error.action, context.actor.telegram_id)
        await refuse(update, context.t.gettext("💡 Only coordinators can do this."))
        await settle(update)
        return
    # The update's id and kind, never its content: what residents wrote stays out of logs.
    what = f"update {describe_update(update)}" if isinstance(update, Update) else "a job or task"
    log.error("error while handling %s", what, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    _ = context.t.gettext
    try:
        await settle(update)  # the tap's button stops spinning
        await update.effective_chat.send_message(
            _("😕 Something went wrong on our side. Please try again in a moment.")
        )
    except Exception:  # the network may be what failed; the log has the original error
        log.warning("could not tell the resident about the error", exc_info=True)
