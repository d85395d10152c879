"""Each update handled once (bot/services/updates.py, handlers/once.py), and what counts as the
database being away (handlers/fallback.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import NetworkError

from bot.runtime import Runtime
from bot.sandbox.emulator import BotApiEmulator, SandboxServer
from bot.services.updates import UpdateLedger
from handlers.fallback import database_unavailable
from storage.db import create_engine
from tests.conftest import webhook_settings
from tests.support.clock import TEST_START, FixedClock, RunningClock
from tests.support.live import LiveResident
from tests.support.net import free_port


async def test_an_update_is_taken_on_once_and_its_id_forgotten_after_a_day(
    engine: AsyncEngine,
) -> None:
    clock = FixedClock(TEST_START)
    ledger = UpdateLedger(engine, clock=clock)
    other_replica = UpdateLedger(engine, clock=clock)
    assert await ledger.claim(700_001)
    assert not await other_replica.claim(700_001)
    assert not await ledger.claim(700_001)
    clock.advance(days=1, minutes=11)
    assert await ledger.claim(700_002)  # and, ten minutes after the last, the old ids pruned
    async with engine.connect() as connection:
        kept = await connection.scalars(
            text("SELECT update_id FROM handled_updates WHERE update_id IN (700001, 700002)")
        )
        assert sorted(kept) == [700_002]


async def test_the_same_update_delivered_twice_by_webhook_is_answered_once(
    tmp_path: Path,
) -> None:
    emulator = BotApiEmulator()
    async with SandboxServer(emulator) as server:
        settings = webhook_settings(tmp_path, server.base_url, "twice-secret")
        hook = str(settings.webhook_url)
        async with Runtime(settings, clock=RunningClock()):
            # Telegram retrying a delivery it thinks was lost: the same update, same address.
            emulator.deliver_webhooks_to([hook, f"{hook}?retry"], repeat=1.0)
            emulator.add_user("Giulia", "it", user_id=905)
            resident = LiveResident(emulator, 905)
            await resident.say("/start")
            await emulator.wait_until(lambda: emulator.stats["webhook_delivered"] == 1)
            await asyncio.sleep(1)  # a second answer, to the copy, would be there by now
    assert emulator.stats["webhook_repeated"] == 1  # the update went out twice
    assert emulator.stats["webhook_failed"] == 0  # and every delivery was answered 200
    pickers = [m for m in emulator.bot_messages(905) if ("Italiano", "lang:it") in m.buttons()]
    assert len(pickers) == 1


async def _refused() -> BaseException:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError("a closed port answered")


async def test_a_refused_database_connection_counts_as_the_database_away() -> None:
    assert database_unavailable(await _refused())


def _raise(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as raised:
        return raised


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        ConnectionRefusedError(111, "a translation service refused"),
        TimeoutError("a web request took too long"),
        NetworkError("Telegram unreachable"),
        None,
    ],
    ids=["bug", "another-service", "another-timeout", "telegram", "none"],
)
def test_other_failures_are_not_the_database(error: BaseException | None) -> None:
    assert not database_unavailable(_raise(error) if error is not None else None)


async def test_telegram_unreachable_is_not_the_database_even_with_a_refused_cause() -> None:
    cause = await _refused()
    try:
        raise NetworkError("httpx.ConnectError") from cause
    except NetworkError as error:
        assert not database_unavailable(error)
