"""The domain. Services own transactions and return plain result objects; no Telegram here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import StaffAudience
from bot.services.broadcasts import BroadcastService, DigestSource, Renderer, no_digest_content
from bot.services.chat_state import ChatStateService
from bot.services.delivery import DeliveryService
from bot.services.events import EventRenderer, EventService, EventView
from bot.services.groups import GroupRenderer, GroupService
from bot.services.ideas import IdeaRenderer, IdeaService
from bot.services.residents import DEFAULT_QUIET_HOURS, ResidentService
from bot.services.translations import (
    Glossary,
    MachineDrafts,
    TranslationRenderer,
    TranslationService,
)


@dataclass(frozen=True)
class Services:
    """Every service, built once; the bot and (later) the dashboard call the same ones."""

    residents: ResidentService
    chat_state: ChatStateService
    delivery: DeliveryService
    broadcasts: BroadcastService
    events: EventService
    ideas: IdeaService
    groups: GroupService
    translations: TranslationService
    #: The one clock every service reads; tests pass their own.
    clock: Clock

    @classmethod
    def build(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        *,
        admin_ids: frozenset[int],
        topics: tuple[str, ...],
        default_quiet_hours: tuple[int, int] = DEFAULT_QUIET_HOURS,
        locales: tuple[str, ...],
        default_locale: str,
        tz: tzinfo,
        renderer: Renderer,
        event_renderer: EventRenderer,
        idea_renderer: IdeaRenderer,
        group_renderer: GroupRenderer,
        translation_renderer: TranslationRenderer,
        digest_writer: DigestWriter | None = None,
        machine: MachineDrafts | None = None,
        glossary: Glossary | None = None,
        clock: Clock,
    ) -> Services:
        delivery = DeliveryService(sessions, clock=clock)
        staff = StaffAudience(admin_ids, default_locale)
        events = EventService(
            sessions,
            delivery,
            event_renderer,
            locales=locales,
            default_locale=default_locale,
            tz=tz,
            clock=clock,
            staff=staff,
        )
        digest_source = (
            _events_digest(events, digest_writer) if digest_writer else no_digest_content
        )
        return cls(
            residents=ResidentService(
                sessions,
                admin_ids=admin_ids,
                topics=topics,
                default_quiet_hours=default_quiet_hours,
                delivery=delivery,
                tz=tz,
                clock=clock,
            ),
            chat_state=ChatStateService(sessions, clock=clock),
            delivery=delivery,
            broadcasts=BroadcastService(
                sessions,
                delivery,
                renderer,
                locales=locales,
                default_locale=default_locale,
                tz=tz,
                digest_source=digest_source,
                clock=clock,
            ),
            events=events,
            ideas=IdeaService(
                sessions, delivery, idea_renderer, clock=clock, staff=staff, machine=machine
            ),
            groups=GroupService(
                sessions, delivery, group_renderer, default_locale=default_locale, clock=clock
            ),
            translations=TranslationService(
                sessions,
                delivery,
                translation_renderer,
                locales=locales,
                default_locale=default_locale,
                clock=clock,
                staff=staff,
                machine=machine,
                glossary=glossary,
            ),
            clock=clock,
        )


#: Writes the weekly overview of these events in one language.
DigestWriter = Callable[[Sequence[EventView], str], str]


def _events_digest(events: EventService, write: DigestWriter) -> DigestSource:
    """The weekly digest's content: the coming week's published events, when there are any."""

    async def content(locale: str, start: datetime, end: datetime) -> str | None:
        found = await events.published_between(start, end)
        return write(found, locale) if found else None

    return content
