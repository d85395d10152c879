"""Two replicas of the bot on one PostgreSQL, fed by webhook, often with the same update twice.

Every update is handled once (each resident gets each answer once), and the outbox's
reminders and a scheduled broadcast go out once, though both replicas run a delivery engine
and the job that starts due broadcasts.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.sandbox.emulator import BotApiEmulator, SandboxServer
from bot.services.events import EventView
from storage import migrate
from storage.db import create_engine, create_session_factory
from storage.models import HandledUpdate, Signup
from tests.conftest import ADMIN_ID, webhook_settings
from tests.support.actors import STAFF
from tests.support.clock import RunningClock
from tests.support.live import LiveResident, onboard

pytestmark = pytest.mark.postgres

SECRET = "replica-secret-1"
TICKET = re.compile(r"\b[A-Z2-9]{6}\b")


@dataclass
class Replicas:
    emulator: BotApiEmulator
    first: Runtime
    second: Runtime
    urls: list[str]


@pytest.fixture
async def replicas(empty_postgres: str, tmp_path: Path) -> AsyncIterator[Replicas]:
    engine = create_engine(empty_postgres)
    try:
        await migrate.upgrade(engine)  # as the operator does, once, before the replicas start
    finally:
        await engine.dispose()
    clock = RunningClock()
    emulator = BotApiEmulator(clock=clock)
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(SandboxServer(emulator))
        runtimes, urls = [], []
        for _ in range(2):
            settings = webhook_settings(
                tmp_path, server.base_url, SECRET, database_url=empty_postgres
            )
            runtimes.append(await stack.enter_async_context(Runtime(settings, clock=clock)))
            urls.append(str(settings.webhook_url))
        yield Replicas(emulator, runtimes[0], runtimes[1], urls)


async def published_event(runtime: Runtime, title: str, *, starts_in: timedelta) -> EventView:
    assert runtime.services is not None
    events = runtime.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title=title)
    start = runtime.clock() + starts_in
    await events.update(
        STAFF, draft.id, starts_at=start, reminder_hours=1, place_name="Innenhof", capacity=50
    )
    return await events.publish(STAFF, draft.id)


async def chat(resident: LiveResident, locale: str, event_id: int) -> None:
    """What a resident does: start, choose, agree, and sign up for an event."""
    await onboard(resident, locale)
    await resident.tap("menu:events")
    await resident.tap(f"ev:show:{event_id}")
    await resident.tap(f"ev:join:{event_id}")
    await resident.tap(f"ev:ad:{event_id}:1")
    await resident.tap(f"ev:ch:{event_id}:1:0")
    await resident.tap(f"ev:chk:{event_id}:1:0:0")
    await resident.tap(f"ev:ok:{event_id}:1:0:0")

    def ticket() -> bool:  # the ticket with its registration code comes after the answer
        return any(TICKET.search(text) for text in screens(resident.emulator, resident.user_id))

    ticket.__qualname__ = f"user {resident.user_id} has a ticket"
    await resident.emulator.wait_until(ticket, timeout=10)


def screens(emulator: BotApiEmulator, user_id: int) -> list[str]:
    return [m.text or m.caption or "" for m in emulator.bot_messages(user_id)]


def translated(runtime: Runtime, locale: str, msgid: str) -> str:
    assert runtime.application is not None
    return str(runtime.application.bot_data.i18n.translator(locale).gettext(msgid))


async def test_two_replicas_handle_every_update_once_and_send_everything_once(
    replicas: Replicas,
) -> None:
    emulator, first = replicas.emulator, replicas.first
    assert first.services is not None and first.engine is not None
    event = await published_event(first, "Hoffest", starts_in=timedelta(days=3))

    # The reference: one resident whose every update reaches one replica only.
    emulator.deliver_webhooks_to(replicas.urls, repeat=0)
    emulator.add_user("Lena", "de", user_id=801)
    await asyncio.wait_for(chat(LiveResident(emulator, 801), "de", event.id), timeout=30)
    expected = len(screens(emulator, 801))

    # The others chat at the same time, and every update reaches both replicas at once.
    emulator.deliver_webhooks_to(replicas.urls, repeat=1.0)
    people = {802: ("Ayşe", "tr"), 803: ("Omar", "ar"), 804: ("Maria", "el")}
    for user_id, (name, locale) in people.items():
        emulator.add_user(name, locale, user_id=user_id)
    await asyncio.wait_for(
        asyncio.gather(
            *(
                chat(LiveResident(emulator, user_id), locale, event.id)
                for user_id, (_, locale) in people.items()
            )
        ),
        timeout=60,
    )
    assert emulator.stats["webhook_repeated"] > 0  # the duplicates were really sent
    await asyncio.sleep(1)  # a late duplicate answer would show by now
    for user_id in people:
        shown = screens(emulator, user_id)
        assert len(shown) == expected, (user_id, shown)
    sessions = create_session_factory(first.engine)
    async with sessions() as session:
        signups = await session.scalar(
            select(func.count()).select_from(Signup).where(Signup.event_id == event.id)
        )
        claimed = await session.scalar(select(func.count()).select_from(HandledUpdate))
    assert signups == 1 + len(people)
    assert claimed == emulator.stats["updates"]  # each update claimed, by one replica

    # Due work: a reminder for each sign-up, and a broadcast to everyone, due in 2 s.
    soon = await published_event(first, "Elterncafé", starts_in=timedelta(hours=1, seconds=2))
    everyone = {801: "de", **{user_id: locale for user_id, (_, locale) in people.items()}}
    for user_id, locale in everyone.items():
        await first.services.events.sign_up(soon.id, user_id, locale, adults=1)
    broadcasts = first.services.broadcasts
    coordinator = await first.services.residents.actor(ADMIN_ID)
    draft = await broadcasts.create_draft(coordinator)
    await broadcasts.set_version(coordinator, draft.id, "de", text="Morgen ist Markt!")
    await broadcasts.schedule_once(coordinator, draft.id, first.clock() + timedelta(seconds=2))

    def arrived(user_id: int, locale: str) -> tuple[int, int]:
        reminder = translated(first, locale, "⏰ Reminder: you are signed up for")
        shown = screens(emulator, user_id)
        return (
            sum(reminder in text and "Elterncafé" in text for text in shown),
            sum("Morgen ist Markt!" in text for text in shown),
        )

    def all_arrived() -> bool:
        return all(min(arrived(user_id, locale)) >= 1 for user_id, locale in everyone.items())

    all_arrived.__qualname__ = "every resident has the reminder and the broadcast"
    # The due-broadcast job looks every 10 s on each replica.
    await emulator.wait_until(all_arrived, timeout=30)
    await asyncio.sleep(2)  # both replicas' engines and jobs have looked again by now
    for user_id, locale in everyone.items():
        assert arrived(user_id, locale) == (1, 1), (user_id, screens(emulator, user_id))
