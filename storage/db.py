"""Engine and session factory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry


def _sqlite_pragmas(dbapi_connection: object, _record: ConnectionPoolEntry) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers and the writer overlap and
    # busy_timeout makes concurrent writers wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    engine = create_async_engine(url, echo=echo, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        sync_engine: Engine = engine.sync_engine
        event.listen(sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


T = TypeVar("T")

#: How often a transaction is retried when SQLite reports its write lock as taken.
LOCK_RETRIES = 8


def is_lock_error(exc: OperationalError) -> bool:
    """SQLite's "database is locked" / "busy": another writer holds the lock; try again."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


async def in_transaction(
    sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Run ``work`` in one transaction, retrying briefly when SQLite's write lock is taken.

    PostgreSQL waits on row locks by itself; SQLite gives up after busy_timeout under heavy
    contention (many sign-ups or taps at once), so the whole transaction is run again.
    """
    for attempt in range(LOCK_RETRIES):
        try:
            async with sessions.begin() as session:
                return await work(session)
        except OperationalError as exc:
            if not is_lock_error(exc) or attempt == LOCK_RETRIES - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


M = TypeVar("M")


async def lock_row(session: AsyncSession, model: type[M], row_id: int) -> M | None:
    """The row with this id, locked until the transaction ends: capacity checks (seats, help
    slots) count and insert under it, so concurrent taps can't overfill.

    PostgreSQL locks the row (``SELECT ... FOR UPDATE``). SQLite has no row locks: a no-op
    UPDATE of the row takes the database's write lock first, which serialises the writers.
    """
    table_id = model.id  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(
            update(model)
            .where(table_id == row_id)
            .values(id=table_id)
            .execution_options(synchronize_session=False)
        )
    row: M | None = await session.scalar(
        select(model)
        .where(table_id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row
