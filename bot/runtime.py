"""One process, one event loop: the PTB application (driven by hand), the HTTP server and,
later, the scheduler. ``Runtime`` is what ``quartierbot run``, the sandbox and the end-to-end
tests all start, so they exercise the same code."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import TypeHandler
from telegram.request import BaseRequest

from bot.app import (
    BotApplication,
    build_application,
    build_i18n,
    build_services,
    on_startup,
    outgoing_budget,
)
from bot.clock import Clock, system_clock
from bot.config import ConfigError, Settings
from bot.delivery_sender import TelegramSender
from bot.logging_setup import protect_logs
from bot.metrics import Metrics
from bot.services import Services
from bot.services.delivery import DeliveryEngine, DeliveryLimits, DeliveryService
from bot.services.delivery.budget import OutgoingBudget
from bot.services.updates import UpdateLedger
from bot.web.app import create_web_app
from handlers import fallback, once
from handlers.broadcast import finish_broadcast
from storage import migrate
from storage.db import create_engine, create_session_factory
from storage.models import ResidentStatus

log = logging.getLogger(__name__)


async def prepare_database(engine: AsyncEngine) -> None:
    """SQLite (the embedded default) is migrated on start. A shared PostgreSQL is migrated
    once by an operator (``quartierbot db upgrade``), not by every replica racing to do it."""
    if engine.dialect.name == "sqlite":
        await migrate.upgrade(engine)
        return
    current, head = await migrate.current_revision(engine), migrate.head_revision()
    if current != head:
        raise ConfigError(
            f"the database is at revision {current or 'none'}, the code needs {head}; "
            "run `quartierbot db upgrade` first"
        )


def handles_each_update_once(settings: Settings, engine: AsyncEngine) -> bool:
    """Whether updates are claimed in the database before they are handled (handlers/once.py):
    in webhook mode (Telegram retries, replicas behind one address) and on PostgreSQL (what
    replicas share). One polling process on SQLite is its only consumer: Telegram hands each
    update to one getUpdates, so it skips the write."""
    return bool(settings.webhook_url) or engine.dialect.name == "postgresql"


def delivery_limits(settings: Settings) -> DeliveryLimits:
    """The engine's limits from the settings (paid broadcasts raise the rate)."""
    return DeliveryLimits.for_rate(
        settings.effective_delivery_rate,
        per_chat_per_second=settings.delivery_per_chat_rate,
        lease_seconds=settings.delivery_lease_seconds,
        retry_horizon=settings.delivery_retry_horizon,
    )


def build_delivery_engine(
    settings: Settings,
    engine: AsyncEngine,
    services: Services,
    sender: TelegramSender,
    *,
    worker_id: str | None = None,
    on_source_finished: Callable[[str], Awaitable[None]] | None = None,
    metrics: Metrics | None = None,
    budget: OutgoingBudget | None = None,
) -> DeliveryEngine:
    async def recipient_gone(chat_id: int) -> None:
        # Telegram answered 403 (blocked, deactivated): no more messages until they write.
        await services.residents.set_status(chat_id, ResidentStatus.BLOCKED)

    delivery_engine = DeliveryEngine(
        create_session_factory(engine),
        sender,
        delivery_limits(settings),
        worker_id=worker_id,
        on_recipient_gone=recipient_gone,
        on_source_finished=on_source_finished,
        check_consent=True,  # news and lead contact only to who still consents and exists
        observer=metrics,
        budget=budget,
        clock=services.clock,
    )
    services.delivery.add_listener(delivery_engine.wake)
    return delivery_engine


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        request: BaseRequest | None = None,
        serve_http: bool = True,
        poll_timeout: float = 10,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._request = request
        self._serve_http = serve_http
        self._poll_timeout = poll_timeout
        self.engine: AsyncEngine | None = None
        self.services: Services | None = None
        self.application: BotApplication | None = None
        self._web_runner: web.AppRunner | None = None
        self.http_port: int | None = None
        self.delivery_engine: DeliveryEngine | None = None
        self._sender: TelegramSender | None = None
        #: Called once when a source's deliveries are all done (e.g. a broadcast summary).
        self.on_source_finished: Callable[[str], Awaitable[None]] | None = None
        #: This runtime's metrics, in a registry of its own (/metrics; bot/metrics.py).
        self.metrics = Metrics()
        #: What this process sends: its replies first, its delivery engine the rest.
        self.budget: OutgoingBudget | None = None

    @property
    def delivery(self) -> DeliveryService | None:
        return self.services.delivery if self.services is not None else None

    async def _source_finished(self, source: str) -> None:
        hook = self.on_source_finished
        if hook is not None:
            await hook(source)
            return
        log.info("deliveries of %s finished", source)
        if self.application is not None:
            # A broadcast's coordinator gets the summary in their progress message.
            await finish_broadcast(self.application.bot, self.application.bot_data, source)

    async def start(self) -> None:
        settings = self.settings
        # Whoever configured logging (the CLI, the sandbox, a test): no secret, no resident's
        # text in what its handlers write (bot/logging_setup.py).
        protect_logs(settings)
        self.engine = create_engine(settings.database_url)
        await prepare_database(self.engine)
        services = build_services(settings, self.engine, clock=self.clock)
        self.services = services
        services.delivery.add_observer(self.metrics)
        self.metrics.delivery_rate_limit.set(settings.effective_delivery_rate)
        self.budget = budget = outgoing_budget(settings)
        application = build_application(
            settings,
            services,
            build_i18n(settings),
            request=self._request,
            metrics=self.metrics,
            budget=budget,
        )
        self.application = application
        if handles_each_update_once(settings, self.engine):
            ledger = UpdateLedger(self.engine, clock=self.clock)
            application.add_handler(TypeHandler(Update, once.handle_once(ledger)), group=once.GROUP)
        # What each reader was last answered in, for a "try again" while the database is away.
        application.add_handler(
            TypeHandler(Update, fallback.remember_locale), group=fallback.REMEMBER_GROUP
        )
        await application.initialize()
        await on_startup(application)
        await application.start()
        if settings.webhook_url:
            secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            await application.bot.set_webhook(
                settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )
            log.info("webhook set: %s", settings.webhook_url)
        else:
            assert application.updater is not None
            await application.updater.start_polling(
                timeout=timedelta(seconds=self._poll_timeout), allowed_updates=Update.ALL_TYPES
            )
            log.info("polling %s", settings.telegram_api_url)
        self._sender = TelegramSender.from_settings(settings)
        self.delivery_engine = build_delivery_engine(
            settings,
            self.engine,
            services,
            self._sender,
            on_source_finished=self._source_finished,
            metrics=self.metrics,
            budget=budget,
        )
        self.delivery_engine.start()
        if self._serve_http:
            web_app = create_web_app(
                settings,
                self.engine,
                application,
                bot_username=application.bot.username,
                metrics=self.metrics,
            )
            runner = web.AppRunner(web_app)
            await runner.setup()
            site = web.TCPSite(runner, settings.http_host, settings.http_port)
            await site.start()
            self._web_runner = runner
            self.http_port = int(runner.addresses[0][1])
            log.info("HTTP server on http://%s:%s", settings.http_host, self.http_port)

    async def stop(self) -> None:
        """Stop everything that was started. Each part stops even when an earlier one failed
        (a busy database at the last delivery flush must not leave the HTTP server, the
        application or the connection pool running); the first failure is raised at the end."""
        failures: list[BaseException] = []

        async def step(part: Callable[[], Awaitable[object]]) -> None:
            try:
                await part()
            except Exception as exc:
                log.exception("stopping: %s failed", getattr(part, "__name__", part))
                failures.append(exc)

        # Delivery first: sends in flight finish and their results are committed while the
        # database and the application are still there.
        await step(self._stop_delivery)
        await step(self._stop_web)
        await step(self._stop_application)
        if self.engine is not None:
            await step(self.engine.dispose)
            self.engine = None
        if failures:
            raise failures[0]

    async def _stop_delivery(self) -> None:
        engine, self.delivery_engine = self.delivery_engine, None
        sender, self._sender = self._sender, None
        try:
            if engine is not None:
                await engine.stop()
        finally:
            if sender is not None:
                await sender.close()

    async def _stop_web(self) -> None:
        runner, self._web_runner = self._web_runner, None
        try:
            if runner is not None:
                await runner.cleanup()
        finally:
            if self.services is not None:
                await self.services.translations.close()

    async def _stop_application(self) -> None:
        application, self.application = self.application, None
        if application is None:
            return
        try:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
        finally:
            await application.shutdown()

    async def __aenter__(self) -> Runtime:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def wait_for_shutdown_signal() -> None:
    """Until SIGINT or SIGTERM (Docker's stop), so that cleanup runs and nothing is cut off."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)


async def run(settings: Settings) -> None:
    async with Runtime(settings):
        # What start-up built (modules, catalogs, the application) lives as long as the
        # process: out of the collector's sight, full collections stop walking it on every
        # update, which made the event list's tail (bench/bench_scale.py).
        gc.freeze()
        await wait_for_shutdown_signal()


async def run_worker(settings: Settings, *, worker_id: str | None = None) -> None:
    """Only the delivery engine: no polling, no webhook, no HTTP server. More of these scale
    sending out; they don't report finished sources (the bot process does)."""
    protect_logs(settings)
    engine = create_engine(settings.database_url)
    sender = TelegramSender.from_settings(settings)
    delivery_engine: DeliveryEngine | None = None
    try:
        await prepare_database(engine)
        services = build_services(settings, engine)
        delivery_engine = build_delivery_engine(
            settings, engine, services, sender, worker_id=worker_id
        )
        delivery_engine.start()
        await wait_for_shutdown_signal()
    finally:
        if delivery_engine is not None:
            await delivery_engine.stop()
        await sender.close()
        await engine.dispose()
