"""Operations (issue 14, point 4): ``/healthz`` and ``/metrics`` of the real runtime, its HTTP
server up, against the sandbox. What residents do shows in the counters: updates by kind and
their latency, messages sent, held for quiet hours, refused by a blocked chat, Telegram's 429s;
the outbox's depth in both; a database that doesn't answer makes ``/healthz`` 503;
``METRICS_TOKEN`` guards ``/metrics``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_services
from bot.metrics import Metrics, update_kind
from bot.runtime import Runtime
from bot.sandbox.emulator import BotApiEmulator, SandboxServer
from bot.services.delivery import DeliveryService, Depth, Recipient
from bot.web.app import create_web_app
from storage.db import create_engine, create_session_factory
from storage.models import Delivery, DeliveryState
from tests.conftest import make_settings
from tests.support.actors import STAFF
from tests.support.clock import FixedClock, RunningClock
from tests.support.live import LiveBot, LiveResident, onboard
from tests.test_held_messages import LATE

TOKEN = "scrape-me-please"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def ops_bot(tmp_path: Path) -> AsyncIterator[LiveBot]:
    """The runtime with its HTTP server, late on a Thursday (22:34: inside the default quiet
    hours), ``METRICS_TOKEN`` set."""
    clock = RunningClock(LATE)
    emulator = BotApiEmulator(clock=clock)
    server = SandboxServer(emulator)
    await server.start()
    settings = make_settings(
        tmp_path,
        telegram_api_url=server.base_url,
        telegram_bot_token="654321:LIVE",
        metrics_token=TOKEN,
    )
    runtime = Runtime(settings, serve_http=True, poll_timeout=1, clock=clock)
    try:
        await runtime.start()
        yield LiveBot(emulator, runtime)
    finally:
        await runtime.stop()
        await server.stop()


async def get(live: LiveBot, path: str, **headers: str) -> tuple[int, str, str]:
    url = f"http://127.0.0.1:{live.runtime.http_port}{path}"
    async with aiohttp.ClientSession() as client, client.get(url, headers=headers) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def scrape(live: LiveBot) -> Samples:
    status, content_type, body = await get(live, "/metrics", Authorization=f"Bearer {TOKEN}")
    assert status == 200, body
    assert content_type == CONTENT_TYPE_LATEST
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def healthz(live: LiveBot) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{live.runtime.http_port}/healthz"
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, await response.json()


async def db_counts(live: LiveBot, state: DeliveryState) -> dict[str, int]:
    assert live.runtime.engine is not None
    async with create_session_factory(live.runtime.engine)() as session:
        rows = await session.execute(
            select(Delivery.kind, func.count())
            .where(Delivery.state == state)
            .group_by(Delivery.kind)
        )
        return {str(kind): int(count) for kind, count in rows}


async def broadcast(live: LiveBot, text: str) -> int:
    services = live.runtime.services
    assert services is not None
    draft = await services.broadcasts.create_draft(STAFF)
    await services.broadcasts.set_version(STAFF, draft.id, "de", text=text)
    await services.broadcasts.send_now(STAFF, draft.id)
    return draft.id


async def received(live: LiveBot, person: LiveResident, text: str) -> None:
    await live.emulator.wait_until(
        lambda: any(text in (m.text or "") for m in live.emulator.bot_messages(person.user_id)),
        timeout=15,
    )


async def test_what_residents_do_shows_in_the_metrics_and_healthz(ops_bot: LiveBot) -> None:
    live = ops_bot
    before = await scrape(live)
    assert value(before, "quartierbot_updates_total", kind="command") == 0
    assert value(before, "quartierbot_delivery_rate_limit") == 30

    awake = live.resident("Ayşe", "tr", 751)
    asleep = live.resident("Omar", "ar", 752)
    gone = live.resident("Olena", "uk", 753)
    await onboard(awake, "tr")  # quiet hours off
    await onboard(asleep, "ar", quiet_hours=True)  # asleep at 22:34
    await onboard(gone, "uk")
    live.emulator.block_user(753)

    await broadcast(live, "Hallo Nachbarn")
    await received(live, awake, "Hallo Nachbarn")
    assert live.runtime.delivery_engine is not None
    await live.runtime.delivery_engine.run_until_idle()

    after = await scrape(live)
    # Updates by kind: each sent /start and tapped language, consent and topics; Ayşe and
    # Olena then sent /settings and tapped twice to switch their quiet hours off.
    assert value(after, "quartierbot_updates_total", kind="command") == 3 + 2
    assert value(after, "quartierbot_updates_total", kind="callback_query") == 3 * 3 + 2 * 2
    for kind in ("command", "callback_query"):
        count = value(after, "quartierbot_updates_total", kind=kind)
        # Every update processed was timed, and took some time.
        assert value(after, "quartierbot_update_seconds_count", kind=kind) == count
        assert value(after, "quartierbot_update_seconds_sum", kind=kind) > 0
        assert value(after, "quartierbot_update_seconds_bucket", kind=kind, le="+Inf") == count

    # Messages by kind, as the outbox has them: Ayşe's broadcast sent, Omar's held for the
    # morning, Olena's refused (she blocked the bot).
    sent = await db_counts(live, DeliveryState.SENT)
    assert sent.get("broadcast") == 1
    for kind, count in sent.items():
        assert value(after, "quartierbot_messages_sent_total", kind=kind) == count
    assert value(after, "quartierbot_messages_held_total", kind="broadcast") == 1
    assert (
        value(after, "quartierbot_messages_failed_total", kind="broadcast", reason="recipient_gone")
        == 1
    )
    assert value(after, "quartierbot_outbox_depth", kind="broadcast", state="waiting") == 1
    assert value(after, "quartierbot_outbox_depth", kind="broadcast", state="due") == 0

    status, health = await healthz(live)
    assert status == 200
    assert (health["status"], health["database"], health["bot"]) == ("ok", "ok", "running")
    assert health["outbox"]["waiting"] == 1 and health["outbox"]["due"] == 0
    assert health["outbox"]["by_kind"]["broadcast"] == {"due": 0, "waiting": 1, "sending": 0}
    # The older /health is still there, as it was.
    status, _, _ = await get(live, "/health")
    assert status == 200


async def test_429s_are_counted_for_deliveries_and_replies(ops_bot: LiveBot) -> None:
    live = ops_bot
    person = live.resident("Ayşe", "tr", 761)
    await onboard(person, "tr")
    assert live.emulator.stats["answered_429"] == 0

    # The delivery engine meets a 429, waits it out and sends.
    live.emulator.inject_429(count=1, retry_after=1)
    await broadcast(live, "Hallo Nachbarn")
    await received(live, person, "Hallo Nachbarn")
    # A reply meets one too: PTB's rate limiter waits and sends it again.
    live.emulator.inject_429(count=1, retry_after=1)
    await person.say("/help")

    samples = await scrape(live)
    assert live.emulator.stats["answered_429"] == 2
    assert value(samples, "quartierbot_telegram_rate_limited_total", path="delivery") == 1
    assert value(samples, "quartierbot_telegram_rate_limited_total", path="replies") == 1
    assert live.runtime.delivery_engine is not None
    assert live.runtime.delivery_engine.stats.rate_limited == 1
    assert value(samples, "quartierbot_messages_sent_total", kind="broadcast") == 1


async def test_metrics_token_refuses_a_request_without_it(ops_bot: LiveBot, tmp_path: Path) -> None:
    live = ops_bot
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        status, _, body = await get(live, "/metrics", **headers)
        assert status == 401
        assert "quartierbot_" not in body
    status, _, body = await get(live, "/metrics", Authorization=f"Bearer {TOKEN}")
    assert status == 200 and "quartierbot_updates_total" in body
    # /healthz asks no token.
    assert (await healthz(live))[0] == 200

    # Without METRICS_TOKEN, /metrics is public.
    runtime = live.runtime
    assert runtime.engine is not None and runtime.application is not None
    open_settings = make_settings(tmp_path, database_url=runtime.settings.database_url)
    app = create_web_app(
        open_settings, runtime.engine, runtime.application, metrics=runtime.metrics
    )
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        assert "quartierbot_outbox_depth" in await response.text()


async def test_healthz_is_503_when_the_database_is_gone(ops_bot: LiveBot, tmp_path: Path) -> None:
    runtime = ops_bot.runtime
    assert runtime.application is not None
    # A PostgreSQL that isn't there: nothing listens on port 1.
    settings = make_settings(tmp_path, database_url="postgresql+asyncpg://nobody@127.0.0.1:1/gone")
    gone = create_engine(settings.database_url)
    services = build_services(settings, gone)
    try:
        app = create_web_app(
            settings,
            gone,
            runtime.application,
            services=services,
            i18n=runtime.application.bot_data.i18n,
            metrics=Metrics(),
        )
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/healthz")
            assert response.status == 503
            body = await response.json()
            assert body["database"] == "unreachable" and body["outbox"] is None
            assert body["bot"] == "running"  # the database alone makes it unhealthy
            # The counters still come, without the depth.
            response = await client.get("/metrics")
            assert response.status == 200
            assert "quartierbot_outbox_depth{" not in await response.text()
    finally:
        await gone.dispose()
    # The runtime's own database answers.
    assert (await healthz(ops_bot))[0] == 200


def test_update_kinds(tmp_path: Path) -> None:
    from telegram import Bot

    from tests.support import updates

    bot = Bot("123:ABC")
    user = updates.user()
    assert update_kind(updates.message(bot, user, "/start")) == "command"
    assert update_kind(updates.message(bot, user, "hello /start")) == "message"
    assert update_kind(updates.callback(bot, user, "lang:de")) == "callback_query"
    assert update_kind("not an update") == "other"


def test_two_runtimes_keep_their_own_counts() -> None:
    first, second = Metrics(), Metrics()
    first.sent("broadcast")
    assert first.messages_sent.labels("broadcast")._value.get() == 1
    assert second.messages_sent.labels("broadcast")._value.get() == 0


async def test_outbox_depth_per_kind_on_each_backend(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FixedClock(LATE)
    delivery = DeliveryService(sessions, clock=clock)
    later = LATE + timedelta(hours=10)
    payloads = {"de": {"text": "Hallo"}}
    await delivery.enqueue(
        source="broadcast:1",
        kind="broadcast",
        broadcast_id=None,
        payloads=payloads,
        fallback_locale="de",
        recipients=[Recipient(1, "de"), Recipient(2, "de"), Recipient(3, "de", later)],
    )
    await delivery.enqueue(
        source="reminder:1",
        kind="reminder",
        broadcast_id=None,
        payloads=payloads,
        fallback_locale="de",
        recipients=[Recipient(1, "de", later)],
    )
    assert await delivery.depth() == [
        Depth("broadcast", due=2, waiting=1, sending=0),
        Depth("reminder", due=0, waiting=1, sending=0),
    ]
    await delivery.cancel_source("broadcast:1")
    assert await delivery.depth() == [Depth("reminder", due=0, waiting=1, sending=0)]


async def test_a_failing_part_does_not_keep_the_rest_running(
    ops_bot: LiveBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown under a fault: the delivery engine can't write its last results (a broken
    disk), and still the HTTP server closes its port, the application shuts down and the
    connection pool is released; the failure is raised, not swallowed."""
    runtime = ops_bot.runtime
    port = runtime.http_port
    assert runtime.delivery_engine is not None

    async def broken_disk() -> None:
        raise OperationalError("UPDATE deliveries ...", {}, Exception("disk I/O error"))

    monkeypatch.setattr(runtime.delivery_engine, "_flush", broken_disk)
    with pytest.raises(OperationalError, match="disk I/O error"):
        await runtime.stop()
    assert runtime.application is None and runtime.engine is None
    with pytest.raises(aiohttp.ClientConnectionError):
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            await response.read()
