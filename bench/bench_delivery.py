"""Delivery benchmark: 10,000 recipients through the sandbox at a 1,000 msg/s limit.

    .venv/bin/python bench/bench_delivery.py [--recipients 10000] [--rate 1000] [--runs 3]

The sandbox (Telegram emulator) runs in a separate process with flood limits of RATE/s overall
and 1/s per chat, so its CPU isn't counted and a too-fast sender would be answered 429. Each run
measures, in this process:

* ``aiohttp``: the bare ``TelegramSender`` sending the messages (aiolimiter at RATE, no engine,
  no database): the floor the engine's overhead sits on;
* ``ptb``: the same with PTB's ``Bot`` (``HTTPXRequest`` with a large pool), the alternative;
* ``engine``: the whole delivery engine with paid broadcasts on, on SQLite: claiming, sending,
  writing results. Enqueueing is timed apart (it isn't per-send work).

Printed per run and as the median of the runs: achieved rate as a ratio of the limit, CPU ms
per message (``time.process_time``, all threads of this process), and peak RSS. No asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

TOKEN = "123456:BENCH"
FIRST_CHAT = 1_000_000
PAYLOAD = {
    "method": "sendMessage",
    "text": "Liebe Nachbarn, <b>Fest</b> am Samstag!",
    "parse_mode": "HTML",
}


# --- the sandbox, in its own process ----------------------------------------------------------


async def serve_sandbox(recipients: int, rate: float) -> None:
    from bot.sandbox.emulator import BotApiEmulator, SandboxServer

    emulator = BotApiEmulator()
    for chat_id in range(FIRST_CHAT, FIRST_CHAT + recipients):
        emulator.add_user("Nachbar", "de", user_id=chat_id)
    emulator.set_flood_limits(global_per_second=rate, per_chat_per_second=1)
    emulator.calls.clear()
    async with SandboxServer(emulator) as server:
        print(f"READY {server.port}", flush=True)
        loop = asyncio.get_running_loop()
        # Runs until the benchmark closes our stdin; then report what Telegram would have seen.
        await loop.run_in_executor(None, sys.stdin.read)
        stats = emulator.stats
        print(f"STATS sent={stats['sent']} answered_429={stats['answered_429']}", flush=True)


# --- measuring ---------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(work: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of ``work``."""
    cpu, wall = time.process_time(), time.perf_counter()
    await work()
    return time.perf_counter() - wall, time.process_time() - cpu


async def bare_send(send: Callable[[int], Awaitable[Any]], chats: list[int], rate: float) -> None:
    """The floor: limiter plus N concurrent senders, nothing else."""
    from aiolimiter import AsyncLimiter

    burst = max(1.0, rate * 0.1)
    limiter = AsyncLimiter(burst, burst / rate)
    queue = iter(chats)

    async def one_sender() -> None:
        for chat_id in queue:
            await limiter.acquire()
            await send(chat_id)

    await asyncio.gather(*(one_sender() for _ in range(150)))


async def run_aiohttp(base_url: str, chats: list[int], rate: float) -> tuple[float, float]:
    from bot.delivery_sender import TelegramSender

    sender = TelegramSender(base_url, TOKEN, allow_paid_broadcast=True, connections=150)
    try:
        await sender.send(chats[0], PAYLOAD)  # connect outside the measurement
        await asyncio.sleep(1.1)  # per-chat limit
        return await measure(lambda: bare_send(lambda c: sender.send(c, PAYLOAD), chats, rate))
    finally:
        await sender.close()


async def run_ptb(base_url: str, chats: list[int], rate: float) -> tuple[float, float]:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(connection_pool_size=150, pool_timeout=30)
    async with Bot(TOKEN, base_url=base_url, request=request) as bot:

        async def send(chat_id: int) -> Any:
            return await bot.send_message(
                chat_id, PAYLOAD["text"], parse_mode="HTML", allow_paid_broadcast=True
            )

        await send(chats[0])
        await asyncio.sleep(1.1)
        return await measure(lambda: bare_send(send, chats, rate))


async def run_engine(base_url: str, chats: list[int], rate: float) -> tuple[float, float, float]:
    from bot.clock import system_clock
    from bot.delivery_sender import TelegramSender
    from bot.services.delivery import DeliveryEngine, DeliveryLimits, DeliveryService, Recipient
    from storage import migrate
    from storage.db import create_engine, create_session_factory

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")
        await migrate.upgrade(engine)
        sessions = create_session_factory(engine)
        service = DeliveryService(sessions, clock=system_clock)
        started = time.perf_counter()
        await service.enqueue(
            source="broadcast:1",
            kind="broadcast",
            broadcast_id=None,
            payloads={"de": PAYLOAD},
            fallback_locale="de",
            recipients=[Recipient(chat_id, "de") for chat_id in chats],
        )
        enqueue_seconds = time.perf_counter() - started
        sender = TelegramSender(base_url, TOKEN, allow_paid_broadcast=True, connections=200)
        await sender.send(chats[0], PAYLOAD)  # connect outside the measurement
        await asyncio.sleep(1.1)
        delivery = DeliveryEngine(
            sessions, sender, DeliveryLimits.for_rate(rate), clock=system_clock
        )

        async def work() -> None:
            delivery.start()
            # Watch the engine's own counter (a database poll would add CPU to the figure).
            for _ in range(100_000):
                if delivery.stats.sent + delivery.stats.failed >= len(chats):
                    break
                await asyncio.sleep(0.05)
            await delivery.stop()

        try:
            wall, cpu = await measure(work)
        finally:
            await sender.close()
            await engine.dispose()
        if delivery.stats.failed or delivery.stats.rate_limited:
            print(f"  engine: {delivery.stats}", file=sys.stderr)
        return wall, cpu, enqueue_seconds


def line(name: str, count: int, rate: float, wall: float, cpu: float) -> str:
    return (
        f"{name:8s} {count / wall / rate:6.1%} of limit ({count / wall:7.1f} msg/s)  "
        f"{cpu * 1000 / count:6.3f} ms CPU/msg"
    )


async def bench(recipients: int, rate: float, runs: int) -> None:
    results: dict[str, list[tuple[float, float]]] = {"aiohttp": [], "ptb": [], "engine": []}
    enqueue_times: list[float] = []
    for run in range(1, runs + 1):
        sandbox = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            "--recipients",
            str(recipients),
            "--rate",
            str(rate),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert sandbox.stdout is not None and sandbox.stdin is not None
        ready = (await sandbox.stdout.readline()).decode().split()
        base_url = f"http://127.0.0.1:{ready[1]}/bot"
        chats = list(range(FIRST_CHAT, FIRST_CHAT + recipients))
        print(f"run {run}:")
        for name, runner in (("aiohttp", run_aiohttp), ("ptb", run_ptb)):
            wall, cpu = await runner(base_url, chats, rate)
            results[name].append((wall, cpu))
            print("  " + line(name, len(chats), rate, wall, cpu))
            await asyncio.sleep(1.1)  # let the per-chat buckets refill
        wall, cpu, enqueue_seconds = await run_engine(base_url, chats, rate)
        results["engine"].append((wall, cpu))
        enqueue_times.append(enqueue_seconds)
        print("  " + line("engine", len(chats), rate, wall, cpu))
        print(f"  enqueue {recipients} rows: {enqueue_seconds * 1000:.0f} ms")
        sandbox.stdin.close()
        print("  sandbox " + (await sandbox.stdout.readline()).decode().strip())
        await sandbox.wait()

    print(f"\nmedians of {runs} runs, {recipients} recipients, limit {rate:g} msg/s:")
    for name, values in results.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print("  " + line(name, recipients, rate, wall, cpu))
    engine_cpu = statistics.median(v[1] for v in results["engine"])
    floor_cpu = statistics.median(v[1] for v in results["aiohttp"])
    overhead = (engine_cpu - floor_cpu) * 1000 / recipients
    print(f"  engine overhead over the bare sender: {overhead:.3f} ms CPU/msg")
    print(f"  enqueue: {statistics.median(enqueue_times) * 1000:.0f} ms for {recipients} rows")
    print(f"  peak RSS of this process: {peak_rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve_sandbox(args.recipients, args.rate))
    else:
        asyncio.run(bench(args.recipients, args.rate, args.runs))


if __name__ == "__main__":
    main()
