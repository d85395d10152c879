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
from bot.metrics import Metrics
from bot.services import Services
from bot.web.dashboard import setup_dashboard
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
from bot.web.ops import mount_ops

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
    metrics: Metrics | None = None,
) -> web.Application:
    """The HTTP app. ``services`` and ``i18n`` default to the PTB application's own;
    ``/metrics`` is served with ``metrics`` (a runtime's) only."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[APPLICATION] = application
    bot_data = getattr(application, "bot_data", None)
    services = services or getattr(bot_data, "services", None)
    i18n = i18n or getattr(bot_data, "i18n", None)
    app[BOT_USERNAME] = bot_username or ""
    app.router.add_get("/health", health)
    if services is not None:
        mount_ops(app, services.delivery, metrics)  # /healthz, /metrics (bot/web/ops.py)
    if services is not None and i18n is not None:
        app[SERVICES] = services
        app[I18N] = i18n
        app.router.add_get("/calendar.ics", events_feed)
        app.router.add_get(r"/events/{event_id:\d+}.ics", event_calendar)
        app.router.add_get(r"/events/{event_id:\d+}/flyer", event_flyer)
        setup_dashboard(app)  # /dashboard/: the coordinators' pages (bot/web/dashboard/)
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
        log.info("webhook: refused a request without the right secret token")
        return web.json_response({"ok": False, "error": "forbidden"}, status=403)
    application = request.app[APPLICATION]
    body = await request.read()
    update = _parse_update(body, application.bot)  # type: ignore[attr-defined]
    if update is None:
        return web.json_response({"ok": False, "error": "bad update"}, status=400)
    await application.update_queue.put(update)  # type: ignore[attr-defined]
    return web.json_response({"ok": True})


def _parse_update(body: bytes, bot: Any) -> Update | None:
    """The update in a webhook's body, or None (logged by its size and what was wrong with
    it, never its content: it holds what a resident wrote)."""
    update: Update | None = None
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
        reason = "not JSON"
    else:
        update_id = payload.get("update_id") if isinstance(payload, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            reason = "no integer update_id"
        else:
            try:
                update = Update.de_json(payload, bot)
            except Exception as exc:  # PTB raises what a wrong shape gives: KeyError, TypeError…
                reason = f"not an update ({type(exc).__name__})"
            else:
                reason = "not an update"
    if update is None:
        log.warning("webhook: answered 400 to a malformed update: %s, %d bytes", reason, len(body))
    return update
