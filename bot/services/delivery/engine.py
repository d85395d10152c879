"""The engine: claims due rows, sends them, records the results.

``DeliveryEngine`` workers claim due rows in the database (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite the claiming ``UPDATE ... RETURNING`` alone, since SQLite serialises
writers), send them through a ``Sender`` at the configured rate and write the results back in
batches. The engine knows nothing about Telegram: the sender maps the Bot API's answers to the
four errors in ``sending``.

Claims are leases: a claimed row is ``sending`` until ``claimed_until``, which the engine's
heartbeat keeps pushing forward while the process lives. A row whose lease ran out (its
worker crashed or was killed) goes back to ``pending`` and is sent by whoever claims it next.
An engine stops starting sends once its own lease could have run out (no heartbeat).

Retries
-------
A transient failure (a 5xx, a timeout, a connection error) sends the row back to pending with
an exponential backoff and some jitter; it fails once its waits add up to
``DeliveryLimits.retry_horizon`` (30 minutes by default), so an outage shorter than that fails
nothing. The count needs no extra column: a retry is never claimed before its time, so the
horizon has passed since the row's first try when it fails (later, when the engine is busy).
429s don't count, and a failed row can be put back by ``DeliveryService.retry_failed``.

Duplicates: the bound
---------------------
The Bot API has no idempotency key, so a request whose answer was lost can't be told from one
that never arrived. A message goes out twice in two cases only:

1. A lost answer. The sender raises ``UnconfirmedSend`` when the request may have been read
   but no answer came (the connection dropped after the request went out, or the answer timed
   out). Such a row is sent again once: while it is pending its ``sent_at`` keeps the time of
   that unconfirmed try, and a second unconfirmed try fails the row ("unconfirmed twice")
   instead of sending a third copy. So a lost answer costs a recipient at most one duplicate.
   The price: in an outage that drops connections or hangs (rather than refusing them or
   answering 5xx, which are retried for the whole horizon) a row fails after its second
   unconfirmed try; "Retry failed" sends it again, knowingly (at most one more copy).
2. A hard kill, below: at most ``duplicate_bound`` rows in total per kill.

So one recipient gets at most 1 duplicate of a message, plus 1 for each hard kill that caught
their row in flight; in total at most one per row whose answer was lost, plus
``duplicate_bound`` per hard kill. A graceful stop adds none.

Duplicates after a hard kill
----------------------------
A row is marked ``sent`` only when its result batch is committed. Before each send the engine
takes a permit from a semaphore of ``DeliveryLimits.duplicate_bound`` permits
(``concurrency + result_batch_size``) and gives it back only after the row's result is
committed. So at any instant at most that many rows have been handed to Telegram without
being recorded as sent: the requests in flight plus the unflushed result buffer. After a
SIGKILL those rows are sent again once their lease runs out, so no recipient is missed and at
most ``duplicate_bound`` recipients of the killed process get a message twice. A graceful stop
(SIGTERM) finishes the sends in flight and flushes, so it causes no duplicate.

Rates: an ``OutgoingBudget`` (``budget.py``: overall, per chat, per group, sliding windows).
The bot process hands its engine the budget its replies take from, so that together they stay
within Telegram's limits and replies go first; an engine without one (a bare ``quartierbot
worker``, tests, the benchmark) has a budget of its own at its rate. That rate is per engine:
run N workers against one bot with ``DELIVERY_RATE`` divided by N.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, exists, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from storage.db import LOCK_RETRIES, is_lock_error
from storage.models import DeliveryState, UTCDateTime

from .budget import OutgoingBudget, Priority, Slot
from .consent import withdraw_statement
from .observing import DeliveryObserver
from .outbox import DELIVERIES, OPEN_STATES, OUTBOX, SOURCES
from .sending import (
    PermanentFailure,
    RateLimited,
    RecipientGone,
    Sender,
    TransientFailure,
    UnconfirmedSend,
)

# The package's name, as before the split into modules: log lines keep their logger name.
log = logging.getLogger("bot.services.delivery")


@dataclass(frozen=True)
class DeliveryLimits:
    messages_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    #: Seconds a row is retried after transient failures (5xx, timeouts, connection errors)
    #: before it is marked failed: it fails once its backoff waits add up to this (so at
    #: least this long after its first try). 429s never count. ``DELIVERY_RETRY_HORIZON``.
    retry_horizon: float = 1800.0
    #: An extra cap on tries per row (transient errors only); None: the horizon alone.
    max_attempts: int | None = None
    #: A transient failure waits backoff_base * 2**(attempt - 1) seconds, at most backoff_max,
    #: lengthened by up to backoff_jitter of itself at random, so that the rows that failed
    #: together in an outage don't all come back in the same instant.
    backoff_base: float = 2.0
    backoff_max: float = 300.0
    backoff_jitter: float = 0.25
    #: Rows claimed ahead: about a second of sending, so a cancel takes effect within ~1 s.
    claim_batch_size: int = 30
    #: How long a claim lasts without a heartbeat (a crashed worker's rows return after it).
    lease_seconds: float = 30.0
    #: Requests in flight at once (Telegram answers in ~50-100 ms; 1000/s needs ~100).
    concurrency: int = 8
    #: Results are committed every result_batch_size rows or result_flush_seconds.
    result_batch_size: int = 10
    result_flush_seconds: float = 0.1
    #: How often an idle engine looks for work enqueued by other processes.
    idle_poll_seconds: float = 1.0

    @classmethod
    def for_rate(cls, messages_per_second: float, **overrides: Any) -> DeliveryLimits:
        """Limits sized for a rate: enough concurrency and batching, no more than needed
        (both enlarge the duplicate bound)."""
        rate = messages_per_second
        sized = cls(
            messages_per_second=rate,
            claim_batch_size=min(1000, max(20, math.ceil(rate))),
            concurrency=min(200, max(8, math.ceil(rate * 0.15))),
            result_batch_size=min(100, max(10, math.ceil(rate * 0.1))),
        )
        return replace(sized, **overrides)

    def backoff(self, attempt: int) -> float:
        """The wait (before jitter) after a row's ``attempt``-th try failed."""
        return min(self.backoff_max, self.backoff_base * 2.0 ** min(attempt - 1, 64))

    def waited_before(self, attempt: int) -> float:
        """The backoff a row has waited, at least, before its ``attempt``-th try: the waits
        after tries 1 .. attempt-1, the last one cut so that the sum ends at the horizon."""
        total, tried = 0.0, 1
        while tried < attempt and total < self.retry_horizon:
            step = self.backoff(tried)
            if step >= self.backoff_max:  # capped from here on: the rest in one step
                total += step * (attempt - tried)
                break
            total += step
            tried += 1
        return min(total, self.retry_horizon)

    @property
    def duplicate_bound(self) -> int:
        """At most this many rows are sent but not yet recorded as sent at any instant, so a
        hard kill re-sends at most this many messages (see the module docstring)."""
        return self.concurrency + self.result_batch_size


@dataclass(slots=True)
class _Claimed:
    id: int
    source: str
    chat_id: int
    message_id: int
    attempts: int  # including this one
    kind: str = ""
    #: When an earlier try of this row may have been delivered (an unconfirmed send), if one
    #: was; stored in ``sent_at`` while the row is pending.
    maybe_sent: datetime | None = None


@dataclass
class EngineStats:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    #: Sends that may have been delivered but got no answer (``UnconfirmedSend``).
    unconfirmed: int = 0
    rate_limited: int = 0
    released: int = 0
    #: Claimed rows dropped because their recipient withdrew consent or was erased.
    withdrawn: int = 0
    claims: int = 0
    flushes: int = 0
    finished_sources: list[str] = field(default_factory=list)


async def _finish(task: asyncio.Task[None], grace: float) -> None:
    """Wait for ``task`` to end by itself; cancel it only if it hasn't within ``grace``."""
    _, late = await asyncio.wait({task}, timeout=grace)
    if late:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def default_worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# The result of one row, written in batches with one executemany. claimed_by stays on
# terminal rows (who sent it) and is cleared when a row goes back to pending.
_WRITE_RESULT = (
    update(DELIVERIES)
    .where(
        DELIVERIES.c.id == bindparam("b_id"),
        DELIVERIES.c.claimed_by == bindparam("b_worker", type_=String()),
    )
    .values(
        state=bindparam("b_state"),
        telegram_message_id=bindparam("b_tmid"),
        sent_at=bindparam("b_sent_at"),
        last_error=bindparam("b_error"),
        not_before=func.coalesce(
            bindparam("b_not_before", type_=UTCDateTime()), DELIVERIES.c.not_before
        ),
        attempts=DELIVERIES.c.attempts - bindparam("b_refund", type_=Integer()),
        claimed_by=bindparam("b_claimed_by", type_=String()),
        claimed_until=None,
    )
)


class DeliveryEngine:
    """Claims due rows, sends them at the configured rates, records the results.

    One claimer task keeps a small queue of claimed rows filled; ``concurrency`` sender tasks
    take rows from it; a flusher commits results in batches; a heartbeat renews this engine's
    leases and returns rows of dead workers to pending.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: Sender,
        limits: DeliveryLimits | None = None,
        *,
        worker_id: str | None = None,
        on_recipient_gone: Callable[[int], Awaitable[None]] | None = None,
        on_source_finished: Callable[[str], Awaitable[None]] | None = None,
        check_consent: bool = False,
        observer: DeliveryObserver | None = None,
        budget: OutgoingBudget | None = None,
        clock: Clock,
    ) -> None:
        #: Told of every row sent or failed for good and of every 429 (``observing``).
        self._observer = observer
        self._sessions = sessions
        # The bot's engine (bot/runtime.py) checks consent at send time (``consent``); a bare
        # engine over an outbox without residents (tests, the benchmark) doesn't.
        self._check_consent = check_consent
        self._clock = clock
        self._sender = sender
        self.limits = limits = limits or DeliveryLimits()
        self.worker_id = (worker_id or default_worker_id())[:64]
        self._on_recipient_gone = on_recipient_gone
        # Only an engine with a hook looks for finished sources; one without (a bare
        # `quartierbot worker`) must not claim a report it cannot deliver.
        self._on_source_finished = on_source_finished
        self.stats = EngineStats()

        # Shared with the bot's replies, which go first (bot/runtime.py); else our own.
        self._budget = budget or OutgoingBudget(
            limits.messages_per_second, per_chat_per_second=limits.per_chat_per_second
        )
        self._gone: dict[int, float] = {}  # chat -> loop time it answered "gone"
        self._gone_unsaved: set[int] = set()  # chats whose pending rows to skip at next flush
        self._payloads: dict[int, dict[str, Any]] = {}
        self._queue: asyncio.Queue[_Claimed | None] = asyncio.Queue()
        self._held: dict[int, _Claimed] = {}  # claimed and not yet recorded
        self._buffer: list[dict[str, Any]] = []
        self._buffer_permits = 0
        self._unconfirmed = asyncio.Semaphore(limits.duplicate_bound)
        self._in_flight = 0
        self._resume_at = 0.0  # loop time until which a 429 paused all sending
        self._lease_deadline = 0.0  # loop time our claims are safe until (renewed by heartbeat)
        self._wake = asyncio.Event()
        self._need_rows = asyncio.Event()
        self._heartbeat_stop = asyncio.Event()
        self._results_ready = asyncio.Event()
        self._batch_full = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._senders: list[asyncio.Task[None]] = []
        self._dialect: str | None = None

    # lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not self._stopping

    def start(self) -> None:
        if self._tasks:
            return
        self._stopping = False
        self._heartbeat_stop.clear()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="delivery-claimer"),
            asyncio.create_task(self._flush_loop(), name="delivery-flusher"),
            asyncio.create_task(self._heartbeat_loop(), name="delivery-heartbeat"),
        ]
        self._senders = [
            asyncio.create_task(self._send_loop(), name=f"delivery-sender-{n}")
            for n in range(self.limits.concurrency)
        ]
        log.info(
            "delivery engine %s started: %g msg/s, %d concurrent, duplicate bound %d",
            self.worker_id,
            self.limits.messages_per_second,
            self.limits.concurrency,
            self.limits.duplicate_bound,
        )

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let the sends in flight finish (up to ``grace`` seconds), give the
        rows not yet sent back to pending and commit every result."""
        if not self._tasks:
            return
        self._stopping = True
        self._wake.set()
        self._need_rows.set()
        claimer, flusher, heartbeat = self._tasks
        # The claimer and the heartbeat are let go on their own, not cancelled: a task cancelled
        # inside its transaction can leave its aiosqlite connection checked out with SQLite's
        # write lock held, and every later write (the last results) fails "database is locked".
        await _finish(claimer, grace)
        for _ in self._senders:
            self._queue.put_nowait(None)
        _, late = await asyncio.wait(self._senders, timeout=grace)
        for task in late:  # still waiting on a limiter or a slow request
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        while not self._queue.empty():
            self._queue.get_nowait()
        for row in list(self._held.values()):
            self._record_release(row, refund=1)
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await self._final_flush()
        self._heartbeat_stop.set()
        await _finish(heartbeat, grace)
        self._tasks, self._senders = [], []
        log.info("delivery engine %s stopped", self.worker_id)

    async def _final_flush(self) -> None:
        # The last results must not be lost to a busy moment: SQLite may report its write lock
        # as taken (another writer of this process, a busy machine) past busy_timeout. The rows
        # stay ours until their lease ends, so trying again for a while is safe.
        for attempt in range(LOCK_RETRIES):
            try:
                await self._flush()
                return
            except OperationalError as exc:
                if not is_lock_error(exc) or attempt == LOCK_RETRIES - 1:
                    raise
                log.warning("delivery: the database is busy; writing the last results again")
                await asyncio.sleep(0.25 * (attempt + 1))

    def wake(self) -> None:
        """Work was enqueued in this process: look now instead of at the next poll."""
        self._wake.set()

    async def run_until_idle(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Until nothing is pending (due before the deadline) or sending, and every result
        is committed. For tests and scripts; raises ``TimeoutError``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        horizon = self._clock() + timedelta(seconds=timeout)
        while True:
            self.wake()
            if not self._held and not self._buffer and await self._open_rows(horizon) == 0:
                return
            if loop.time() > deadline:
                raise TimeoutError(f"deliveries still open after {timeout:g} s")
            await asyncio.sleep(0.02)

    async def _open_rows(self, horizon: datetime) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(DELIVERIES)
                .where(
                    (DELIVERIES.c.state == DeliveryState.SENDING)
                    | and_(
                        DELIVERIES.c.state == DeliveryState.PENDING,
                        DELIVERIES.c.not_before <= horizon,
                    )
                )
            )
            return int(count or 0)

    # claiming -------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        target = self.limits.claim_batch_size
        while not self._stopping:
            try:
                room = target - self._queue.qsize()
                if room < max(1, target // 2):
                    self._need_rows.clear()
                    if self._stopping:  # stop() set it before: no await between
                        break
                    await self._need_rows.wait()
                    continue
                rows = await self._claim(room)
                if rows:
                    for row in rows:
                        self._held[row.id] = row
                        self._queue.put_nowait(row)
                    continue
                if self._on_source_finished is not None:
                    await self._report_finished_sources()
                delay = await self._seconds_until_due()
                self._wake.clear()
                if self._stopping:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery: claiming failed; retrying in 1 s")
                await asyncio.sleep(1.0)

    async def _claim(self, limit: int) -> list[_Claimed]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        now = self._clock()
        async with self._sessions.begin() as session:
            if self._dialect is None:
                self._dialect = session.get_bind().dialect.name
            due = (
                select(DELIVERIES.c.id)
                .where(DELIVERIES.c.state == DeliveryState.PENDING, DELIVERIES.c.not_before <= now)
                .order_by(DELIVERIES.c.not_before, DELIVERIES.c.id)
                .limit(limit)
            )
            if self._dialect == "postgresql":
                # Two workers never claim the same row, and never wait for each other.
                due = due.with_for_update(skip_locked=True)
            result = await session.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id.in_(due.scalar_subquery()))
                .values(
                    state=DeliveryState.SENDING,
                    claimed_by=self.worker_id,
                    claimed_until=now + timedelta(seconds=self.limits.lease_seconds),
                    attempts=DELIVERIES.c.attempts + 1,
                )
                .returning(
                    DELIVERIES.c.id,
                    DELIVERIES.c.source,
                    DELIVERIES.c.chat_id,
                    DELIVERIES.c.message_id,
                    DELIVERIES.c.attempts,
                    DELIVERIES.c.kind,
                    DELIVERIES.c.sent_at,
                )
            )
            rows = sorted((_Claimed(*row) for row in result), key=lambda row: row.id)
            if rows and self._check_consent:
                # At send time, in the claim's transaction, one query for the batch: a row
                # whose recipient opted out of its purpose or was erased since it was queued
                # is cancelled, not sent (bot/services/delivery/consent.py).
                dropped = await session.execute(
                    withdraw_statement([row.id for row in rows], self.worker_id)
                )
                gone = {int(row_id) for (row_id,) in dropped}
                if gone:
                    self.stats.withdrawn += len(gone)
                    rows = [row for row in rows if row.id not in gone]
            missing = {row.message_id for row in rows} - self._payloads.keys()
            if missing:
                if len(self._payloads) > 1000:
                    self._payloads.clear()
                payloads = await session.execute(
                    select(OUTBOX.c.id, OUTBOX.c.payload).where(OUTBOX.c.id.in_(missing))
                )
                self._payloads.update((int(id_), dict(p)) for id_, p in payloads)
        if rows:
            self.stats.claims += 1
            self._lease_deadline = max(self._lease_deadline, started + self.limits.lease_seconds)
        return rows

    async def _seconds_until_due(self) -> float:
        async with self._sessions() as session:
            next_due = await session.scalar(
                select(func.min(DELIVERIES.c.not_before)).where(
                    DELIVERIES.c.state == DeliveryState.PENDING
                )
            )
        poll = self.limits.idle_poll_seconds
        if not isinstance(next_due, datetime):
            return poll
        return min(poll, max(0.01, (next_due - self._clock()).total_seconds()))

    # sending --------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        low = max(1, self.limits.claim_batch_size // 2)
        while True:
            row = await self._queue.get()
            if row is None:
                return
            if self._queue.qsize() < low:
                self._need_rows.set()
            await self._deliver(row)

    async def _deliver(self, row: _Claimed) -> None:
        loop = asyncio.get_running_loop()
        # The permit and the pause first, the budget's slot last: it is held from its grant
        # (the request goes at once: no await between) until the answer.
        await self._unconfirmed.acquire()
        await self._wait_out_pause(loop)
        slot = await self._budget.acquire(row.chat_id, priority=Priority.BULK)
        if self._stopping or loop.time() > self._lease_deadline - self.limits.lease_seconds / 3:
            # Without a recent heartbeat another worker may take this row: don't send it.
            slot.cancel()
            self._unconfirmed.release()
            self._record_release(row, refund=1)
            return
        if row.chat_id in self._gone:
            slot.cancel()
            self._unconfirmed.release()
            self._record(row, DeliveryState.SKIPPED, error="recipient gone", permit=False)
            return
        self._in_flight += 1
        try:
            message_id = await self._send(row, slot)
        except RateLimited as exc:
            self.stats.rate_limited += 1
            if self._observer is not None:
                self._observer.rate_limited(exc.retry_after)
            # The budget pauses what the 429 concerns (all sending, or a group), replies too.
            if self._budget.rate_limited(row.chat_id, exc.retry_after):
                self._resume_at = max(self._resume_at, loop.time() + exc.retry_after)
                log.warning("delivery: rate limited, pausing all sending for %g s", exc.retry_after)
            else:
                log.warning(
                    "delivery: rate limited in a group, pausing it for %g s", exc.retry_after
                )
            self._record_release(
                row, refund=1, not_before=self._clock() + timedelta(seconds=exc.retry_after)
            )
            self._unconfirmed.release()  # nothing was sent
        except RecipientGone as exc:
            self._gone[row.chat_id] = loop.time()
            self._gone_unsaved.add(row.chat_id)
            self._record(row, DeliveryState.SKIPPED, error=str(exc))
            if self._on_recipient_gone is not None:
                try:
                    await self._on_recipient_gone(row.chat_id)
                except Exception:
                    log.exception("delivery: on_recipient_gone(%s) failed", row.chat_id)
        except PermanentFailure as exc:
            self._record(row, DeliveryState.FAILED, error=str(exc))
        except UnconfirmedSend as exc:
            self._record_unconfirmed(row, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # TransientFailure, or a sender bug: retry later
            if not isinstance(exc, TransientFailure):
                log.exception("delivery: unexpected error sending row %s", row.id)
            self._record_retry(row, f"{type(exc).__name__}: {exc}")
        else:
            self._record(row, DeliveryState.SENT, telegram_message_id=message_id)
        finally:
            self._in_flight -= 1

    async def _send(self, row: _Claimed, slot: Slot) -> int:
        try:
            return await self._sender.send(row.chat_id, self._payloads[row.message_id])
        finally:
            slot.done()  # answered, or failed: Telegram has counted it if it ever will

    async def _wait_out_pause(self, loop: asyncio.AbstractEventLoop) -> None:
        """After a 429 nothing is sent until Telegram's retry_after has passed; another 429
        answered meanwhile may extend the pause, hence the second look."""
        for _ in range(1000):
            pause = self._resume_at - loop.time()
            if pause <= 0:
                return
            await asyncio.sleep(pause)

    # results --------------------------------------------------------------------------

    def _record(
        self,
        row: _Claimed,
        state: DeliveryState,
        *,
        telegram_message_id: int | None = None,
        error: str | None = None,
        permit: bool = True,
    ) -> None:
        if state is DeliveryState.SENT:
            self.stats.sent += 1
        elif state is DeliveryState.FAILED:
            self.stats.failed += 1
        else:
            self.stats.skipped += 1
        if self._observer is not None:
            if state is DeliveryState.SENT:
                self._observer.sent(row.kind)
            else:
                gone = state is not DeliveryState.FAILED
                self._observer.failed(row.kind, "recipient_gone" if gone else "refused")
        self._push(
            row,
            {
                "b_state": state,
                "b_tmid": telegram_message_id,
                "b_sent_at": self._clock() if state is DeliveryState.SENT else row.maybe_sent,
                "b_error": error[:500] if error else None,
                "b_not_before": None,
                "b_refund": 0,
                "b_claimed_by": self.worker_id,
            },
            permit,
        )

    def _record_unconfirmed(self, row: _Claimed, error: str) -> None:
        """No answer to a send that may have gone out: sent again once, never twice, so a
        recipient gets at most one duplicate this way (the module docstring)."""
        self.stats.unconfirmed += 1
        if row.maybe_sent is not None:
            self._record(
                row,
                DeliveryState.FAILED,
                error=f"unconfirmed twice, not sent a third time: {error}",
            )
            return
        row.maybe_sent = self._clock()
        self._record_retry(row, error)

    def _record_retry(self, row: _Claimed, error: str) -> None:
        limits = self.limits
        waited = limits.waited_before(row.attempts)
        if waited >= limits.retry_horizon or (
            limits.max_attempts is not None and row.attempts >= limits.max_attempts
        ):
            self._record(row, DeliveryState.FAILED, error=error)
            return
        self.stats.retried += 1
        backoff = min(limits.backoff(row.attempts), limits.retry_horizon - waited)
        # Jitter only lengthens a wait, so the horizon is never reached early.
        backoff *= 1 + limits.backoff_jitter * random.random()
        self._push(
            row,
            {
                "b_state": DeliveryState.PENDING,
                "b_tmid": None,
                "b_sent_at": row.maybe_sent,
                "b_error": error[:500],
                "b_not_before": self._clock() + timedelta(seconds=backoff),
                "b_refund": 0,
                "b_claimed_by": None,
            },
            True,
        )

    def _record_release(
        self, row: _Claimed, *, refund: int, not_before: datetime | None = None
    ) -> None:
        """Back to pending without counting the attempt (not sent, or answered 429)."""
        self.stats.released += 1
        self._push(
            row,
            {
                "b_state": DeliveryState.PENDING,
                "b_tmid": None,
                "b_sent_at": row.maybe_sent,
                "b_error": None,
                "b_not_before": not_before,
                "b_refund": refund,
                "b_claimed_by": None,
            },
            False,
        )

    def _push(self, row: _Claimed, params: dict[str, Any], permit: bool) -> None:
        if self._held.pop(row.id, None) is None:
            # Already recorded (released by stop() while this send was cancelled).
            if permit:
                self._unconfirmed.release()
            return
        params["b_id"] = row.id
        params["b_worker"] = self.worker_id
        self._buffer.append(params)
        self._buffer_permits += permit
        if len(self._buffer) == 1:
            self._results_ready.set()
        if len(self._buffer) >= self.limits.result_batch_size:
            self._batch_full.set()

    async def _flush_loop(self) -> None:
        while True:
            await self._results_ready.wait()
            if len(self._buffer) < self.limits.result_batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._batch_full.wait(), self.limits.result_flush_seconds
                    )
            self._results_ready.clear()
            self._batch_full.clear()
            try:
                await self._flush()
            except Exception:
                log.exception("delivery: writing results failed; retrying in 1 s")
                await asyncio.sleep(1.0)
            if self._buffer:
                self._results_ready.set()

    async def _flush(self) -> None:
        async with self._flush_lock:
            if not self._buffer and not self._gone_unsaved:
                return
            batch, permits, gone = self._buffer, self._buffer_permits, self._gone_unsaved
            self._buffer, self._buffer_permits, self._gone_unsaved = [], 0, set()
            try:
                async with self._sessions.begin() as session:
                    if batch:
                        await session.execute(_WRITE_RESULT, batch)
                    if gone:
                        # Later rows for a chat that blocked us are skipped, not tried.
                        await session.execute(
                            update(DELIVERIES)
                            .where(
                                DELIVERIES.c.chat_id.in_(gone),
                                DELIVERIES.c.state == DeliveryState.PENDING,
                            )
                            .values(state=DeliveryState.SKIPPED, last_error="recipient gone")
                        )
            except BaseException:
                # Keep the results (their rows stay ours while the heartbeat runs).
                self._buffer = batch + self._buffer
                self._buffer_permits += permits
                self._gone_unsaved |= gone
                raise
            self.stats.flushes += 1
            for _ in range(permits):
                self._unconfirmed.release()

    # heartbeat, recovery, finished sources ------------------------------------------

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.limits.lease_seconds / 3
        while not self._heartbeat_stop.is_set():
            try:
                await self._recover_stale()
                started = loop.time()
                if self._held or self._in_flight:
                    await self._renew_leases()
                self._lease_deadline = max(
                    self._lease_deadline, started + self.limits.lease_seconds
                )
                self._forget_old_chats(loop.time())
                if self._on_source_finished is not None:
                    # Also while busy with other work (the claimer looks only when idle).
                    await self._report_finished_sources()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery: heartbeat failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._heartbeat_stop.wait(), interval)

    async def _renew_leases(self) -> None:
        now = self._clock()
        async with self._sessions.begin() as session:
            await session.execute(
                update(DELIVERIES)
                .where(
                    DELIVERIES.c.claimed_by == self.worker_id,
                    DELIVERIES.c.state == DeliveryState.SENDING,
                )
                .values(claimed_until=now + timedelta(seconds=self.limits.lease_seconds))
            )

    async def _recover_stale(self) -> int:
        """Rows of a worker that died while sending go back to pending."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(DELIVERIES)
                .where(
                    DELIVERIES.c.state == DeliveryState.SENDING,
                    DELIVERIES.c.claimed_until < self._clock(),
                )
                .values(state=DeliveryState.PENDING, claimed_by=None, claimed_until=None)
            )
            recovered = int(result.rowcount)  # type: ignore[attr-defined]
        if recovered:
            log.warning("delivery: %d rows of a stopped worker are pending again", recovered)
            self.wake()
        return recovered

    def _forget_old_chats(self, now: float) -> None:
        # A resident who blocked us may unblock and write again; forget them after a lease.
        self._gone = {
            chat: t for chat, t in self._gone.items() if now - t < self.limits.lease_seconds
        }

    async def _report_finished_sources(self) -> None:
        assert self._on_source_finished is not None
        async with self._sessions() as session:
            candidates = list(
                await session.scalars(
                    select(SOURCES.c.source).where(SOURCES.c.finished_at.is_(None))
                )
            )
        for source in candidates:
            async with self._sessions.begin() as session:
                # Conditional: of several engines, only the one whose UPDATE hits reports.
                result = await session.execute(
                    update(SOURCES)
                    .where(
                        SOURCES.c.source == source,
                        SOURCES.c.finished_at.is_(None),
                        ~exists().where(
                            DELIVERIES.c.source == source,
                            DELIVERIES.c.state.in_(OPEN_STATES),
                        ),
                    )
                    .values(finished_at=self._clock())
                )
                claimed = bool(result.rowcount)  # type: ignore[attr-defined]
            if claimed:
                self.stats.finished_sources.append(source)
                try:
                    await self._on_source_finished(source)
                except Exception:
                    log.exception("delivery: on_source_finished(%r) failed", source)
