"""Never silence: whatever we don't understand gets a short help in the resident's language."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.logging_setup import describe_update
from bot.services.permissions import NotAllowed
from handlers.callbacks import settle
from handlers.render import answer_expired, not_started, refuse, show
from handlers.resident import load_resident

log = logging.getLogger(__name__)

#: After every other group: ``remember_locale``.
REMEMBER_GROUP = 100
#: How many readers' languages are kept in memory (per process), the least recent dropped.
KNOWN_READERS = 10_000


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


#: SQLSTATEs of a server that is away: class 08 (connection), 57P01-57P03 (shut down by an
#: administrator, crashed, starting up), 53300 (too many connections).
_AWAY_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` comes from the database being away (stopped, restarting, unreachable),
    as SQLAlchemy wraps it or as the driver raised it, rather than from a bug."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, TelegramError):  # Telegram unreachable is another matter
            return False
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, DisconnectionError | PoolTimeout):
            return True
        # A refused or timed-out connect (or a host name that doesn't resolve) comes out of the
        # pool unwrapped: it is the database's only if the database's code raised it (not a
        # translation service's, say).
        if isinstance(error, OSError) and _from_database(error):
            return True
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_AWAY_STATES):
            return True
        error = error.__cause__ or error.__context__ or getattr(error, "orig", None)
    return False


def _from_database(error: BaseException) -> bool:
    trace = error.__traceback__
    while trace is not None:
        module = str(trace.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(("sqlalchemy.", "asyncpg.", "aiosqlite.", "storage.")):
            return True
        trace = trace.tb_next
    return False


async def remember_locale(update: Update, context: BotContext) -> None:
    """After the handlers: the language this reader was answered in. When the database is
    away, it is what the "try again" is written in; Telegram's language code is only a guess
    (a resident reading Arabic on a phone set to German)."""
    user = update.effective_user
    if user is None or context.locale is None:
        return
    known = context.bot_data.reader_locales
    known[user.id] = context.locale
    known.move_to_end(user.id)
    if len(known) > KNOWN_READERS:
        known.popitem(last=False)


async def _load_reader(update: Update, context: BotContext) -> None:
    """The error handler's context is a new one (PTB's ``from_error``): find the resident and
    their language again, so the answer is in their language; if the database is what failed,
    the language their Telegram app reports."""
    user = update.effective_user
    if context.locale is not None or user is None or user.is_bot:
        return
    if database_unavailable(context.error):  # asking it again would only fail again
        context.locale = context.i18n.resolve(
            context.bot_data.reader_locales.get(user.id), user.language_code
        )
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
    if database_unavailable(context.error):
        await _database_away(update, context, what)
        return
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


async def _database_away(update: object, context: BotContext, what: str) -> None:
    """The database is away (a restart, a network cut): one short line, no traceback, and
    one "please try again" for the update, in the language the resident was last answered in
    (``remember_locale``), else the one their Telegram app reports.
    The update's later handlers are skipped (``ApplicationHandlerStop``): each would fail the
    same way and answer again. Once the database is back, the pool reconnects by itself
    (``pool_pre_ping``) and the next update is handled as usual."""
    log.warning("database unavailable while handling %s: %s", what, type(context.error).__name__)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    _ = context.t.gettext
    try:
        await settle(update)
        await update.effective_chat.send_message(
            _("⏳ I can't reach my records right now. Please try again in a moment.")
        )
    except Exception:
        log.warning("could not tell the resident to try again", exc_info=True)
    raise ApplicationHandlerStop
