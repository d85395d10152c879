"""Taps on inline buttons, routed by the record their callback data unpacks to.

The records and their wire formats are in ``bot/buttons.py`` (the outbox's messages carry
buttons too). Data that unpacks to no record (old buttons, forged data) matches no
``ButtonHandler`` and falls through to ``handlers.fallback.unknown_callback``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar, cast

from telegram import Update
from telegram.ext import Application, BaseHandler

from bot.buttons import Button
from bot.context import BotContext

B = TypeVar("B", bound=Button)

#: A handler of one family's taps: it gets the record, already validated.
Tap = Callable[[Update, BotContext, B], Coroutine[Any, Any, None]]


class ButtonHandler(BaseHandler[Update, BotContext, None], Generic[B]):
    """Calls ``tap(update, context, button)`` for a tap whose data unpacks as ``kind``.

    PTB passes what ``check_update`` returns on to ``handle_update``, so the data is unpacked
    once and the record reaches the handler as an argument. (A callable ``pattern`` of a
    ``CallbackQueryHandler`` would put it into ``context.matches``, which is typed as a list of
    regex matches.)
    """

    __slots__ = ("kind", "tap")

    def __init__(self, kind: type[B], tap: Tap[B]) -> None:
        # PTB keeps the callback for its repr; handle_update below is what calls it.
        super().__init__(cast("Callable[[Update, BotContext], Coroutine[Any, Any, None]]", tap))
        self.kind = kind
        self.tap = tap

    def check_update(self, update: object) -> B | None:
        if isinstance(update, Update) and update.callback_query is not None:
            return self.kind.unpack(update.callback_query.data)
        return None

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, BotContext, Any, Any, Any, Any],
        check_result: object,
        context: BotContext,
    ) -> None:
        assert isinstance(check_result, self.kind)
        await self.tap(update, context, check_result)
