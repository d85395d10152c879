"""The one place that builds the PTB ``Application``: dependencies, handlers, start-up work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from telegram import BotCommand
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.clock import Clock, system_clock
from bot.config import Settings, parse_weekly
from bot.context import CONTEXT_TYPES, AppState
from bot.i18n import I18n, Translator
from bot.i18n_tools import load_glossary, terms_for
from bot.locales import is_variety
from bot.metrics import Metrics
from bot.outgoing import ReplyRateLimiter
from bot.rendering import (
    BroadcastRenderer,
    EventDigestWriter,
    EventRenderer,
    GroupRenderer,
    IdeaRenderer,
    RetentionRenderer,
    TranslationRenderer,
)
from bot.services import Services
from bot.services.broadcasts import WeeklyRule
from bot.services.delivery.budget import OutgoingBudget
from bot.services.moderation import RateLimits
from bot.services.permissions import STAFF_ROLES
from bot.services.retention import RUN_AT, RetentionPolicy
from bot.telegram_bidi import DirectionalBot
from bot.translation import build_machine_translator
from handlers import jobs, register_handlers
from handlers.commands import resident_commands, set_staff_menu
from storage.db import create_session_factory

log = logging.getLogger(__name__)

BotApplication = Application[Any, Any, Any, Any, AppState, Any]

DUE_WORK_INTERVAL = 10  # seconds between looks for due broadcasts and digests
PROGRESS_INTERVAL = 5  # seconds between edits of a coordinator's progress message
RETENTION_CATCH_UP = 120  # seconds after start: today's retention run, if it was missed


def build_application(
    settings: Settings,
    services: Services,
    i18n: I18n,
    *,
    request: BaseRequest | None = None,
    metrics: Metrics | None = None,
    budget: OutgoingBudget | None = None,
) -> BotApplication:
    """Build the application. ``request`` replaces the HTTP layer (tests record with it);
    with ``metrics`` every update is counted and timed, and every 429 counted. ``budget`` is
    the outgoing budget the replies share with the delivery engine (one of their own if
    None)."""
    if not settings.token:
        raise ValueError("a bot token is needed to build the application")
    budget = budget or outgoing_budget(settings)
    # Built here rather than by the builder: DirectionalBot makes every message to a
    # right-to-left reader begin right to left (bot/telegram_bidi.py). The requests are the
    # builder's own defaults (a pool of 256 connections, one for getUpdates).
    bot = DirectionalBot(
        token=settings.token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz),
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=request or HTTPXRequest(connection_pool_size=1),
        # Replies take their turn from the budget they share with the delivery engine
        # (bot/outgoing.py), ahead of its bulk sends; a RetryAfter is waited out.
        rate_limiter=(
            metrics.rate_limiter(budget, max_retries=3)
            if metrics
            else ReplyRateLimiter(budget, max_retries=3)
        ),
    )
    application: BotApplication = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(CONTEXT_TYPES)
        .post_init(on_startup)
        .concurrent_updates(metrics.update_processor() if metrics else True)
        .build()
    )
    state = application.bot_data
    state.settings = settings
    state.i18n = i18n
    state.services = services
    register_handlers(application)
    return application


def outgoing_budget(settings: Settings) -> OutgoingBudget:
    """One process's budget for everything it sends: replies and bulk share the configured
    delivery rate (paid broadcasts raise it) and the per-chat rate."""
    return OutgoingBudget(
        settings.effective_delivery_rate, per_chat_per_second=settings.delivery_per_chat_rate
    )


def build_services(
    settings: Settings,
    engine: Any,
    i18n: I18n | None = None,
    *,
    clock: Clock = system_clock,
) -> Services:
    i18n = i18n or build_i18n(settings)
    return Services.build(
        create_session_factory(engine),
        admin_ids=frozenset(settings.admin_ids),
        topics=tuple(settings.topics),
        default_quiet_hours=settings.default_quiet_hours,
        locales=tuple(settings.locales),
        default_locale=settings.default_locale,
        tz=settings.tz,
        renderer=BroadcastRenderer(i18n),
        event_renderer=EventRenderer(i18n),
        idea_renderer=IdeaRenderer(i18n),
        group_renderer=GroupRenderer(i18n),
        translation_renderer=TranslationRenderer(i18n),
        digest_writer=EventDigestWriter(i18n),
        machine=build_machine_translator(settings, clock),
        glossary=_glossary_for(settings.default_locale),
        rate_limits=RateLimits(
            updates=settings.rate_limit_updates,
            window=timedelta(seconds=settings.rate_limit_window),
            pause_after=settings.rate_limit_pause_after,
            pause=timedelta(seconds=settings.rate_limit_pause),
        ),
        retention_renderer=RetentionRenderer(i18n),
        retention=RetentionPolicy(
            signup_days=settings.signup_retention_days,
            inactive_days=settings.inactive_days,
            warning_days=settings.inactive_warning_days,
        ),
        dashboard_key=settings.dashboard_key,
        clock=clock,
    )


def _glossary_for(source_locale: str) -> Callable[[str, str], list[tuple[str, str]]] | None:
    """The glossary's terms for a translation task (locales/GLOSSARY.md), if there is one."""
    glossary = load_glossary()
    if glossary is None:
        return None
    found = glossary

    def terms(text: str, locale: str) -> list[tuple[str, str]]:
        return terms_for(found, text, source_locale, locale)

    return terms


def build_i18n(settings: Settings) -> I18n:
    return I18n(settings.locales, settings.default_locale, settings.tz)


def _commands(t: Translator) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in resident_commands(t)]


async def _staff_menus(application: BotApplication) -> None:
    """Each known staff member's chat (admins and staff role holders who started the bot) gets
    the staff commands in their language; /start and /help set them again."""
    state = application.bot_data
    residents = state.services.residents
    held = {a.telegram_id for a in await residents.staff() if a.role in STAFF_ROLES}
    for telegram_id in sorted(held | set(state.settings.admin_ids)):
        resident = await residents.get(telegram_id)
        if resident is None:  # no chat with the bot yet: Telegram knows no such chat
            continue
        try:
            await set_staff_menu(
                application.bot, telegram_id, state.i18n.translator(resident.locale)
            )
        except TelegramError as exc:  # a blocked or deleted chat: the others still get theirs
            log.warning("no staff command menu for %s: %s", telegram_id, exc)


async def on_startup(application: BotApplication) -> None:
    """Command menus in every language; the default language also for everyone else."""
    state = application.bot_data
    bot = application.bot
    # Telegram takes ISO 639-1 codes only: a variety (de_simple) has no menu of its own.
    menus = [translator for translator in state.i18n.all() if not is_variety(translator.locale)]
    for translator in menus:
        await bot.set_my_commands(_commands(translator), language_code=translator.locale)
    await bot.set_my_commands(_commands(state.i18n.translator(state.settings.default_locale)))
    log.info("command menus set for %d languages", len(menus))
    await _staff_menus(application)
    digest = (
        None
        if state.settings.weekly_digest == "off"
        else WeeklyRule(*parse_weekly(state.settings.weekly_digest))
    )
    await state.services.broadcasts.ensure_weekly_digest(digest)
    if application.job_queue is not None:
        # Due work lives in the database and is claimed there; every replica may look.
        application.job_queue.run_repeating(
            jobs.run_due_broadcasts, interval=DUE_WORK_INTERVAL, first=1, name="due-broadcasts"
        )
        application.job_queue.run_repeating(
            jobs.refresh_running_broadcasts, interval=PROGRESS_INTERVAL, first=2, name="progress"
        )
        # Retention, daily at a quiet hour in the neighbourhood's time zone, and once soon
        # after start (a bot that is off at night still runs it); the day is claimed in the
        # database, so of all replicas and restarts exactly one runs it.
        application.job_queue.run_daily(
            jobs.run_retention,
            time=RUN_AT.replace(tzinfo=state.settings.tz),
            name="retention",
        )
        application.job_queue.run_once(
            jobs.run_retention, when=RETENTION_CATCH_UP, name="retention-catch-up"
        )
