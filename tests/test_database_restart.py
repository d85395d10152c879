"""PostgreSQL goes away while residents chat, for 10 s and then for 40 s.

The test runs a PostgreSQL server of its own (initdb into a temporary folder, its own port),
so stopping it disturbs nobody else. While it is down, every message is answered with "please
try again in a moment" in the resident's language (the one they chose, though the database
can't be asked for it: the bot remembers it from their last message), and /healthz says it is
unreachable; once it is back, the same bot process (no restart) answers as before, and the
reminders and the broadcast committed before the outage and due during it are sent, once.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.bidi import RLM, begins_rtl
from bot.runtime import Runtime
from bot.sandbox.emulator import BotApiEmulator, SandboxServer
from storage import migrate
from storage.db import create_engine
from tests.conftest import ADMIN_ID, make_settings
from tests.support.actors import STAFF
from tests.support.clock import RunningClock
from tests.support.live import LiveResident, onboard
from tests.support.net import free_port

pytestmark = pytest.mark.postgres

TRY_AGAIN = "⏳ I can't reach my records right now. Please try again in a moment."
REMINDER = "⏰ Reminder: you are signed up for"
RESIDENTS = {811: ("Omar", "ar"), 812: ("Jonas", "de"), 813: ("Ayşe", "tr")}
#: The language each one's Telegram app reports: Omar reads Arabic on a phone set to German.
PHONES = {811: "de", 812: "de", 813: "tr"}


@dataclass
class OwnPostgres:
    """A PostgreSQL server in a folder of its own, started and stopped with pg_ctl."""

    bindir: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    async def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        await asyncio.to_thread(
            subprocess.run, command, check=True, capture_output=True, timeout=60
        )

    async def init(self) -> None:
        await self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres")

    async def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        await self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", "start"
        )

    async def stop(self) -> None:
        await self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")


@pytest.fixture
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL can't be started as root")
    folder = Path(tempfile.mkdtemp(prefix="quartierbot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = OwnPostgres(Path(found[-1]).parent, folder, free_port())
    try:
        await server.init()
        await server.start()
        yield server
    finally:
        try:
            if (folder / "data" / "postmaster.pid").exists():
                await server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def translated(runtime: Runtime, locale: str, msgid: str) -> str:
    assert runtime.application is not None
    return str(runtime.application.bot_data.i18n.translator(locale).gettext(msgid))


async def _healthz(runtime: Runtime) -> int:
    async with ClientSession() as http:
        answer = await http.get(f"http://127.0.0.1:{runtime.http_port}/healthz")
        return answer.status


async def _reminders_due_in(runtime: Runtime, title: str, seconds: float) -> None:
    """Every resident signed up for an event whose reminder falls due ``seconds`` from now:
    committed now, before the outage, and due during it."""
    assert runtime.services is not None
    events = runtime.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title=title)
    start = runtime.clock() + timedelta(hours=1, seconds=seconds)
    await events.update(STAFF, draft.id, starts_at=start, reminder_hours=1, place_name="Kita")
    await events.publish(STAFF, draft.id)
    for user_id, (_, locale) in RESIDENTS.items():
        await events.sign_up(draft.id, user_id, locale, adults=1)


async def _broadcast_due_in(runtime: Runtime, text: str, seconds: float) -> None:
    """A broadcast to everyone, scheduled now (before the outage) for ``seconds`` from now."""
    assert runtime.services is not None
    broadcasts = runtime.services.broadcasts
    coordinator = await runtime.services.residents.actor(ADMIN_ID)
    draft = await broadcasts.create_draft(coordinator)
    await broadcasts.set_version(coordinator, draft.id, "de", text=text)
    await broadcasts.schedule_once(
        coordinator, draft.id, runtime.clock() + timedelta(seconds=seconds)
    )


async def test_residents_are_answered_through_database_restarts(
    own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    engine = create_engine(own_postgres.url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    clock = RunningClock()
    emulator = BotApiEmulator(clock=clock)
    async with SandboxServer(emulator) as server:
        settings = make_settings(
            tmp_path, database_url=own_postgres.url, telegram_api_url=server.base_url
        )
        async with Runtime(settings, poll_timeout=1, clock=clock) as runtime:
            residents = {}
            for user_id, (name, _) in RESIDENTS.items():
                emulator.add_user(name, PHONES[user_id], user_id=user_id)
                residents[user_id] = LiveResident(emulator, user_id)
            await asyncio.wait_for(
                asyncio.gather(
                    *(onboard(residents[u], locale) for u, (_, locale) in RESIDENTS.items())
                ),
                timeout=30,
            )

            asked = 0
            for outage in (10, 40):
                title = f"Elterncafé {outage}"
                news = f"Markt {outage}"
                await _reminders_due_in(runtime, title, seconds=3)
                await _broadcast_due_in(runtime, news, seconds=3)
                await own_postgres.stop()
                began = asyncio.get_running_loop().time()
                assert await _healthz(runtime) == 503
                # Asked at once and again near the end: the bot stays responsive throughout.
                for at in (0.0, outage - 4.0):
                    await asyncio.sleep(max(0.0, began + at - asyncio.get_running_loop().time()))
                    answers = await asyncio.wait_for(
                        asyncio.gather(*(residents[u].say("/menu") for u in RESIDENTS)),
                        timeout=15,
                    )
                    for user_id, answer in zip(RESIDENTS, answers, strict=True):
                        locale = RESIDENTS[user_id][1]
                        assert (answer.text or "").lstrip(RLM) == translated(
                            runtime, locale, TRY_AGAIN
                        )
                        # Laid out right to left for Arabic (the words themselves, or a mark
                        # the bot put in front): it knew whose language it wrote in.
                        assert begins_rtl(answer.text or "") == (locale == "ar")
                await asyncio.sleep(max(0.0, began + outage - asyncio.get_running_loop().time()))
                asked += 2
                for user_id, (_, locale) in RESIDENTS.items():
                    told = translated(runtime, locale, TRY_AGAIN)
                    shown = [(m.text or "").lstrip(RLM) for m in emulator.bot_messages(user_id)]
                    assert shown.count(told) == asked  # one answer to each message, not more
                await own_postgres.start()

                # The same process, without a restart: chatting works again.
                answers = await asyncio.wait_for(
                    asyncio.gather(*(residents[u].say("/menu") for u in RESIDENTS)), timeout=15
                )
                for answer in answers:
                    assert "menu:events" in [data for _, data in answer.buttons()], answer.text
                assert await _healthz(runtime) == 200

                # Nothing lost: the reminders and the broadcast due during the outage arrive
                # (the delivery engine and the due-broadcast job recovered), each once.
                def received(user_id: int, title: str = title, news: str = news) -> list[int]:
                    reminder = translated(runtime, RESIDENTS[user_id][1], REMINDER)
                    shown = [m.text or "" for m in emulator.bot_messages(user_id)]
                    return [
                        sum(reminder in text and title in text for text in shown),
                        sum(news in text for text in shown),
                    ]

                def everything_arrived() -> bool:
                    return all(min(received(user_id)) >= 1 for user_id in RESIDENTS)

                everything_arrived.__qualname__ = f"everyone has {title!r} and {news!r}"
                await emulator.wait_until(everything_arrived, timeout=25)
                await asyncio.sleep(1)
                assert [received(user_id) for user_id in RESIDENTS] == [[1, 1]] * len(RESIDENTS)
