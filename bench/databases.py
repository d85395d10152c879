"""The PostgreSQL server the benchmarks measure on, and scratch databases on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

#: A maintenance database on the server; each benchmark creates its own next to it.
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it, for bulk loading without the ORM."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def postgres_admin(statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(asyncpg_dsn(POSTGRES_URL), timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def scratch_postgres(prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty database on the server, dropped afterwards (connections to it
    included). Entering fails when the server is unreachable."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rpartition("/")[0] + "/" + name
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
