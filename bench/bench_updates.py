"""Updates benchmark: the bot's own cost per update, in process, against a bare PTB bot.

    .venv/bin/python bench/bench_updates.py [--residents 100] [--runs 5] [--quick] [--json PATH]
                                            [--profile]

No network: both bots talk to ``tests.support.recording.RecordingRequest``, which answers every
Bot API call at once, as the test harness does. Measured, in this process:

* ``bot``: the real ``Application`` (bot/app.py) on SQLite, every handler and gate, with
  residents registered and events published beforehand;
* ``bare``: a plain PTB ``Application`` of the same shape, measured in the same run: as many
  handlers in the same groups (the three gates as no-ops, a command handler per command, the
  button handlers, the last-resort ones), no database, and each reply the very call the real
  bot made for that update (same method, text and keyboard, the keyboard built per update).

The mix: each resident sends /start, /menu, taps "events", then an event's detail (read taps),
and signs up for an event (join, party size, children, the check, confirm). Each phase feeds
one update per resident at once (``asyncio.gather``, as ``concurrent_updates`` would). Figures
are medians of the runs: read taps per second (wall), CPU ms per read tap and per sign-up
(``time.process_time``: every thread of the process, so SQLite's worker thread counts too).

Replies are not rate-limited here: the bot's delivery limiter is taken out of both bots, since
what is measured is the work per update, not Telegram's flood limits (those are
bench_replies_under_broadcast.py's). ``--profile`` prints cProfile's top functions of one run
of the real bot.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    ApplicationBuilder,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)

from bench.results import Row, add_common_arguments, median, ratio, table, write_rows  # noqa: E402
from tests.support import updates  # noqa: E402
from tests.support.recording import TOKEN, RecordingRequest  # noqa: E402

ADMIN_ID = 9000
FIRST_RESIDENT = 2_000_000
LOCALES = ("de", "tr", "ar", "uk")
EVENTS = 12
READ_MIX = ("/start", "/menu", "menu:events", "ev:show:{event}")
SIGN_UP = (
    "ev:join:{event}",
    "ev:ad:{event}:1",
    "ev:ch:{event}:1:0",
    "ev:chk:{event}:1:0:0",
    "ev:ok:{event}:1:0:0",
)


@dataclass
class Recorded:
    """The Bot API calls the real bot made for one kind of update, replayed by the bare bot."""

    calls: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)


# --- the real bot ------------------------------------------------------------------------------


@dataclass
class RealBot:
    application: Any
    request: RecordingRequest
    services: Any
    engine: Any
    events: list[int]


async def real_bot(folder: Path) -> RealBot:
    from bot.app import build_application, build_i18n, build_services
    from bot.clock import system_clock
    from bot.config import DEFAULT_LOCALES, load_settings
    from storage import migrate
    from storage.db import create_engine

    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_api_url="http://127.0.0.1:9/bot",
        database_url=f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}",
        admin_ids=[ADMIN_ID],
        default_locale="de",
        locales=list(DEFAULT_LOCALES),
        neighbourhood_name="Benchviertel",
        webhook_url=None,
        webhook_secret=None,
        http_port=0,
        # Many residents tap at once here; the per-person limit is in memory and stays on.
    )
    engine = create_engine(settings.database_url)
    await migrate.upgrade(engine)
    request = RecordingRequest()
    # A benchmark is no code path: the wall clock is what it measures against.
    services = build_services(settings, engine, clock=system_clock)
    application = build_application(settings, services, build_i18n(settings), request=request)
    # Replies aren't rate-limited in this measurement (see the module's docstring).
    application.bot._rate_limiter = None
    await application.initialize()
    events = [await published_event(services, n) for n in range(EVENTS)]
    return RealBot(application, request, services, engine, events)


async def published_event(services: Any, n: int) -> int:
    from bot.services.permissions import Actor
    from storage.models import Role

    staff = Actor(ADMIN_ID, frozenset({Role.ADMIN}), registered=True)
    events = services.events
    draft = await events.create_draft(staff)
    await events.set_version(
        staff, draft.id, "de", title=f"Hoffest {n}", description="Mit Musik und Kuchen " * 4
    )
    await events.set_version(staff, draft.id, "tr", title=f"Avlu şenliği {n}")
    await events.set_version(staff, draft.id, "ar", title=f"حفلة الفناء {n}")
    start = services.clock() + timedelta(days=3 + n)
    await events.update(
        staff,
        draft.id,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        place_name="Innenhof",
        address="Berliner Str. 1",
        capacity=1000,
    )
    return int((await events.publish(staff, draft.id)).id)


async def register(services: Any, people: Sequence[int]) -> None:
    for n, telegram_id in enumerate(people):
        await services.residents.register(telegram_id, LOCALES[n % len(LOCALES)])
        # Their name stored already, as after their first update: no write in the runs.
        await services.residents.seen(telegram_id, sender(telegram_id, 0)["first_name"])


def sender(telegram_id: int, n: int) -> dict[str, Any]:
    return updates.user(telegram_id, f"Nachbar {telegram_id}", LOCALES[n % len(LOCALES)])


def update_for(bot: Bot, person: dict[str, Any], action: str) -> Update:
    if action.startswith("/"):
        return updates.message(bot, person, action)
    return updates.callback(bot, person, action)


# --- the bare bot ------------------------------------------------------------------------------


def _keyboard(rows: list[list[dict[str, Any]]] | None) -> InlineKeyboardMarkup | None:
    if rows is None:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    b["text"], callback_data=b.get("callback_data"), url=b.get("url")
                )
                for b in row
            ]
            for row in rows
        ]
    )


def bare_bot(real: RealBot, recorded: Recorded) -> Application[Any, Any, Any, Any, Any, Any]:
    """A plain PTB bot of the real one's shape that answers each update with the calls the real
    bot made for it."""
    from handlers import handler_list

    plans: dict[str, list[tuple[str, dict[str, Any], list[list[dict[str, Any]]] | None]]] = {}
    for key, calls in recorded.calls.items():
        plan = []
        for method, params in calls:
            markup = params.get("reply_markup")
            rows = None
            if markup:
                rows = (json.loads(markup) if isinstance(markup, str) else markup)[
                    "inline_keyboard"
                ]
            plan.append((method, params, rows))
        plans[key] = plan

    async def replay(update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        query = update.callback_query
        key = query.data if query is not None else update.effective_message.text  # type: ignore[union-attr]
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        for method, params, rows in plans[str(key)]:
            markup = _keyboard(rows)
            if method == "sendMessage":
                await context.bot.send_message(chat_id, params["text"], reply_markup=markup)
            elif method == "editMessageText" and query is not None:
                await query.edit_message_text(params["text"], reply_markup=markup)
            elif method == "answerCallbackQuery" and query is not None:
                await query.answer(params.get("text"), show_alert=bool(params.get("show_alert")))
            else:
                await context.bot.do_api_request(method, api_kwargs=params)

    async def nothing(update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        return None

    bot = ExtBot(
        token=TOKEN,
        base_url="http://127.0.0.1:9/bot",
        defaults=Defaults(parse_mode=ParseMode.HTML),
        request=RecordingRequest(),
        get_updates_request=RecordingRequest(),
    )
    application = ApplicationBuilder().bot(bot).concurrent_updates(True).build()
    for group in (-4, -2, -1):
        application.add_handler(TypeHandler(Update, nothing), group=group)
    private = filters.ChatType.PRIVATE
    real_handlers = handler_list()
    for n, handler in enumerate(real_handlers):
        if isinstance(handler, CommandHandler):
            application.add_handler(CommandHandler(list(handler.commands), replay, filters=private))
        elif n < len(real_handlers) - 2:
            # One button handler for each of the real ones; only the last matches (below).
            application.add_handler(CallbackQueryHandler(nothing, pattern=f"^never{n}:"))
    application.add_handler(CallbackQueryHandler(replay))
    application.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, replay))
    return application


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Phase:
    updates: int = 0
    wall: float = 0.0
    cpu: float = 0.0

    def add(self, other: Phase) -> None:
        self.updates += other.updates
        self.wall += other.wall
        self.cpu += other.cpu


async def timed(work: Callable[[], Awaitable[None]], count: int) -> Phase:
    cpu, wall = time.process_time(), time.perf_counter()
    await work()
    return Phase(count, time.perf_counter() - wall, time.process_time() - cpu)


async def phase(application: Any, batch: list[Update]) -> Phase:
    async def work() -> None:
        await asyncio.gather(*(application.process_update(u) for u in batch))

    return await timed(work, len(batch))


def build_updates(
    bot: Bot, people: Sequence[int], events: Sequence[int], actions: Sequence[str], offset: int
) -> list[list[Update]]:
    """One batch per action: that action's update from every person."""
    return [
        [
            update_for(
                bot,
                sender(person, offset + n),
                action.format(event=events[(offset + n) % len(events)]),
            )
            for n, person in enumerate(people)
        ]
        for action in actions
    ]


async def record(
    real: RealBot, people: Sequence[int], actions: Sequence[str], recorded: Recorded
) -> None:
    """Warm the real bot up on the mix, every event once, and keep the calls it made for each
    update: the bare bot answers with them."""
    bot = real.application.bot
    for n, person in enumerate(people):
        for action in actions:
            text = action.format(event=real.events[n % len(real.events)])
            before = len(real.request.calls)
            await real.application.process_update(update_for(bot, sender(person, n), text))
            calls = [(c.method, dict(c.params)) for c in real.request.calls[before:]]
            recorded.calls.setdefault(text, calls)
    real.request.calls.clear()


@dataclass
class RunResult:
    read: Phase
    sign_up_flow: Phase
    sign_up: Phase
    #: Each kind of update on its own, for the printout.
    actions: dict[str, Phase] = field(default_factory=dict)


async def run_once(
    application: Any, bot: Bot, readers: Sequence[int], joiners: Sequence[int], events: list[int]
) -> RunResult:
    read, actions = Phase(), {}
    for action, batch in zip(
        READ_MIX, build_updates(bot, readers, events, READ_MIX, 0), strict=True
    ):
        actions[action] = await phase(application, batch)
        read.add(actions[action])
    flow, confirm = Phase(), Phase()
    batches = build_updates(bot, joiners, events, SIGN_UP, 0)
    for action, batch in zip(SIGN_UP, batches, strict=True):
        actions[action] = measured = await phase(application, batch)
        flow.add(measured)
        if action == SIGN_UP[-1]:
            confirm.add(measured)
    return RunResult(read, flow, confirm, actions)


def per_second(p: Phase) -> float:
    return p.updates / p.wall if p.wall else float("nan")


def cpu_ms(p: Phase, per: int | None = None) -> float:
    return 1000 * p.cpu / (per if per is not None else p.updates)


async def bench(residents: int, signups: int, runs: int, profile: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-updates-") as folder:
        return await _bench(Path(folder), residents, signups, runs, profile)


async def _bench(folder: Path, residents: int, signups: int, runs: int, profile: bool) -> list[Row]:
    real = await real_bot(folder)
    # Readers tap the read mix every run; each run's sign-ups are new people (one sign-up
    # each per event), registered beforehand like the readers.
    readers = [FIRST_RESIDENT + n for n in range(residents)]
    joiners = [
        [FIRST_RESIDENT + residents + r * signups + n for n in range(signups)]
        for r in range(runs + 1)
    ]  # joiners[0] sign up while warming up
    await register(real.services, readers + [p for run in joiners for p in run])
    recorded = Recorded()
    warm = len(real.events)
    await record(real, readers[:warm], READ_MIX, recorded)
    await record(real, joiners[0][:warm], SIGN_UP, recorded)
    bare = bare_bot(real, recorded)
    await bare.initialize()

    results: dict[str, list[RunResult]] = {"bot": [], "bare": []}
    # CPU time, not wall time: waiting for SQLite's thread isn't what costs.
    profiler = cProfile.Profile(time.process_time) if profile else None
    for r in range(1, runs + 1):
        gc.collect()
        if profiler is not None and r == 1:
            profiler.enable()
        results["bot"].append(
            await run_once(real.application, real.application.bot, readers, joiners[r], real.events)
        )
        if profiler is not None and r == 1:
            profiler.disable()
        gc.collect()
        results["bare"].append(await run_once(bare, bare.bot, readers, joiners[r], real.events))
        print(
            f"run {r}: read taps {per_second(results['bot'][-1].read):,.0f}/s "
            f"(bare {per_second(results['bare'][-1].read):,.0f}/s), "
            f"CPU {cpu_ms(results['bot'][-1].read):.2f} ms/tap "
            f"(bare {cpu_ms(results['bare'][-1].read):.3f}), "
            f"sign-up {cpu_ms(results['bot'][-1].sign_up):.2f} ms "
            f"(bare {cpu_ms(results['bare'][-1].sign_up):.3f})",
            flush=True,
        )
    await bare.shutdown()
    await real.application.shutdown()
    await real.engine.dispose()
    print("CPU ms per update, by kind (median of the runs): bot / bare")
    for action in (*READ_MIX, *SIGN_UP):
        mine = median([cpu_ms(x.actions[action]) for x in results["bot"]])
        theirs = median([cpu_ms(x.actions[action]) for x in results["bare"]])
        print(f"  {action:24} {mine:7.2f} / {theirs:.3f}")
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue())

    def med(kind: str, pick: Callable[[RunResult], float]) -> float:
        return median([pick(result) for result in results[kind]])

    read_rate = med("bot", lambda x: per_second(x.read))
    bare_rate = med("bare", lambda x: per_second(x.read))
    read_cpu = med("bot", lambda x: cpu_ms(x.read))
    bare_cpu = med("bare", lambda x: cpu_ms(x.read))
    sign_cpu = med("bot", lambda x: cpu_ms(x.sign_up))
    bare_sign = med("bare", lambda x: cpu_ms(x.sign_up))
    flow_cpu = med("bot", lambda x: cpu_ms(x.sign_up_flow, signups))
    bare_flow = med("bare", lambda x: cpu_ms(x.sign_up_flow, signups))
    rate_ratio = ratio(read_rate, bare_rate)
    size = f"{residents} residents tapping at once, {signups} sign-ups, median of {runs} runs"
    unthrottled = "in process, SQLite, replies not rate-limited; " + size
    return [
        Row(
            "updates",
            "read taps per second (/start, /menu, event list, event detail)",
            read_rate,
            "updates/s",
            "bare PTB bot, same shape",
            bare_rate,
            rate_ratio,
            "ratio >= 0.5",
            None if rate_ratio is None else rate_ratio >= 0.5,
            unthrottled,
        ),
        Row(
            "updates",
            "CPU per read tap",
            read_cpu,
            "ms",
            "bare PTB bot, same shape",
            bare_cpu,
            ratio(read_cpu, bare_cpu),
            "for information",
            None,
            unthrottled,
        ),
        Row(
            "updates",
            "CPU per sign-up (the confirming tap)",
            sign_cpu,
            "ms",
            "bare PTB bot, same shape",
            bare_sign,
            ratio(sign_cpu, bare_sign),
            "<= 2 ms",
            sign_cpu <= 2,
            unthrottled,
        ),
        Row(
            "updates",
            f"CPU per sign-up, whole flow ({len(SIGN_UP)} taps)",
            flow_cpu,
            "ms",
            "bare PTB bot, same shape",
            bare_flow,
            ratio(flow_cpu, bare_flow),
            "for information",
            None,
            unthrottled,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--signups", type=int, default=48)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one run of the bot")
    args = parser.parse_args()
    residents, signups, runs = args.residents, args.signups, args.runs
    if args.quick:
        residents, signups, runs = 20, 12, 3
    rows = asyncio.run(bench(residents, signups, runs, args.profile))
    print(table(rows))
    if args.json:
        write_rows(args.json, rows)


if __name__ == "__main__":
    main()
