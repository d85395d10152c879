"""What the outbox and the engine tell an observer (the bot's metrics, ``bot/metrics.py``).

The delivery package knows nothing of Prometheus: it calls these methods, synchronously and
cheaply, where a message is queued to wait, sent, fails for good or meets a 429. An observer
must not raise (the engine does not guard the calls) and must not block.
"""

from __future__ import annotations

from typing import Protocol


class DeliveryObserver(Protocol):
    def held(self, kind: str, count: int) -> None:
        """``count`` new rows of ``kind`` were committed to wait (their time is later than
        now: the recipient's quiet hours, or a reminder's own time)."""
        ...

    def sent(self, kind: str) -> None:
        """One row of ``kind`` went out."""
        ...

    def failed(self, kind: str, reason: str) -> None:
        """One row of ``kind`` will not go out: ``reason`` is ``refused`` (Telegram refused
        it, or transient errors outlasted the retry horizon) or ``recipient_gone`` (blocked,
        deleted)."""
        ...

    def rate_limited(self, retry_after: float) -> None:
        """Telegram answered 429: the engine pauses for ``retry_after`` seconds."""
        ...
