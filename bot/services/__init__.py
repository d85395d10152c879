"""The domain. Services own transactions and return plain result objects; no Telegram here."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import StaffAudience
from bot.services.broadcasts import BroadcastService, DigestSource, Renderer, no_digest_content
from bot.services.chat_state import ChatStateService
from bot.services.dashboard_auth import DashboardAuth
from bot.services.delivery import DeliveryService
from bot.services.events import EventRenderer, EventService, EventView
from bot.services.groups import GroupRenderer, GroupService
from bot.services.ideas import IdeaRenderer, IdeaService
from bot.services.moderation import ModerationService, RateLimits
from bot.services.notices import NoticeService
from bot.services.privacy import PrivacyService
from bot.services.residents import DEFAULT_QUIET_HOURS, ResidentService
from bot.services.retention import RetentionPolicy, RetentionRenderer, RetentionService
from bot.services.roles import RoleService
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
    #: A resident's own data: /mydata's export, and erasing it (/privacy).
    privacy: PrivacyService
    #: Bans, and the per-person limit on incoming updates (in memory, per process).
    moderation: ModerationService
    #: Invitations, revocation, the staff list and the audit log.
    roles: RoleService
    #: The daily retention run: sign-ups' details after their event, inactive residents.
    retention: RetentionService
    #: The privacy notice's versions, published by admins (/notice).
    notices: NoticeService
    #: The web dashboard's one-time login links, sessions and CSRF tokens.
    dashboard: DashboardAuth
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
        rate_limits: RateLimits | None = None,
        retention_renderer: RetentionRenderer | None = None,
        retention: RetentionPolicy | None = None,
        dashboard_key: bytes | None = None,
        clock: Clock,
    ) -> Services:
        """``dashboard_key`` signs the dashboard's links (``Settings.dashboard_key``); None: a
        random key, good for this process only."""
        delivery = DeliveryService(sessions, clock=clock)
        residents = ResidentService(
            sessions,
            admin_ids=admin_ids,
            topics=topics,
            default_quiet_hours=default_quiet_hours,
            delivery=delivery,
            tz=tz,
            clock=clock,
        )
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
        privacy = PrivacyService(sessions, events, clock=clock)
        return cls(
            residents=residents,
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
            privacy=privacy,
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
            moderation=ModerationService(
                sessions, delivery, clock=clock, staff=staff, limits=rate_limits
            ),
            roles=RoleService(sessions, admin_ids=admin_ids, clock=clock),
            notices=NoticeService(
                sessions, locales=locales, default_locale=default_locale, clock=clock
            ),
            # Without a renderer nobody is warned, and so nobody is removed for inactivity.
            retention=RetentionService(
                sessions,
                delivery,
                privacy,
                retention_renderer,
                policy=retention or RetentionPolicy(),
                default_locale=default_locale,
                tz=tz,
                clock=clock,
            ),
            dashboard=DashboardAuth(
                sessions, residents, key=dashboard_key or secrets.token_bytes(32), clock=clock
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
