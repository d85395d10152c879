"""The bot's metrics for Prometheus (``/metrics``, ``bot/web/ops.py``).

One ``Metrics`` per ``Runtime``, each with its own ``CollectorRegistry`` (never the global
default one), so two runtimes in one process (tests, the sandbox) don't count into each other.

What is measured, and where:

- ``quartierbot_updates_total{kind}`` and ``quartierbot_update_seconds{kind}`` (a histogram):
  every update the application processes, by kind (``message``, ``command``,
  ``callback_query``, ``my_chat_member``, …), and how long all its handlers took, from the
  first group to the last, error handler included. Measured by the application's update
  processor (``MeasuringUpdateProcessor``, PTB's hook around ``Application.process_update``),
  so an update that a handler stops early (``ApplicationHandlerStop``) or that fails still
  counts and ends its measurement. (No handler here runs with ``block=False``; one that did
  would be counted, but its time would not be measured.)
- ``quartierbot_messages_sent_total{kind}``, ``quartierbot_messages_failed_total{kind,reason}``
  and ``quartierbot_messages_held_total{kind}``: the outbox's rows by their kind
  (``broadcast``, ``event``, ``reminder``, …) as the delivery engine sends them or gives up on
  them (``reason``: ``refused`` or ``recipient_gone``), and as they are queued to wait for
  later: the recipient's quiet hours (``kind="reminder"`` rows wait for their own time).
  The delivery rate is a rate over the counter: ``rate(quartierbot_messages_sent_total[1m])``
  is messages per second by kind, ``sum(rate(...))`` overall; compare it with
  ``quartierbot_delivery_rate_limit`` (the configured ceiling, messages per second).
- ``quartierbot_outbox_depth{kind,state}``: open outbox rows (``due``, ``waiting``,
  ``sending``), asked of ``DeliveryService.depth`` at each scrape (``refresh_depth``).
- ``quartierbot_telegram_rate_limited_total{path}``: Telegram's 429 answers, to the delivery
  engine (``path="delivery"``) and to the bot's own replies (``path="replies"``, which the
  replies' rate limiter, ``bot/outgoing.py``, waits out and retries).

A worker process (``quartierbot worker``) serves no HTTP and keeps no metrics.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from telegram import MessageEntity, Update
from telegram.ext import SimpleUpdateProcessor

from bot.outgoing import ReplyRateLimiter
from bot.services.delivery import Depth
from bot.services.delivery.budget import OutgoingBudget

#: Seconds; a reply takes tens of milliseconds, a slow one (a database lock, a long screen)
#: up to seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: PTB's default for ``concurrent_updates(True)``.
CONCURRENT_UPDATES = 256


def update_kind(update: object) -> str:
    """The kind of an update for the metrics: a message that begins with a bot command is a
    ``command``, else the name of the update's field that is set (``message``,
    ``callback_query``, ``my_chat_member``, …); anything that isn't an ``Update`` is
    ``other``."""
    if not isinstance(update, Update):
        return "other"
    message = update.message
    if message is not None and message.entities:
        first = message.entities[0]
        if first.type == MessageEntity.BOT_COMMAND and first.offset == 0:
            return "command"
    for name in Update.ALL_TYPES:
        if getattr(update, name, None) is not None:
            return str(name)
    return "other"


class Metrics:
    """The metrics of one runtime, in its own registry. Also the delivery package's
    ``DeliveryObserver`` (``held``, ``sent``, ``failed``, ``rate_limited``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry = registry or CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "quartierbot_updates",
            "Telegram updates processed, by kind.",
            ["kind"],
            registry=registry,
        )
        self.update_seconds = Histogram(
            "quartierbot_update_seconds",
            "Time the handlers took for one update, by kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.messages_sent = Counter(
            "quartierbot_messages_sent",
            "Outbox messages sent, by kind; rate() of it is the delivery rate.",
            ["kind"],
            registry=registry,
        )
        self.messages_failed = Counter(
            "quartierbot_messages_failed",
            "Outbox messages that will not go out, by kind and reason.",
            ["kind", "reason"],
            registry=registry,
        )
        self.messages_held = Counter(
            "quartierbot_messages_held",
            "Outbox messages queued to wait for later (quiet hours; reminders: their time).",
            ["kind"],
            registry=registry,
        )
        self.rate_limited_total = Counter(
            "quartierbot_telegram_rate_limited",
            "Telegram's 429 (Too Many Requests) answers, by who met them.",
            ["path"],
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "quartierbot_outbox_depth",
            "Open outbox rows at the last scrape, by kind and state (due, waiting, sending).",
            ["kind", "state"],
            registry=registry,
        )
        self.delivery_rate_limit = Gauge(
            "quartierbot_delivery_rate_limit",
            "The delivery engine's configured ceiling, messages per second.",
            registry=registry,
        )
        # Present from the start, so that a dashboard's rate() has a zero to begin from.
        for path in ("delivery", "replies"):
            self.rate_limited_total.labels(path)

    # the updates ---------------------------------------------------------------------

    def update_processor(self, max_concurrent_updates: int = CONCURRENT_UPDATES) -> Any:
        """For ``ApplicationBuilder.concurrent_updates``: counts and times every update."""
        return MeasuringUpdateProcessor(self, max_concurrent_updates)

    def rate_limiter(self, budget: OutgoingBudget, **kwargs: Any) -> ReplyRateLimiter:
        """The replies' rate limiter on the shared budget (``kwargs`` are its own), counting
        each 429 it meets before it waits it out."""
        counter = self.rate_limited_total.labels("replies")
        return ReplyRateLimiter(budget, on_rate_limited=counter.inc, **kwargs)

    def observe_update(self, kind: str, seconds: float) -> None:
        self.updates.labels(kind).inc()
        self.update_seconds.labels(kind).observe(seconds)

    # the outbox (DeliveryObserver) -----------------------------------------------------

    def held(self, kind: str, count: int) -> None:
        self.messages_held.labels(kind).inc(count)

    def sent(self, kind: str) -> None:
        self.messages_sent.labels(kind).inc()

    def failed(self, kind: str, reason: str) -> None:
        self.messages_failed.labels(kind, reason).inc()

    def rate_limited(self, retry_after: float) -> None:
        self.rate_limited_total.labels("delivery").inc()

    def refresh_depth(self, depth: Iterable[Depth]) -> None:
        """The outbox's depth as ``DeliveryService.depth`` found it just now."""
        self.outbox_depth.clear()  # a kind with nothing open any more reads 0, not its past
        for row in depth:
            for state in ("due", "waiting", "sending"):
                self.outbox_depth.labels(row.kind, state).set(getattr(row, state))


class MeasuringUpdateProcessor(SimpleUpdateProcessor):
    """PTB's simple processor (updates concurrently, at most ``max_concurrent_updates``),
    which also counts each update by kind and times its processing."""

    __slots__ = ("_metrics",)

    def __init__(self, metrics: Metrics, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._metrics = metrics

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.perf_counter()  # a duration, not a moment: no domain clock here
        try:
            await coroutine
        finally:
            self._metrics.observe_update(update_kind(update), time.perf_counter() - started)
