"""``quartierbot sandbox``: the emulator, its page and the real bot in one process."""

from __future__ import annotations

import errno
import socket
import tempfile
from pathlib import Path

from pydantic import SecretStr

from bot.config import ConfigError, Settings
from bot.runtime import Runtime, wait_for_shutdown_signal
from bot.sandbox import demo
from bot.sandbox.emulator import BotApiEmulator, SandboxServer

SANDBOX_TOKEN = "123456789:SANDBOX"


async def run_sandbox(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    http_port: int | None = None,
    database_url: str | None = None,
) -> int:
    """The page on ``port``; the bot's own HTTP server (health, calendar, flyers) on
    ``http_port``, by default the port after it, so that both addresses are known in advance."""
    http_port = port + 1 if http_port is None else http_port
    for wanted in (port, http_port):
        ensure_port_free(host, wanted)
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
                    "http_port": http_port,
                    # Demo residents get no quiet hours: a broadcast tried at 22:00 arrives.
                    "quiet_hours": "off",
                }
            )
            async with Runtime(sandbox_settings, poll_timeout=5) as runtime:
                assert runtime.services is not None
                await demo.seed(emulator, runtime.services)
                page = f"http://{host}:{server.port}/"
                bot_http = f"http://{host}:{runtime.http_port}"
                kept = "" if database_url else " (deleted at the end; keep one with --database)"
                print(
                    f"\nQuartierbot sandbox is running: open {page}\n"
                    f"  bot health: {bot_http}/health\n"
                    f"  calendar:   {bot_http}/calendar.ics?lang=tr\n"
                    f"  a flyer:    {bot_http}/events/1/flyer?lang=de&lang2=ar\n"
                    f"  database:   {url}{kept}\n"
                    "Stop with Ctrl+C.\n",
                    flush=True,
                )
                await wait_for_shutdown_signal()
    finally:
        await server.stop()
    return 0


def ensure_port_free(host: str, port: int) -> None:
    """Refuse a taken port with one line (exit code 2) before anything starts."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # Like aiohttp's own listener: a port left in TIME_WAIT by a stopped demo is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is in use; choose another, e.g. "
                    f"`make demo PORT={port + 10}` or `quartierbot sandbox --port {port + 10}`"
                ) from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
