"""Clocks for tests: the instant is the test's choice, never the hour the suite happens to run.

``FixedClock`` stands still until the test moves it (service tests). ``RunningClock`` starts at a
chosen instant and then runs with real elapsed time (end-to-end tests, where the bot really waits
a few seconds for a reminder or a scheduled broadcast).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

#: A Thursday at noon in Berlin: outside everyone's quiet hours, far from a DST change.
TEST_START = datetime(2026, 11, 26, 12, 0, tzinfo=BERLIN)


class FixedClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a test clock needs an aware datetime")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class RunningClock:
    def __init__(self, start: datetime = TEST_START) -> None:
        self._start = start
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)
