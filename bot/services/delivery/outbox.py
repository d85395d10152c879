"""The outbox as the rest of the domain sees it: enqueue, cancel, progress.

``DeliveryService.enqueue`` writes a durable outbox: one ``OutboxMessage`` per language and
one ``Delivery`` row per recipient (unique per source and chat, so enqueueing twice never
doubles). The engine (``engine``) sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement

from bot.bidi import direct_payload
from bot.clock import Clock
from storage.db import after_commit
from storage.models import Delivery, DeliverySource, DeliveryState, OutboxMessage
from storage.repositories import insert_ignoring_conflicts, insert_or_update

from .observing import DeliveryObserver

# Core tables: the engine's hot paths skip the ORM's unit of work.
DELIVERIES = cast(Table, Delivery.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
SOURCES = cast(Table, DeliverySource.__table__)

#: Rows per INSERT when enqueueing (well under SQLite's and asyncpg's parameter limits).
ENQUEUE_CHUNK = 1000

OPEN_STATES = (DeliveryState.PENDING, DeliveryState.SENDING)


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    locale: str
    #: Not before this time (e.g. the end of the resident's quiet hours); None means now.
    not_before: datetime | None = None


@dataclass(frozen=True)
class Depth:
    """The open rows of one kind, at one moment (the outbox's depth, for /healthz and
    /metrics): ``due`` pending and due now, ``waiting`` pending for a later time (quiet hours,
    a reminder's time, a retry's backoff), ``sending`` claimed by an engine."""

    kind: str
    due: int = 0
    waiting: int = 0
    sending: int = 0


@dataclass(frozen=True)
class OutboxHealth:
    """The outbox at a glance (the dashboard's delivery health)."""

    #: Due now (or being sent): the engine's backlog.
    due: int
    #: Waiting for their recipients' quiet hours to end.
    held: int
    #: Given up on (a 400, or too many transient errors) since the time asked about.
    failed: int


@dataclass(frozen=True)
class Held:
    """A source's rows waiting for the recipients' quiet hours to end."""

    count: int
    #: When the first of them may go (None when nothing is held).
    earliest: datetime | None = None


class DeliveryService:
    """The outbox as the rest of the domain sees it. No Telegram here: payloads are opaque.

    Every writing method takes an optional ``session``: given one, it writes in that (the
    caller's) transaction, so a domain change and the messages it causes commit or roll back
    together; without one it commits on its own.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._listeners: list[Callable[[], None]] = []
        self._observers: list[DeliveryObserver] = []

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called after every committed transaction that enqueued rows (an engine in this
        process wakes up); never for a transaction that rolled back."""
        self._listeners.append(callback)

    def add_observer(self, observer: DeliveryObserver) -> None:
        """Told (after the commit) how many rows each enqueue added to wait for later."""
        self._observers.append(observer)

    def _wake(self) -> None:
        for listener in self._listeners:
            listener()

    async def enqueue(
        self,
        *,
        source: str,
        kind: str,
        broadcast_id: int | None,
        payloads: Mapping[str, dict[str, Any]],
        fallback_locale: str,
        recipients: Iterable[Recipient],
        session: AsyncSession | None = None,
    ) -> int:
        """Queue one message per recipient in their language (else ``fallback_locale``'s).

        Idempotent per (source, chat): a recipient already queued for ``source`` is left as
        is. Each payload is stored as its locale's reader receives it: the text or caption
        of a right-to-left locale's begins right to left (``bot.bidi.direct_payload``).
        Returns the number of rows added. With ``session`` the rows are written in the
        caller's transaction and the listeners are called once it has committed.
        """
        if fallback_locale not in payloads:
            raise ValueError(f"no payload for the fallback locale {fallback_locale!r}")
        if session is None:
            async with self._sessions.begin() as own:
                return await self.enqueue(
                    source=source,
                    kind=kind,
                    broadcast_id=broadcast_id,
                    payloads=payloads,
                    fallback_locale=fallback_locale,
                    recipients=recipients,
                    session=own,
                )
        by_chat = {recipient.chat_id: recipient for recipient in recipients}
        if not by_chat:
            return 0
        now = self._clock()
        inserted = 0
        dialect = session.get_bind().dialect.name
        message_ids: dict[str, int] = {}
        for locale, payload in payloads.items():
            # A right-to-left reader's message begins right to left (bot/bidi.py), as the bot's
            # own replies do (bot/telegram_bidi.py).
            result = await session.execute(
                insert(OUTBOX)
                .values(payload=direct_payload(payload, locale), created_at=now)
                .returning(OUTBOX.c.id)
            )
            message_ids[locale] = int(result.scalar_one())
        fallback_id = message_ids[fallback_locale]
        rows = [
            {
                "source": source,
                "kind": kind,
                "broadcast_id": broadcast_id,
                "message_id": message_ids.get(recipient.locale, fallback_id),
                "chat_id": chat_id,
                "locale": recipient.locale,
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "not_before": recipient.not_before or now,
                "created_at": now,
            }
            for chat_id, recipient in by_chat.items()
        ]
        statement = insert_ignoring_conflicts(dialect, DELIVERIES).returning(DELIVERIES.c.chat_id)
        waiting = 0
        for start in range(0, len(rows), ENQUEUE_CHUNK):
            result = await session.execute(statement, rows[start : start + ENQUEUE_CHUNK])
            added = result.scalars().all()
            inserted += len(added)
            waiting += sum(1 for chat_id in added if (by_chat[chat_id].not_before or now) > now)
        if waiting and self._observers:
            observers = list(self._observers)

            def tell_held() -> None:
                for observer in observers:
                    observer.held(kind, waiting)

            after_commit(session, tell_held)
        if inserted:
            # The source is reported finished once its rows are done; one that got new rows
            # after that is open again. A source with no rows is never reported.
            await session.execute(
                insert_or_update(
                    dialect,
                    SOURCES,
                    dict(source=source, kind=kind, created_at=now, finished_at=None),
                    key=("source",),
                    changes={"finished_at": None},
                )
            )
            after_commit(session, self._wake)
        return inserted

    async def _write(self, statement: Executable, session: AsyncSession | None) -> int:
        """Run one UPDATE or DELETE in the caller's transaction, else in its own."""
        if session is None:
            async with self._sessions.begin() as own:
                return await self._write(statement, own)
        result = await session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _cancel_pending(self, session: AsyncSession | None, *where: Any) -> int:
        """Cancel the queued (pending) rows that match ``where``; returns how many."""
        return await self._write(
            update(DELIVERIES)
            .where(DELIVERIES.c.state == DeliveryState.PENDING, *where)
            .values(state=DeliveryState.CANCELLED),
            session,
        )

    async def cancel_source(self, source: str, *, session: AsyncSession | None = None) -> int:
        """Cancel every queued (pending) row of a source at once; returns how many."""
        return await self._cancel_pending(session, DELIVERIES.c.source == source)

    async def cancel_for_chat(
        self, chat_id: int, kinds: Collection[str], *, session: AsyncSession | None = None
    ) -> int:
        """Cancel a chat's queued rows of these kinds (``/stop``); returns how many."""
        return await self._cancel_pending(
            session, DELIVERIES.c.chat_id == chat_id, DELIVERIES.c.kind.in_(list(kinds))
        )

    async def cancel_news_for_chat(
        self,
        chat_id: int,
        kinds: Collection[str],
        sources_like: Collection[str] = (),
        *,
        session: AsyncSession | None = None,
    ) -> int:
        """Cancel a chat's news (``/stop``): queued rows of these kinds or of sources matching
        these LIKE patterns (an event's announcement is kind ``event``, as the notices about
        one's own sign-up are, so it is told by its source). Rows already claimed by an engine
        are cancelled too, their claim cleared: the engine writes a result only to a row still
        claimed by it, so one it gives back (a 429, a shutdown) cannot return to pending and
        go out after all. (One being sent at this moment still goes, within about a second.)
        Returns how many."""
        news: ColumnElement[bool] = DELIVERIES.c.kind.in_(list(kinds))
        if sources_like:
            news = or_(news, *(DELIVERIES.c.source.like(pattern) for pattern in sources_like))
        return await self._write(
            update(DELIVERIES)
            .where(
                DELIVERIES.c.chat_id == chat_id,
                DELIVERIES.c.state.in_(OPEN_STATES),
                news,
            )
            .values(state=DeliveryState.CANCELLED, claimed_by=None, claimed_until=None),
            session,
        )

    async def cancel_for_chat_in_sources(
        self, chat_id: int, sources: Collection[str], *, session: AsyncSession | None = None
    ) -> int:
        """Cancel one chat's queued rows of these sources (e.g. a cancelled sign-up's
        reminders); returns how many."""
        return await self._cancel_pending(
            session, DELIVERIES.c.chat_id == chat_id, DELIVERIES.c.source.in_(list(sources))
        )

    async def forget_cancelled(
        self,
        sources: Collection[str],
        chat_ids: Collection[int],
        *,
        session: AsyncSession | None = None,
    ) -> int:
        """Delete cancelled (never sent) rows of these sources for these chats, so that the
        same messages can be enqueued for them again (a sign-up renewed after a
        cancellation)."""
        if isinstance(sources, str):
            sources = [sources]
        return await self._write(
            delete(DELIVERIES).where(
                DELIVERIES.c.source.in_(list(sources)),
                DELIVERIES.c.chat_id.in_(list(chat_ids)),
                DELIVERIES.c.state == DeliveryState.CANCELLED,
            ),
            session,
        )

    async def retry_failed(self, source: str, *, session: AsyncSession | None = None) -> int:
        """Put a source's failed rows back to pending, due now, with a fresh retry horizon,
        and open the source again; returns how many (0 for a second call). A row whose last
        tries went unanswered keeps that mark (``sent_at``), so the engine sends it once more
        at most (engine.py's duplicate bound). With ``session`` the engines are woken once
        that transaction has committed."""
        if session is None:
            async with self._sessions.begin() as own:
                return await self.retry_failed(source, session=own)
        now = self._clock()
        moved = await self._write(
            update(DELIVERIES)
            .where(DELIVERIES.c.source == source, DELIVERIES.c.state == DeliveryState.FAILED)
            .values(
                state=DeliveryState.PENDING,
                attempts=0,
                not_before=now,
                claimed_by=None,
                claimed_until=None,
            ),
            session,
        )
        if moved:
            # Reported finished again once these rows are done.
            await session.execute(
                update(SOURCES).where(SOURCES.c.source == source).values(finished_at=None)
            )
            after_commit(session, self._wake)
        return moved

    async def retime_held(
        self,
        chat_id: int,
        until: datetime | None,
        *,
        keep_kinds: Collection[str] = (),
        session: AsyncSession | None = None,
    ) -> int:
        """Re-time a chat's held rows (pending, not due yet) to ``until``, None meaning now:
        its quiet hours were switched off or changed. Rows of ``keep_kinds`` (e.g. reminders,
        due at their own time) stay as they are. Returns how many; with ``session`` the engines
        are woken once that transaction has committed."""
        now = self._clock()
        if session is None:
            async with self._sessions.begin() as own:
                return await self.retime_held(chat_id, until, keep_kinds=keep_kinds, session=own)
        moved = await self._write(
            update(DELIVERIES)
            .where(
                DELIVERIES.c.chat_id == chat_id,
                DELIVERIES.c.state == DeliveryState.PENDING,
                DELIVERIES.c.not_before > now,
                DELIVERIES.c.attempts == 0,  # not a retry waiting out its backoff
                DELIVERIES.c.kind.not_in(list(keep_kinds)),
            )
            .values(not_before=until or now),
            session,
        )
        if moved:
            after_commit(session, self._wake)
        return moved

    async def held(self, source: str) -> Held:
        """A source's rows still pending whose time hasn't come (quiet hours): how many, and
        when the first of them may go."""
        async with self._sessions() as session:
            count, earliest = (
                await session.execute(
                    select(func.count(), func.min(DELIVERIES.c.not_before)).where(
                        DELIVERIES.c.source == source,
                        DELIVERIES.c.state == DeliveryState.PENDING,
                        DELIVERIES.c.not_before > self._clock(),
                        DELIVERIES.c.attempts == 0,
                    )
                )
            ).one()
            return Held(int(count or 0), earliest if count else None)

    async def depth(self) -> list[Depth]:
        """The outbox's open rows per kind now (one query): due, waiting, being sent."""
        now = self._clock()
        later = DELIVERIES.c.not_before > now
        pending = DELIVERIES.c.state == DeliveryState.PENDING
        async with self._sessions() as session:
            result = await session.execute(
                select(
                    DELIVERIES.c.kind,
                    func.count().filter(pending, ~later),
                    func.count().filter(pending, later),
                    func.count().filter(DELIVERIES.c.state == DeliveryState.SENDING),
                )
                .where(DELIVERIES.c.state.in_(OPEN_STATES))
                .group_by(DELIVERIES.c.kind)
                .order_by(DELIVERIES.c.kind)
            )
            return [
                Depth(str(kind), int(due), int(waiting), int(sending))
                for kind, due, waiting, sending in result
            ]

    async def health(
        self, *, failed_since: datetime, scheduled_kinds: Collection[str] = ()
    ) -> OutboxHealth:
        """How many rows are due, held for quiet hours and failed since ``failed_since``. Rows
        of ``scheduled_kinds`` (reminders, due at their own time) don't count as held."""
        now = self._clock()
        pending = DELIVERIES.c.state == DeliveryState.PENDING
        async with self._sessions() as session:
            due = await session.scalar(
                select(func.count())
                .select_from(DELIVERIES)
                .where(
                    or_(
                        DELIVERIES.c.state == DeliveryState.SENDING,
                        pending & (DELIVERIES.c.not_before <= now),
                    )
                )
            )
            held = await session.scalar(
                select(func.count())
                .select_from(DELIVERIES)
                .where(
                    pending,
                    DELIVERIES.c.not_before > now,
                    DELIVERIES.c.attempts == 0,
                    DELIVERIES.c.kind.not_in(list(scheduled_kinds)),
                )
            )
            failed = await session.scalar(
                select(func.count())
                .select_from(DELIVERIES)
                .where(
                    DELIVERIES.c.state == DeliveryState.FAILED,
                    DELIVERIES.c.created_at >= failed_since,
                )
            )
        return OutboxHealth(int(due or 0), int(held or 0), int(failed or 0))

    async def counts(self, source: str) -> dict[str, dict[DeliveryState, int]]:
        """Rows per recipient locale and state, for live progress and the summary."""
        async with self._sessions() as session:
            result = await session.execute(
                select(DELIVERIES.c.locale, DELIVERIES.c.state, func.count())
                .where(DELIVERIES.c.source == source)
                .group_by(DELIVERIES.c.locale, DELIVERIES.c.state)
            )
            counts: dict[str, dict[DeliveryState, int]] = {}
            for locale, state, count in result:
                counts.setdefault(locale, {})[DeliveryState(state)] = int(count)
            return counts

    async def unfinished(self, source: str) -> int:
        """Rows of a source still pending or being sent."""
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(DELIVERIES)
                .where(DELIVERIES.c.source == source, DELIVERIES.c.state.in_(OPEN_STATES))
            )
            return int(count or 0)
