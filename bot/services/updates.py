"""Each Telegram update is handled once, however often it arrives.

Telegram retries a webhook delivery it did not see answered (a timeout after the bot had it),
and replicas behind one address may each be given the same update. Before any handler runs,
the update's id is claimed in ``handled_updates`` with an insert that ignores conflicts: the
process whose insert wins handles the update, every other delivery of it is acknowledged and
dropped. The claim is its own short transaction, committed before the handlers start, so a
second replica waiting on the same key sees it at once (PostgreSQL makes a concurrent insert
of the same key wait for the first one's commit).

Ids are kept for ``KEEP``, a day: as long as Telegram keeps an update it could not deliver.
The claims prune them themselves, at most every ``PRUNE_EVERY`` per process: no job needed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from storage.db import LOCK_RETRIES, is_lock_error
from storage.models import HandledUpdate
from storage.repositories import insert_ignoring_conflicts

log = logging.getLogger(__name__)

KEEP = timedelta(days=1)
PRUNE_EVERY = timedelta(minutes=10)


class UpdateLedger:
    """The ids of the updates some process has taken on (``handled_updates``).

    Every update passes here, so the claim is one statement on a connection in autocommit
    (no ORM session, no BEGIN and COMMIT round trips): a single insert is atomic by itself."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._clock = clock
        self._claim = insert_ignoring_conflicts(engine.dialect.name, HandledUpdate.__table__)
        self._pruned_at: datetime | None = None

    async def claim(self, update_id: int) -> bool:
        """Whether this process is the first to take ``update_id`` on (committed on return)."""
        now = self._clock()
        values = {"update_id": update_id, "received_at": now}
        for attempt in range(LOCK_RETRIES):
            try:
                async with self._engine.connect() as connection:
                    result = await connection.execute(self._claim, values)
                break
            except OperationalError as exc:  # SQLite's write lock, taken by another writer
                if not is_lock_error(exc) or attempt == LOCK_RETRIES - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            await self.prune(now)
        return bool(result.rowcount)

    async def prune(self, now: datetime) -> int:
        """Forget the ids older than ``KEEP``; returns how many. A statement of its own: two
        replicas pruning at once may wait on each other, never hold up a claim."""
        try:
            async with self._engine.connect() as connection:
                result = await connection.execute(
                    delete(HandledUpdate).where(HandledUpdate.received_at < now - KEEP)
                )
        except Exception:  # the claim stands; the next prune catches up
            log.warning("could not prune handled updates", exc_info=True)
            return 0
        return int(result.rowcount)
