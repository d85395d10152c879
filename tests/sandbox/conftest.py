"""Fixtures for the sandbox tests: an emulator on a real port and a PTB ``Bot`` pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.sandbox import BotApiEmulator, SandboxServer

TOKEN = "123456:TEST"


@pytest.fixture
def emulator() -> BotApiEmulator:
    return BotApiEmulator()


@pytest.fixture
async def server(emulator: BotApiEmulator) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(emulator) as running:
        yield running


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as ptb_bot:
        yield ptb_bot


@pytest.fixture
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns when ``RetryAfter`` is built unless time periods are timedeltas."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
