"""``OutgoingBudget``: one budget for everything a bot sends, replies first, bulk gets the rest.

Telegram counts a bot's messages together, whoever in the process sends them: about 30 a
second overall, about one a second per chat, 20 a minute per group. The bot's replies (through
PTB, ``bot/outgoing.py``) and the delivery engine (bulk) therefore take their turns from one
budget; two separate limiters at the full rate each would together run at twice it.

Every limit is a sliding window, which is how Telegram (and the sandbox) count: no more than
``capacity`` messages in any stretch of ``span`` seconds. The server counts a request when it
handles it, which is some time after we let it go and not always equally long after (a busy
machine, the network): two requests let go exactly one window apart may be handled less than
one window apart. So a slot counts from the moment it is granted until ``span`` after its
request was answered (``Slot.done``), when the server has certainly counted it: a new request
is let go only when, of the last ``capacity``, one was answered a whole window ago, and then
the server cannot have seen more than ``capacity`` in any window, however late each request
reached it. The price is the answer's time, once per window (about 1 % at 10 ms); ``margin``
adds a little on top for the clocks.

Priorities: a waiting reply gets the next free slot before any waiting bulk send, and bulk
never takes the last ``reserve`` slots of the overall window, so a reply that comes while a
broadcast runs finds a slot at once instead of waiting for one to expire. Bulk is also paced
evenly at the overall rate: a window filled in one burst would stay full for the rest of its
second, and a reply that found the reserve taken would wait that long; evenly spread, the
next slot frees within about one interval. (Pacing bulk at the share the replies leave it
spreads it further and shortens the replies' tail, but costs bulk more than a tenth of its
rate: bench/bench_replies_under_broadcast.py measured both.)

Per chat: bulk keeps strictly to the per-chat rate, counting the replies in that chat too, so a
chat in which the bot just answered gets no bulk before a full interval has passed. A reply in
a private chat is not held back for its chat: Telegram allows short bursts there, and what
bounds them is the person's own pace (and the abuse limit, ``RATE_LIMIT_UPDATES``); a screen
of a photo and a card must not take two seconds. In a group every message keeps to the
per-chat interval and the group's 20 a minute.

A 429 pauses what it must (``rate_limited``; Telegram doesn't say which limit it was): in a
group, or in a private chat that just had another message (a burst of replies), that chat
only; otherwise it was the bot-wide limit, and the whole budget pauses.

Time is the event loop's (monotonic, like every rate limiter), not the domain clock.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass
from enum import IntEnum

#: How much longer than the rate allows each window is kept, for the clocks: the jitter between
#: a grant and the request's arrival is covered by counting from the answer (module docstring).
DEFAULT_MARGIN = 0.01

#: Telegram's limit per group (and channel): 20 messages a minute.
GROUP_PER_MINUTE = 20.0

#: Chat windows are swept of expired ones after this many grants.
_SWEEP_EVERY = 2000


class Priority(IntEnum):
    REPLY = 0
    BULK = 1


ChatKey = int | str


class _Window:
    """At most ``capacity`` requests in flight or answered within the last ``span`` seconds."""

    __slots__ = ("capacity", "in_flight", "span", "stamps")

    def __init__(self, per_second: float, seconds: float, margin: float) -> None:
        self.capacity = max(1, math.floor(per_second * seconds + 1e-9))
        self.span = self.capacity / per_second * (1.0 + margin)
        #: When each request was answered, oldest first (they are appended as they end).
        self.stamps: deque[float] = deque()
        self.in_flight = 0

    def _prune(self, now: float) -> None:
        stamps, horizon = self.stamps, now - self.span
        while stamps and stamps[0] <= horizon:
            stamps.popleft()

    def free_at(self, now: float, need: int = 1) -> float:
        """When ``need`` more fit: ``now`` if they do already, infinity while that depends on
        requests still in flight (their answers dispatch again)."""
        self._prune(now)
        excess = self.in_flight + len(self.stamps) - (self.capacity - need)
        if excess <= 0:
            return now
        if excess > len(self.stamps):
            return math.inf
        return self.stamps[excess - 1] + self.span

    def free_after(self, interval: float) -> float:
        """When the last request is ``interval`` old (infinity while one is in flight)."""
        if self.in_flight:
            return math.inf
        return self.stamps[-1] + interval if self.stamps else -math.inf

    def count(self, now: float) -> int:
        self._prune(now)
        return self.in_flight + len(self.stamps)

    def empty(self, now: float) -> bool:
        return self.count(now) == 0


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[Slot]
    chat: ChatKey | None
    message: bool  # a new message (counts per chat), not an edit
    priority: Priority


@dataclass
class BudgetStats:
    replies: int = 0
    bulk: int = 0
    #: Grants that had to wait, by priority.
    replies_waited: int = 0
    bulk_waited: int = 0
    rate_limited: int = 0


class Slot:
    """A granted request's place in the budget's windows; ``done`` when it was answered (or
    failed), ``cancel`` if it was not sent after all."""

    __slots__ = ("_budget", "_windows")

    def __init__(self, budget: OutgoingBudget, windows: tuple[_Window, ...]) -> None:
        self._budget: OutgoingBudget | None = budget
        self._windows = windows

    def done(self) -> None:
        self._end(sent=True)

    def cancel(self) -> None:
        self._end(sent=False)

    def _end(self, *, sent: bool) -> None:
        budget, self._budget = self._budget, None
        if budget is None:  # ended already
            return
        now = asyncio.get_running_loop().time()
        for window in self._windows:
            window.in_flight -= 1
            if sent:
                window.stamps.append(now)
        if budget.waiting:
            budget._dispatch()


class OutgoingBudget:
    """The bot's outgoing messages: one overall rate, per chat and per group, two priorities.

    ``slot = await acquire(chat, priority=...)`` returns when the request may go out; send it
    at once and call ``slot.done()`` when it is answered or failed (``slot.cancel()`` if it
    was not sent after all).
    """

    def __init__(
        self,
        messages_per_second: float,
        *,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: float = GROUP_PER_MINUTE,
        margin: float = DEFAULT_MARGIN,
        reserve: int | None = None,
    ) -> None:
        if messages_per_second <= 0 or per_chat_per_second < 0 or per_group_per_minute <= 0:
            raise ValueError("rates must be positive (a per-chat rate of 0: no per-chat limit)")
        self.messages_per_second = messages_per_second
        self.per_chat_per_second = per_chat_per_second
        self._margin = margin
        self._overall = _Window(messages_per_second, 1.0, margin)
        capacity = self._overall.capacity
        #: Slots of the overall window that bulk leaves for replies.
        self.reserve = (
            max(1, capacity // 20) if reserve is None else max(0, min(reserve, capacity - 1))
        )
        if capacity == 1:
            self.reserve = 0  # one slot only: bulk must be able to take it
        self._per_chat = per_chat_per_second > 0
        self._chat_interval = (1.0 + margin) / per_chat_per_second if self._per_chat else 0.0
        self._group_rate = per_group_per_minute / 60.0
        self._chats: dict[ChatKey, _Window] = {}
        self._groups: dict[ChatKey, _Window] = {}
        self._chat_paused: dict[ChatKey, float] = {}
        self._paused_until = 0.0
        self._replies: deque[_Waiter] = deque()
        self._bulk: deque[_Waiter] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        #: Bulk's pace (a virtual schedule, GCRA): the next bulk grant is due at _next_bulk,
        #: and may be up to _bulk_tolerance late without the lost time being lost.
        self._bulk_interval = self._overall.span / self._overall.capacity
        self._bulk_tolerance = 2 * self._bulk_interval
        self._next_bulk = 0.0
        self._grants = 0
        self.stats = BudgetStats()

    # asking -------------------------------------------------------------------------------

    async def acquire(
        self,
        chat: ChatKey | None,
        *,
        priority: Priority = Priority.BULK,
        message: bool = True,
    ) -> Slot:
        """Wait for a slot for one request to ``chat``. ``message`` is False for an edit,
        which counts against the overall and group limits but not a private chat's."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        ahead = self._replies if priority is Priority.REPLY else (self._replies or self._bulk)
        if not ahead and self._ready_at(chat, message, priority, now) <= now:
            return self._grant(chat, message, priority, now)
        if priority is Priority.REPLY:
            self.stats.replies_waited += 1
        else:
            self.stats.bulk_waited += 1
        waiter = _Waiter(loop.create_future(), chat, message, priority)
        queue = self._replies if priority is Priority.REPLY else self._bulk
        queue.append(waiter)
        while True:
            self._dispatch()
            try:
                slot = await waiter.future
            except asyncio.CancelledError:
                future = waiter.future
                if future.done() and not future.cancelled():
                    future.result().cancel()  # granted just before the cancellation: give it back
                if waiter in queue:
                    queue.remove(waiter)
                raise
            if not self._paused(chat, loop.time()):
                return slot
            # A 429 was answered between this grant and the waiter waking up: the request has
            # not left yet, so it waits out the pause, first in line again.
            slot.cancel()
            waiter.future = loop.create_future()
            queue.appendleft(waiter)

    def _paused(self, chat: ChatKey | None, now: float) -> bool:
        if now < self._paused_until:
            return True
        return chat is not None and self._chat_paused.get(chat, 0.0) > now

    def rate_limited(self, chat: ChatKey | None, retry_after: float) -> bool:
        """Telegram answered 429 for a request to ``chat``: pause what that concerns. True if
        the whole budget is paused, False if only the chat."""
        self.stats.rate_limited += 1
        now = asyncio.get_running_loop().time()
        until = now + max(0.0, retry_after)
        if chat is not None and (_is_group(chat) or self._crowded(chat, now)):
            self._chat_paused[chat] = max(self._chat_paused.get(chat, 0.0), until)
            self._schedule(until)
            return False
        self._paused_until = max(self._paused_until, until)
        self._schedule(self._paused_until)
        return True

    def _crowded(self, chat: ChatKey, now: float) -> bool:
        """Whether the chat had more than the refused request within the per-chat interval."""
        window = self._chats.get(chat)
        if window is None:
            return False
        window.free_at(now)  # forgets what is older than the interval
        return window.in_flight + len(window.stamps) >= 2

    @property
    def waiting(self) -> int:
        return len(self._replies) + len(self._bulk)

    # deciding -----------------------------------------------------------------------------

    def _ready_at(
        self, chat: ChatKey | None, message: bool, priority: Priority, now: float
    ) -> float:
        """The earliest moment this request may go: ``now`` if it may go now."""
        if priority is Priority.REPLY:
            at = max(self._paused_until, self._overall.free_at(now, 1))
        else:
            at = max(
                self._paused_until, self._next_bulk, self._overall.free_at(now, 1 + self.reserve)
            )
        if chat is None:
            return at
        paused = self._chat_paused.get(chat)
        if paused is not None:
            if paused <= now:
                del self._chat_paused[chat]
            else:
                at = max(at, paused)
        group = _is_group(chat)
        if group:
            window = self._groups.get(chat)
            if window is not None:
                at = max(at, window.free_at(now))
        if (message or group) and self._per_chat:
            window = self._chats.get(chat)
            # Bulk, and anything in a group: strictly one per interval. (A reply in a
            # private chat only counts here, for the bulk that comes after it.)
            if window is not None and (group or priority is Priority.BULK):
                at = max(at, window.free_after(self._chat_interval))
        return at

    def _grant(self, chat: ChatKey | None, message: bool, priority: Priority, now: float) -> Slot:
        windows = [self._overall]
        if chat is not None:
            group = _is_group(chat)
            if group:
                window = self._groups.get(chat)
                if window is None:
                    window = self._groups[chat] = _Window(self._group_rate, 60.0, self._margin)
                windows.append(window)
            if (message or group) and self._per_chat:
                window = self._chats.get(chat)
                if window is None:
                    window = self._chats[chat] = _Window(
                        self.per_chat_per_second, 1.0, self._margin
                    )
                windows.append(window)
        for window in windows:
            window.in_flight += 1
        if priority is Priority.REPLY:
            self.stats.replies += 1
        else:
            self.stats.bulk += 1
            start = max(self._next_bulk, now - self._bulk_tolerance)
            self._next_bulk = start + self._bulk_interval
        self._grants += 1
        if self._grants % _SWEEP_EVERY == 0:
            self._sweep(now)
        return Slot(self, tuple(windows))

    def _dispatch(self) -> None:
        """Grant what may go now, replies first; wake again when the next one may."""
        if self._timer is not None:
            self._timer.cancel()  # a no-op when it is the timer that called
        self._timer, self._timer_at = None, math.inf
        now = asyncio.get_running_loop().time()
        next_at = math.inf
        overall_full = False
        for queue in (self._replies, self._bulk):
            if overall_full:
                break
            kept: deque[_Waiter] = deque()
            while queue:
                waiter = queue.popleft()
                if waiter.future.done():  # cancelled
                    continue
                if overall_full:
                    kept.append(waiter)
                    continue
                at = self._ready_at(waiter.chat, waiter.message, waiter.priority, now)
                if at <= now:
                    waiter.future.set_result(
                        self._grant(waiter.chat, waiter.message, waiter.priority, now)
                    )
                    continue
                kept.append(waiter)
                next_at = min(next_at, at)
                bulk = waiter.priority is Priority.BULK
                need = 1 + self.reserve if bulk else 1
                if (
                    now < self._paused_until
                    or self._overall.free_at(now, need) > now
                    or (bulk and self._next_bulk > now)
                ):
                    # Nobody behind it can go either: the overall limit (or bulk's pace) is
                    # what waits.
                    overall_full = True
            queue.extend(kept)
        if self._replies or self._bulk:
            self._schedule(next_at)

    def _schedule(self, at: float) -> None:
        if at == math.inf or at >= self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.get_running_loop().call_at(at, self._dispatch)

    def _sweep(self, now: float) -> None:
        # A window outlives its strict interval (its span is not shorter), so an empty one
        # says nothing any more.
        for windows in (self._chats, self._groups):
            stale = [key for key, window in windows.items() if window.empty(now)]
            for key in stale:
                del windows[key]


def _is_group(chat: ChatKey) -> bool:
    """Groups, supergroups and channels have negative ids (or an ``@username``)."""
    return isinstance(chat, str) or chat < 0
