"""Multi-step flows keep their next expected input in the database (any replica can answer).

One row per chat: which flow is open, the step it waits at, and that step's data. A flow left
alone for ``ttl`` (30 minutes) has expired: it is reported once and then gone. Steps move on
atomically (``advance``, ``claim``), so a double tap, or two taps at once, act once: the second
finds the flow no longer at the step its button belongs to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from storage.models import ChatState
from storage.repositories import insert_ignoring_conflicts

#: How long a flow waits for the next step before it starts again.
FLOW_TTL = timedelta(minutes=30)


@dataclass(frozen=True)
class PendingInput:
    flow: str  # e.g. "broadcast"
    step: str  # e.g. "text"
    data: dict[str, Any] = field(default_factory=dict)


#: A write into another service's transaction (``EventService.sign_up(within=...)``): it runs
#: in that transaction, and raising rolls the whole of it back.
SessionHook = Callable[[AsyncSession], Awaitable[None]]


class StepGone(Exception):
    """The flow was no longer at the step (a second tap, expired, moved on, another note):
    raised inside the caller's transaction, so what it was to commit with doesn't happen."""


@dataclass(frozen=True)
class OpenFlow:
    """What ``current`` found: the pending step, or that a flow expired (and was removed)."""

    pending: PendingInput | None
    expired: bool = False


@dataclass(frozen=True)
class StoredFlow:
    """A chat's row as read, fresh or not: ``ResidentService.arrive`` reads it with the
    resident, and ``ChatStateService.opened`` judges it."""

    pending: PendingInput
    updated_at: datetime


class ChatStateService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        ttl: timedelta = FLOW_TTL,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.ttl = ttl

    def _fresh_since(self) -> datetime:
        return self._clock() - self.ttl

    async def current(self, telegram_id: int) -> OpenFlow:
        """The open flow, if any; an expired one is removed and reported as expired."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(ChatState).where(ChatState.telegram_id == telegram_id)
            )
            stored = (
                None
                if row is None
                else StoredFlow(PendingInput(row.flow, row.step, dict(row.data)), row.updated_at)
            )
        return await self.opened(telegram_id, stored)

    async def opened(self, telegram_id: int, stored: StoredFlow | None) -> OpenFlow:
        """``current`` for a row already read: an expired one is removed and reported."""
        if stored is None:
            return OpenFlow(None)
        if stored.updated_at >= self._fresh_since():
            return OpenFlow(stored.pending)
        async with self._sessions.begin() as session:
            await session.execute(
                delete(ChatState).where(
                    ChatState.telegram_id == telegram_id,
                    ChatState.updated_at < self._fresh_since(),
                )
            )
        return OpenFlow(None, expired=True)

    async def get(self, telegram_id: int) -> PendingInput | None:
        """The open, unexpired flow's pending step."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(ChatState).where(
                    ChatState.telegram_id == telegram_id,
                    ChatState.updated_at >= self._fresh_since(),
                )
            )
            return PendingInput(row.flow, row.step, dict(row.data)) if row else None

    async def expect(self, telegram_id: int, pending: PendingInput) -> None:
        """Open a flow at this step, or move the open one there (safe under double taps)."""
        values = {
            "flow": pending.flow,
            "step": pending.step,
            "data": pending.data,
            "updated_at": self._clock(),
        }
        async with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            inserted = await session.execute(
                insert_ignoring_conflicts(dialect, ChatState.__table__).values(
                    telegram_id=telegram_id, **values
                )
            )
            if not inserted.rowcount:  # type: ignore[attr-defined]
                await session.execute(
                    update(ChatState).where(ChatState.telegram_id == telegram_id).values(**values)
                )

    async def advance(
        self, telegram_id: int, flow: str, steps: Collection[str], to: PendingInput
    ) -> bool:
        """Move from one of ``steps`` of ``flow`` to ``to``; False if the flow is elsewhere
        (a second tap, a stale button, another flow, expired): then nothing changed."""
        async with self._sessions.begin() as session:
            moved = await session.execute(
                update(ChatState)
                .where(
                    ChatState.telegram_id == telegram_id,
                    ChatState.flow == flow,
                    ChatState.step.in_(list(steps)),
                    ChatState.updated_at >= self._fresh_since(),
                )
                .values(flow=to.flow, step=to.step, data=to.data, updated_at=self._clock())
            )
            return bool(moved.rowcount)  # type: ignore[attr-defined]

    async def claim(
        self, telegram_id: int, flow: str, steps: Collection[str]
    ) -> PendingInput | None:
        """End the flow if it waits at one of ``steps``, returning its data; of two taps at
        once only one gets it, so the flow's last action (send, create) happens once."""
        async with self._sessions.begin() as session:
            return await self.claim_in(session, telegram_id, flow, steps)

    async def claim_in(
        self, session: AsyncSession, telegram_id: int, flow: str, steps: Collection[str]
    ) -> PendingInput | None:
        """``claim`` inside the caller's transaction (as ``DeliveryService.enqueue(session=)``
        writes into it): the flow ends when, and only if, that transaction commits."""
        row = (
            await session.execute(
                delete(ChatState)
                .where(
                    ChatState.telegram_id == telegram_id,
                    ChatState.flow == flow,
                    ChatState.step.in_(list(steps)),
                    ChatState.updated_at >= self._fresh_since(),
                )
                .returning(ChatState.flow, ChatState.step, ChatState.data)
            )
        ).first()
        return PendingInput(row.flow, row.step, dict(row.data)) if row else None

    def ending(
        self,
        telegram_id: int,
        flow: str,
        steps: Collection[str],
        *,
        data: Mapping[str, Any] | None = None,
    ) -> SessionHook:
        """A hook that ends the flow in another service's transaction, for a flow whose last
        step is that service's action (the sign-up after a typed note): both commit together
        or not at all. Services still own their transactions: the other service opens and
        commits it, this one only writes into it, as the outbox does. The hook raises
        ``StepGone`` (so the action rolls back too) when the flow isn't at ``steps`` any more,
        or, with ``data``, carries other data than the action was given (a note typed anew
        meanwhile)."""

        async def end(session: AsyncSession) -> None:
            claimed = await self.claim_in(session, telegram_id, flow, steps)
            if claimed is None or (data is not None and claimed.data != dict(data)):
                raise StepGone(f"{flow} of {telegram_id}")

        return end

    async def clear(self, telegram_id: int) -> bool:
        """End whatever flow is open; True if one was."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ChatState).where(ChatState.telegram_id == telegram_id)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
