"""The replies' side of the bot's one outgoing budget (``bot/services/delivery/budget.py``).

``ReplyRateLimiter`` is PTB's rate limiter hook (``BaseRateLimiter``): every request the bot
makes through PTB passes it. Messages and edits take their turn from the shared
``OutgoingBudget`` at reply priority, ahead of the delivery engine's bulk sends, which take
theirs from the same object (``bot/runtime.py`` wires both). Requests that Telegram doesn't
count as messages (``answerCallbackQuery``, chat actions, deletions, settings, ``getMe``) go
straight through: holding back the end of a button's spinner behind a broadcast would only
make the bot feel slow.

A 429 pauses what the budget says it concerns (the whole budget, or one chat), and the request
is tried again after it, up to ``max_retries`` times, as PTB's ``AIORateLimiter`` did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.services.delivery.budget import ChatKey, OutgoingBudget, Priority

log = logging.getLogger(__name__)

#: Endpoints that put a new message in a chat, besides ``send*`` (but ``sendChatAction``).
_MESSAGE_ENDPOINTS = frozenset({"copymessage", "copymessages", "forwardmessage", "forwardmessages"})
#: Endpoints that change a message: the overall and group limits, not a private chat's.
_EDIT_PREFIXES = ("edit", "stop")  # editMessage*, stopPoll, stopMessageLiveLocation


def classify(endpoint: str, data: dict[str, Any]) -> tuple[ChatKey, bool] | None:
    """(the chat, whether it is a new message) for a request the budget counts; None for one
    it doesn't."""
    chat_id = data.get("chat_id")
    if chat_id is None:  # callback answers, inline messages, commands, getMe, …
        return None
    name = endpoint.lower()
    if name.startswith("send"):
        if name == "sendchataction":
            return None
        message = True
    elif name in _MESSAGE_ENDPOINTS:
        message = True
    elif name.startswith(_EDIT_PREFIXES):
        message = False
    else:
        return None
    chat: ChatKey
    try:
        chat = int(chat_id)
    except (TypeError, ValueError):
        chat = str(chat_id)  # a channel's or supergroup's @username
    return chat, message


class ReplyRateLimiter(BaseRateLimiter[int]):
    """PTB's requests through the shared budget at reply priority. The per-call argument
    (``rate_limit_args``) is the number of retries after a 429, as with ``AIORateLimiter``."""

    __slots__ = ("_budget", "_max_retries", "_on_rate_limited")

    def __init__(
        self,
        budget: OutgoingBudget,
        *,
        max_retries: int = 3,
        on_rate_limited: Callable[[], None] | None = None,
    ) -> None:
        self._budget = budget
        self._max_retries = max_retries
        #: Told of every 429 (the metrics count them).
        self._on_rate_limited = on_rate_limited

    @property
    def budget(self) -> OutgoingBudget:
        return self._budget

    async def initialize(self) -> None:
        """Nothing to set up: the budget lives as long as the runtime."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        counted = classify(endpoint, data)
        attempt = 0
        while True:
            slot = None
            if counted is not None:
                slot = await self._budget.acquire(
                    counted[0], priority=Priority.REPLY, message=counted[1]
                )
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if self._on_rate_limited is not None:
                    self._on_rate_limited()
                # The protected field, as PTB's own limiter reads it: the public property
                # warns unless PTB_TIMEDELTA is set.
                seconds = exc._retry_after.total_seconds()
                if attempt >= retries:
                    log.warning("%s: rate limited after %d retries", endpoint, retries)
                    raise
                attempt += 1
                if counted is not None:
                    # The budget holds the next try back until the pause is over.
                    self._budget.rate_limited(counted[0], seconds)
                else:
                    await asyncio.sleep(seconds)
            finally:
                if slot is not None:
                    slot.done()  # a slot counts until its answer (budget.py)
