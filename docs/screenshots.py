"""``make screenshots``: PNGs of the dashboard's main pages in docs/screenshots/.

Starts what ``make demo`` starts (the sandbox's Bot API emulator and the real bot against it,
with the demo neighbourhood of bot/sandbox/demo.py, in a fresh SQLite database), lets the demo
coordinator send /dashboard, opens the link from the bot's answer in Debian's headless chromium
(``.ci/browser`` installs it), logs in with the page's button, and saves every page of
``PAGES`` at every size of ``SIZES`` as ``docs/screenshots/<name>-<width>x<height>.png``.
A page the server doesn't have (404) is skipped with a note. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import tempfile
from pathlib import Path

from playwright.async_api import Page, async_playwright

from bot.config import load_settings
from bot.runtime import Runtime
from bot.sandbox import demo
from bot.sandbox.emulator import BotApiEmulator, SandboxServer
from bot.sandbox.runner import SANDBOX_TOKEN

#: The pages to photograph: (file name, path). Add a page here. The demo's events are the
#: first rows of a fresh database, so event 1 is its first (the courtyard party).
PAGES: tuple[tuple[str, str], ...] = (
    ("overview", "/dashboard/"),
    ("events", "/dashboard/events"),
    ("event-edit", "/dashboard/events/1/edit"),
    ("translations", "/dashboard/translations"),
    ("ideas", "/dashboard/ideas"),
    ("groups", "/dashboard/groups"),
    ("broadcasts", "/dashboard/broadcasts"),
    ("team", "/dashboard/team"),
)
#: Viewport sizes (width, height): a desk's screen and a tablet upright.
SIZES: tuple[tuple[int, int], ...] = ((1280, 800), (768, 1024))

OUT = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


async def login_link(emulator: BotApiEmulator, base_url: str) -> str:
    """The demo coordinator sends /dashboard; the link in the bot's answer."""
    before = len(emulator.bot_messages(demo.COORDINATOR_ID))
    emulator.send_text(demo.COORDINATOR_ID, "/dashboard")
    pattern = re.compile(re.escape(base_url) + r"/dashboard/login/[^\s\u2069]+")

    def answered() -> bool:
        return any(
            pattern.search(m.text or "")
            for m in emulator.bot_messages(demo.COORDINATOR_ID)[before:]
        )

    await emulator.wait_until(answered, timeout=20)
    for message in emulator.bot_messages(demo.COORDINATOR_ID)[before:]:
        found = pattern.search(message.text or "")
        if found:
            return found.group(0)
    raise AssertionError("unreachable")


async def photograph(page: Page, base_url: str) -> list[Path]:
    written: list[Path] = []
    for name, path in PAGES:
        response = await page.goto(base_url + path)
        status = response.status if response is not None else 0
        if status == 404:
            print(f"  skipped {name}: {path} answers 404 (not built yet?)")
            continue
        if status != 200 or not page.url.startswith(base_url + path.rstrip("/")):
            raise SystemExit(f"{path} answered {status} at {page.url}: not logged in?")
        for width, height in SIZES:
            await page.set_viewport_size({"width": width, "height": height})
            await page.goto(base_url + path)
            target = OUT / f"{name}-{width}x{height}.png"
            await page.screenshot(path=str(target))
            written.append(target)
            print(f"  {target.relative_to(OUT.parent.parent)}")
    return written


async def main() -> int:
    emulator = BotApiEmulator(bot_username="quartierbot_demo_bot", bot_first_name="Quartierbot")
    server = SandboxServer(emulator, host=HOST)
    await server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="quartierbot-screenshots-") as tmp:
            settings = load_settings(
                _env_file=None,  # a developer's .env (a real token, PUBLIC_URL) stays out
                telegram_bot_token=SANDBOX_TOKEN,
                telegram_api_url=server.base_url,
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'screenshots.sqlite3'}",
                webhook_url=None,
                public_url=None,
                neighbourhood_name=demo.NEIGHBOURHOOD_NAME,
                http_host=HOST,
                http_port=free_port(),
                quiet_hours="off",
            )
            async with Runtime(settings, poll_timeout=1) as runtime:
                assert runtime.services is not None
                await demo.seed(emulator, runtime.services)
                base_url = f"http://{HOST}:{runtime.http_port}"
                link = await login_link(emulator, base_url)
                OUT.mkdir(parents=True, exist_ok=True)
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(
                        executable_path=CHROMIUM,
                        args=["--no-sandbox"] if os.geteuid() == 0 else [],
                        headless=True,
                    )
                    try:
                        context = await browser.new_context(locale="de-DE")
                        page = await context.new_page()
                        await page.goto(link)
                        async with page.expect_navigation():
                            await page.locator("form[action^='/dashboard/login/'] button").click()
                        print(f"logged in as the demo coordinator; writing {OUT}:")
                        written = await photograph(page, base_url)
                    finally:
                        await browser.close()
    finally:
        await server.stop()
    print(f"{len(written)} screenshots")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
