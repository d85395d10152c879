"""Before every other handler (group -5): each update is handled once, however often it arrives.

A repeated delivery (Telegram's retry of a webhook it did not see answered, or the same update
given to two replicas) finds its id claimed in the database (bot/services/updates.py) and is
dropped here; the webhook route has already answered it 200, so Telegram stops sending it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.services.updates import UpdateLedger

log = logging.getLogger(__name__)

GROUP = -5


def handle_once(ledger: UpdateLedger) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    """The group's callback, claiming each update in ``ledger``."""

    async def claim(update: Update, context: BotContext) -> None:
        try:
            first = await ledger.claim(update.update_id)
        except Exception as exc:
            # The database is away: the update is handled anyway, so that the resident hears
            # "please try again" (handlers/fallback.py) rather than nothing. Two replicas given
            # the same update during an outage may both say it: the one repeat we allow.
            log.warning(
                "could not claim update %s (%s); handling it anyway",
                update.update_id,
                type(exc).__name__,
            )
            return
        if not first:
            log.info("update %s already handled elsewhere: dropped", update.update_id)
            raise ApplicationHandlerStop

    return claim
