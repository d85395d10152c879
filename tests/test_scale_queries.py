"""The queries that must stay cheap at 100,000 residents (issue 15, point 3): the maintained
supporters count under concurrency, erase and merge; the board's "do I support it" read with
its page; the event list's topic filter and paging done in SQL; the count's backfill."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import migrate
from storage.db import create_engine
from storage.models import (
    AuditEntry,
    Delivery,
    DeliverySource,
    Event,
    EventTopic,
    Idea,
    IdeaReport,
    IdeaSupport,
    OutboxMessage,
    Resident,
    Signup,
)
from tests.support.actors import COORDINATOR
from tests.support.clock import FixedClock
from tests.test_events_service import NOW as EVENTS_NOW
from tests.test_events_service import START, published
from tests.test_events_service import build as build_events
from tests.test_ideas_service import BENCH, on_board
from tests.test_ideas_service import build as build_ideas


@pytest.fixture
async def clean(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The shared test database (PostgreSQL's is one per run), emptied of these rows after."""
    yield engine
    async with engine.begin() as connection:
        for table in (
            Delivery,
            OutboxMessage,
            DeliverySource,
            AuditEntry,
            IdeaReport,
            IdeaSupport,
            Idea,
            Signup,
            Event,
            Resident,
        ):
            await connection.execute(delete(table))


async def counts(engine: AsyncEngine, idea_id: int) -> tuple[int, int]:
    """(the maintained count, the support rows) of one idea."""
    async with engine.connect() as connection:
        kept = await connection.scalar(select(Idea.supporters_count).where(Idea.id == idea_id))
        rows = await connection.scalar(
            select(func.count()).select_from(IdeaSupport).where(IdeaSupport.idea_id == idea_id)
        )
    return int(kept or 0), int(rows or 0)


async def test_concurrent_supports_double_taps_and_withdrawals_keep_the_count(
    clean: AsyncEngine,
) -> None:
    service = build_ideas(clean)
    idea = await on_board(service, BENCH)
    # 25 residents at once, each tapping twice in the same instant: one support each or none,
    # and the count says exactly how many rows there are.
    taps = [service.toggle_support(idea.id, 100 + n) for n in range(25) for _ in range(2)]
    await asyncio.gather(*taps)
    kept, rows = await counts(clean, idea.id)
    assert kept == rows and 0 <= rows <= 25

    # Everyone not supporting now taps once more, all at once: all 25 support it.
    async with clean.connect() as connection:
        supporting = set(
            await connection.scalars(
                select(IdeaSupport.telegram_id).where(IdeaSupport.idea_id == idea.id)
            )
        )
    missing = [100 + n for n in range(25) if 100 + n not in supporting]
    await asyncio.gather(*(service.toggle_support(idea.id, who) for who in missing))
    assert await counts(clean, idea.id) == (25, 25)

    # Ten withdraw at once while ten new ones support it.
    await asyncio.gather(
        *(service.toggle_support(idea.id, 100 + n) for n in range(10)),
        *(service.toggle_support(idea.id, 500 + n) for n in range(10)),
    )
    assert await counts(clean, idea.id) == (25, 25)
    view = await service.get(COORDINATOR, idea.id)
    assert view is not None and view.supporters == 25
    assert await service.toggle_support(idea.id, 999) == (True, 26)
    assert await service.toggle_support(idea.id, 999) == (False, 25)


async def test_merging_moves_the_count_and_counts_a_shared_supporter_once(
    clean: AsyncEngine,
) -> None:
    service = build_ideas(clean)
    first = await on_board(service, BENCH)
    second = await on_board(service, "Ein Trinkbrunnen am Marktplatz", author=778)
    for who in (1, 2, 3):
        await service.toggle_support(first.id, who)
    for who in (3, 4):
        await service.toggle_support(second.id, who)
    await service.merge(COORDINATOR, first.id, second.id)
    assert await counts(clean, second.id) == (4, 4)
    assert await counts(clean, first.id) == (0, 0)
    board, total = await service.board()
    assert [(view.id, view.supporters) for view in board] == [(second.id, 4)] and total == 1


async def test_erasing_a_supporter_lowers_each_count_they_were_in(
    clean: AsyncEngine, tmp_path: Path, database_url: str
) -> None:
    from bot.app import build_services
    from tests.conftest import make_settings

    services = build_services(
        make_settings(tmp_path, database_url=database_url), clean, clock=FixedClock(EVENTS_NOW)
    )
    ideas = services.ideas
    first = await on_board(ideas, BENCH)
    second = await on_board(ideas, "Ein Trinkbrunnen am Marktplatz", author=778)
    for who in (41, 42):
        await services.residents.register(who, "tr")
        await ideas.toggle_support(first.id, who)
    await ideas.toggle_support(second.id, 42)
    await services.privacy.erase(42)
    assert await counts(clean, first.id) == (1, 1)
    assert await counts(clean, second.id) == (0, 0)
    await ideas.forget_author(41)
    assert await counts(clean, first.id) == (0, 0)


async def test_the_board_orders_by_the_count_and_says_what_the_reader_supports(
    clean: AsyncEngine,
) -> None:
    service = build_ideas(clean)
    quiet = await on_board(service, BENCH)
    popular = await on_board(service, "Ein Trinkbrunnen am Marktplatz", author=778)
    hidden = await on_board(service, "Mehr Licht im Park am Abend", author=779)
    for who in (1, 2, 3):
        await service.toggle_support(popular.id, who)
    await service.toggle_support(quiet.id, 2)
    for who in (1, 2, 3, 4, 5):
        await service.toggle_support(hidden.id, who)
    await service.hide_reported(COORDINATOR, hidden.id)  # off the board, its count kept

    page, total = await service.board(reader=2)
    assert [(view.id, view.supporters, view.supported) for view in page] == [
        (popular.id, 3, True),
        (quiet.id, 1, True),
    ]
    assert total == 2
    page, _ = await service.board(order="newest", reader=3)
    assert [(view.id, view.supported) for view in page] == [(popular.id, True), (quiet.id, False)]
    page, _ = await service.board()
    assert not any(view.supported for view in page)
    assert await counts(clean, hidden.id) == (5, 5)


async def test_the_event_list_filters_topics_exactly_and_pages_in_sql(
    clean: AsyncEngine,
) -> None:
    service = build_events(clean, FixedClock(EVENTS_NOW))
    starts = [START + timedelta(hours=n) for n in range(5)]
    made = [
        await published(service, starts_at=starts[0], topics=["children", "culture"]),
        await published(service, starts_at=starts[1], topics=["culture"]),
        await published(service, starts_at=starts[2], topics=["children"]),
        await published(service, starts_at=starts[3]),
        await published(service, starts_at=starts[4], topics=["seniors"]),
    ]
    ids = [event.id for event in made]
    page, total = await service.upcoming(topic="children", limit=10)
    assert [event.id for event in page] == [ids[0], ids[2]] and total == 2
    # A topic that only begins another's name matches nothing.
    assert await service.upcoming(topic="child") == ([], 0)
    page, total = await service.upcoming(offset=2, limit=2)
    assert [event.id for event in page] == ids[2:4] and total == 5
    assert page[0].topics == ("children",) and page[0].versions["de"].title
    page, total = await service.upcoming(offset=5, limit=2)
    assert page == [] and total == 5
    page, total = await service.upcoming(topic="culture", offset=1, limit=1)
    assert [event.id for event in page] == [ids[1]] and total == 2


async def test_the_list_by_topic_follows_every_change_of_an_events_topics(
    clean: AsyncEngine,
) -> None:
    service = build_events(clean, FixedClock(EVENTS_NOW))
    event = await published(service, topics=["children"])
    assert [e.id for e in (await service.upcoming(topic="children"))[0]] == [event.id]
    await service.update(COORDINATOR, event.id, topics=["seniors", "culture", "seniors"])
    assert await service.upcoming(topic="children") == ([], 0)
    assert [e.id for e in (await service.upcoming(topic="seniors"))[0]] == [event.id]
    copy = await service.duplicate(COORDINATOR, event.id, START + timedelta(days=7))
    await service.publish(COORDINATOR, copy.id)
    found, total = await service.upcoming(topic="culture", limit=5)
    assert [e.id for e in found] == [event.id, copy.id] and total == 2
    await service.update(COORDINATOR, event.id, topics=[])
    found, total = await service.upcoming(topic="culture", limit=5)
    assert [e.id for e in found] == [copy.id] and total == 1
    async with clean.connect() as connection:
        rows = await connection.execute(
            select(EventTopic.event_id, EventTopic.topic).order_by(EventTopic.topic)
        )
        assert list(rows) == [(copy.id, "culture"), (copy.id, "seniors")]


async def _topics_backfilled(url: str) -> list[tuple[str, int]]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine, "0016")
        async with engine.begin() as connection:
            for event_id, topics in ((1, '["children", "culture"]'), (2, "[]"), (3, '["culture"]')):
                await connection.execute(
                    text(
                        "INSERT INTO events (id, status, created_by, default_locale, topics,"
                        " capacity, reminder_hours, alerted_levels, created_at, updated_at)"
                        " VALUES (:id, 'published', 1, 'de', :topics, 0, 24, '[]', :at, :at)"
                    ),
                    {"id": event_id, "topics": topics, "at": EVENTS_NOW},
                )
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT topic, event_id FROM event_topics ORDER BY topic, event_id")
            )
            return [(str(topic), int(event_id)) for topic, event_id in found]
    finally:
        await engine.dispose()


BACKFILLED_TOPICS = [("children", 1), ("culture", 1), ("culture", 3)]


async def test_the_migration_fills_event_topics_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'topics.sqlite3'}"
    assert await _topics_backfilled(url) == BACKFILLED_TOPICS


@pytest.mark.postgres
async def test_the_migration_fills_event_topics_on_postgresql(empty_postgres: str) -> None:
    assert await _topics_backfilled(empty_postgres) == BACKFILLED_TOPICS


async def _backfilled(url: str) -> list[tuple[int, int]]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine, "0014")
        async with engine.begin() as connection:
            for idea_id in (1, 2):
                await connection.execute(
                    text(
                        "INSERT INTO ideas (id, author_telegram_id, anonymous, locale, status,"
                        " published, status_changes, milestone, created_at, updated_at)"
                        " VALUES (:id, 7, false, 'de', 'under_review', true, 0, 0, :at, :at)"
                    ),
                    {"id": idea_id, "at": EVENTS_NOW},
                )
            for who in (11, 12, 13):
                await connection.execute(
                    text(
                        "INSERT INTO idea_supports (idea_id, telegram_id, created_at)"
                        " VALUES (1, :who, :at)"
                    ),
                    {"who": who, "at": EVENTS_NOW},
                )
        await migrate.upgrade(engine, "0015")
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT id, supporters_count FROM ideas ORDER BY id")
            )
            return [(int(idea_id), int(count)) for idea_id, count in found]
    finally:
        await engine.dispose()


async def test_the_migration_backfills_the_count_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'backfill.sqlite3'}"
    assert await _backfilled(url) == [(1, 3), (2, 0)]


@pytest.mark.postgres
async def test_the_migration_backfills_the_count_on_postgresql(empty_postgres: str) -> None:
    assert await _backfilled(empty_postgres) == [(1, 3), (2, 0)]
