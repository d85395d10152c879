"""Engine and session factory."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
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
