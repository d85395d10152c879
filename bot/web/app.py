"""aiohttp application factory. App state travels in typed ``web.AppKey``s."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bot import __version__
from bot.config import Settings
from bot.i18n import I18n
from bot.services import Services
from bot.web.events import (
    APPLICATION,
    BOT_USERNAME,
    I18N,
    SERVICES,
    SETTINGS,
    event_calendar,
    event_flyer,
    events_feed,
)

log = logging.getLogger(__name__)

ENGINE = web.AppKey("engine", AsyncEngine)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_path(settings: Settings) -> str | None:
    if not settings.webhook_url:
        return None
    return urlsplit(settings.webhook_url).path or "/"


def create_web_app(
    settings: Settings,
    engine: AsyncEngine,
    application: Any,
    *,
    services: Services | None = None,
    i18n: I18n | None = None,
    bot_username: str | None = None,
) -> web.Application:
    """The HTTP app. ``services`` and ``i18n`` default to the PTB application's own."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[APPLICATION] = application
    bot_data = getattr(application, "bot_data", None)
    services = services or getattr(bot_data, "services", None)
    i18n = i18n or getattr(bot_data, "i18n", None)
    app[BOT_USERNAME] = bot_username or ""
    app.router.add_get("/health", health)
    if services is not None and i18n is not None:
        app[SERVICES] = services
        app[I18N] = i18n
        app.router.add_get("/calendar.ics", events_feed)
        app.router.add_get(r"/events/{event_id:\d+}.ics", event_calendar)
        app.router.add_get(r"/events/{event_id:\d+}/flyer", event_flyer)
    path = webhook_path(settings)
    if path:
        app.router.add_post(path, telegram_webhook)
    return app


async def health(request: web.Request) -> web.Response:
    """200 when the database answers and the bot is running, 503 otherwise."""
    checks: dict[str, str] = {}
    try:
        async with request.app[ENGINE].connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        log.warning("health check: database unreachable: %s", exc)
        checks["database"] = "unreachable"
    application = request.app[APPLICATION]
    checks["bot"] = "running" if getattr(application, "running", False) else "stopped"
    healthy = checks["database"] == "ok" and checks["bot"] == "running"
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "version": __version__, **checks},
        status=200 if healthy else 503,
    )


async def telegram_webhook(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    expected = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    given = request.headers.get(SECRET_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return web.json_response({"ok": False, "error": "forbidden"}, status=403)
    try:
        payload = await request.json()
        application = request.app[APPLICATION]
        update = Update.de_json(payload, application.bot)  # type: ignore[attr-defined]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
        return web.json_response({"ok": False, "error": "bad update"}, status=400)
    if update is None:
        return web.json_response({"ok": False, "error": "bad update"}, status=400)
    await application.update_queue.put(update)  # type: ignore[attr-defined]
    return web.json_response({"ok": True})
