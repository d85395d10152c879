"""Replies under broadcast load: 20 residents chat while the bot sends a broadcast to 1,000.

    .venv/bin/python bench/bench_replies_under_broadcast.py [--recipients 1000] [--runs 3]
        [--chatters 20] [--rate 30] [--idle-seconds 10] [--quick] [--json PATH]

The sandbox (Telegram emulator) runs in a child process with Telegram's limits on (RATE/s
overall and 1/s per chat, sliding windows: a sender one message too fast in any second is
answered 429). The residents chat there too, so a reply's time is what a resident sees: from
their message reaching "Telegram" to the bot's answer reaching it. The bot (``Runtime``, the
same as ``quartierbot run``: polling, SQLite, its delivery engine sharing the outgoing budget
with the replies) runs in this process.

Each run, with a fresh sandbox and database:

* idle (the baseline, same run): the residents chat for ``--idle-seconds``; reply p50 and p95;
* load: the residents chat while a broadcast to ``--recipients`` residents goes out (enqueued
  through the outbox; its kind is one no consent governs, as the recipients are only the
  sandbox's); reply p50 and p95 again, the broadcast's rate from its first to its last message
  as the sandbox saw them, and the budget the replies left in that time (RATE minus the rate
  of the replies' messages).

Each resident sends ``/start`` (one new message in answer), waits for the answer, then reads
for 1.2 to 2.5 s (seeded), so that a person's chat keeps to Telegram's one message a second.
Figures are medians of the runs. ``--quick``: 200 recipients, one run, 4 idle seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bench.results import Row, median, percentile, ratio, table, write_rows  # noqa: E402

TOKEN = "123456:REPLIES"
FIRST_RECIPIENT = 2_000_000
FIRST_CHATTER = 3_000_000
NAME = "replies under broadcast"
#: The outbox kind of the broadcast: one no consent governs (its recipients are only the
#: sandbox's chats, not residents with consent in the bot's database).
KIND = "translation"


# --- the sandbox and the residents, in a child process ------------------------------------------


async def chat(
    emulator: Any, user_id: int, rng: random.Random, done: Callable[[], bool], out: list[float]
) -> None:
    await asyncio.sleep(rng.uniform(0, 1.5))  # not all at once
    while not done():
        before = len(emulator.bot_messages(user_id))
        started = time.perf_counter()
        emulator.send_text(user_id, "/start")

        def answered(before: int = before) -> bool:
            return len(emulator.bot_messages(user_id)) > before

        await emulator.wait_until(answered, timeout=60)
        out.append(time.perf_counter() - started)
        await asyncio.sleep(rng.uniform(1.2, 2.5))


async def serve(recipients: int, chatters: int, rate: float, seed: int) -> None:
    from bot.sandbox.emulator import BotApiEmulator, SandboxServer

    emulator = BotApiEmulator()
    audience = set(range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients))
    for chat_id in sorted(audience):
        emulator.add_user("Nachbar", "de", user_id=chat_id)
    residents = [FIRST_CHATTER + n for n in range(chatters)]
    for user_id in residents:
        emulator.add_user(f"Chat {user_id}", "tr", user_id=user_id)
    emulator.set_flood_limits(global_per_second=rate, per_chat_per_second=1)
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    async with SandboxServer(emulator) as server:
        print(f"READY {server.port}", flush=True)
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).split():
            command = line[0]
            emulator.accepted_sends.clear()
            limited_before = emulator.stats["answered_429"]
            latencies: list[float] = []
            if command == "idle":
                deadline = time.perf_counter() + float(line[1])

                def over(deadline: float = deadline) -> bool:
                    return time.perf_counter() >= deadline

            else:  # "load": until every recipient has the broadcast

                def over() -> bool:
                    return all(emulator.bot_messages(chat_id) for chat_id in audience)

                print("CHATTING", flush=True)
            await asyncio.gather(
                *(chat(emulator, user_id, rng, over, latencies) for user_id in residents)
            )
            sends = list(emulator.accepted_sends)
            bulk = [t for t, chat_id in sends if chat_id in audience]
            result: dict[str, Any] = {
                "latencies": latencies,
                "rate_limited": emulator.stats["answered_429"] - limited_before,
                "max_per_second": emulator.max_sends_within(1.0),
            }
            if bulk:
                first, last = min(bulk), max(bulk)
                replies = sum(
                    1 for t, chat_id in sends if chat_id not in audience and first <= t <= last
                )
                result.update(bulk=len(bulk), seconds=last - first, replies=replies)
            print("RESULT " + json.dumps(result), flush=True)


# --- the bot, in this process ---------------------------------------------------------------


async def one_run(args: argparse.Namespace, run: int) -> dict[str, Any]:
    from bot.config import load_settings
    from bot.runtime import Runtime
    from bot.services.delivery import Recipient

    sandbox = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--recipients",
        str(args.recipients),
        "--chatters",
        str(args.chatters),
        "--rate",
        str(args.rate),
        "--seed",
        str(run),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert sandbox.stdin is not None and sandbox.stdout is not None
    stdin, stdout = sandbox.stdin, sandbox.stdout

    async def ask(command: str, *, before: Callable[[], Any] | None = None) -> dict[str, Any]:
        stdin.write(command.encode() + b"\n")
        await stdin.drain()
        while True:
            line = (await stdout.readline()).decode()
            if not line:
                raise RuntimeError("the sandbox ended early")
            if line.startswith("CHATTING") and before is not None:
                await before()
            if line.startswith("RESULT "):
                return dict(json.loads(line.removeprefix("RESULT ")))

    try:
        port = int((await stdout.readline()).decode().split()[1])
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                _env_file=None,
                telegram_bot_token=TOKEN,
                telegram_api_url=f"http://127.0.0.1:{port}/bot",
                telegram_file_url=f"http://127.0.0.1:{port}/file/bot",
                database_url=f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
                delivery_rate=args.rate,
                http_port=0,
                rate_limit_updates=0,  # the abuse limit is per person; not what is measured
                log_level="WARNING",
            )
            async with Runtime(settings, serve_http=False, poll_timeout=10) as runtime:
                idle = await ask(f"idle {args.idle_seconds}")

                async def broadcast() -> None:
                    assert runtime.services is not None
                    await runtime.services.delivery.enqueue(
                        source=f"{KIND}:bench",
                        kind=KIND,
                        broadcast_id=None,
                        payloads={"de": {"method": "sendMessage", "text": "Straßenfest!"}},
                        fallback_locale="de",
                        recipients=[
                            Recipient(chat_id, "de")
                            for chat_id in range(FIRST_RECIPIENT, FIRST_RECIPIENT + args.recipients)
                        ],
                    )

                load = await ask("load", before=broadcast)
        stdin.close()
        await sandbox.wait()
    finally:
        if sandbox.returncode is None:
            sandbox.kill()
            await sandbox.wait()
    return figures(args, idle, load)


def figures(args: argparse.Namespace, idle: dict[str, Any], load: dict[str, Any]) -> dict[str, Any]:
    seconds = float(load.get("seconds") or 0.0)
    bulk_rate = (load.get("bulk", 0) - 1) / seconds if seconds else 0.0
    reply_rate = load.get("replies", 0) / seconds if seconds else 0.0
    return {
        "idle_p50": percentile(idle["latencies"], 0.5) * 1000,
        "idle_p95": percentile(idle["latencies"], 0.95) * 1000,
        "load_p50": percentile(load["latencies"], 0.5) * 1000,
        "load_p95": percentile(load["latencies"], 0.95) * 1000,
        "replies": len(load["latencies"]),
        "bulk_rate": bulk_rate,
        "left": args.rate - reply_rate,
        "rate_limited": idle["rate_limited"] + load["rate_limited"],
        "max_per_second": max(idle["max_per_second"], load["max_per_second"]),
    }


def rows_of(args: argparse.Namespace, runs: list[dict[str, Any]]) -> list[Row]:
    def med(key: str) -> float:
        return median([run[key] for run in runs])

    note = (
        f"{args.chatters} residents chatting, {args.recipients} recipients, median of {len(runs)}"
    )
    p50, idle50 = med("load_p50"), med("idle_p50")
    bulk, left = med("bulk_rate"), med("left")
    limited, peak = med("rate_limited"), med("max_per_second")
    p50_ratio, bulk_ratio = ratio(p50, idle50), ratio(bulk, left)
    return [
        Row(NAME, "reply p50 under broadcast", p50, "ms", "idle p50", idle50, p50_ratio,
            "ratio <= 1.5", p50_ratio is not None and p50_ratio <= 1.5, note),
        Row(NAME, "reply p95 under broadcast", med("load_p95"), "ms", "idle p95",
            med("idle_p95"), ratio(med("load_p95"), med("idle_p95")), "–", None, note),
        Row(NAME, "broadcast rate", bulk, "msg/s", "budget left by replies", left, bulk_ratio,
            "ratio >= 0.9", bulk_ratio is not None and bulk_ratio >= 0.9,
            f"overall limit {args.rate:g}/s; " + note),
        Row(NAME, "429 answers (idle + load)", limited, "", None, None, None, "= 0",
            limited == 0, note),
        Row(NAME, "most sends in any 1 s", peak, "msg", "limit", args.rate,
            ratio(peak, args.rate), f"<= {args.rate:g}", peak <= args.rate, note),
    ]  # fmt: skip


async def bench(args: argparse.Namespace) -> list[Row]:
    runs = []
    for run in range(1, args.runs + 1):
        result = await one_run(args, run)
        runs.append(result)
        print(
            f"run {run}: reply p50 idle {result['idle_p50']:.1f} ms, under broadcast "
            f"{result['load_p50']:.1f} ms (p95 {result['idle_p95']:.1f} / "
            f"{result['load_p95']:.1f} ms, {result['replies']} replies); broadcast "
            f"{result['bulk_rate']:.1f} msg/s of {result['left']:.1f} left; "
            f"429s {result['rate_limited']}; most in 1 s {result['max_per_second']}",
            flush=True,
        )
    return rows_of(args, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--chatters", type=int, default=20)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--json", metavar="PATH", help="write the result rows to PATH as JSON")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.recipients, args.chatters, args.rate, args.seed))
        return
    if args.quick:
        args.recipients, args.runs, args.idle_seconds = 200, 1, 4.0
    rows = asyncio.run(bench(args))
    print()
    print(table(rows))
    if args.json:
        write_rows(args.json, rows)


if __name__ == "__main__":
    main()
