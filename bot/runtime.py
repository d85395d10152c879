"""One process, one event loop: the PTB application (driven by hand), the HTTP server and,
later, the scheduler. ``Runtime`` is what ``quartierbot run``, the sandbox and the end-to-end
tests all start, so they exercise the same code."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.request import BaseRequest

from bot.app import BotApplication, build_application, build_i18n, build_services, on_startup
from bot.config import ConfigError, Settings
from bot.services import Services
from bot.web.app import create_web_app
from storage import migrate
from storage.db import create_engine

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


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        request: BaseRequest | None = None,
        serve_http: bool = True,
        poll_timeout: float = 10,
    ) -> None:
        self.settings = settings
        self._request = request
        self._serve_http = serve_http
        self._poll_timeout = poll_timeout
        self.engine: AsyncEngine | None = None
        self.services: Services | None = None
        self.application: BotApplication | None = None
        self._web_runner: web.AppRunner | None = None
        self.http_port: int | None = None

    async def start(self) -> None:
        settings = self.settings
        self.engine = create_engine(settings.database_url)
        await prepare_database(self.engine)
        services = build_services(settings, self.engine)
        self.services = services
        application = build_application(
            settings, services, build_i18n(settings), request=self._request
        )
        self.application = application
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
        if self._serve_http:
            runner = web.AppRunner(create_web_app(settings, self.engine, application))
            await runner.setup()
            site = web.TCPSite(runner, settings.http_host, settings.http_port)
            await site.start()
            self._web_runner = runner
            self.http_port = int(runner.addresses[0][1])
            log.info("HTTP server on http://%s:%s", settings.http_host, self.http_port)

    async def stop(self) -> None:
        if self._web_runner is not None:
            await self._web_runner.cleanup()
            self._web_runner = None
        application = self.application
        if application is not None:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
            self.application = None
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None

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
        await wait_for_shutdown_signal()
