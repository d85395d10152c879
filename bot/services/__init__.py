"""The domain. Services own transactions and return plain result objects; no Telegram here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.residents import ResidentService


@dataclass(frozen=True)
class Services:
    """Every service, built once; the bot and (later) the dashboard call the same ones."""

    residents: ResidentService

    @classmethod
    def build(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        *,
        admin_ids: frozenset[int],
        topics: tuple[str, ...],
    ) -> Services:
        return cls(residents=ResidentService(sessions, admin_ids=admin_ids, topics=topics))
