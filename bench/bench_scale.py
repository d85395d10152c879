"""Scale benchmark: a neighbourhood of 100,000 residents on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_scale.py [--quick] [--json PATH] [--skip-postgres] [--skip-rss]

Builds 100,000 residents, 5,000 events (with their versions), 500,000 sign-ups, 20,000 ideas
with 200,000 supports (``--quick``: a tenth of each) in a SQLite file in a temporary folder and
in a fresh PostgreSQL database (``BENCH_POSTGRES_URL``, default the local server; created and
dropped here), migrated by the project's migrations and filled in bulk (``executemany`` on
SQLite, ``COPY`` on PostgreSQL). Then, through the services, many times each:

* the event list (``EventService.upcoming``: a page of 3, at the start and at random pages;
  by topic), p50 and p95, against **before**: the same page the way it was read before
  issue 15 (every upcoming event loaded as ORM objects, filtered and paged in Python);
* the idea board (``IdeaService.board``, most supported and newest, with "do I support it"),
  p95, against **before**: a count subquery per idea ordering the board plus one query per
  idea for "do I support it" (what the handler did);
* recipient selection for everyone (the query a broadcast to all residents runs in
  ``BroadcastService._materialize``: ``broadcast_kind`` + ``audience_statement``, every row
  read; the outbox rows made from them are bench_delivery's), median, against the **floor**:
  the same SELECT on the bare driver (sqlite3 / asyncpg), without SQLAlchemy;
* peak RSS (VmHWM) of ``quartierbot run`` against the 100k SQLite database with the sandbox as
  Telegram, after 200 residents each open /start, /events, the next page and the idea board;
  baseline: the same process against an empty database with the same traffic.

Start-up is followed by ``gc.freeze()`` here as in ``quartierbot run``. Times are wall-clock
per call (``time.perf_counter``), after a few warm-up calls.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import POSTGRES_URL, asyncpg_dsn, scratch_postgres  # noqa: E402
from bench.results import (  # noqa: E402
    Row,
    add_common_arguments,
    median,
    percentile,
    ratio,
    table,
    write_rows,
)

BENCHMARK = "scale"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
FIRST_RESIDENT = 10_000_000
TOKEN = "123456789:SANDBOX"
#: Roughly a German neighbourhood: most read German, then Turkish, Arabic, Ukrainian, ...
LOCALE_WEIGHTS = {
    "de": 40,
    "tr": 14,
    "ar": 12,
    "uk": 8,
    "ru": 5,
    "pl": 4,
    "ro": 4,
    "fa": 3,
    "en": 3,
    "el": 2,
    "it": 2,
    "ku": 2,
    "de_simple": 1,
}
TOPICS = ("children", "intercultural", "environment", "housing", "culture_sport", "seniors")
IDEA_STATUSES = (
    ["under_review"] * 40
    + ["planned"] * 15
    + ["in_progress"] * 10
    + ["done"] * 10
    + ["received"] * 10
    + ["not_possible"] * 5
    + ["rejected"] * 5
    + ["merged"] * 5
)


@dataclass(frozen=True)
class Sizes:
    residents: int
    events: int
    signups: int
    ideas: int
    supports: int
    reps: int  # repetitions of the fast operations
    slow_reps: int  # of the "before" shapes and recipient selection
    rss_residents: int  # residents driving traffic for the RSS figure

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(10_000, 500, 50_000, 2_000, 20_000, 60, 8, 30)
        return cls(100_000, 5_000, 500_000, 20_000, 200_000, 300, 25, 200)


# --- the neighbourhood, as rows ----------------------------------------------------------------


def _locales() -> list[str]:
    return [locale for locale, weight in LOCALE_WEIGHTS.items() for _ in range(weight)]


def residents(sizes: Sizes) -> Iterator[dict[str, Any]]:
    locales = _locales()
    for i in range(sizes.residents):
        status = "blocked" if i % 50 == 0 else "left" if i % 50 == 1 else "active"
        seen = NOW - timedelta(days=i % 400, minutes=i % 997)
        yield {
            "id": i + 1,
            "telegram_id": FIRST_RESIDENT + i,
            "locale": locales[(i * 7) % len(locales)],
            "consent_version": 1,
            "consent_at": seen - timedelta(days=30),
            "broadcast_opt_in": i % 7 != 0,
            "digest_opt_in": i % 3 == 0,
            "service_opt_in": True,
            "lead_contact_opt_in": True,
            "quiet_start": 21 * 60,
            "quiet_end": 8 * 60,
            "status": status,
            "created_at": seen - timedelta(days=30),
            "last_seen_at": seen,
            "first_name": f"Nachbar {i}",
        }


def resident_topics(sizes: Sizes) -> Iterator[dict[str, Any]]:
    for i in range(0, sizes.residents, 3):
        yield {"resident_id": i + 1, "topic": TOPICS[i % len(TOPICS)]}


def bans(sizes: Sizes) -> Iterator[dict[str, Any]]:
    for i in range(5, sizes.residents, 1000):
        yield {
            "telegram_id": FIRST_RESIDENT + i,
            "banned_by": 1,
            "banned_at": NOW - timedelta(days=3),
            "reason": "spam",
        }


def event_topics_of(e: int) -> list[str]:
    topics = [TOPICS[e % len(TOPICS)]] + ([TOPICS[(e // 7) % len(TOPICS)]] if e % 4 else [])
    return sorted(set(topics))


def event_topics(sizes: Sizes) -> Iterator[dict[str, Any]]:
    """The rows the service writes with each event's topics (migration 0017)."""
    for e in range(sizes.events):
        for topic in event_topics_of(e):
            yield {"topic": topic, "event_id": e + 1}


def events(sizes: Sizes, rng: random.Random) -> Iterator[dict[str, Any]]:
    # Over 600 days around now, 240 of them past: about 60 % are still to come.
    span = 600 * 24 * 60
    for e in range(sizes.events):
        status = "published" if e % 10 < 8 else "cancelled" if e % 10 == 8 else "draft"
        starts = NOW + timedelta(minutes=rng.randrange(span) - 240 * 24 * 60)
        yield {
            "id": e + 1,
            "status": status,
            "created_by": 1,
            "organiser": None,
            "default_locale": "de",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=2),
            "place_name": "Stadtteiltreff",
            "address": "Berliner Straße 1",
            "topics": event_topics_of(e),
            "capacity": 0 if e % 3 == 0 else 40 + e % 160,
            "reminder_hours": 24,
            "alerted_levels": [],
            "created_at": NOW - timedelta(days=300),
            "updated_at": NOW - timedelta(days=300),
        }


def event_versions(sizes: Sizes) -> Iterator[dict[str, Any]]:
    for e in range(sizes.events):
        yield {
            "event_id": e + 1,
            "locale": "de",
            "title": f"Nachbarschaftstreffen {e}",
            "description": "Mit Kaffee und Kuchen. " * 8,
            "needs_review": False,
        }
        if e % 2 == 0:
            yield {
                "event_id": e + 1,
                "locale": "tr",
                "title": f"Komşuluk buluşması {e}",
                "description": "Kahve ve kek ile. " * 8,
                "needs_review": False,
            }
        if e % 3 == 0:
            yield {
                "event_id": e + 1,
                "locale": "ar",
                "title": f"لقاء الجيران {e}",
                "description": "مع القهوة والكعك. " * 8,
                "needs_review": False,
            }


def signups(sizes: Sizes) -> Iterator[dict[str, Any]]:
    per_event = sizes.signups // sizes.events
    locales = _locales()
    number = 0
    for e in range(sizes.events):
        for k in range(per_event):
            number += 1
            # k * 101 < residents for every k: distinct residents per event.
            resident = (e * 37 + k * 101) % sizes.residents
            status = (
                "confirmed" if k < per_event * 8 // 10 else "waitlisted" if k % 2 else "cancelled"
            )
            yield {
                "id": number,
                "event_id": e + 1,
                "telegram_id": FIRST_RESIDENT + resident,
                "locale": locales[(resident * 7) % len(locales)],
                "status": status,
                "adults": 1 + k % 2,
                "children": k % 3,
                "childcare": k % 11 == 0,
                "wheelchair": k % 17 == 0,
                "code": f"{k:06d}",
                "created_at": NOW - timedelta(days=10, minutes=k),
                "updated_at": NOW - timedelta(days=10, minutes=k),
            }


def ideas(sizes: Sizes) -> Iterator[dict[str, Any]]:
    for i in range(sizes.ideas):
        status = IDEA_STATUSES[(i * 7) % len(IDEA_STATUSES)]
        created = NOW - timedelta(minutes=7 * i + 1)
        yield {
            "id": i + 1,
            "author_telegram_id": FIRST_RESIDENT + (i * 13) % sizes.residents,
            "anonymous": i % 4 == 0,
            "locale": "de" if i % 3 else "tr",
            "text": f"Idee {i}: mehr Bänke und Bäume in der Straße Nummer {i % 300}",
            "topic": TOPICS[i % len(TOPICS)],
            "status": status,
            "published": status not in ("received", "rejected", "merged"),
            "status_changes": 1,
            "milestone": 0,
            "supporters_count": 0,  # counted from the supports after they are in
            "created_at": created,
            "updated_at": created,
            "hidden_at": NOW if i % 100 == 99 else None,
        }


def idea_supports(sizes: Sizes, rng: random.Random) -> Iterator[dict[str, Any]]:
    # Skewed like real boards: a few ideas gather most supporters.
    seen: set[tuple[int, int]] = set()
    while len(seen) < sizes.supports:
        idea = 1 + int(sizes.ideas * rng.random() ** 3)
        resident = FIRST_RESIDENT + rng.randrange(sizes.residents)
        if (idea, resident) in seen:
            continue
        seen.add((idea, resident))
        yield {"idea_id": idea, "telegram_id": resident, "created_at": NOW - timedelta(days=1)}


# --- building the databases --------------------------------------------------------------------


def _columns(table: str, sample: dict[str, Any]) -> list[str]:
    """The sample's columns, refusing a table that has a required column it lacks (another
    migration may add one: the benchmark must say so rather than build a wrong database)."""
    from storage.models import Base

    columns = Base.metadata.tables[table].columns
    missing = [
        column.name
        for column in columns
        if not column.nullable
        and column.server_default is None
        and column.name not in sample
        and not column.primary_key
    ]
    if missing:
        raise SystemExit(f"bench_scale: {table} needs values for {missing}")
    return list(sample)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # SQLAlchemy's SQLite DATETIME text, in UTC (storage.models.UTCDateTime).
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, list):
        return json.dumps(value)
    return value


def _postgres_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list) else value


TABLES: list[tuple[str, Callable[[Sizes, random.Random], Iterable[dict[str, Any]]]]] = [
    ("residents", lambda sizes, rng: residents(sizes)),
    ("resident_topics", lambda sizes, rng: resident_topics(sizes)),
    ("bans", lambda sizes, rng: bans(sizes)),
    ("events", events),
    ("event_topics", lambda sizes, rng: event_topics(sizes)),
    ("event_versions", lambda sizes, rng: event_versions(sizes)),
    ("signups", lambda sizes, rng: signups(sizes)),
    ("ideas", lambda sizes, rng: ideas(sizes)),
    ("idea_supports", idea_supports),
]
#: The maintained count, set as migration 0015 backfills it.
BACKFILL = (
    "UPDATE ideas SET supporters_count = "
    "(SELECT count(*) FROM idea_supports WHERE idea_supports.idea_id = ideas.id)"
)


def _batches(rows: Iterable[dict[str, Any]]) -> tuple[list[str], Iterator[dict[str, Any]]]:
    iterator = iter(rows)
    first = next(iterator)

    def chained() -> Iterator[dict[str, Any]]:
        yield first
        yield from iterator

    return list(first), chained()


async def migrate_database(url: str) -> None:
    from storage import migrate
    from storage.db import create_engine

    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def fill_sqlite(path: Path, sizes: Sizes) -> None:
    rng = random.Random(15)
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA foreign_keys=OFF")  # the rows are consistent by making
        for table, make in TABLES:
            names, rows = _batches(make(sizes, rng))
            columns = _columns(table, dict.fromkeys(names))
            statement = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            connection.executemany(
                statement, (tuple(_sqlite_value(row[c]) for c in columns) for row in rows)
            )
        connection.execute(BACKFILL)
        connection.commit()
    finally:
        connection.close()


async def fill_postgres(url: str, sizes: Sizes) -> None:
    import asyncpg  # type: ignore[import-untyped]

    rng = random.Random(15)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for table, make in TABLES:
            names, rows = _batches(make(sizes, rng))
            columns = _columns(table, dict.fromkeys(names))
            await connection.copy_records_to_table(
                table,
                columns=columns,
                records=[tuple(_postgres_value(row[c]) for c in columns) for row in rows],
            )
        await connection.execute(BACKFILL)
        for table in ("residents", "events", "signups", "ideas"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


# --- measuring ---------------------------------------------------------------------------------


async def timed(
    work: Callable[[int], Awaitable[object]], reps: int, warmup: int = 3
) -> list[float]:
    """Milliseconds of each call of ``work(n)`` after ``warmup`` unmeasured calls."""
    for n in range(warmup):
        await work(n)
    samples = []
    for n in range(reps):
        started = time.perf_counter()
        await work(n)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


class Measured:
    """The services on one database, and the operations the rows time."""

    def __init__(self, url: str, sizes: Sizes) -> None:
        self.url = url
        self.sizes = sizes

    async def __aenter__(self) -> Measured:
        from bot.app import build_services
        from bot.config import load_settings
        from storage.db import create_engine, create_session_factory

        self.settings = load_settings(
            _env_file=None,
            telegram_bot_token=TOKEN,
            telegram_api_url="http://127.0.0.1:9/bot",
            database_url=self.url,
            webhook_url=None,
        )
        self.engine = create_engine(self.url)
        self.sessions = create_session_factory(self.engine)
        self.services = build_services(self.settings, self.engine, clock=lambda: NOW)
        self.rng = random.Random(3)
        gc.collect()
        gc.freeze()  # as quartierbot run does after start-up (bot/runtime.py)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        gc.unfreeze()
        await self.services.translations.close()
        await self.engine.dispose()

    # the event list -----------------------------------------------------------------

    def event_page(self, n: int, pages: int) -> int:
        """Every other call the first page, else a random one (people mostly look at the first)."""
        return 0 if n % 2 == 0 else 3 * self.rng.randrange(max(1, pages))

    async def events_now(self, n: int, topic: str | None = None) -> tuple[list[Any], int]:
        return await self.services.events.upcoming(
            topic=topic, offset=self.event_page(n, 50), limit=3
        )

    async def events_before(self, n: int, topic: str | None = None) -> tuple[list[Any], int]:
        """``Reading.upcoming`` as it was before issue 15."""
        from sqlalchemy import select

        from storage.models import Event, EventStatus

        service = self.services.events
        offset = self.event_page(n, 50)
        async with self.sessions() as session:
            rows = list(
                await session.scalars(
                    select(Event)
                    .where(Event.status == EventStatus.PUBLISHED, Event.starts_at > NOW)
                    .order_by(Event.starts_at)
                )
            )
            if topic:
                rows = [row for row in rows if topic in (row.topics or [])]
            page = rows[offset : offset + 3]
            return await service._views(session, page), len(rows)

    # the idea board -----------------------------------------------------------------

    def reader(self, n: int) -> int:
        return FIRST_RESIDENT + (n * 7919) % self.sizes.residents

    async def board_now(self, n: int, order: str) -> tuple[list[Any], int]:
        offset = 0 if n % 2 == 0 else 3 * self.rng.randrange(30)
        return await self.services.ideas.board(
            order=order, offset=offset, limit=3, reader=self.reader(n)
        )

    async def board_before(self, n: int, order: str) -> tuple[list[Any], int]:
        """``IdeaService.board`` as it was before issue 15 (a count per idea, ordering by it),
        and the handler's "do I support it" asked per idea."""
        from sqlalchemy import func, select

        from bot.services.ideas import OFF_BOARD, IdeaView
        from storage.models import Idea, IdeaSupport

        offset = 0 if n % 2 == 0 else 3 * self.rng.randrange(30)
        supporters = (
            select(func.count())
            .select_from(IdeaSupport)
            .where(IdeaSupport.idea_id == Idea.id)
            .scalar_subquery()
        )
        conditions = [
            Idea.published.is_(True),
            Idea.hidden_at.is_(None),
            Idea.status.not_in(list(OFF_BOARD)),
        ]
        ordering: list[Any] = [Idea.created_at.desc(), Idea.id.desc()]
        if order != "newest":
            ordering.insert(0, supporters.desc())
        async with self.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Idea).where(*conditions))
            rows = (
                await session.execute(
                    select(Idea, supporters)
                    .where(*conditions)
                    .order_by(*ordering)
                    .offset(offset)
                    .limit(3)
                )
            ).all()
            page = [IdeaView.of(row, int(count or 0)) for row, count in rows]
        for view in page:
            await self.services.ideas.supports(view.id, self.reader(n))
        return page, int(total or 0)

    # recipient selection ------------------------------------------------------------

    async def recipients_now(self, n: int) -> int:
        """The selection ``BroadcastService._materialize`` runs for "everyone": its purpose
        (``broadcast_kind``) and the audience's rows, as it reads them (the outbox rows made
        from them are the broadcast benchmark's)."""
        from bot.services.audiences import BROADCAST, audience_statement, broadcast_kind
        from storage.models import Resident

        columns = [Resident.telegram_id, Resident.locale, Resident.quiet_start, Resident.quiet_end]
        async with self.sessions() as session:
            kind = await broadcast_kind(session, BROADCAST, {}, 1)
            rows = (await session.execute(audience_statement(columns, {}, kind))).all()
        return len(rows)

    FLOOR_SQL = (
        "SELECT telegram_id, locale, quiet_start, quiet_end FROM residents "
        "WHERE status = 'active' AND broadcast_opt_in "
        "AND NOT EXISTS (SELECT 1 FROM bans WHERE bans.telegram_id = residents.telegram_id)"
    )

    async def recipients_floor(self, n: int) -> int:
        if self.url.startswith("sqlite"):
            path = self.url.split("///", 1)[1]
            connection = sqlite3.connect(path)
            try:
                return len(connection.execute(self.FLOOR_SQL).fetchall())
            finally:
                connection.close()
        import asyncpg

        pg = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            return len(await pg.fetch(self.FLOOR_SQL))
        finally:
            await pg.close()


def _row(
    database: str,
    figure: str,
    samples: Sequence[float],
    statistic: str,
    target_ms: float | None,
    baseline: str | None = None,
    baseline_samples: Sequence[float] | None = None,
    note: str = "",
) -> Row:
    pick = (lambda s: percentile(s, 0.95)) if statistic == "p95" else median
    value = pick(samples)
    base = pick(baseline_samples) if baseline_samples else None
    return Row(
        benchmark=BENCHMARK,
        figure=f"{database}: {figure} {statistic}",
        value=round(value, 3),
        unit="ms",
        baseline=f"{baseline} {statistic}" if baseline else None,
        baseline_value=round(base, 3) if base is not None else None,
        ratio=round(r, 4) if base is not None and (r := ratio(value, base)) is not None else None,
        target=f"< {target_ms:g} ms" if target_ms is not None else "",
        met=(value < target_ms) if target_ms is not None else None,
        note=note,
    )


async def measure(database: str, url: str, sizes: Sizes, built_s: float) -> list[Row]:
    reps, slow = sizes.reps, sizes.slow_reps
    rows = [
        Row(
            BENCHMARK,
            f"{database}: building the neighbourhood",
            round(built_s, 2),
            "s",
            None,
            None,
            None,
            "< 60 s",
            built_s < 60,
            "migrations + bulk insert of every row",
        )
    ]
    async with Measured(url, sizes) as m:
        page, total = await m.events_now(0)
        before_page, before_total = await m.events_before(0)
        assert [e.id for e in page] == [e.id for e in before_page] and total == before_total
        events_now = await timed(m.events_now, reps)
        events_before = await timed(m.events_before, slow)
        topic_now = await timed(lambda n: m.events_now(n, "housing"), reps)
        topic_before = await timed(lambda n: m.events_before(n, "housing"), slow)
        note = f"{total:,} upcoming published events; pages of 3"
        rows += [
            _row(database, "event list", events_now, "p50", None, "before", events_before, note),
            _row(database, "event list", events_now, "p95", 10, "before", events_before, note),
            _row(database, "event list by topic", topic_now, "p95", 10, "before", topic_before),
        ]
        board, board_total = await m.board_now(0, "supported")
        old_board, old_total = await m.board_before(0, "supported")
        assert [i.id for i in board] == [i.id for i in old_board] and board_total == old_total
        for order, label in (("supported", "most supported"), ("newest", "newest")):
            now = await timed(lambda n, o=order: m.board_now(n, o), reps)
            before = await timed(lambda n, o=order: m.board_before(n, o), slow)
            rows.append(
                _row(
                    database,
                    f"idea board, {label}",
                    now,
                    "p95",
                    20,
                    "before",
                    before,
                    f"{board_total:,} ideas on the board; with 'do I support it'",
                )
            )
        count = await m.recipients_now(0)
        assert count == await m.recipients_floor(0)
        selection = await timed(m.recipients_now, slow, warmup=1)
        floor = await timed(m.recipients_floor, slow, warmup=1)
        rows.append(
            _row(
                database,
                "recipient selection, everyone",
                selection,
                "median",
                300,
                "bare driver (floor)",
                floor,
                f"{count:,} recipients",
            )
        )
    return rows


# --- the databases -----------------------------------------------------------------------------


async def on_sqlite(folder: Path, sizes: Sizes) -> tuple[list[Row], str]:
    path = folder / "neighbourhood.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    started = time.perf_counter()
    await migrate_database(url)
    fill_sqlite(path, sizes)
    built = time.perf_counter() - started
    print(f"sqlite: built in {built:.1f} s", flush=True)
    return await measure("SQLite", url, sizes, built), url


async def on_postgres(sizes: Sizes) -> list[Row]:
    scratch = AsyncExitStack()
    try:
        url = await scratch.enter_async_context(scratch_postgres("quartierbot_bench"))
    except Exception as exc:  # no server: the rows say so instead of failing the whole run
        print(f"postgresql: unreachable ({type(exc).__name__}: {exc})", flush=True)
        return [
            Row(
                BENCHMARK,
                "PostgreSQL",
                float("nan"),
                "",
                None,
                None,
                None,
                "",
                None,
                f"not measured: PostgreSQL unreachable at {POSTGRES_URL}",
            )
        ]
    try:
        started = time.perf_counter()
        await migrate_database(url)
        await fill_postgres(url, sizes)
        built = time.perf_counter() - started
        print(f"postgresql: built in {built:.1f} s", flush=True)
        return await measure("PostgreSQL", url, sizes, built)
    finally:
        await scratch.aclose()


# --- peak RSS of quartierbot run ---------------------------------------------------------------


def _vm(pid: int, key: str) -> float:
    """A /proc/<pid>/status figure in MB (VmHWM: the peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def peak_rss(url: str, folder: Path, sizes: Sizes) -> tuple[float, int]:
    """VmHWM (MB) of ``quartierbot run`` on ``url`` after the traffic, and the replies seen."""
    from bot.buttons import EventListButton, IdeaBoardButton
    from bot.sandbox.emulator import BotApiEmulator, SandboxServer

    emulator = BotApiEmulator(bot_username="quartierbot_bench_bot", bot_first_name="Quartierbot")
    users = [FIRST_RESIDENT + 2 + 97 * n for n in range(sizes.rss_residents)]
    for user in users:
        emulator.add_user("Nachbar", "de", user_id=user)
    async with SandboxServer(emulator) as server:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "DATABASE_", "WEBHOOK_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=server.base_url,
            DATABASE_URL=url,
            HTTP_PORT="0",
            LOG_LEVEL="WARNING",
            QUIET_HOURS="off",
            RATE_LIMIT_UPDATES="0",
        )
        log = folder / "run.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                str(ROOT / ".venv" / "bin" / "quartierbot"),
                "run",
                cwd=folder,  # no .env of the checkout
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        replies = 0
        try:
            await emulator.wait_until(lambda: any(m == "getUpdates" for m, _ in emulator.calls), 60)

            def answered(chat: int) -> int:
                return sum(
                    1
                    for method, params in emulator.calls
                    if method in ("sendMessage", "editMessageText")
                    and int(params.get("chat_id") or 0) == chat
                )

            async def step(user: int, act: Callable[[], object]) -> None:
                nonlocal replies
                before = answered(user)
                act()
                try:
                    await emulator.wait_until(lambda: answered(user) > before, 20)
                    replies += 1
                except TimeoutError:
                    pass

            def last(user: int) -> int:
                mine = emulator.bot_messages(user)
                return mine[-1].message_id if mine else 1

            async def resident(user: int) -> None:
                await step(user, lambda: emulator.send_text(user, "/start"))
                await step(user, lambda: emulator.send_text(user, "/events"))
                next_page = EventListButton(3, "all").pack()
                await step(user, lambda: emulator.press_button(user, last(user), next_page))
                board = IdeaBoardButton(0, "supported", None).pack()
                await step(user, lambda: emulator.press_button(user, last(user), board))

            for at in range(0, len(users), 20):
                await asyncio.gather(*(resident(user) for user in users[at : at + 20]))
            hwm = _vm(process.pid, "VmHWM")
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        if process.returncode not in (0, -signal.SIGTERM):
            print(log.read_text(errors="replace")[-2000:], file=sys.stderr)
    return hwm, replies


async def rss_rows(url: str, folder: Path, sizes: Sizes) -> list[Row]:
    empty = folder / "empty.sqlite3"
    empty_url = f"sqlite+aiosqlite:///{empty}"
    await migrate_database(empty_url)
    baseline, _ = await peak_rss(empty_url, folder, sizes)
    value, replies = await peak_rss(url, folder, sizes)
    expected = 4 * sizes.rss_residents
    return [
        Row(
            BENCHMARK,
            f"SQLite: peak RSS of quartierbot run, {sizes.residents:,} residents",
            round(value, 1),
            "MB",
            "empty database, same traffic",
            round(baseline, 1),
            ratio(value, baseline),
            "< 200 MB",
            value < 200,
            f"VmHWM; {sizes.rss_residents} residents: /start, /events, next page, idea board "
            f"({replies} of {expected} answered)",
        )
    ]


# --- main ----------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> list[Row]:
    sizes = Sizes.of(args.quick)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="quartierbot-bench-scale-") as tmp:
        folder = Path(tmp)
        sqlite_rows, url = await on_sqlite(folder, sizes)
        rows += sqlite_rows
        if not args.skip_rss:
            rows += await rss_rows(url, folder, sizes)
        if not args.skip_postgres:
            rows += await on_postgres(sizes)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--skip-rss", action="store_true", help="no quartierbot run process")
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    print(table(rows))
    if args.json:
        write_rows(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
