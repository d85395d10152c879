"""Delivery benchmark: the engine against the bare sender, on SQLite and PostgreSQL, and
through outages.

    .venv/bin/python bench/bench_delivery.py [--recipients 10000] [--rate 1000] [--runs 3]
        [--database sqlite|postgres|both] [--fault-recipients 1000] [--quick] [--json PATH]

The sandbox (Telegram emulator) runs in a separate process with flood limits of RATE/s overall
and 1/s per chat, so its CPU isn't counted and a too-fast sender would be answered 429. Each run
measures, in this process:

* ``aiohttp``: the bare ``TelegramSender`` sending the messages (the engine's budget at RATE, no
  engine, no database): the floor the engine's overhead sits on, and the baseline;
* ``ptb``: the same with PTB's ``Bot`` (``HTTPXRequest`` with a large pool), the alternative;
* ``engine``: the whole delivery engine with paid broadcasts on, on each database: claiming
  (with the consent check, as the bot's engine does), sending, writing results. Selecting the
  recipients and enqueueing (``BroadcastService.send_now`` to every resident) is timed apart,
  as its own row: it isn't per-send work.

Then fault runs, with the sandbox in this process (its faults switched from here) and the
engine and the sandbox on one clock that runs ``--speed`` times faster than real time, so that a
minute of outage and the backoff after it pass in seconds while the sending runs in real time:

* a 60 s (on that clock) 5xx outage switched on when half the recipients have their message:
  failed rows (target 0), duplicates (target 0: a 5xx sends nothing) and the total time, against
  the same run without an outage;
* one answer in 15 lost after Telegram took the message (``drop_after``): duplicates against the
  answers lost, and the most copies one recipient got (the bound: 2).

Rows (``--json``): medians of the runs. No asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bench.databases import POSTGRES_URL, scratch_postgres  # noqa: E402
from bench.results import Row, add_common_arguments, median, ratio, table, write_rows  # noqa: E402

BENCHMARK = "delivery"
ADMIN_ID = 42

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
    """The floor: limiter plus N concurrent senders, nothing else. The limiter is the engine's
    (``OutgoingBudget``): the sandbox's sliding window answers a bucket's bursts with 429s."""
    from bot.services.delivery.budget import OutgoingBudget, Priority

    budget = OutgoingBudget(rate)
    queue = iter(chats)

    async def one_sender() -> None:
        for chat_id in queue:
            slot = await budget.acquire(chat_id, priority=Priority.BULK)
            try:
                await send(chat_id)
            finally:
                slot.done()

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


@asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    """A new database of ``kind`` ("sqlite" or "postgres") at the newest revision, removed
    afterwards."""
    from storage import migrate
    from storage.db import create_engine

    async def migrated(url: str) -> str:
        engine = create_engine(url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()
        return url

    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield await migrated(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")
        return
    async with scratch_postgres("quartierbot_bench_delivery") as url:
        yield await migrated(url)


async def add_residents(url: str, chats: list[int]) -> None:
    """Residents who agreed and get news, without quiet hours; a third read Turkish."""
    from sqlalchemy import insert

    from storage.db import create_engine
    from storage.models import Resident, ResidentStatus

    now = datetime.now(UTC)
    rows = [
        {
            "telegram_id": chat_id,
            "locale": "tr" if chat_id % 3 == 0 else "de",
            "consent_version": 1,
            "consent_at": now,
            "broadcast_opt_in": True,
            "digest_opt_in": False,
            "service_opt_in": True,
            "lead_contact_opt_in": True,
            "quiet_start": 0,
            "quiet_end": 0,
            "status": ResidentStatus.ACTIVE,
            "created_at": now,
            "last_seen_at": now,
        }
        for chat_id in chats
    ]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for start in range(0, len(rows), 1000):
                await connection.execute(insert(Resident), rows[start : start + 1000])
    finally:
        await engine.dispose()


async def send_broadcast(url: str) -> tuple[float, int]:
    """A coordinator sends a broadcast to everyone, as the bot does: (seconds that
    ``send_now`` took, selecting the recipients and enqueueing, and how many rows)."""
    from bot.app import build_services
    from bot.config import load_settings
    from storage.db import create_engine

    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        database_url=url,
        admin_ids=[ADMIN_ID],
        default_locale="de",
        webhook_url=None,
        webhook_secret=None,
    )
    engine = create_engine(url)
    try:
        services = build_services(settings, engine)
        actor = await services.residents.actor(ADMIN_ID)
        draft = await services.broadcasts.create_draft(actor)
        await services.broadcasts.set_version(actor, draft.id, "de", text=str(PAYLOAD["text"]))
        await services.broadcasts.set_version(actor, draft.id, "tr", text="Komşular, cumartesi!")
        started = time.perf_counter()
        counts = await services.broadcasts.send_now(actor, draft.id)
        return time.perf_counter() - started, sum(counts.values())
    finally:
        await engine.dispose()


@dataclass
class EngineRun:
    wall: float
    cpu: float
    enqueue: float
    queued: int
    failed: int
    rate_limited: int


async def run_engine(base_url: str, url: str, chats: list[int], rate: float) -> EngineRun:
    from bot.clock import system_clock
    from bot.delivery_sender import TelegramSender
    from bot.services.delivery import DeliveryEngine, DeliveryLimits
    from storage.db import create_engine, create_session_factory

    await add_residents(url, chats)
    enqueue_seconds, queued = await send_broadcast(url)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    sender = TelegramSender(base_url, TOKEN, allow_paid_broadcast=True, connections=200)
    await sender.send(chats[0], PAYLOAD)  # connect outside the measurement
    await asyncio.sleep(1.1)
    # The bot's engine checks consent at send time: so does this one.
    delivery = DeliveryEngine(
        sessions, sender, DeliveryLimits.for_rate(rate), check_consent=True, clock=system_clock
    )

    async def work() -> None:
        delivery.start()
        # Watch the engine's own counter (a database poll would add CPU to the figure).
        for _ in range(100_000):
            if delivery.stats.sent + delivery.stats.failed >= queued:
                break
            await asyncio.sleep(0.05)
        await delivery.stop()

    try:
        wall, cpu = await measure(work)
    finally:
        await sender.close()
        await engine.dispose()
    return EngineRun(
        wall,
        cpu,
        enqueue_seconds,
        queued,
        delivery.stats.failed,
        delivery.stats.rate_limited,
    )


# --- through outages -------------------------------------------------------------------------


class FastClock:
    """A clock that runs ``speed`` times faster than real time, from now: the engine's and the
    sandbox's, so that outages and backoffs pass quickly while sending stays real."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._start = datetime.now(UTC)
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)


@dataclass
class FaultRun:
    wall: float
    failed: int
    duplicates: int
    max_copies: int
    lost_answers: int
    server_errors: int
    rate_limited: int


OUTAGE_SECONDS = 60.0
LOST_ONE_IN = 15


async def fault_run(recipients: int, rate: float, speed: float, fault: str) -> FaultRun:
    """``fault``: "none", "outage" (5xx for a minute once half have their message) or
    "lost" (one answer in LOST_ONE_IN lost after the message was taken)."""
    from bot.delivery_sender import TelegramSender
    from bot.sandbox.emulator import BotApiEmulator, SandboxServer
    from bot.services.delivery import DeliveryEngine, DeliveryLimits, DeliveryService, Recipient
    from storage.db import create_engine, create_session_factory

    clock = FastClock(speed)
    emulator = BotApiEmulator(clock=clock)
    chats = list(range(FIRST_CHAT, FIRST_CHAT + recipients))
    for chat_id in chats:
        emulator.add_user("Nachbar", "de", user_id=chat_id)
    emulator.set_flood_limits(global_per_second=rate, per_chat_per_second=1)
    async with SandboxServer(emulator) as server, database("sqlite") as url:
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        await DeliveryService(sessions, clock=clock).enqueue(
            source="broadcast:1",
            kind="broadcast",
            broadcast_id=None,
            payloads={"de": PAYLOAD},
            fallback_locale="de",
            recipients=[Recipient(chat_id, "de") for chat_id in chats],
        )
        sender = TelegramSender(
            server.base_url, TOKEN, allow_paid_broadcast=True, connections=200, timeout=5
        )
        # Leases are on the fast clock and the heartbeat runs in real time: lengthen them.
        limits = DeliveryLimits.for_rate(rate, lease_seconds=30 * speed, idle_poll_seconds=0.02)
        delivery = DeliveryEngine(sessions, sender, limits, clock=clock)
        if fault == "lost":
            emulator.network.drop_after(every=LOST_ONE_IN)
        started = time.perf_counter()
        delivery.start()
        outage = fault != "outage"
        try:
            while delivery.stats.sent + delivery.stats.failed < recipients:
                if not outage and delivery.stats.sent >= recipients // 2:
                    emulator.network.server_errors(seconds=OUTAGE_SECONDS)
                    outage = True
                await asyncio.sleep(0.005)
            wall = time.perf_counter() - started
        finally:
            await delivery.stop()
            await sender.close()
            await engine.dispose()
        copies = [len(emulator.bot_messages(chat_id)) for chat_id in chats]
        return FaultRun(
            wall,
            delivery.stats.failed,
            sum(max(0, n - 1) for n in copies),
            max(copies),
            emulator.network.stats["drop_after"],
            emulator.network.stats["5xx"],
            delivery.stats.rate_limited,
        )


def line(name: str, count: int, rate: float, wall: float, cpu: float) -> str:
    return (
        f"{name:16s} {count / wall / rate:6.1%} of limit ({count / wall:7.1f} msg/s)  "
        f"{cpu * 1000 / count:6.3f} ms CPU/msg"
    )


async def bench(args: argparse.Namespace) -> list[Row]:
    recipients, rate, runs = args.recipients, args.rate, args.runs
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results: dict[str, list[tuple[float, float]]] = {"aiohttp": [], "ptb": []}
    engine_runs: dict[str, list[EngineRun]] = {db: [] for db in databases}
    unreachable: dict[str, str] = {}
    answered_429: list[int] = []
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
        print(f"run {run}:", flush=True)
        for name, runner in (("aiohttp", run_aiohttp), ("ptb", run_ptb)):
            wall, cpu = await runner(base_url, chats, rate)
            results[name].append((wall, cpu))
            print("  " + line(name, len(chats), rate, wall, cpu), flush=True)
            await asyncio.sleep(1.1)  # let the per-chat buckets refill
        for db in databases:
            if db in unreachable:
                continue
            try:
                async with database(db) as url:
                    measured = await run_engine(base_url, url, chats, rate)
            except OSError as exc:  # no PostgreSQL here: the row says so
                unreachable[db] = f"{type(exc).__name__}: {exc}"
                print(f"  {db}: unreachable ({unreachable[db]})", flush=True)
                continue
            engine_runs[db].append(measured)
            print("  " + line(f"engine {db}", measured.queued, rate, measured.wall, measured.cpu))
            print(
                f"  {db}: selecting and enqueueing {measured.queued} rows: "
                f"{measured.enqueue * 1000:.0f} ms",
                flush=True,
            )
            await asyncio.sleep(1.1)
        sandbox.stdin.close()
        stats_line = (await sandbox.stdout.readline()).decode().strip()
        print("  sandbox " + stats_line, flush=True)
        answered_429.append(int(stats_line.rsplit("answered_429=", 1)[1]))
        await sandbox.wait()

    rows: list[Row] = []
    floor_wall = median([v[0] for v in results["aiohttp"]])
    floor_cpu_ms = median([v[1] for v in results["aiohttp"]]) * 1000 / recipients
    bare = "bare aiohttp sender"
    rows.append(
        Row(
            BENCHMARK,
            "bare sender rate",
            recipients / floor_wall,
            "msg/s",
            "limit",
            rate,
            ratio(recipients / floor_wall, rate),
            "information",
            None,
            f"{recipients:,} recipients, the sandbox's limit {rate:g}/s",
        )
    )
    ptb_cpu_ms = median([v[1] for v in results["ptb"]]) * 1000 / recipients
    rows.append(
        Row(
            BENCHMARK,
            "PTB Bot CPU per message",
            ptb_cpu_ms,
            "ms",
            bare,
            floor_cpu_ms,
            ratio(ptb_cpu_ms, floor_cpu_ms),
            "information",
            None,
            "why the engine sends with its own aiohttp client",
        )
    )
    for db in databases:
        label = "SQLite" if db == "sqlite" else "PostgreSQL"
        measured_runs = engine_runs[db]
        if not measured_runs:
            rows.append(
                Row(
                    BENCHMARK,
                    f"engine, {label}",
                    float("nan"),
                    "",
                    None,
                    None,
                    None,
                    "",
                    None,
                    f"not measured: {unreachable.get(db, 'no run')}",
                )
            )
            continue
        wall = median([m.wall for m in measured_runs])
        cpu_ms = median([m.cpu for m in measured_runs]) * 1000 / recipients
        achieved = recipients / wall
        rows.append(
            Row(
                BENCHMARK,
                f"engine rate, {label}",
                achieved,
                "msg/s",
                "limit",
                rate,
                ratio(achieved, rate),
                "ratio >= 0.95",
                achieved / rate >= 0.95,
                f"{recipients:,} recipients; claiming, consent check, sending, results; "
                f"the bare sender reached {recipients / floor_wall:.0f} msg/s "
                f"({achieved * floor_wall / recipients:.2f} of it)",
            )
        )
        rows.append(
            Row(
                BENCHMARK,
                f"engine CPU per message, {label}",
                cpu_ms,
                "ms",
                bare,
                floor_cpu_ms,
                ratio(cpu_ms, floor_cpu_ms),
                "<= 0.5 ms",
                cpu_ms <= 0.5,
                f"the engine's overhead over the bare sender: {cpu_ms - floor_cpu_ms:.3f} ms/msg",
            )
        )
        enqueue_ms = median([m.enqueue for m in measured_runs]) * 1000
        rows.append(
            Row(
                BENCHMARK,
                f"recipient selection + enqueue, {label}",
                enqueue_ms,
                "ms",
                None,
                None,
                None,
                "information",
                None,
                f"BroadcastService.send_now to {recipients:,} residents "
                f"({enqueue_ms * 1000 / recipients:.0f} µs per recipient)",
            )
        )
    rows.append(
        Row(
            BENCHMARK,
            "429 answers (all senders, all runs)",
            float(sum(answered_429)),
            "",
            None,
            None,
            None,
            "= 0",
            sum(answered_429) == 0,
            "the sandbox's flood limits (sliding window) at the limit",
        )
    )
    rows += await fault_rows(args)
    return rows


async def fault_rows(args: argparse.Namespace) -> list[Row]:
    count, rate, speed = args.fault_recipients, args.rate, args.speed
    calm = [await fault_run(count, rate, speed, "none") for _ in range(args.runs)]
    outage = [await fault_run(count, rate, speed, "outage") for _ in range(args.runs)]
    lost = [await fault_run(count, rate, speed, "lost") for _ in range(args.runs)]
    for name, runs in (("no fault", calm), ("5xx outage", outage), ("lost answers", lost)):
        for r in runs:
            print(f"  {name:12s} {r}", flush=True)
    where = f"{count:,} recipients at {rate:g}/s, SQLite, clock {speed:g}x"
    calm_wall = median([r.wall for r in calm])
    outage_wall = median([r.wall for r in outage])
    failed = median([r.failed for r in outage])
    duplicates = median([r.duplicates for r in outage])
    lost_duplicates = median([r.duplicates for r in lost])
    lost_answers = median([r.lost_answers for r in lost])
    most = max(r.max_copies for r in lost)
    return [
        Row(
            BENCHMARK,
            "rows failed after a 60 s 5xx outage",
            failed,
            "",
            None,
            None,
            None,
            "= 0",
            failed == 0,
            f"{where}; outage from half-way, retry horizon 30 min; "
            f"{median([r.server_errors for r in outage]):.0f} answers were 5xx",
        ),
        Row(
            BENCHMARK,
            "duplicates after a 60 s 5xx outage",
            duplicates,
            "",
            None,
            None,
            None,
            "= 0",
            duplicates == 0,
            "a 5xx sends nothing, so nothing may arrive twice",
        ),
        Row(
            BENCHMARK,
            "time to deliver through a 60 s outage",
            outage_wall * speed,
            "s",
            "without an outage",
            calm_wall * speed,
            ratio(outage_wall, calm_wall),
            "information",
            None,
            f"on the {speed:g}x clock (real: {outage_wall:.1f} s against {calm_wall:.1f} s); "
            "the outage and the backoff after it",
        ),
        Row(
            BENCHMARK,
            f"duplicates with 1 in {LOST_ONE_IN} answers lost",
            lost_duplicates,
            "",
            "answers lost",
            lost_answers,
            ratio(lost_duplicates, lost_answers),
            "ratio <= 1",
            lost_duplicates <= lost_answers,
            f"{where}; the message arrived, its answer was lost (drop_after); "
            f"{median([r.failed for r in lost]):.0f} rows failed as unconfirmed twice",
        ),
        Row(
            BENCHMARK,
            "most copies one recipient got (answers lost)",
            float(most),
            "",
            None,
            None,
            None,
            "<= 2",
            most <= 2,
            "the documented bound: a lost answer costs at most one duplicate",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=None)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres", "both"),
        default="both",
        help=f"where the engine runs (PostgreSQL: BENCH_POSTGRES_URL, default {POSTGRES_URL})",
    )
    parser.add_argument("--fault-recipients", type=int, default=None)
    parser.add_argument("--speed", type=float, default=None, help="the fault runs' clock speed")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    add_common_arguments(parser)
    args = parser.parse_args()
    quick = bool(args.quick)
    args.recipients = args.recipients or (1_000 if quick else 10_000)
    args.runs = args.runs or (1 if quick else 3)
    args.fault_recipients = args.fault_recipients or (200 if quick else 1_000)
    args.speed = args.speed or (30.0 if quick else 10.0)
    if args.serve:
        asyncio.run(serve_sandbox(args.recipients, args.rate))
        return
    rows = asyncio.run(bench(args))
    print()
    print(table(rows))
    print(f"\npeak RSS of this process: {peak_rss_mb():.0f} MB")
    if args.json:
        write_rows(args.json, rows)


if __name__ == "__main__":
    main()
