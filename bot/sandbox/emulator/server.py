"""Serving an emulator: ``SandboxServer`` on a real port, ``app_factory`` for ``aiohttp.web``."""

from __future__ import annotations

from aiohttp import web

from .core import BotApiEmulator


def app_factory(argv: list[str] | None = None) -> web.Application:
    """A fresh emulator's app, for ``python -m aiohttp.web bot.sandbox.emulator:app_factory``."""
    return BotApiEmulator().create_app()


class SandboxServer:
    """Runs an emulator's app on a real port; usable as an async context manager."""

    def __init__(self, emulator: BotApiEmulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(self.emulator.create_app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
