"""Engine and session factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: object, _record: ConnectionPoolEntry) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers and the writer overlap and
    # busy_timeout makes concurrent writers wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Deleted content is overwritten, not just unlinked: erased residents' data doesn't
    # linger in free pages of the file (bot/services/privacy.py truncates the WAL after it).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_reset(
    dbapi_connection: Any, _record: ConnectionPoolEntry, state: PoolResetState
) -> None:
    # The pool's reset on return, only when a transaction is open. A session that ends has
    # rolled back already, and each aiosqlite call is a round trip to its thread (about a
    # third of a millisecond of CPU): the pool's unconditional second rollback was one in
    # six of a read tap's trips. A connection returned mid-transaction is still rolled back.
    open_transaction = dbapi_connection.driver_connection.in_transaction
    if state.asyncio_safe and not state.terminate_only and open_transaction:
        dbapi_connection.rollback()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    # hide_parameters: an error's text (and SQLAlchemy's statement log) names the statement but
    # not its parameters, which hold what residents wrote.
    sqlite = url.startswith("sqlite")
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_pre_ping=not sqlite,
        **({"pool_reset_on_return": None} if sqlite else {}),
    )
    if engine.dialect.name == "sqlite":
        sync_engine: Engine = engine.sync_engine
        event.listen(sync_engine, "connect", _sqlite_pragmas)
        event.listen(sync_engine.pool, "reset", _sqlite_reset)
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


# --- after the commit -------------------------------------------------------------------

#: ``Session.info`` key: callbacks waiting for the session's transaction to commit.
_AFTER_COMMIT = "storage.after_commit"


def after_commit(session: AsyncSession | Session, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the session's transaction has committed, never if it rolls back.

    For what must not happen before the data is there for everyone (waking a delivery engine
    for rows this transaction queued). The same callback registered twice in one transaction
    runs once. A savepoint's commit doesn't count: only the outermost transaction's. A callback
    that fails is logged; the commit stands.
    """
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    pending: dict[Callable[[], None], None] | None = sync.info.get(_AFTER_COMMIT)
    if pending is None:
        pending = sync.info[_AFTER_COMMIT] = {}
        event.listen(sync, "after_commit", _run_after_commit)
        event.listen(sync, "after_transaction_end", _drop_after_commit)
    pending.setdefault(callback, None)  # an ordered set


def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction may still roll back
    pending: dict[Callable[[], None], None] = session.info.get(_AFTER_COMMIT) or {}
    callbacks = list(pending)
    pending.clear()
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)


def _drop_after_commit(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit
        pending = session.info.get(_AFTER_COMMIT)
        if pending:
            pending.clear()
