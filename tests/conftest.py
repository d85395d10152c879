"""Shared fixtures: settings, a bot wired to a recording request, and databases.

PostgreSQL tests run against the server in ``TEST_POSTGRES_URL`` (default: the local one).
Outside CI they skip when it can't be reached; with ``CI=true`` that is a failure.
"""

from __future__ import annotations

import os

# PTB 22 warns (an error here) when RetryAfter reports seconds as int; opt into timedelta now.
os.environ.setdefault("PTB_TIMEDELTA", "true")

import asyncio
import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool
from telegram import Update

from bot.app import BotApplication, build_application, build_i18n, build_services
from bot.config import DEFAULT_LOCALES, Settings, load_settings
from storage import migrate
from storage.db import create_engine
from tests.support import updates
from tests.support.clock import RunningClock
from tests.support.net import free_port
from tests.support.recording import TOKEN, RecordingRequest

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ADMIN_ID = 9000


_TEMPLATE: list[Path] = []


def migrated_sqlite(path: Path) -> None:
    """A SQLite file at the newest revision, copied from one migrated once per run: migrating
    takes half a second, and a thousand tests each want a fresh database."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="quartierbot-migrated-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "migrated.sqlite3"

        async def build() -> None:
            engine = create_engine(f"sqlite+aiosqlite:///{template}")
            try:
                await migrate.upgrade(engine)
            finally:
                await engine.dispose()

        _blocking(build())
        _TEMPLATE.append(template)
    shutil.copyfile(_TEMPLATE[0], path)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    if "database_url" not in overrides and not (tmp_path / "test.sqlite3").exists():
        migrated_sqlite(tmp_path / "test.sqlite3")
    values: dict[str, Any] = {
        "_env_file": None,
        "telegram_bot_token": TOKEN,
        "telegram_api_url": "http://127.0.0.1:9/bot",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}",
        "admin_ids": [ADMIN_ID],
        "default_locale": "de",
        "locales": list(DEFAULT_LOCALES),  # the 13, German in simple language (de_simple) too
        "neighbourhood_name": "Testviertel",
        "webhook_url": None,
        "webhook_secret": None,
        "http_port": 0,
        # Tests tap faster than any person; tests/test_abuse.py sets the limit it tests.
        "rate_limit_updates": 0,
    }
    values.update(overrides)
    return load_settings(**values)


def webhook_settings(tmp_path: Path, sandbox_url: str, secret: str, **overrides: Any) -> Settings:
    """Settings for webhook mode on a free local port: the sandbox posts updates to
    ``settings.webhook_url``, signed with ``secret``."""
    port = free_port()
    return make_settings(
        tmp_path,
        telegram_api_url=sandbox_url,
        webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
        webhook_secret=secret,
        http_port=port,
        **overrides,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@dataclass
class BotHarness:
    """The real application, fed updates directly; Telegram's side is recorded."""

    application: BotApplication
    request: RecordingRequest
    engine: AsyncEngine

    @property
    def bot(self) -> Any:
        return self.application.bot

    async def feed(self, update: Update) -> None:
        await self.application.process_update(update)

    async def send(self, sender: dict[str, Any], text: str) -> None:
        await self.feed(updates.message(self.bot, sender, text))

    async def tap(self, sender: dict[str, Any], data: str) -> None:
        await self.feed(updates.callback(self.bot, sender, data))

    async def resident_rows(self, telegram_id: int) -> list[Any]:
        async with self.engine.connect() as connection:
            result = await connection.execute(
                text("SELECT * FROM residents WHERE telegram_id = :id"), {"id": telegram_id}
            )
            return list(result)


@asynccontextmanager
async def open_harness(
    settings: Settings, *, request: RecordingRequest | None = None, migrated: bool = False
) -> AsyncIterator[BotHarness]:
    """The application on ``settings``' database (migrated here unless ``migrated``), with
    Telegram's side recorded by ``request`` (a plain ``RecordingRequest`` by default)."""
    engine = create_engine(settings.database_url)
    if not migrated:
        await migrate.upgrade(engine)
    request = request or RecordingRequest()
    services = build_services(settings, engine, clock=RunningClock())
    application = build_application(settings, services, build_i18n(settings), request=request)
    await application.initialize()
    try:
        yield BotHarness(application, request, engine)
    finally:
        await application.shutdown()
        await engine.dispose()


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[BotHarness]:
    async with open_harness(settings) as opened:
        yield opened


# --- PostgreSQL ------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _admin(statement: str) -> None:
    engine = create_engine(POSTGRES_URL)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _blocking(coroutine: Any) -> Any:
    """Run a coroutine to completion from sync code, even when a test loop is running."""
    with ThreadPoolExecutor(1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


def _postgres_reachable() -> str | None:
    async def probe() -> None:
        await asyncio.wait_for(_admin("SELECT 1"), timeout=5)

    try:
        _blocking(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = _postgres_reachable()
    if problem:
        if IN_CI:
            pytest.fail(
                f"PostgreSQL is required in CI but unreachable at {POSTGRES_URL}: {problem}"
            )
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {problem}")
    return POSTGRES_URL


@pytest.fixture
def empty_postgres(postgres_server: str) -> Iterator[str]:
    """A new, empty database for one test, dropped afterwards."""
    name = f"quartierbot_test_{uuid.uuid4().hex[:12]}"
    _blocking(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(postgres_server, name)
    finally:
        _blocking(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_postgres(postgres_server: str) -> Iterator[str]:
    """One database at the newest revision, shared by the tests of a run."""
    name = f"quartierbot_test_{uuid.uuid4().hex[:12]}"

    async def setup() -> None:
        await _admin(f'CREATE DATABASE "{name}"')
        engine = create_engine(_with_database(postgres_server, name))
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    _blocking(setup())
    try:
        yield _with_database(postgres_server, name)
    finally:
        _blocking(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database on each backend."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("migrated_postgres"))
    migrated_sqlite(tmp_path / "test.sqlite3")
    return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    if database_url.startswith("postgresql"):
        from sqlalchemy.ext.asyncio import create_async_engine

        eng = create_async_engine(database_url, poolclass=NullPool)
    else:
        eng = create_engine(database_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions inside one outer transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield async_sessionmaker(
                bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
        finally:
            await transaction.rollback()


# --- the real bot against the sandbox ---------------------------------------------------


@asynccontextmanager
async def running_bot(tmp_path: Path, **overrides: Any) -> AsyncIterator[Any]:
    """``quartierbot run``'s runtime (polling, no HTTP server) against a fresh sandbox, on a
    running clock; ``overrides`` go to the settings."""
    from bot.runtime import Runtime
    from bot.sandbox.emulator import BotApiEmulator, SandboxServer
    from tests.support.live import LiveBot

    clock = RunningClock()
    emulator = BotApiEmulator(clock=clock)
    server = SandboxServer(emulator)
    await server.start()
    try:
        settings = make_settings(
            tmp_path,
            telegram_api_url=server.base_url,
            **{"telegram_bot_token": "654321:LIVE", **overrides},
        )
        runtime = Runtime(settings, serve_http=False, poll_timeout=1, clock=clock)
        try:
            await runtime.start()
            yield LiveBot(emulator, runtime)
        finally:
            await runtime.stop()
    finally:
        await server.stop()


@pytest.fixture
async def live_bot(tmp_path: Path) -> AsyncIterator[Any]:
    async with running_bot(tmp_path) as bot:
        yield bot


# --- a real browser (Debian's chromium through Playwright) and the bot's web server ---------

from tests.support.browser import browser_page, live_site  # noqa: E402, F401
