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

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.base import Executable

from bot.bidi import direct_payload
from bot.clock import Clock
from storage.db import after_commit
from storage.models import Delivery, DeliverySource, DeliveryState, OutboxMessage
from storage.repositories import insert_ignoring_conflicts, insert_or_update

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

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called after every committed transaction that enqueued rows (an engine in this
        process wakes up); never for a transaction that rolled back."""
        self._listeners.append(callback)

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
        statement = insert_ignoring_conflicts(dialect, DELIVERIES).returning(DELIVERIES.c.id)
        for start in range(0, len(rows), ENQUEUE_CHUNK):
            result = await session.execute(statement, rows[start : start + ENQUEUE_CHUNK])
            inserted += len(result.all())
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
