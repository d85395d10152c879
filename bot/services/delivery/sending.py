"""What the engine asks of a sender, and what a sender raises when a message did not go out.

The engine knows nothing about Telegram: the sender (``bot/delivery_sender.py``) maps the Bot
API's answers to the errors below (``UnconfirmedSend`` is the ``TransientFailure`` whose message
may have gone out).
"""

from __future__ import annotations

from typing import Any, Protocol


class DeliveryError(Exception):
    """What a ``Sender`` raises when a message did not go out."""


class RateLimited(DeliveryError):
    """Telegram asked us to slow down (429): all sending pauses for ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:g} s")
        self.retry_after = retry_after


class RecipientGone(DeliveryError):
    """The chat cannot be written to any more (blocked the bot, deactivated, not found)."""


class PermanentFailure(DeliveryError):
    """Telegram refused this message (a 400); sending it again would fail again."""


class TransientFailure(DeliveryError):
    """Network error, timeout or 5xx: worth retrying later."""


class UnconfirmedSend(TransientFailure):
    """The request may have reached Telegram but no answer came back (the connection dropped
    after the request went out, or the answer timed out): the message may have been delivered.
    The engine sends such a row again at most once (``engine``'s docstring)."""


class Sender(Protocol):
    async def send(self, chat_id: int, payload: dict[str, Any]) -> int:
        """Send one message (``payload`` without ``chat_id``); returns Telegram's message id."""
        ...
