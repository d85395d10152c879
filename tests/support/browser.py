"""A real browser for the dashboard's tests: Debian's headless chromium, driven by Playwright.

- ``browser_page`` (a fixture, registered in tests/conftest.py): a Playwright ``Page`` in a
  fresh browser, German first in its Accept-Language, closed after the test. Playwright drives
  ``/usr/bin/chromium`` (``.ci/browser`` installs it; ``make test`` runs that first), so no
  ``playwright install`` download is needed. A browser that can't start FAILS the test: CI
  must run these tests, never skip them.
- ``live_site`` (a fixture) and ``serve_live_bot``: the real bot started by ``Runtime`` against
  the sandbox, like tests/conftest.py's ``live_bot``, but with its HTTP server (the whole web
  app: the dashboard, /health, the calendar) on a real port, so that the links the bot sends
  open in the browser.
"""

from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.runtime import Runtime
from bot.sandbox.emulator import BotApiEmulator, SandboxServer
from tests.support.clock import RunningClock
from tests.support.live import LiveBot
from tests.support.net import free_port

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = Path("/usr/bin/chromium")
#: Playwright's timeout for each step (a click, a navigation), in milliseconds.
STEP_TIMEOUT_MS = 15_000


def chromium_args() -> list[str]:
    """Chromium refuses to run as root with its sandbox on (containers, CI)."""
    return ["--no-sandbox"] if os.geteuid() == 0 else []


def chromium_installed() -> bool:
    return CHROMIUM.exists()


@asynccontextmanager
async def chromium_page(
    *, locale: str = "de-DE", viewport: tuple[int, int] = (1280, 800)
) -> AsyncIterator[Page]:
    """A page in a new headless chromium; the browser is closed on the way out."""
    problem = None if chromium_installed() else f"{CHROMIUM} is missing"
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:  # pragma: no cover - a dev dependency, locked
        problem = f"Playwright is not installed ({exc})"
    if problem:
        pytest.fail(
            f"the browser tests need Debian's chromium and Playwright: {problem}. "
            "Run `make browser` (bash .ci/browser) and `make install`.",
            pytrace=False,
        )
    playwright = None
    try:
        playwright = await async_playwright().start()
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=chromium_args(), headless=True
        )
    except Exception as exc:
        if playwright is not None:
            await playwright.stop()
        pytest.fail(
            f"chromium at {CHROMIUM} could not be started by Playwright: "
            f"{type(exc).__name__}: {exc}",
            pytrace=False,
        )
    try:
        width, height = viewport
        context = await browser.new_context(
            locale=locale, viewport={"width": width, "height": height}
        )
        page = await context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        yield page
    finally:
        await browser.close()
        await playwright.stop()


@pytest.fixture
async def browser_page() -> AsyncIterator[Page]:
    async with chromium_page() as page:
        yield page


# --- the bot with its HTTP server on a real port -----------------------------------------


@dataclass
class LiveSite:
    """The live bot and the address its HTTP server answers on."""

    bot: LiveBot
    base_url: str

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@asynccontextmanager
async def serve_live_bot(tmp_path: Path, **settings_overrides: Any) -> AsyncIterator[LiveSite]:
    """The real bot against the sandbox, with the whole web app served over HTTP."""
    from tests.conftest import make_settings

    host = "127.0.0.1"
    clock = RunningClock()
    emulator = BotApiEmulator(clock=clock)
    server = SandboxServer(emulator)
    await server.start()
    try:
        for attempt in range(3):  # another process may take the free port in between
            settings = make_settings(
                tmp_path,
                telegram_api_url=server.base_url,
                telegram_bot_token="654321:LIVE",
                http_host=host,
                http_port=free_port(host),
                **settings_overrides,
            )
            runtime = Runtime(settings, serve_http=True, poll_timeout=1, clock=clock)
            try:
                await runtime.start()
            except OSError as exc:
                await runtime.stop()
                if exc.errno != errno.EADDRINUSE or attempt == 2:
                    raise
                continue
            break
        try:
            yield LiveSite(LiveBot(emulator, runtime), f"http://{host}:{runtime.http_port}")
        finally:
            await runtime.stop()
    finally:
        await server.stop()


@pytest.fixture
async def live_site(tmp_path: Path) -> AsyncIterator[LiveSite]:
    async with serve_live_bot(tmp_path) as site:
        yield site
