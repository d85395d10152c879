"""Failure injection: Telegram-like flood limits (token buckets), forced 429s, blocked users.

Every ``send*`` method passes :meth:`FaultInjection._gate_send` before it stores anything, so a
refused send leaves no message behind, as in Telegram.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .models import ApiError
from .state import EmulatorState


@dataclass
class _Bucket:
    rate: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        capacity = max(1.0, self.rate)
        self.tokens = min(capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


class FaultInjection(EmulatorState):
    """``set_flood_limits``, ``inject_429`` and ``block_user``, checked on every send."""

    def _init_part(self) -> None:
        super()._init_part()
        self._blocked: set[int] = set()
        self._inject_429_count = 0
        self._inject_429_retry_after = 1
        self._flood_retry_after = 1
        self._global_bucket: _Bucket | None = None
        self._chat_rate: float | None = None
        self._chat_buckets: dict[int, _Bucket] = {}

    def set_flood_limits(
        self,
        *,
        global_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        retry_after: int = 1,
    ) -> None:
        """Enforce Telegram-like flood limits on send* calls (token buckets); None disables."""
        now = time.monotonic()
        self._global_bucket = (
            _Bucket(global_per_second, max(1.0, global_per_second), now)
            if global_per_second
            else None
        )
        self._chat_rate = per_chat_per_second or None
        self._chat_buckets.clear()
        self._flood_retry_after = int(retry_after)

    def inject_429(self, count: int = 1, retry_after: int = 1) -> None:
        """The next ``count`` send* calls are answered with 429."""
        self._inject_429_count = int(count)
        self._inject_429_retry_after = int(retry_after)

    def block_user(self, user_id: int, blocked: bool = True) -> None:
        """Sends to the user's chat answer 403 "Forbidden: bot was blocked by the user"."""
        if blocked:
            self._blocked.add(int(user_id))
        else:
            self._blocked.discard(int(user_id))

    def _check_not_blocked(self, chat_id: int) -> None:
        """403 "Forbidden: bot was blocked by the user" for a chat whose user blocked the bot."""
        if chat_id in self._blocked:
            self.stats["answered_403"] += 1
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _gate_send(self, chat_id: int) -> None:
        """403 for blocked users, then injected / flood 429s. Consumes flood budget."""
        self._check_not_blocked(chat_id)
        if self._inject_429_count > 0:
            self._inject_429_count -= 1
            raise self._too_many(self._inject_429_retry_after)
        now = time.monotonic()
        buckets: list[_Bucket] = []
        if self._global_bucket is not None:
            buckets.append(self._global_bucket)
        if self._chat_rate:
            bucket = self._chat_buckets.get(chat_id)
            if bucket is None:
                bucket = _Bucket(self._chat_rate, max(1.0, self._chat_rate), now)
                self._chat_buckets[chat_id] = bucket
            buckets.append(bucket)
        for bucket in buckets:
            bucket.refill(now)
        if any(b.tokens < 1.0 for b in buckets):
            raise self._too_many(self._flood_retry_after)
        for bucket in buckets:
            bucket.tokens -= 1.0

    def _too_many(self, retry_after: int) -> ApiError:
        self.stats["answered_429"] += 1
        return ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )
