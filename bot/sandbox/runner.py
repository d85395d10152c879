"""``quartierbot sandbox``: the emulator, its page and the real bot in one process."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import SecretStr

from bot.config import Settings
from bot.runtime import Runtime, wait_for_shutdown_signal
from bot.sandbox import demo
from bot.sandbox.emulator import BotApiEmulator, SandboxServer

SANDBOX_TOKEN = "123456789:SANDBOX"


async def run_sandbox(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    database_url: str | None = None,
) -> int:
    emulator = BotApiEmulator(bot_username="quartierbot_demo_bot", bot_first_name="Quartierbot")
    server = SandboxServer(emulator, host=host, port=port)
    await server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="quartierbot-sandbox-") as tmp:
            url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'sandbox.sqlite3'}"
            sandbox_settings = settings.model_copy(
                update={
                    "telegram_bot_token": SecretStr(SANDBOX_TOKEN),
                    "telegram_api_url": server.base_url,
                    "database_url": url,
                    "webhook_url": None,
                    "neighbourhood_name": demo.NEIGHBOURHOOD_NAME,
                    "http_host": host,
                    "http_port": 0,
                }
            )
            async with Runtime(sandbox_settings, poll_timeout=5) as runtime:
                assert runtime.services is not None
                await demo.seed(emulator, runtime.services)
                page = f"http://{host}:{server.port}/"
                print(
                    f"\nQuartierbot sandbox is running: open {page}\n"
                    f"  bot health: http://{host}:{runtime.http_port}/health\n"
                    f"  calendar:   http://{host}:{runtime.http_port}/calendar.ics?lang=tr\n"
                    f"  a flyer:    http://{host}:{runtime.http_port}/events/1/flyer?lang=de&lang2=ar\n"
                    f"  database:   {url}\n"
                    "Stop with Ctrl+C.\n",
                    flush=True,
                )
                await wait_for_shutdown_signal()
    finally:
        await server.stop()
    return 0
