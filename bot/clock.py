"""Time is an input: the one place that reads the wall clock.

Services, the delivery engine, the web app and the sandbox take a ``Clock`` (any callable that
returns an aware UTC datetime) and never read the time themselves, so that a test chooses the
instant and nothing passes only at the hour or on the date it was written. ``system_clock`` is
what production passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: Returns the current instant, timezone-aware, in UTC.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)
