"""Network faults: what a Telegram outage looks like from the bot's side of the connection.

``emulator.network`` (a :class:`NetworkFaults`) is switched per test or by a benchmark; every
Bot API request asks it first (``core``). A fault holds for a window: ``seconds`` on the
emulator's clock (a test's clock, so no real waiting) and/or ``requests`` (a count of the
requests it hits); with neither it holds until :meth:`NetworkFaults.clear`. Faults:

- :meth:`~NetworkFaults.storm_429`: every request answered 429 with ``retry_after``;
- :meth:`~NetworkFaults.server_errors`: 5xx, nothing done;
- :meth:`~NetworkFaults.timeouts`: the request is taken and never answered (held until the
  client has given up, then the connection is closed), nothing done;
- :meth:`~NetworkFaults.drop_before`: the connection is closed before the request is read;
- :meth:`~NetworkFaults.drop_after`: the request is handled (the message IS sent and recorded),
  then the connection is closed without an answer: the lost reply that causes duplicates.

By default a fault hits the sending methods only (``send*``, ``copyMessage``,
``forwardMessage``), so a bot's polling, edits and callback answers go on; ``methods=["*"]``
hits every method. ``every=n`` hits one matching request in ``n`` (a drop rate, deterministically).
What was hit is counted in :attr:`NetworkFaults.stats`, apart from the emulator's own stats
(``answered_429`` counts the flood limits' 429s only).

Flood limits and ``inject_429`` stay in ``faults``; these are the network's faults.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web

from bot.clock import Clock

FaultKind = Literal["429", "5xx", "timeout", "drop_before", "drop_after"]


@dataclass
class _Fault:
    kind: FaultKind
    until: datetime | None
    remaining: int | None
    methods: frozenset[str] | None  # lower-case names; None: the sending methods
    every: int
    status: int = 502
    retry_after: int = 1
    hold: float = 60.0
    seen: int = 0

    def hits(self, method: str) -> bool:
        if self.methods is None:
            return method.startswith("send") or method in ("copymessage", "forwardmessage")
        return "*" in self.methods or method in self.methods


class NetworkFaults:
    """The faults switched on, asked by the emulator before every Bot API request."""

    def __init__(self, clock: Clock) -> None:
        #: Outage windows given in ``seconds`` run on this clock (a test may swap it).
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self._faults: list[_Fault] = []
        self._released: asyncio.Event | None = None

    # switching faults on and off ------------------------------------------------------

    def storm_429(
        self,
        *,
        seconds: float | None = None,
        requests: int | None = None,
        retry_after: int = 1,
        methods: Collection[str] | None = None,
    ) -> None:
        """Every request answered 429 "retry after ``retry_after``" for the window."""
        self._add("429", seconds, requests, methods, 1, retry_after=retry_after)

    def server_errors(
        self,
        *,
        seconds: float | None = None,
        requests: int | None = None,
        status: int = 502,
        every: int = 1,
        methods: Collection[str] | None = None,
    ) -> None:
        """Requests answered with ``status`` (a 5xx) and not handled."""
        if not 500 <= status <= 599:
            raise ValueError("a server error is a 5xx")
        self._add("5xx", seconds, requests, methods, every, status=status)

    def timeouts(
        self,
        *,
        seconds: float | None = None,
        requests: int | None = None,
        hold: float = 60.0,
        every: int = 1,
        methods: Collection[str] | None = None,
    ) -> None:
        """Requests taken and never answered: held ``hold`` real seconds at most (the client
        must give up first), or until :meth:`clear`; then the connection is closed. Not
        handled."""
        self._add("timeout", seconds, requests, methods, every, hold=hold)

    def drop_before(
        self,
        *,
        seconds: float | None = None,
        requests: int | None = None,
        every: int = 1,
        methods: Collection[str] | None = None,
    ) -> None:
        """The connection closed before the request is read: nothing handled."""
        self._add("drop_before", seconds, requests, methods, every)

    def drop_after(
        self,
        *,
        seconds: float | None = None,
        requests: int | None = None,
        every: int = 1,
        methods: Collection[str] | None = None,
    ) -> None:
        """The request handled (a message is sent), then the connection closed unanswered."""
        self._add("drop_after", seconds, requests, methods, every)

    def clear(self) -> None:
        """Every fault off; requests held by ``timeouts`` are let go (and dropped)."""
        self._faults.clear()
        self.release()

    def release(self) -> None:
        """Let the requests held by ``timeouts`` go (dropped), e.g. when the server stops."""
        if self._released is not None:
            self._released.set()
            self._released = None

    @property
    def active(self) -> bool:
        self._expire()
        return bool(self._faults)

    def _add(
        self,
        kind: FaultKind,
        seconds: float | None,
        requests: int | None,
        methods: Collection[str] | None,
        every: int,
        *,
        status: int = 502,
        retry_after: int = 1,
        hold: float = 60.0,
    ) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        if isinstance(methods, str):
            methods = [methods]
        names = None if methods is None else frozenset(m.lower() for m in methods)
        until = self.clock() + timedelta(seconds=seconds) if seconds is not None else None
        self._faults.append(
            _Fault(kind, until, requests, names, every, status, int(retry_after), hold)
        )

    # asked by the emulator --------------------------------------------------------------

    def _expire(self) -> None:
        now = self.clock()
        self._faults = [
            f
            for f in self._faults
            if (f.until is None or now < f.until) and (f.remaining is None or f.remaining > 0)
        ]

    def take(self, method: str) -> _Fault | None:
        """The fault that hits this request, if any (counting it against its window)."""
        if not self._faults:
            return None
        self._expire()
        name = method.lower()
        for fault in self._faults:
            if not fault.hits(name):
                continue
            fault.seen += 1
            if (fault.seen - 1) % fault.every:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
            self.stats[fault.kind] += 1
            return fault
        return None

    async def answer(self, request: web.Request, fault: _Fault) -> web.StreamResponse:
        """The reply to a request hit by any fault but ``drop_after`` (nothing is handled)."""
        if fault.kind == "429":
            return _error(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        if fault.kind == "5xx":
            return _error(fault.status, "Bad Gateway" if fault.status == 502 else "Server Error")
        if fault.kind == "timeout":
            if self._released is None:
                self._released = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), fault.hold)
        drop(request)
        return web.Response(status=204)  # never reaches the client: the connection is gone


def drop(request: web.Request) -> None:
    """Close the connection without an answer."""
    if request.transport is not None:
        request.transport.close()


def _error(code: int, description: str, parameters: dict[str, int] | None = None) -> web.Response:
    body: dict[str, object] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)
