"""Failure injection: Telegram-like flood limits (sliding windows), forced 429s, blocked users.

Every ``send*`` method passes :meth:`FaultInjection._gate_send` before it stores anything, so a
refused send leaves no message behind, as in Telegram.

The flood limits count, per scope (the bot overall, each chat), the sends accepted in the last
window (one second at the usual rates: at most ``rate`` of them) and answer 429 to one more.
A token bucket refilled every second would let a sender run up to its capacity too fast in
every second (a bucket of 30 at 30/s: 33 sends in some second) without a single 429; the
window catches a sender 10 % too fast at once.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from .models import ApiError
from .state import EmulatorState

#: Accepted sends remembered for ``accepted_sends`` (tests and benchmarks read them).
SEND_LOG_SIZE = 200_000


class _Window:
    """At most ``limit`` accepted sends in any ``span`` seconds: ``rate`` per second, counted
    over one second (over ``1 / rate`` seconds for a rate below one)."""

    __slots__ = ("limit", "span", "stamps")

    def __init__(self, rate: float) -> None:
        self.limit = max(1, math.floor(rate + 1e-9))
        self.span = self.limit / rate
        self.stamps: deque[float] = deque()

    def full(self, now: float) -> bool:
        stamps, horizon = self.stamps, now - self.span
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        return len(stamps) >= self.limit


class FaultInjection(EmulatorState):
    """``set_flood_limits``, ``inject_429`` and ``block_user``, checked on every send; every
    accepted send is logged with its time (``accepted_sends``, ``max_sends_within``)."""

    def _init_part(self) -> None:
        super()._init_part()
        self._blocked: set[int] = set()
        self._inject_429_count = 0
        self._inject_429_retry_after = 1
        self._flood_retry_after = 1
        self._global_window: _Window | None = None
        self._chat_rate: float | None = None
        self._chat_windows: dict[int, _Window] = {}
        #: The clock the flood windows run on (monotonic seconds); a test may replace it.
        self.flood_clock: Callable[[], float] = time.monotonic
        #: (flood clock time, chat) of every send accepted, the newest SEND_LOG_SIZE.
        self.accepted_sends: deque[tuple[float, int]] = deque(maxlen=SEND_LOG_SIZE)

    def set_flood_limits(
        self,
        *,
        global_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        retry_after: int = 1,
    ) -> None:
        """Enforce Telegram-like flood limits on send* calls (sliding windows of one second:
        one send more than the rate within any second is answered 429); None disables."""
        self._global_window = _Window(global_per_second) if global_per_second else None
        self._chat_rate = per_chat_per_second or None
        self._chat_windows.clear()
        self._flood_retry_after = int(retry_after)

    def max_sends_within(self, seconds: float = 1.0, chat_id: int | None = None) -> int:
        """The most sends accepted within any ``seconds`` (half-open: ``[t, t + seconds)``),
        overall or in one chat: what a flood limit of that window saw at its fullest."""
        times = [t for t, chat in self.accepted_sends if chat_id is None or chat == chat_id]
        most, first = 0, 0
        for last, stamp in enumerate(times):
            while stamp - times[first] >= seconds:
                first += 1
            most = max(most, last - first + 1)
        return most

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
        now = self.flood_clock()
        windows: list[_Window] = []
        if self._global_window is not None:
            windows.append(self._global_window)
        if self._chat_rate:
            window = self._chat_windows.get(chat_id)
            if window is None:
                window = self._chat_windows[chat_id] = _Window(self._chat_rate)
            windows.append(window)
        # Every window is looked at (and pruned) before any counts the send.
        if any([window.full(now) for window in windows]):
            raise self._too_many(self._flood_retry_after)
        for window in windows:
            window.stamps.append(now)
        self.accepted_sends.append((now, chat_id))

    def _too_many(self, retry_after: int) -> ApiError:
        self.stats["answered_429"] += 1
        return ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )
