"""Multi-step flows keep their next expected input in the database (any replica can answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from storage.models import ChatState


@dataclass(frozen=True)
class PendingInput:
    flow: str  # e.g. "broadcast"
    step: str  # e.g. "text"
    data: dict[str, Any] = field(default_factory=dict)


class ChatStateService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def get(self, telegram_id: int) -> PendingInput | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ChatState).where(ChatState.telegram_id == telegram_id)
            )
            return PendingInput(row.flow, row.step, dict(row.data)) if row else None

    async def expect(self, telegram_id: int, pending: PendingInput) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(ChatState, telegram_id)
            if row is None:
                session.add(
                    ChatState(
                        telegram_id=telegram_id,
                        flow=pending.flow,
                        step=pending.step,
                        data=pending.data,
                        updated_at=self._clock(),
                    )
                )
            else:
                row.flow, row.step, row.data = pending.flow, pending.step, pending.data
                row.updated_at = self._clock()

    async def clear(self, telegram_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(ChatState).where(ChatState.telegram_id == telegram_id))
