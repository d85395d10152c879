"""Storage on SQLite and PostgreSQL: migrations, and the resident service's rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import load_settings
from bot.services.residents import ResidentService, UnknownTopicError
from storage import migrate
from storage.db import create_engine, create_session_factory
from storage.models import ResidentStatus, Role
from tests.support.clock import TEST_START, FixedClock, RunningClock

TOPICS = ("children", "seniors")


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def _round_trip(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
        assert {"residents", "resident_topics", "role_assignments"} <= await _tables(engine)
        await migrate.downgrade(engine, "base")
        assert await migrate.current_revision(engine) is None
        assert await _tables(engine) <= {"alembic_version"}
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_migrations_upgrade_downgrade_upgrade_on_sqlite(tmp_path: Path) -> None:
    await _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")


@pytest.mark.postgres
async def test_migrations_upgrade_downgrade_upgrade_on_postgresql(empty_postgres: str) -> None:
    await _round_trip(empty_postgres)


async def test_models_match_the_migrations(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.models import Base

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == [], "models and migrations differ; write a migration"


def service(sessions: async_sessionmaker[AsyncSession]) -> ResidentService:
    return ResidentService(sessions, admin_ids=frozenset({7}), topics=TOPICS, clock=RunningClock())


async def test_register_and_read_back(sessions: async_sessionmaker[AsyncSession]) -> None:
    residents = service(sessions)
    assert await residents.get(1) is None
    profile = await residents.register(1, "ar")
    assert profile.locale == "ar" and profile.broadcast_opt_in and profile.consent_is_current
    assert profile.consent_at.tzinfo is not None
    assert (await residents.get(1)) == profile


async def test_topics_toggle_and_reject_unknown(sessions: async_sessionmaker[AsyncSession]) -> None:
    residents = service(sessions)
    await residents.register(1, "de")
    assert (await residents.toggle_topic(1, "children")).topics == {"children"}
    assert (await residents.toggle_topic(1, "seniors")).topics == {"children", "seniors"}
    assert (await residents.toggle_topic(1, "children")).topics == {"seniors"}
    with pytest.raises(UnknownTopicError):
        await residents.toggle_topic(1, "drop table")
    assert await residents.toggle_topic(2, "children") is None  # nobody to change


async def test_forget_deletes_the_resident_and_their_topics(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    residents = service(sessions)
    await residents.register(1, "de")
    await residents.toggle_topic(1, "children")
    assert await residents.forget(1)
    assert await residents.get(1) is None
    assert not await residents.forget(1)
    again = await residents.register(1, "tr")
    assert again.topics == frozenset()


async def test_a_blocked_resident_who_writes_again_is_active(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    residents = service(sessions)
    await residents.register(1, "de")
    await residents.set_status(1, ResidentStatus.BLOCKED)
    assert (await residents.get(1)).status == ResidentStatus.BLOCKED
    profile, _actor = await residents.seen(1)
    assert profile is not None and profile.status == ResidentStatus.ACTIVE


async def test_a_new_first_name_is_stored_with_last_seen_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FixedClock(TEST_START)
    residents = ResidentService(sessions, topics=TOPICS, clock=clock)
    await residents.register(1, "ar")
    profile, _actor = await residents.seen(1, "  Layla ")  # none stored yet: stored at once
    assert profile is not None and profile.first_name == "Layla"
    assert (await residents.get(1)).first_name == "Layla"
    clock.advance(minutes=1)
    profile, _actor = await residents.seen(1, "Layla M.")  # within five minutes: not yet
    assert profile is not None and profile.first_name == "Layla"
    assert (await residents.get(1)).first_name == "Layla"
    clock.advance(minutes=5)
    profile, _actor = await residents.seen(1, "Layla M.")  # with last_seen_at
    stored = await residents.get(1)
    assert stored.first_name == "Layla M." and stored.last_seen_at == clock()
    assert profile == stored
    profile, _actor = await residents.seen(1, None)  # no name in the update: kept
    assert (await residents.get(1)).first_name == "Layla M."


async def test_roles(sessions: async_sessionmaker[AsyncSession]) -> None:
    residents = service(sessions)
    assert await residents.roles(7) == {Role.ADMIN}  # from ADMIN_IDS
    assert await residents.grant_role(5, Role.COORDINATOR)
    assert not await residents.grant_role(5, Role.COORDINATOR)
    assert await residents.is_staff(5)
    assert await residents.grant_role(6, Role.TRANSLATOR)
    assert not await residents.is_staff(6)
    assert await residents.revoke_role(5, Role.COORDINATOR)
    assert not await residents.is_staff(5)


async def test_double_tap_on_consent_registers_once(database_url: str) -> None:
    """Two 'I agree' taps handled at the same time, on separate connections."""
    engine = create_engine(database_url)
    try:
        residents = service(create_session_factory(engine))
        telegram_id = 424242
        results = await asyncio.gather(*(residents.register(telegram_id, "tr") for _ in range(5)))
        assert {r.telegram_id for r in results} == {telegram_id}
        assert await residents.count() >= 1
        assert (await residents.get(telegram_id)).locale == "tr"
        await residents.forget(telegram_id)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("21:00-08:00", (21 * 60, 8 * 60)),
        ("22:30-06:15", (22 * 60 + 30, 6 * 60 + 15)),
        ("off", (0, 0)),
    ],
)
async def test_new_residents_get_the_neighbourhoods_quiet_hours(
    sessions: async_sessionmaker[AsyncSession], setting: str, expected: tuple[int, int]
) -> None:
    settings = load_settings(_env_file=None, quiet_hours=setting)
    residents = ResidentService(
        sessions, default_quiet_hours=settings.default_quiet_hours, clock=RunningClock()
    )
    profile = await residents.register(42, "tr")
    assert (profile.quiet_start, profile.quiet_end) == expected


async def test_a_connection_given_back_mid_transaction_is_rolled_back(tmp_path: Path) -> None:
    # SQLite's pool rolls back only what is open (storage/db.py): a write the code above
    # SQLAlchemy left unfinished must not stay on the pooled connection, holding the lock.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'reset.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (body TEXT)"))
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.execute("INSERT INTO notes VALUES ('left open')")
            assert driver.in_transaction
        async with engine.connect() as connection:  # the same pooled connection again
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is driver and not driver.in_transaction
            assert await connection.scalar(text("SELECT count(*) FROM notes")) == 0
    finally:
        await engine.dispose()
