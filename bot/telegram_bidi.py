"""The one hook that makes every message the bot sends a right-to-left reader begin right to left.

Handlers reply in many ways (``show``, ``send_message``, ``reply_text``, edits, captions,
callback answers); all of them end in ``Bot._do_post``. ``DirectionalBot`` (the application's
bot, built in ``bot.app``) passes each request's ``text`` and ``caption`` through
``bot.bidi.direct_fields`` while the current reader reads right to left. Who the reader is
comes from a context variable: ``BotContext.locale`` sets it when group -3 loads the resident
(and again when a handler switches language), and each update runs in its own task, so the
value never leaks into another update. Work outside an update (the progress job, a preview in
another language) says whose direction it writes in with ``reading``. Messages from the outbox
don't come this way: ``DeliveryService.enqueue`` directs their payloads itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput
from telegram.ext import ExtBot

from bot.bidi import direct_fields

_READER_RTL: ContextVar[bool] = ContextVar("reader_rtl", default=False)


def set_reader_direction(rtl: bool) -> None:
    """From now on in this task (the current update), messages are for a reader who reads
    right to left (``rtl``) or not."""
    _READER_RTL.set(rtl)


def reader_reads_rtl() -> bool:
    return _READER_RTL.get()


@contextmanager
def reading(rtl: bool) -> Iterator[None]:
    """Messages sent inside the block are for a reader of that direction."""
    token = _READER_RTL.set(rtl)
    try:
        yield
    finally:
        _READER_RTL.reset(token)


class DirectionalBot(ExtBot[int]):
    """PTB's ``ExtBot`` (with ``AIORateLimiter``, whose per-call argument is an int); a
    right-to-left reader's texts and captions begin right to left."""

    async def _do_post(
        self,
        endpoint: str,
        data: JSONDict,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> bool | JSONDict | list[JSONDict]:
        if _READER_RTL.get() and endpoint != "getUpdates":
            data = direct_fields(data)
        return await super()._do_post(
            endpoint,
            data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
