"""The domain. Services own transactions and return plain result objects; no Telegram here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.broadcasts import BroadcastService, DigestSource, Renderer, no_digest_content
from bot.services.chat_state import ChatStateService
from bot.services.delivery import DeliveryService
from bot.services.residents import ResidentService


@dataclass(frozen=True)
class Services:
    """Every service, built once; the bot and (later) the dashboard call the same ones."""

    residents: ResidentService
    chat_state: ChatStateService
    delivery: DeliveryService
    broadcasts: BroadcastService

    @classmethod
    def build(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        *,
        admin_ids: frozenset[int],
        topics: tuple[str, ...],
        locales: tuple[str, ...],
        default_locale: str,
        tz: tzinfo,
        renderer: Renderer,
        digest_source: DigestSource = no_digest_content,
    ) -> Services:
        delivery = DeliveryService(sessions)
        return cls(
            residents=ResidentService(sessions, admin_ids=admin_ids, topics=topics),
            chat_state=ChatStateService(sessions),
            delivery=delivery,
            broadcasts=BroadcastService(
                sessions,
                delivery,
                renderer,
                locales=locales,
                default_locale=default_locale,
                tz=tz,
                digest_source=digest_source,
            ),
        )
