"""Delivery through Telegram outages: the engine against the sandbox's network faults.

The sandbox's faults and the engine read one ``FixedClock`` that the test moves from one due
retry to the next, so a minute of outage or a 30-minute retry horizon pass in moments while
the engine really sends over HTTP. The last test goes through the bot: the coordinator's
progress message offers "Retry failed".
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery_sender import TelegramSender
from bot.sandbox.emulator import BotApiEmulator, SandboxMessage, SandboxServer
from bot.services.delivery import (
    DeliveryEngine,
    DeliveryLimits,
    DeliveryService,
    DeliveryState,
    Recipient,
)
from storage import migrate
from storage.db import create_engine, create_session_factory
from storage.models import Delivery
from tests.conftest import ADMIN_ID
from tests.support.clock import TEST_START, FixedClock
from tests.support.live import LiveBot, onboard, tr

TOKEN = "424242:OUTAGES"
SOURCE = "broadcast:1"
FIRST_CHAT = 600_000


@dataclass
class Rig:
    """An outbox, the sandbox and an engine, all on one clock the test moves."""

    clock: FixedClock
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    service: DeliveryService
    emulator: BotApiEmulator
    server: SandboxServer
    telegram: TelegramSender | None = None
    engine: DeliveryEngine | None = None

    def start(
        self, limits: DeliveryLimits | None = None, *, timeout: float = 5.0
    ) -> DeliveryEngine:
        self.telegram = TelegramSender(self.server.base_url, TOKEN, timeout=timeout)
        self.engine = DeliveryEngine(
            self.sessions,
            self.telegram,
            limits or fast_limits(),
            clock=self.clock,
        )
        self.service.add_listener(self.engine.wake)
        self.engine.start()
        return self.engine

    async def enqueue(self, count: int) -> list[int]:
        chat_ids = list(range(FIRST_CHAT, FIRST_CHAT + count))
        for chat_id in chat_ids:
            self.emulator.add_user(f"Nachbar {chat_id}", "de", user_id=chat_id)
        await self.service.enqueue(
            source=SOURCE,
            kind="broadcast",
            broadcast_id=None,
            payloads={"de": {"method": "sendMessage", "text": "Hoffest am Samstag"}},
            fallback_locale="de",
            recipients=[Recipient(chat_id, "de") for chat_id in chat_ids],
        )
        return chat_ids

    def copies(self, chat_ids: list[int]) -> Counter[int]:
        return Counter({chat: len(self.emulator.bot_messages(chat)) for chat in chat_ids})

    async def rows(self) -> list[Delivery]:
        async with self.sessions() as session:
            return list(await session.scalars(select(Delivery).order_by(Delivery.id)))

    async def settle(self, timeout: float = 8.0) -> None:  # noqa: ASYNC109
        """Until the engine has done everything due at the clock's instant."""
        assert self.engine is not None
        deadline = time.monotonic() + timeout
        while True:
            self.engine.wake()
            if not any(d.due or d.sending for d in await self.service.depth()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the engine did not finish what was due")
            await asyncio.sleep(0.01)

    async def run_through(self, max_steps: int = 2000) -> None:
        """Move the clock from one due retry to the next until nothing is pending."""
        for _ in range(max_steps):
            await self.settle()
            async with self.sessions() as session:
                next_due = await session.scalar(
                    select(func.min(Delivery.not_before)).where(
                        Delivery.state == DeliveryState.PENDING
                    )
                )
            if not isinstance(next_due, datetime):
                return
            # A little past it, so that rows whose jittered waits end close together go in one
            # step (the engine never claims a row early, so this only makes some a bit late).
            gap = max(timedelta(0), next_due - self.clock.now)
            self.clock.now += gap + max(timedelta(seconds=1), gap * 0.3)
        raise AssertionError("rows still pending after max_steps")


def fast_limits(**overrides: float) -> DeliveryLimits:
    # A lease far longer than any jump of the test's clock: a jump must not look like a dead
    # worker to the heartbeat. The per-chat limit runs in real time, where the test's retries
    # come much faster than a second apart. The horizon stays the default 30 minutes.
    return DeliveryLimits.for_rate(
        200,
        per_chat_per_second=1000,
        idle_poll_seconds=0.02,
        result_flush_seconds=0.02,
        lease_seconds=86_400,
        **overrides,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    clock = FixedClock(TEST_START)
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'outages.sqlite3'}"
    else:  # a database of its own: the test counts every row in it
        url = str(request.getfixturevalue("empty_postgres"))
    db = create_engine(url)
    await migrate.upgrade(db)
    sessions = create_session_factory(db)
    emulator = BotApiEmulator(clock=clock)
    server = SandboxServer(emulator)
    await server.start()
    rig = Rig(clock, db, sessions, DeliveryService(sessions, clock=clock), emulator, server)
    try:
        yield rig
    finally:
        emulator.network.clear()
        if rig.engine is not None:
            await rig.engine.stop()
        if rig.telegram is not None:
            await rig.telegram.close()
        await server.stop()
        await db.dispose()


async def test_a_minute_of_5xx_and_dropped_connections_fails_nothing(rig: Rig) -> None:
    recipients = await rig.enqueue(30)
    started = rig.clock.now
    # The first ten requests find the connection dropped before it is read, then Telegram
    # answers 502 for a minute.
    rig.emulator.network.drop_before(requests=10)
    rig.emulator.network.server_errors(seconds=60)
    rig.start()

    await rig.run_through()

    stored = await rig.rows()
    assert [row.state for row in stored] == [DeliveryState.SENT] * 30
    assert rig.copies(recipients) == Counter(dict.fromkeys(recipients, 1))
    assert rig.emulator.network.stats["drop_before"] == 10
    assert rig.emulator.network.stats["5xx"] >= 30
    assert min(row.attempts for row in stored) >= 2
    assert all(
        row.sent_at is not None and row.sent_at >= started + timedelta(seconds=60) for row in stored
    )


async def test_past_the_horizon_a_row_fails_and_retry_failed_delivers_it(rig: Rig) -> None:
    recipients = await rig.enqueue(5)
    started = rig.clock.now
    rig.emulator.network.server_errors()  # down until cleared
    rig.start()

    await rig.run_through()

    stored = await rig.rows()
    assert [row.state for row in stored] == [DeliveryState.FAILED] * 5
    failed_at = rig.clock.now
    assert failed_at - started >= timedelta(minutes=30)  # not before the horizon
    assert not any(rig.copies(recipients).values())

    rig.emulator.network.clear()
    assert await rig.service.retry_failed(SOURCE) == 5
    assert await rig.service.retry_failed(SOURCE) == 0  # a second tap acts once
    await rig.run_through()

    assert [row.state for row in await rig.rows()] == [DeliveryState.SENT] * 5
    assert rig.copies(recipients) == Counter(dict.fromkeys(recipients, 1))


async def test_a_lost_answer_is_sent_again_once(rig: Rig) -> None:
    recipients = await rig.enqueue(100)
    # One request in ten is handled (the message arrives) but its answer is lost.
    rig.emulator.network.drop_after(every=10, requests=10)
    engine = rig.start()

    await rig.run_through()

    assert [row.state for row in await rig.rows()] == [DeliveryState.SENT] * 100
    copies = rig.copies(recipients)
    assert rig.emulator.network.stats["drop_after"] == 10
    assert engine.stats.unconfirmed == 10
    # The documented bound: a lost answer costs its recipient one duplicate, no more.
    assert Counter(copies.values()) == Counter({1: 90, 2: 10})


async def test_answers_lost_again_and_again_stop_at_one_duplicate(rig: Rig) -> None:
    recipients = await rig.enqueue(10)
    rig.emulator.network.drop_after()  # every answer lost, until cleared
    rig.start()

    await rig.run_through()

    stored = await rig.rows()
    assert [row.state for row in stored] == [DeliveryState.FAILED] * 10
    assert all(row.last_error and "unconfirmed twice" in row.last_error for row in stored)
    assert rig.copies(recipients) == Counter(dict.fromkeys(recipients, 2))


async def test_timeouts_are_sent_again_and_arrive_once(rig: Rig) -> None:
    recipients = await rig.enqueue(10)
    # Taken and never answered within the client's timeout (and not handled).
    rig.emulator.network.timeouts(requests=10)
    rig.start(timeout=0.3)

    await rig.run_through()

    assert [row.state for row in await rig.rows()] == [DeliveryState.SENT] * 10
    assert rig.emulator.network.stats["timeout"] == 10
    assert rig.copies(recipients) == Counter(dict.fromkeys(recipients, 1))


async def test_a_429_storm_counts_no_attempt_and_everything_arrives_after(rig: Rig) -> None:
    recipients = await rig.enqueue(10)
    # Each 429 pauses all sending for retry_after in real time, so the storm is counted in
    # answers here, not in seconds of the test's clock.
    rig.emulator.network.storm_429(requests=4, retry_after=1)
    engine = rig.start()

    await rig.run_through()

    stored = await rig.rows()
    assert [row.state for row in stored] == [DeliveryState.SENT] * 10
    assert [row.attempts for row in stored] == [1] * 10  # the 429s were no attempts
    assert rig.emulator.network.stats["429"] == 4 and engine.stats.rate_limited == 4
    assert engine.stats.retried == 0
    assert rig.copies(recipients) == Counter(dict.fromkeys(recipients, 1))


# --- through the bot --------------------------------------------------------------------


async def test_the_coordinator_retries_failed_messages_from_the_progress_message(
    live_bot: LiveBot,
) -> None:
    emulator = live_bot.emulator
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    ayse = live_bot.resident("Ayşe", "tr", 741)
    await onboard(coordinator, "de")
    await onboard(ayse, "tr")

    composer = await coordinator.say("/broadcast")
    number = next(
        int(data.split(":")[2]) for _, data in composer.buttons() if data.startswith("bc:")
    )
    await coordinator.tap(f"bc:text:{number}:de")
    await coordinator.say("Morgen ist Flohmarkt!")
    await coordinator.tap(f"bc:send:{number}")
    # To everyone (Ayşe and the coordinator): each copy arrives twice without an answer, so
    # the engine gives up rather than send a third, and both rows fail.
    emulator.network.drop_after(requests=4)
    before = len(emulator.bot_messages(741))
    progress = await coordinator.tap(f"bc:go:{number}")
    retry = (tr(live_bot, "de", "🔁 Retry failed"), f"bc:retry:{number}")

    def progress_message() -> SandboxMessage:
        return next(
            m for m in emulator.bot_messages(ADMIN_ID) if m.message_id == progress.message_id
        )

    def progress_message_offers_retry() -> bool:
        return retry in progress_message().buttons()

    await emulator.wait_until(progress_message_offers_retry, timeout=15)
    assert len(emulator.bot_messages(741)) == before + 2

    forged = await coordinator.tap_forged("bc:retry:987654")
    assert forged["text"] == tr(
        live_bot, "de", "⚠️ This button is no longer valid. Please send /menu."
    )
    refused = await ayse.tap_forged(f"bc:retry:{number}")
    assert refused["text"] == tr(live_bot, "tr", "📣 Broadcasts are only for coordinators.")

    await coordinator.tap(f"bc:retry:{number}")
    await emulator.wait_until(lambda: len(emulator.bot_messages(741)) == before + 3, timeout=15)
    again = await coordinator.tap_forged(f"bc:retry:{number}")  # a second tap
    assert again["text"] == tr(
        live_bot, "de", "Nothing to retry: no message of this broadcast has failed."
    )

    async def states() -> list[DeliveryState]:
        async with create_session_factory(live_bot.runtime.engine)() as session:
            return list(
                await session.scalars(
                    select(Delivery.state).where(Delivery.source == f"broadcast:{number}")
                )
            )

    deadline = time.monotonic() + 15
    while await states() != [DeliveryState.SENT] * 2:
        assert time.monotonic() < deadline, await states()
        await asyncio.sleep(0.05)
