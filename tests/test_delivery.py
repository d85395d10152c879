"""The delivery engine against the sandbox over real HTTP: rates, 429, 403, retries, cancel,
a SIGKILL in the middle of sending, and two worker processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import PROJECT_ROOT
from bot.delivery_sender import TelegramSender
from bot.runtime import delivery_limits
from bot.sandbox.emulator import BotApiEmulator, SandboxServer
from bot.services.delivery import (
    DeliveryEngine,
    DeliveryLimits,
    DeliveryService,
    DeliveryState,
    RateLimited,
    Recipient,
)
from bot.services.residents import ResidentService
from storage import migrate
from storage.db import create_engine, create_session_factory
from storage.models import Delivery, ResidentStatus
from tests.conftest import make_settings
from tests.support.clock import RunningClock

TOKEN = "424242:DELIVERY"
TEXT = {"method": "sendMessage", "text": "Hallo <b>Nachbarschaft</b>", "parse_mode": "HTML"}
FIRST_CHAT = 500_000

#: Every service and engine in this module reads this one clock.
CLOCK = RunningClock()


@dataclass
class Outbox:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    service: DeliveryService
    url: str


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.sqlite3'}"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    sessions = create_session_factory(engine)
    try:
        yield Outbox(engine, sessions, DeliveryService(sessions, clock=CLOCK), url)
    finally:
        await engine.dispose()


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(BotApiEmulator()) as server:
        yield server


@dataclass
class RecordingSender:
    """The real sender, with the start time of every call and the end of every 429."""

    inner: TelegramSender
    starts: list[float] = field(default_factory=list)
    rate_limited_at: list[float] = field(default_factory=list)

    async def send(self, chat_id: int, payload: dict[str, Any]) -> int:
        self.starts.append(time.monotonic())
        try:
            return await self.inner.send(chat_id, payload)
        except RateLimited:
            self.rate_limited_at.append(time.monotonic())
            raise


def chats(count: int, first: int = FIRST_CHAT) -> list[int]:
    return list(range(first, first + count))


def add_users(emulator: BotApiEmulator, chat_ids: list[int]) -> None:
    for chat_id in chat_ids:
        emulator.add_user(f"Nachbar {chat_id}", "de", user_id=chat_id)


#: A kind no consent governs (staff work), for chats that are no residents' through the bot's
#: own engine, which checks consent at send time.
WORK_KIND = "translation"


async def enqueue(
    service: DeliveryService,
    chat_ids: list[int],
    *,
    source: str = "broadcast:1",
    kind: str = "broadcast",
    payload: dict[str, Any] = TEXT,
) -> int:
    return await service.enqueue(
        source=source,
        kind=kind,
        broadcast_id=None,
        payloads={"de": payload, "tr": {**payload, "text": "Merhaba"}},
        fallback_locale="de",
        recipients=[Recipient(chat_id, "tr" if chat_id % 3 == 0 else "de") for chat_id in chat_ids],
    )


def copies(emulator: BotApiEmulator, chat_ids: list[int]) -> Counter[int]:
    return Counter({chat_id: len(emulator.bot_messages(chat_id)) for chat_id in chat_ids})


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[Delivery]:
    async with sessions() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.id)))


async def running_engine(
    outbox: Outbox,
    server: SandboxServer,
    limits: DeliveryLimits,
    *,
    sender: Any = None,
    **kwargs: Any,
) -> tuple[DeliveryEngine, TelegramSender]:
    telegram = TelegramSender(server.base_url, TOKEN, timeout=5)
    engine = DeliveryEngine(outbox.sessions, sender or telegram, limits, clock=CLOCK, **kwargs)
    outbox.service.add_listener(engine.wake)
    engine.start()
    return engine, telegram


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


# --- in-process engine -------------------------------------------------------------------


async def test_a_thousand_recipients_at_a_scaled_limit_without_a_single_429(
    outbox: Outbox, sandbox: SandboxServer
) -> None:
    emulator = sandbox.emulator
    recipients = chats(1000)
    add_users(emulator, recipients)
    emulator.set_flood_limits(global_per_second=300, per_chat_per_second=1)
    assert await enqueue(outbox.service, recipients) == 1000
    assert await enqueue(outbox.service, recipients) == 0  # enqueueing twice never doubles

    engine, telegram = await running_engine(
        outbox, sandbox, DeliveryLimits.for_rate(270, idle_poll_seconds=0.2)
    )
    started = time.monotonic()
    try:
        await engine.run_until_idle(timeout=30)
    finally:
        await engine.stop()
        await telegram.close()
    elapsed = time.monotonic() - started

    assert set(copies(emulator, recipients).values()) == {1}
    assert emulator.stats["sent"] == 1000
    assert emulator.stats["answered_429"] == 0
    assert elapsed > 1000 / 270 * 0.8  # the engine kept to its rate, not the sandbox's
    counts = await outbox.service.counts("broadcast:1")
    assert sum(by_state.get(DeliveryState.SENT, 0) for by_state in counts.values()) == 1000
    assert set(counts) == {"de", "tr"}
    turkish_chat = next(chat_id for chat_id in recipients if chat_id % 3 == 0)
    turkish = [m.text for m in emulator.bot_messages(turkish_chat)]
    assert turkish == ["Merhaba"]  # each resident got their language's version
    assert await outbox.service.unfinished("broadcast:1") == 0


async def test_a_429_pauses_all_sending_and_nothing_is_lost(
    outbox: Outbox, sandbox: SandboxServer
) -> None:
    emulator = sandbox.emulator
    recipients = chats(300)
    add_users(emulator, recipients)
    await enqueue(outbox.service, recipients)
    telegram = TelegramSender(sandbox.base_url, TOKEN, timeout=5)
    recorder = RecordingSender(telegram)
    engine, _ = await running_engine(
        outbox, sandbox, DeliveryLimits.for_rate(200, idle_poll_seconds=0.2), sender=recorder
    )
    try:
        await emulator.wait_until(lambda: emulator.stats["sent"] >= 100, timeout=10)
        emulator.inject_429(count=1, retry_after=1)
        await engine.run_until_idle(timeout=30)
    finally:
        await engine.stop()
        await telegram.close()

    assert emulator.stats["answered_429"] == 1 and engine.stats.rate_limited == 1
    (limited_at,) = recorder.rate_limited_at
    later = [start for start in recorder.starts if start > limited_at]
    assert later, "sending resumed"
    assert min(later) - limited_at >= 0.95  # the whole engine waited retry_after
    assert set(copies(emulator, recipients).values()) == {1}  # nothing lost, nothing doubled
    stored = await rows(outbox.sessions)
    assert {row.state for row in stored} == {DeliveryState.SENT}
    assert max(row.attempts for row in stored) == 1  # the 429 did not burn an attempt


async def test_blocked_residents_are_skipped_and_marked_blocked(
    outbox: Outbox, sandbox: SandboxServer
) -> None:
    emulator = sandbox.emulator
    residents = ResidentService(outbox.sessions, clock=CLOCK)
    recipients = chats(10)
    add_users(emulator, recipients)
    for chat_id in recipients:
        await residents.register(chat_id, "de")
    blocked = recipients[:3]
    for chat_id in blocked:
        emulator.block_user(chat_id)

    async def recipient_gone(chat_id: int) -> None:
        await residents.set_status(chat_id, ResidentStatus.BLOCKED)

    await enqueue(outbox.service, recipients, source="broadcast:1")
    await enqueue(outbox.service, recipients, source="digest:2026-w48", kind="digest")
    engine, telegram = await running_engine(
        outbox,
        sandbox,
        DeliveryLimits.for_rate(100, idle_poll_seconds=0.2),
        on_recipient_gone=recipient_gone,
    )
    try:
        await engine.run_until_idle(timeout=20)
    finally:
        await engine.stop()
        await telegram.close()

    stored = await rows(outbox.sessions)
    skipped = {(row.source, row.chat_id) for row in stored if row.state == DeliveryState.SKIPPED}
    assert skipped == {(s, c) for s in ("broadcast:1", "digest:2026-w48") for c in blocked}
    assert emulator.stats["answered_403"] == 3  # the second row per blocked chat wasn't tried
    for chat_id in recipients:
        profile = await residents.get(chat_id)
        assert profile is not None
        expected = ResidentStatus.BLOCKED if chat_id in blocked else ResidentStatus.ACTIVE
        assert profile.status == expected
    assert set(copies(emulator, recipients[3:]).values()) == {2}


async def test_network_errors_are_retried_and_a_400_is_not(
    outbox: Outbox, sandbox: SandboxServer
) -> None:
    emulator = sandbox.emulator
    recipients = chats(20)
    add_users(emulator, recipients)
    await enqueue(outbox.service, recipients)
    too_long = {"method": "sendMessage", "text": "x" * 5000}
    await enqueue(outbox.service, recipients[:1], source="broadcast:2", payload=too_long)
    await sandbox.stop()  # Telegram unreachable: connection refused

    limits = DeliveryLimits.for_rate(100, backoff_base=0.1, idle_poll_seconds=0.1)
    engine, telegram = await running_engine(outbox, sandbox, limits)
    try:
        await until(lambda: _any_retried(outbox), timeout=10)
        await sandbox.start()  # same port: back online
        await engine.run_until_idle(timeout=20)
    finally:
        await engine.stop()
        await telegram.close()

    stored = await rows(outbox.sessions)
    sent = [row for row in stored if row.source == "broadcast:1"]
    assert {row.state for row in sent} == {DeliveryState.SENT}
    assert max(row.attempts for row in sent) >= 2 and engine.stats.retried >= 1
    assert set(copies(emulator, recipients[1:]).values()) == {1}
    (refused,) = [row for row in stored if row.source == "broadcast:2"]
    assert refused.state == DeliveryState.FAILED and refused.attempts == 1
    assert refused.last_error and "too long" in refused.last_error
    assert emulator.stats["answered_400"] == 1


async def _any_retried(outbox: Outbox) -> bool:
    return any(row.last_error for row in await rows(outbox.sessions))


async def test_transient_failures_give_up_after_max_attempts(outbox: Outbox) -> None:
    await enqueue(outbox.service, chats(2))
    unreachable = SandboxServer(BotApiEmulator())  # never started: nothing listens
    unreachable.port = 9
    limits = DeliveryLimits.for_rate(50, max_attempts=3, backoff_base=0.05, idle_poll_seconds=0.1)
    engine, telegram = await running_engine(outbox, unreachable, limits)
    try:
        await engine.run_until_idle(timeout=10)
    finally:
        await engine.stop()
        await telegram.close()
    stored = await rows(outbox.sessions)
    assert [(row.state, row.attempts) for row in stored] == [(DeliveryState.FAILED, 3)] * 2


async def test_cancel_source_and_cancel_for_chat_take_effect_at_once(
    outbox: Outbox, sandbox: SandboxServer
) -> None:
    emulator = sandbox.emulator
    recipients = chats(200)
    add_users(emulator, recipients)
    await enqueue(outbox.service, recipients, source="broadcast:1")
    await enqueue(outbox.service, recipients[:2], source="digest:1", kind="digest")
    await enqueue(outbox.service, recipients[:2], source="broadcast:2")
    # /stop: that resident's queued broadcasts and digests go, nobody else's.
    assert await outbox.service.cancel_for_chat(recipients[0], {"broadcast", "digest"}) == 3
    assert await outbox.service.unfinished("digest:1") == 1

    limits = DeliveryLimits.for_rate(40, idle_poll_seconds=0.1)
    engine, telegram = await running_engine(outbox, sandbox, limits)
    try:
        await emulator.wait_until(lambda: emulator.stats["sent"] >= 20, timeout=10)
        cancelled = await outbox.service.cancel_source("broadcast:1")
        sent_when_cancelled = emulator.stats["sent"]
        await engine.run_until_idle(timeout=10)
    finally:
        await engine.stop()
        await telegram.close()

    assert cancelled > 100
    counts = await outbox.service.counts("broadcast:1")
    states: Counter[DeliveryState] = Counter()
    for by_state in counts.values():
        states.update(by_state)
    assert states[DeliveryState.CANCELLED] == cancelled + 1
    assert states[DeliveryState.SENT] + states[DeliveryState.CANCELLED] == 200
    # Only rows already claimed (about a second's worth) went out after the cancel.
    assert emulator.stats["sent"] - sent_when_cancelled <= limits.claim_batch_size + 4
    assert emulator.bot_messages(recipients[0]) == []


async def test_each_finished_source_is_reported_once_among_engines(
    outbox: Outbox, sandbox: SandboxServer
) -> None:
    emulator = sandbox.emulator
    recipients = chats(60)
    add_users(emulator, recipients)
    reports: list[str] = []

    async def finished(source: str) -> None:
        reports.append(source)

    limits = DeliveryLimits.for_rate(200, idle_poll_seconds=0.05)
    engines = [
        await running_engine(
            outbox, sandbox, limits, worker_id=f"w{n}", on_source_finished=finished
        )
        for n in range(2)
    ]
    try:
        await enqueue(outbox.service, recipients[:30], source="broadcast:1")
        await enqueue(outbox.service, recipients, source="broadcast:2")
        for engine, _ in engines:
            await engine.run_until_idle(timeout=20)
        await until(lambda: _true_when(len(reports) == 2), timeout=5)
        await asyncio.sleep(0.3)  # a second report would come now
    finally:
        for engine, telegram in engines:
            await engine.stop()
            await telegram.close()
    assert sorted(reports) == ["broadcast:1", "broadcast:2"]
    assert set(copies(emulator, recipients[:30]).values()) == {2}


async def _true_when(value: bool) -> bool:
    return value


# --- worker processes --------------------------------------------------------------------


async def start_worker(
    env: dict[str, str], log: Path, worker_id: str
) -> asyncio.subprocess.Process:
    with log.open("ab") as output:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "worker",
            "--worker-id",
            worker_id,
            env=env,
            cwd=log.parent,  # no .env from the repository
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )


def worker_env(
    tmp_path: Path, server: SandboxServer, database_url: str, **extra: str
) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": server.base_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
        **extra,
    }


async def wait_for_log(log: Path, text: str, timeout: float = 20) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while text not in (content := log.read_bytes().decode(errors="replace")):  # noqa: ASYNC240
        if time.monotonic() > deadline:
            raise TimeoutError(f"{text!r} not in {log}:\n{content}")
        await asyncio.sleep(0.05)


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_sigkill_mid_broadcast_loses_nothing_and_duplicates_stay_in_bound(
    outbox: Outbox, sandbox: SandboxServer, tmp_path: Path
) -> None:
    emulator = sandbox.emulator
    recipients = chats(300)
    add_users(emulator, recipients)
    # Not news: these chats are no residents, and the bot's engine (the worker's) sends news
    # only to residents who still consent (bot/services/delivery/consent.py).
    await enqueue(outbox.service, recipients, kind=WORK_KIND)
    env = worker_env(tmp_path, sandbox, outbox.url, DELIVERY_RATE="50", DELIVERY_LEASE_SECONDS="2")
    limits = delivery_limits(make_settings(tmp_path, delivery_rate=50, delivery_lease_seconds=2))
    log = tmp_path / "worker.log"

    first = await start_worker(env, log, "first")
    try:
        await emulator.wait_until(lambda: emulator.stats["sent"] >= 135, timeout=30)
        first.send_signal(signal.SIGKILL)  # no cleanup, no flush
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
    sent_by_first = emulator.stats["sent"]
    assert 0.3 * 300 <= sent_by_first <= 0.6 * 300

    second = await start_worker(env, log, "second")
    try:
        await emulator.wait_until(
            lambda: all(emulator.bot_messages(chat) for chat in recipients), timeout=30
        )
        await until(lambda: _settled(outbox), timeout=10)
    finally:
        await stop_process(second)

    per_chat = copies(emulator, recipients)
    duplicates = sum(count - 1 for count in per_chat.values() if count > 1)
    assert min(per_chat.values()) == 1  # none missing
    assert duplicates <= limits.duplicate_bound, (duplicates, limits.duplicate_bound)
    bound = limits.duplicate_bound
    print(f"SIGKILL after {sent_by_first} sent: {duplicates} duplicate(s), bound {bound}")
    stored = await rows(outbox.sessions)
    assert {row.state for row in stored} == {DeliveryState.SENT}
    assert second.returncode == 0


async def _settled(outbox: Outbox) -> bool:
    return await outbox.service.unfinished("broadcast:1") == 0


@pytest.mark.postgres
async def test_two_workers_on_one_postgresql_never_send_a_row_twice(
    empty_postgres: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    emulator = sandbox.emulator
    engine = create_engine(empty_postgres)
    await migrate.upgrade(engine)
    sessions = create_session_factory(engine)
    service = DeliveryService(sessions, clock=CLOCK)
    recipients = chats(500)
    add_users(emulator, recipients)
    env = worker_env(tmp_path, sandbox, empty_postgres, DELIVERY_RATE="150")
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [await start_worker(env, log, f"worker-{n}") for n, log in enumerate(logs)]
    try:
        for log in logs:
            await wait_for_log(log, "delivery engine worker-")
        await enqueue(service, recipients, kind=WORK_KIND)  # no residents: not news
        await emulator.wait_until(lambda: emulator.stats["sent"] >= 500, timeout=30)
        await until(lambda: _all_done(service), timeout=10)
        await asyncio.sleep(0.3)  # a duplicate would arrive now
        async with sessions() as session:
            senders = Counter(
                await session.scalars(select(Delivery.claimed_by).where(Delivery.state == "sent"))
            )
    finally:
        for worker in workers:
            await stop_process(worker)
        await engine.dispose()

    assert emulator.stats["sent"] == 500
    assert set(copies(emulator, recipients).values()) == {1}
    assert set(senders) == {"worker-0", "worker-1"}, senders
    assert all(count > 0 for count in senders.values())
    assert all(worker.returncode == 0 for worker in workers)


async def _all_done(service: DeliveryService) -> bool:
    return await service.unfinished("broadcast:1") == 0


def test_worker_help_and_limits_from_settings(tmp_path: Path) -> None:
    from bot.cli import build_parser

    help_text = build_parser()._subparsers._group_actions[0].choices["worker"].format_help()  # type: ignore[union-attr]
    assert "delivery engine" in help_text or "outbox" in help_text
    paid = delivery_limits(make_settings(tmp_path, paid_broadcasts=True))
    assert paid.messages_per_second == 1000
    assert delivery_limits(make_settings(tmp_path)).messages_per_second == 30
    assert paid.duplicate_bound == paid.concurrency + paid.result_batch_size


async def test_paid_broadcasts_flag_reaches_telegram(sandbox: SandboxServer) -> None:
    sandbox.emulator.add_user("Ayşe", "tr", user_id=FIRST_CHAT)
    sender = TelegramSender(sandbox.base_url, TOKEN, allow_paid_broadcast=True)
    try:
        message_id = await sender.send(FIRST_CHAT, TEXT)
    finally:
        await sender.close()
    assert message_id > 0
    method, params = sandbox.emulator.calls[-1]
    assert method == "sendMessage" and params.get("allow_paid_broadcast") in (True, "true")


async def test_rows_not_before_a_later_time_wait_for_it(
    outbox: Outbox, sandbox: SandboxServer
) -> None:
    emulator = sandbox.emulator
    add_users(emulator, chats(2))
    await outbox.service.enqueue(
        source="broadcast:1",
        kind="broadcast",
        broadcast_id=None,
        payloads={"de": TEXT},
        fallback_locale="de",
        recipients=[
            Recipient(FIRST_CHAT, "de"),
            Recipient(FIRST_CHAT + 1, "de", not_before=CLOCK() + timedelta(hours=1)),
        ],
    )
    engine, telegram = await running_engine(
        outbox, sandbox, DeliveryLimits.for_rate(30, idle_poll_seconds=0.1)
    )
    try:
        await engine.run_until_idle(timeout=3)
    finally:
        await engine.stop()
        await telegram.close()
    assert copies(emulator, chats(2)) == Counter({FIRST_CHAT: 1, FIRST_CHAT + 1: 0})
    assert await outbox.service.unfinished("broadcast:1") == 1


async def test_enqueue_in_the_callers_transaction_wakes_the_engine_only_after_its_commit(
    outbox: Outbox,
) -> None:
    woken: list[int] = []
    outbox.service.add_listener(lambda: woken.append(len(woken) + 1))

    async def queue(session: AsyncSession, source: str) -> int:
        return await outbox.service.enqueue(
            source=source,
            kind="event",
            broadcast_id=None,
            payloads={"de": TEXT},
            fallback_locale="de",
            recipients=[Recipient(chat_id, "de") for chat_id in chats(3)],
            session=session,
        )

    # Rolled back with the caller's transaction: no row, no wake.
    with pytest.raises(RuntimeError):
        async with outbox.sessions.begin() as session:
            assert await queue(session, "event:1:changed:1") == 3
            raise RuntimeError("the domain change failed")
    assert await rows(outbox.sessions) == [] and woken == []

    # Committed: other connections see nothing until the commit, and the engine is woken once
    # (not once per enqueue) after it.
    async with outbox.sessions.begin() as session:
        assert await queue(session, "event:1:changed:1") == 3
        assert await queue(session, "event:1:cancelled") == 3
        assert await queue(session, "event:1:cancelled") == 0  # idempotent per (source, chat)
        assert await rows(outbox.sessions) == [] and woken == []
    assert woken == [1]
    assert len(await rows(outbox.sessions)) == 6
    assert await outbox.service.unfinished("event:1:cancelled") == 3
