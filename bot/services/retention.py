"""Retention (issue 13): personal data is kept only as long as it serves its purpose.

Once a day (``RUN_AT``, 03:30 in ``TIMEZONE``; ``handlers/jobs.run_retention``) three steps run:

- ``purge_signup_details``: the sign-ups of every event that ended (``ends_at``, else
  ``starts_at``) more than ``SIGNUP_RETENTION_DAYS`` ago keep only anonymous counts, exactly
  as "delete my data" leaves a past event's sign-up (``privacy.anonymise_signup``: the note,
  the needs, the interpreter language, the registration code and the Telegram id go; party
  size and status stay for statistics). One transaction per event, under the event's row lock
  (as the erase takes it), so the two never interleave on a row.
- ``warn_inactive``: residents not seen for ``INACTIVE_DAYS - INACTIVE_WARNING_DAYS`` and not
  warned yet are told, in their language, the date their data will be deleted unless they send
  a message or tap a button (the message has a "keep my data" button). ``warned_at`` is set
  with a conditional UPDATE and the outbox row (kind ``service``, outside the resident's quiet
  hours) is written in the same transaction, so each warning goes once even if two processes
  ran the step. Any interaction sets ``last_seen_at`` and clears ``warned_at``
  (``ResidentRepository.mark_seen``, through ``ResidentService.seen``).
- ``remove_inactive``: residents warned on a day at least ``INACTIVE_WARNING_DAYS`` before
  today (local calendar days: the run on the date the warning named removes them) and not seen
  since are erased with ``PrivacyService.erase_if``, each in its own transaction, which checks
  again at its start that they haven't come back meanwhile.

Each day's run is claimed once across replicas (``run_due``): a row in ``job_runs`` (name and
period, the primary key) inserted with ``insert_ignoring_conflict``; the process whose insert
wins runs the day, the others skip. A run that fails halfway leaves the day claimed: every
step works on everything older than its threshold, so the next day's run catches up.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import quiet_until
from bot.services.delivery import DeliveryService, Recipient
from bot.services.privacy import PrivacyService, anonymise_signup
from storage.db import in_transaction, lock_row
from storage.models import Event, JobRun, Resident, Signup
from storage.repositories import insert_ignoring_conflict

__all__ = [
    "JOB_NAME",
    "RUN_AT",
    "SERVICE_KIND",
    "RetentionPolicy",
    "RetentionRenderer",
    "RetentionRun",
    "RetentionService",
]

log = logging.getLogger(__name__)

#: The ``job_runs`` name of the daily run.
JOB_NAME = "retention"
#: When the daily run is due, local time: a quiet hour.
RUN_AT = time(3, 30)
#: The outbox kind of the warning: a message about the resident's own data.
SERVICE_KIND = "service"
#: Residents warned per transaction.
WARN_BATCH = 200


@dataclass(frozen=True)
class RetentionPolicy:
    """How long things are kept, in days (``SIGNUP_RETENTION_DAYS``, ``INACTIVE_DAYS``,
    ``INACTIVE_WARNING_DAYS``)."""

    signup_days: int = 30
    inactive_days: int = 365
    warning_days: int = 30

    def __post_init__(self) -> None:
        if not 0 < self.warning_days < self.inactive_days or self.signup_days < 1:
            raise ValueError(f"an impossible retention policy: {self}")


class RetentionRenderer(Protocol):
    """The warning's Bot API payload (``bot.rendering.RetentionRenderer`` implements it)."""

    def inactivity_warning(self, removal_day: date, locale: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RetentionRun:
    """What one day's run did (for the log and the tests)."""

    period: str
    events: int  # events whose sign-ups were made anonymous
    signups: int
    warned: int
    removed: int


def default_claimant() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RetentionService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryService,
        privacy: PrivacyService,
        renderer: RetentionRenderer | None,
        *,
        policy: RetentionPolicy,
        default_locale: str,
        tz: tzinfo,
        clock: Clock,
        claimant: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._delivery = delivery
        self._privacy = privacy
        self._renderer = renderer
        self.policy = policy
        self._default_locale = default_locale
        self._tz = tz
        self._clock = clock
        self.claimant = (claimant or default_claimant())[:64]

    # the daily run ----------------------------------------------------------------------

    def period(self, now: datetime) -> str:
        """The run's period: the local day."""
        return now.astimezone(self._tz).date().isoformat()

    async def run_due(self, now: datetime | None = None) -> RetentionRun | None:
        """Today's run, if it is due (after ``RUN_AT`` local time) and this process claims it
        first; None otherwise (too early, or another process has it)."""
        now = now or self._clock()
        if now.astimezone(self._tz).time() < RUN_AT:
            return None
        period = self.period(now)
        if not await self.claim(JOB_NAME, period, now):
            return None
        events, signups = await self.purge_signup_details(now)
        warned = await self.warn_inactive(now)
        removed = await self.remove_inactive(now)
        done = RetentionRun(period, events, signups, warned, removed)
        log.info(
            "retention %s: %d sign-ups of %d events made anonymous, %d residents warned, "
            "%d removed",
            period,
            signups,
            events,
            warned,
            removed,
        )
        return done

    async def claim(self, name: str, period: str, now: datetime) -> bool:
        """Whether this process won ``name`` for ``period`` (its own committed transaction)."""

        async def work(session: AsyncSession) -> bool:
            return await insert_ignoring_conflict(
                session,
                JobRun,
                {"name": name, "period": period, "claimed_by": self.claimant, "claimed_at": now},
            )

        return await in_transaction(self._sessions, work)

    # sign-ups ---------------------------------------------------------------------------

    async def purge_signup_details(self, now: datetime) -> tuple[int, int]:
        """Every sign-up of an event over for ``signup_days`` keeps only anonymous counts.
        Returns (events, sign-ups) changed."""
        cutoff = now - timedelta(days=self.policy.signup_days)
        ended = func.coalesce(Event.ends_at, Event.starts_at)
        async with self._sessions() as session:
            event_ids = list(
                await session.scalars(
                    select(Event.id)
                    .where(
                        ended < cutoff,
                        Event.id.in_(select(Signup.event_id).where(Signup.telegram_id > 0)),
                    )
                    .order_by(Event.id)  # the erase's order: the two never wait for each other
                )
            )
        total = changed_events = 0
        for event_id in event_ids:

            async def work(session: AsyncSession, event_id: int = event_id) -> int:
                event = await lock_row(session, Event, event_id)
                if event is None:
                    return 0
                signups = list(
                    await session.scalars(
                        select(Signup)
                        .where(Signup.event_id == event_id, Signup.telegram_id > 0)
                        .order_by(Signup.id)
                    )
                )
                for signup in signups:
                    anonymise_signup(signup, event)
                await session.flush()
                return len(signups)

            count = await in_transaction(self._sessions, work)
            total += count
            changed_events += 1 if count else 0
        return changed_events, total

    # inactive residents -----------------------------------------------------------------

    def removal_day(self, warned_at: datetime) -> date:
        """The local day a resident warned at ``warned_at`` is removed (the warning names it)."""
        return warned_at.astimezone(self._tz).date() + timedelta(days=self.policy.warning_days)

    async def warn_inactive(self, now: datetime) -> int:
        """Tell residents who have been away for long that their data goes on a given day,
        each once. Returns how many were warned."""
        if self._renderer is None:
            log.warning("retention: no renderer for the inactivity warning; nobody is warned")
            return 0
        render = self._renderer.inactivity_warning
        away = now - timedelta(days=self.policy.inactive_days - self.policy.warning_days)
        removal_day = self.removal_day(now)
        source = f"retention:warning:{self.period(now)}"
        due = (Resident.warned_at.is_(None), Resident.last_seen_at < away)
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(Resident.telegram_id).where(*due).order_by(Resident.telegram_id)
                )
            )
        warned = 0
        for start in range(0, len(ids), WARN_BATCH):
            batch = ids[start : start + WARN_BATCH]

            async def work(session: AsyncSession, batch: list[int] = batch) -> int:
                # The conditional UPDATE claims each warning: whoever set warned_at sends it.
                rows = (
                    await session.execute(
                        update(Resident)
                        .where(Resident.telegram_id.in_(batch), *due)
                        .values(warned_at=now)
                        .returning(
                            Resident.telegram_id,
                            Resident.locale,
                            Resident.quiet_start,
                            Resident.quiet_end,
                        )
                        .execution_options(synchronize_session=False)
                    )
                ).all()
                if not rows:
                    return 0
                recipients = [
                    Recipient(int(chat), str(locale), quiet_until(now, self._tz, start, end))
                    for chat, locale, start, end in rows
                ]
                locales = sorted({r.locale for r in recipients} | {self._default_locale})
                payloads: Mapping[str, dict[str, Any]] = {
                    locale: render(removal_day, locale) for locale in locales
                }
                await self._delivery.enqueue(
                    source=source,
                    kind=SERVICE_KIND,
                    broadcast_id=None,
                    payloads=payloads,
                    fallback_locale=self._default_locale,
                    recipients=recipients,
                    session=session,
                )
                return len(rows)

            warned += await in_transaction(self._sessions, work)
        return warned

    async def remove_inactive(self, now: datetime) -> int:
        """Erase the residents whose warning named a day up to today and who have not been
        seen since, each in its own transaction. Returns how many were removed."""
        # Warned on a local day at least warning_days before today: before the start of the
        # local day after (today - warning_days).
        last_day = now.astimezone(self._tz).date() - timedelta(days=self.policy.warning_days)
        before = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=self._tz)
        due = (
            Resident.warned_at.is_not(None),
            Resident.warned_at < before,
            Resident.last_seen_at <= Resident.warned_at,
        )
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(Resident.telegram_id).where(*due).order_by(Resident.telegram_id)
                )
            )

        async def still_away(session: AsyncSession, telegram_id: int) -> bool:
            # A no-op UPDATE under the same conditions, first in the erase's transaction: it
            # takes the row's lock (PostgreSQL re-reads the row after a concurrent update) or
            # SQLite's write lock, so a tap that committed a moment ago counts, and one that
            # comes now waits for the erase.
            result = await session.execute(
                update(Resident)
                .where(Resident.telegram_id == telegram_id, *due)
                .values(warned_at=Resident.warned_at)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

        removed = 0
        for telegram_id in ids:
            if await self._privacy.erase_if(telegram_id, still_away) is not None:
                removed += 1
        return removed
