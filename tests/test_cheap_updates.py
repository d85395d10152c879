"""Cheap updates: the person behind an update is one read, and a read-only tap writes nothing.

The statements are counted on the engine (SQLAlchemy's ``before_cursor_execute``), so whatever
the bot's layers do, a write or an extra read shows here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from bot.services.chat_state import PendingInput
from storage.db import create_session_factory
from storage.models import Group, GroupKind, GroupStatus, Role
from tests.conftest import BotHarness, make_settings, open_harness
from tests.support import updates
from tests.support.actors import COORDINATOR, STAFF

WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs, first word upper-cased."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]).lstrip().split(None, 1)[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[BotHarness]:
    settings = make_settings(tmp_path, database_url=database_url)
    async with open_harness(settings, migrated=True) as harness:  # database_url is migrated
        yield harness


def _services(bot: BotHarness) -> Services:
    return bot.application.bot_data.services


async def _onboard(bot: BotHarness, sender: dict[str, Any]) -> None:
    await bot.send(sender, "/start")
    await bot.tap(sender, "lang:tr")
    await bot.tap(sender, "consent:yes:tr")
    await bot.tap(sender, "topics:done")


async def _published_event(services: Services) -> int:
    events = services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title="Hoffest", description="Mit Musik")
    await events.set_version(STAFF, draft.id, "tr", title="Avlu şenliği")
    start = services.clock() + timedelta(days=3)
    await events.update(
        STAFF,
        draft.id,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place_name="Innenhof",
        address="Berliner Str. 1",
        capacity=20,
    )
    return (await events.publish(STAFF, draft.id)).id


# (what the resident does, at most this many SELECTs): one for the person, their ban and
# their chat's flow, then what the screen itself shows.
READ_ONLY = [
    ("/start", 1),
    ("/menu", 1),
    ("/help", 1),
    ("set:open", 1),
    ("menu:signups", 2),
    ("menu:events", 3),
    ("ev:show:{event}", 5),
]


async def test_read_only_taps_write_nothing_and_read_the_person_once(bot: BotHarness) -> None:
    ayse = updates.user(7101, "Ayşe", "tr")
    await _onboard(bot, ayse)
    event_id = await _published_event(_services(bot))
    for action, most in READ_ONLY:
        before = len(bot.request.messages())
        text = action.format(event=event_id)
        with statements(bot.engine) as sent:
            if text.startswith("/"):
                await bot.send(ayse, text)
            else:
                await bot.tap(ayse, text)
        assert len(bot.request.messages()) == before + 1, action  # answered as before
        assert [s for s in sent if s in WRITES] == [], action
        assert sent.count("SELECT") <= most, (action, sent)
    assert "Avlu şenliği" in bot.request.last_message().text  # her language, still


async def test_the_gates_read_the_person_in_one_statement(bot: BotHarness) -> None:
    """Rate limit, ban, resident, roles, led groups, privacy notice and flow: one SELECT, and
    a role revoked counts at the very next update (nothing cached)."""
    residents = _services(bot).residents
    jonas = updates.user(7102, "Jonas", "de")
    await _onboard(bot, jonas)
    await residents.grant_role(7102, Role.COORDINATOR)
    with statements(bot.engine) as sent:
        await bot.send(jonas, "/help")
    assert sent == ["SELECT"]
    assert "/broadcast" in bot.request.last_message().text  # the staff's help
    await residents.revoke_role(7102, Role.COORDINATOR)
    await bot.send(jonas, "/help")
    assert "/broadcast" not in bot.request.last_message().text


async def test_one_read_tells_the_same_as_the_separate_ones(bot: BotHarness) -> None:
    services = _services(bot)
    residents = services.residents
    await _onboard(bot, updates.user(7103, "Omar", "ar"))
    await residents.toggle_topic(7103, "children")
    await residents.toggle_topic(7103, "seniors")
    await residents.grant_role(7103, Role.PARTNER)
    await residents.grant_role(7103, Role.TRANSLATOR)
    now = services.clock()
    async with create_session_factory(bot.engine).begin() as session:
        for status in (GroupStatus.OPEN, GroupStatus.OPEN, GroupStatus.CLOSED):
            session.add(
                Group(
                    kind=GroupKind.GROUP,
                    status=status,
                    created_by=7103,
                    lead_telegram_id=7103,
                    default_locale="de",
                    created_at=now,
                )
            )
    await services.chat_state.expect(7103, PendingInput("idea", "text", {"n": 1}))

    arrival = await residents.arrive(7103)
    stored = await residents.get(7103)
    assert stored is not None and arrival.profile is not None
    assert arrival.profile == replace(stored, current_notice=arrival.profile.current_notice)
    assert arrival.profile.topics == {"children", "seniors"}
    assert arrival.actor == await residents.actor(7103)
    assert arrival.actor.roles == {Role.PARTNER, Role.TRANSLATOR}
    assert len(arrival.actor.led_groups) == 2  # the closed one isn't led any more
    assert not arrival.banned
    assert arrival.flow is not None and arrival.flow.pending == PendingInput(
        "idea", "text", {"n": 1}
    )

    # A revoked role counts at the very next update: nothing is cached.
    await residents.revoke_role(7103, Role.TRANSLATOR)
    assert (await residents.arrive(7103)).actor.roles == {Role.PARTNER}


async def test_a_ban_holds_for_someone_without_a_row(bot: BotHarness) -> None:
    services = _services(bot)
    await services.moderation.ban(COORDINATOR, 7104)
    arrival = await services.residents.arrive(7104)
    assert arrival.banned and arrival.profile is None
    assert arrival.actor.telegram_id == 7104 and not arrival.actor.registered
    nobody = await services.residents.arrive(7105)
    assert not nobody.banned and nobody.profile is None and nobody.flow is None

    before = len(bot.request.messages())
    with statements(bot.engine) as sent:
        await bot.send(updates.user(7104, "Sam", "de"), "/start")
    assert sent == ["SELECT"]  # banned: turned away after the one read, nothing written
    banned = bot.request.messages()[before:]
    assert len(banned) == 1 and "⛔" in banned[0].text


async def test_a_banned_resident_is_not_marked_seen(bot: BotHarness) -> None:
    services = _services(bot)
    await _onboard(bot, updates.user(7106, "Lena", "de"))
    await services.moderation.ban(COORDINATOR, 7106)
    profile_before = await services.residents.get(7106)
    arrival = await services.residents.arrive(7106, "Someone Else")
    assert arrival.banned
    assert await services.residents.get(7106) == profile_before
