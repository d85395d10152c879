"""Abuse protection: the per-person limit on updates, bans, and reports of public ideas.

The limit and bans run through the sandbox with the real bot, on a clock the test moves (the
limit's window and pause are read from it); reports through the services on SQLite and
PostgreSQL (the ``backend`` fixtures of tests/conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import I18n
from bot.rendering import (
    BroadcastRenderer,
    EventRenderer,
    GroupRenderer,
    IdeaRenderer,
    TranslationRenderer,
)
from bot.services import Services
from bot.services.ideas import IdeaNotFound, InvalidChange
from bot.services.moderation import CannotBan, RateLimits, UpdateLimiter, Verdict
from bot.services.permissions import NotAllowed
from storage.models import Delivery, OutboxMessage
from tests.conftest import ADMIN_ID, make_settings
from tests.support.actors import ADMIN, COORDINATOR, resident
from tests.support.clock import BERLIN, TEST_START, FixedClock, RunningClock
from tests.support.live import LiveBot, onboard, tr

SLOW_DOWN = "🐢 Slow down a little, please. I'll answer again in a moment."
BANNED = (
    "⛔ Sorry, you can't use this bot at the moment. "
    "If you think this is a mistake, please contact the neighbourhood office."
)


# --- the limit, on its own -----------------------------------------------------------------


def test_the_limiter_slows_down_once_then_pauses_and_lets_go_after_the_pause() -> None:
    clock = FixedClock(TEST_START)
    limiter = UpdateLimiter(
        RateLimits(
            updates=3,
            window=timedelta(seconds=10),
            pause_after=5,
            pause=timedelta(seconds=60),
        ),
        clock,
    )
    assert [limiter.check(1) for _ in range(3)] == [Verdict.PASS] * 3
    assert limiter.check(1) is Verdict.SLOW_DOWN
    assert limiter.check(1) is Verdict.DROP  # asked once, then quiet
    assert limiter.check(2) is Verdict.PASS  # others are not affected
    assert limiter.check(1) is Verdict.DROP  # the sixth: paused
    assert limiter.paused(1)
    clock.advance(seconds=59)
    assert limiter.check(1) is Verdict.DROP
    clock.advance(seconds=2)
    assert limiter.check(1) is Verdict.PASS
    # A window that slides: spread out, any number of updates pass.
    for _ in range(20):
        clock.advance(seconds=4)
        assert limiter.check(1) is Verdict.PASS


def test_a_limit_of_zero_is_off() -> None:
    limiter = UpdateLimiter(RateLimits(updates=0), FixedClock(TEST_START))
    assert {limiter.check(1) for _ in range(500)} == {Verdict.PASS}


# --- through the sandbox -------------------------------------------------------------------


class MovableClock(RunningClock):
    """Runs with real time (the bot waits for real), and jumps when the test says so."""

    def __init__(self, start: datetime = TEST_START) -> None:
        super().__init__(start)
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        return super().__call__() + self._offset

    def advance(self, **delta: float) -> None:
        self._offset += timedelta(**delta)


LIMIT, PAUSE_AFTER = 5, 8


@pytest.fixture
async def limited_bot(tmp_path: Path) -> AsyncIterator[tuple[LiveBot, MovableClock]]:
    from bot.runtime import Runtime
    from bot.sandbox.emulator import BotApiEmulator, SandboxServer

    clock = MovableClock()
    emulator = BotApiEmulator(clock=clock)
    server = SandboxServer(emulator)
    await server.start()
    settings = make_settings(
        tmp_path,
        telegram_api_url=server.base_url,
        telegram_bot_token="654321:LIVE",
        rate_limit_updates=LIMIT,  # onboarding takes four
        rate_limit_window=10,
        rate_limit_pause_after=PAUSE_AFTER,
        rate_limit_pause=60,
    )
    runtime = Runtime(settings, serve_http=False, poll_timeout=1, clock=clock)
    try:
        await runtime.start()
        yield LiveBot(emulator, runtime), clock
    finally:
        await runtime.stop()
        await server.stop()


def texts(live_bot: LiveBot, user_id: int) -> list[str]:
    return [m.text or "" for m in live_bot.emulator.bot_messages(user_id)]


async def quietly(live_bot: LiveBot, user_id: int, seconds: float = 1.5) -> None:
    """Wait, and assert the bot wrote nothing to this person meanwhile."""
    before = len(live_bot.emulator.bot_messages(user_id))
    await asyncio.sleep(seconds)
    assert len(live_bot.emulator.bot_messages(user_id)) == before


@pytest.mark.parametrize(("locale", "telegram_language"), [("de", "de"), ("ar", "en")])
async def test_a_flood_gets_one_slow_down_in_the_residents_language_then_a_pause(
    limited_bot: tuple[LiveBot, MovableClock], locale: str, telegram_language: str
) -> None:
    live_bot, clock = limited_bot
    person = live_bot.resident("Rana", telegram_language, 811)
    await onboard(person, locale, quiet_hours=True)  # four updates
    clock.advance(seconds=11)  # a fresh window
    help_text = (await person.say("/help")).text
    before = len(live_bot.emulator.bot_messages(811))
    for _ in range(LIMIT):
        live_bot.emulator.send_text(811, "/help")
    slow = tr(live_bot, locale, SLOW_DOWN)
    # Arabic begins right to left (a mark in front); the words are the translation's.
    await live_bot.emulator.wait_until(
        lambda: any(slow in text for text in texts(live_bot, 811)), timeout=10
    )
    # The four answers to /help may still be on their way on a busy machine; then nothing more.
    await live_bot.emulator.wait_until(
        lambda: len(texts(live_bot, 811)) - before >= LIMIT, timeout=10
    )
    await quietly(live_bot, 811, seconds=0.5)
    answers = texts(live_bot, 811)[before:]
    # Once, for the sixth update (updates are handled concurrently, so not always last).
    assert len([text for text in answers if slow in text]) == 1
    assert len(answers) == LIMIT  # four more answers to /help, then the slow-down

    # Going on: quiet, then paused; the pause drops messages and acknowledges taps silently.
    for _ in range(PAUSE_AFTER - LIMIT):
        live_bot.emulator.send_text(811, "/help")
    await quietly(live_bot, 811)
    clock.advance(seconds=30)  # past the window, inside the pause
    live_bot.emulator.send_text(811, "/help")
    await quietly(live_bot, 811)
    answer = await person.tap_forged("menu:home")
    assert answer.get("text") in (None, "")
    clock.advance(seconds=31)  # the pause is over
    again = await person.say("/help")
    assert again.text == help_text


async def test_a_ban_blocks_a_resident_and_an_unban_lets_them_back(
    limited_bot: tuple[LiveBot, MovableClock],
) -> None:
    live_bot, clock = limited_bot
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de", quiet_hours=True)
    target = live_bot.resident("Spammer", "tr", 812)
    await onboard(target, "tr", quiet_hours=True)
    clock.advance(seconds=11)
    help_text = (await target.say("/help")).text

    refused = await target.say(f"/ban {ADMIN_ID}")  # a resident can't ban
    assert refused.text == tr(live_bot, "tr", "⛔ Only coordinators can do this.")
    clock.advance(seconds=11)

    banned = await coordinator.say("/ban 812")
    assert "812" in (banned.text or "")
    assert await live_bot.runtime.services.moderation.is_banned(812)
    clock.advance(seconds=11)
    answer = await target.say("/help")
    assert answer.text == tr(live_bot, "tr", BANNED)
    tapped = await target.tap_forged("menu:home")
    assert tapped["text"] == tr(live_bot, "tr", BANNED)
    answer = await target.say("hello")
    assert answer.text == tr(live_bot, "tr", BANNED)  # one answer each, nothing else
    messages = texts(live_bot, 812)
    assert messages[-2:] == [tr(live_bot, "tr", BANNED)] * 2

    clock.advance(seconds=11)
    await coordinator.say("/unban 812")
    assert not await live_bot.runtime.services.moderation.is_banned(812)
    clock.advance(seconds=11)
    assert (await target.say("/help")).text == help_text


# --- bans and reports, through the services --------------------------------------------------

LOCALES = ("de", "tr", "ar")
AUTHOR, OTHER_COORDINATOR = 821, 9000


@pytest.fixture
async def services(sessions: async_sessionmaker[AsyncSession]) -> Services:
    i18n = I18n(LOCALES, "de", BERLIN)
    built = Services.build(
        sessions,
        admin_ids=frozenset({ADMIN.telegram_id or 0}),
        topics=("environment",),
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        renderer=BroadcastRenderer(i18n),
        event_renderer=EventRenderer(i18n),
        idea_renderer=IdeaRenderer(i18n),
        group_renderer=GroupRenderer(i18n),
        translation_renderer=TranslationRenderer(i18n),
        clock=FixedClock(TEST_START),
    )
    for telegram_id, locale in [(AUTHOR, "tr"), (ADMIN.telegram_id or 0, "ar")]:
        await built.residents.register(telegram_id, locale)
    for reporter in (831, 832, 833, 834):
        await built.residents.register(reporter, "de")
    return built


async def public_idea(services: Services) -> int:
    idea = await services.ideas.submit(AUTHOR, "tr", text="Werbung! Kauft bei mir!")
    await services.ideas.publish(COORDINATOR, idea.id)
    return idea.id


async def reported_notices(sessions: async_sessionmaker[AsyncSession], idea_id: int) -> list[Any]:
    async with sessions() as session:
        rows = await session.execute(
            select(Delivery.chat_id, OutboxMessage.payload)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.source.like(f"idea:{idea_id}:reported:%"))
        )
        return list(rows)


async def test_three_reports_hide_an_idea_and_tell_the_coordinators_once(
    services: Services, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ideas = services.ideas
    idea_id = await public_idea(services)
    first = await ideas.report(idea_id, 831)
    assert first.added and not first.hidden
    again = await ideas.report(idea_id, 831)  # a double tap
    assert not again.added and not again.hidden
    assert (await ideas.report(idea_id, 832)).hidden is False
    assert [i.id for i in (await ideas.board())[0]] == [idea_id]
    third = await ideas.report(idea_id, 833)
    assert third.added and third.hidden
    assert (await ideas.board())[0] == []
    assert await ideas.get(resident(834), idea_id) is None
    notices = await reported_notices(sessions, idea_id)
    assert [chat for chat, _payload in notices] == [ADMIN.telegram_id]
    payload = notices[0][1]
    assert "🚩" in payload["text"] and "idm:keep:" in str(payload["reply_markup"])
    # A fourth report (and the third's double tap) change nothing.
    with pytest.raises(IdeaNotFound):
        await ideas.report(idea_id, 834)
    with pytest.raises(IdeaNotFound):
        await ideas.report(idea_id, 833)
    assert len(await reported_notices(sessions, idea_id)) == 1
    with pytest.raises(InvalidChange):  # nobody reports their own idea
        other = await public_idea(services)
        await ideas.report(other, AUTHOR)


async def test_a_coordinator_keeps_a_reported_idea_or_hides_it_for_good(
    services: Services,
) -> None:
    ideas = services.ideas
    idea_id = await public_idea(services)
    for reporter in (831, 832, 833):
        await ideas.report(idea_id, reporter)
    assert [i.id for i in await ideas.reported(COORDINATOR)] == [idea_id]
    with pytest.raises(NotAllowed):
        await ideas.keep_reported(resident(831), idea_id)
    kept = await ideas.keep_reported(COORDINATOR, idea_id)
    assert kept.published and not kept.hidden
    assert [i.id for i in (await ideas.board())[0]] == [idea_id]
    with pytest.raises(InvalidChange):  # a double tap
        await ideas.keep_reported(COORDINATOR, idea_id)
    # Reports were cleared: it takes three new ones to hide it again.
    assert not (await ideas.report(idea_id, 831)).hidden
    assert (await ideas.report(idea_id, 831)).added is False
    await ideas.report(idea_id, 832)
    assert (await ideas.report(idea_id, 834)).hidden
    hidden = await ideas.hide_reported(COORDINATOR, idea_id)
    assert not hidden.published and not hidden.hidden
    assert (await ideas.board())[0] == []
    assert await ideas.reported(COORDINATOR) == []


async def test_bans_are_for_coordinators_and_never_for_staff(services: Services) -> None:
    moderation = services.moderation
    with pytest.raises(NotAllowed):
        await moderation.ban(resident(831), 832)
    with pytest.raises(CannotBan):
        await moderation.ban(COORDINATOR, ADMIN.telegram_id or 0)
    assert (await moderation.ban(COORDINATOR, 832)).changed
    assert not (await moderation.ban(COORDINATOR, 832)).changed  # a double tap
    standing = await moderation.standing(832)
    assert standing.banned and standing.locale == "de"
    assert (await moderation.standing(999_999)).banned is False
    # From an anonymous idea's card: the author is banned, and stays unknown.
    idea = await services.ideas.submit(AUTHOR, "tr", text="Anonym", anonymous=True)
    result = await moderation.ban_author(COORDINATOR, idea.id)
    assert result.changed and result.telegram_id is None
    assert await moderation.is_banned(AUTHOR)
    assert (await moderation.unban_author(COORDINATOR, idea.id)).changed
    assert not await moderation.is_banned(AUTHOR)
    assert (await moderation.unban(COORDINATOR, 832)).changed
    assert not (await moderation.unban(COORDINATOR, 832)).changed


async def test_a_banned_resident_gets_no_news(
    services: Services, sessions: async_sessionmaker[AsyncSession]
) -> None:
    broadcasts = services.broadcasts
    draft = await broadcasts.create_draft(COORDINATOR)
    await broadcasts.set_version(COORDINATOR, draft.id, "de", text="Hoffest am Samstag")
    await services.moderation.ban(COORDINATOR, 831)
    await broadcasts.send_now(COORDINATOR, draft.id)
    async with sessions() as session:
        chats = set(
            await session.scalars(select(Delivery.chat_id).where(Delivery.broadcast_id == draft.id))
        )
        assert 832 in chats and 831 not in chats
