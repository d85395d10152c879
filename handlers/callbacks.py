"""Taps on inline buttons, routed by the record their callback data unpacks to.

The records and their wire formats are in ``bot/buttons.py`` (the outbox's messages carry
buttons too). Data that unpacks to no record (old buttons, forged data) matches no
``ButtonHandler`` and falls through to ``handlers.fallback.unknown_callback``.

Telegram takes one answer per tap and refuses a second ("query is too old"), which would end
the tap in the error handler. So a tap's query is answered once, whatever its handler does
(``_AnswerOnce``): a plain acknowledgement waits until the handler is done, since an alert may
still follow (a stale button: "already sent"); the first answer with words is the answer; an
alert after that reaches the resident as a message instead; and a tap nobody answered is
acknowledged at the end (``settle``), by the error handler too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, Generic, TypeVar, cast

from telegram import CallbackQuery, Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.error import BadRequest
from telegram.ext import Application, BaseHandler

from bot.buttons import Button
from bot.context import BotContext

B = TypeVar("B", bound=Button)

log = logging.getLogger(__name__)

#: The taps of this update's task: query id → answered (False: a plain acknowledgement waits).
_ANSWERS: ContextVar[dict[str, bool] | None] = ContextVar("callback_answers", default=None)


class _AnswerOnce(CallbackQuery):
    """A ``CallbackQuery`` whose ``answer`` keeps the answer-once rule (module docstring).

    ``answer_once`` turns the update's query into one in place (no new slots, so the layout
    is PTB's), which every handler of the tap and the error handler then see."""

    __slots__ = ()

    async def answer(
        self,
        text: str | None = None,
        show_alert: bool | None = None,
        url: str | None = None,
        cache_time: TimePeriod | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> bool:
        answers = _ANSWERS.get()
        if answers is not None and self.id in answers:
            if answers[self.id]:
                # Answered already; Telegram would refuse. An alert's words still reach them.
                if text and show_alert:
                    await self.get_bot().send_message(self.from_user.id, text)
                return True
            if not text and not url:
                return True  # a plain acknowledgement: sent by ``settle``, unless words come
            answers[self.id] = True
        return await super().answer(
            text,
            show_alert,
            url,
            cache_time,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )


def answer_once(update: Update) -> None:
    """From now on in this update, its callback query is answered at most once."""
    query = update.callback_query
    if query is None:
        return
    answers = _ANSWERS.get()
    if answers is None:
        answers = {}
        _ANSWERS.set(answers)
    answers.setdefault(query.id, False)
    if type(query) is CallbackQuery:
        query.__class__ = _AnswerOnce


async def settle(update: object) -> None:
    """The end of a tap: acknowledge it if nothing answered it yet (so its button stops
    spinning), and forget it."""
    if not isinstance(update, Update) or update.callback_query is None:
        return
    query = update.callback_query
    answers = _ANSWERS.get()
    if answers is None or query.id not in answers:
        return
    if not answers.pop(query.id):
        try:
            await CallbackQuery.answer(query)
        except BadRequest:  # too old by now: there is nothing left to stop
            log.info("could not acknowledge a tap", exc_info=True)


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
        answer_once(update)
        # On an error the error handler settles the tap (it may still answer with an alert).
        await self.tap(update, context, check_result)
        await settle(update)
