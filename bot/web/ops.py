"""Operations: ``/healthz`` (for a load balancer or an orchestrator) and ``/metrics`` (for
Prometheus). ``/health`` (bot/web/app.py) stays as it was, for older deployments.

Both ask the delivery service, never the database directly: ``DeliveryService.depth`` is the
outbox's depth, and a database that doesn't answer it is unreachable.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot import __version__
from bot.metrics import Metrics
from bot.services.delivery import DeliveryService, Depth
from bot.web.events import APPLICATION, SETTINGS

log = logging.getLogger(__name__)

DELIVERY = web.AppKey("delivery", DeliveryService)
METRICS = web.AppKey("metrics", Metrics)


def mount_ops(app: web.Application, delivery: DeliveryService, metrics: Metrics | None) -> None:
    """``/healthz``, and ``/metrics`` when there are metrics to show (a runtime's)."""
    app[DELIVERY] = delivery
    app.router.add_get("/healthz", healthz)
    if metrics is not None:
        app[METRICS] = metrics
        app.router.add_get("/metrics", prometheus_metrics)


def _outbox(depth: list[Depth]) -> dict[str, Any]:
    by_kind = {
        row.kind: {"due": row.due, "waiting": row.waiting, "sending": row.sending} for row in depth
    }
    totals = {
        state: sum(counts[state] for counts in by_kind.values())
        for state in ("due", "waiting", "sending")
    }
    return {**totals, "by_kind": by_kind}


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers and the bot is running, else 503; with the outbox's
    depth (open rows: due now, waiting for later, being sent)."""
    outbox: dict[str, Any] | None
    try:
        outbox = _outbox(await request.app[DELIVERY].depth())
    except Exception as exc:
        log.warning("healthz: database unreachable: %s", type(exc).__name__)
        outbox = None
    running = bool(getattr(request.app[APPLICATION], "running", False))
    healthy = outbox is not None and running
    return web.json_response(
        {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "database": "ok" if outbox is not None else "unreachable",
            "bot": "running" if running else "stopped",
            "outbox": outbox,
        },
        status=200 if healthy else 503,
    )


def _authorised(request: web.Request) -> bool:
    token = request.app[SETTINGS].metrics_token
    if token is None or not token.get_secret_value():
        return True
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token.get_secret_value()}"
    return hmac.compare_digest(given.encode(), expected.encode())


async def prometheus_metrics(request: web.Request) -> web.Response:
    """Prometheus' text format. With ``METRICS_TOKEN`` set, only for ``Authorization: Bearer
    <token>`` (else 401). The outbox's depth is asked at each scrape; a scrape while the
    database doesn't answer still shows the counters (the depth as it was last found)."""
    if not _authorised(request):
        return web.json_response(
            {"ok": False, "error": "unauthorized"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    metrics = request.app[METRICS]
    try:
        metrics.refresh_depth(await request.app[DELIVERY].depth())
    except Exception as exc:
        log.warning("metrics: no outbox depth, database unreachable: %s", type(exc).__name__)
    return web.Response(
        body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
