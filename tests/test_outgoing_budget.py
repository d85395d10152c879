"""One outgoing budget: the bot's replies and its broadcasts together within Telegram's limits,
replies first. Through the sandbox over real HTTP, with its flood limits on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.delivery import Recipient
from bot.services.delivery.budget import OutgoingBudget, Priority
from tests.conftest import running_bot
from tests.support.live import LiveBot

RATE = 30  # Telegram's, and the settings' default DELIVERY_RATE
BROADCAST = 200
FIRST_RECIPIENT = 700_000
CHATTERS = [91_001, 91_002, 91_003, 91_004, 91_005]
#: A kind no consent governs: the recipients are chats, not residents of this database.
WORK_KIND = "translation"


@pytest.fixture
async def limited_bot(tmp_path: Path) -> AsyncIterator[LiveBot]:
    async with running_bot(tmp_path, telegram_bot_token="654321:BUDGET") as bot:
        settings = bot.runtime.settings
        assert settings.delivery_rate == RATE and settings.delivery_per_chat_rate == 1
        yield bot


async def test_residents_are_answered_during_a_broadcast_and_the_sum_keeps_the_limits(
    limited_bot: LiveBot,
) -> None:
    emulator = limited_bot.emulator
    recipients = list(range(FIRST_RECIPIENT, FIRST_RECIPIENT + BROADCAST))
    for chat_id in recipients:
        emulator.add_user(f"Nachbar {chat_id}", "de", user_id=chat_id)
    residents = [limited_bot.resident(f"Chat {n}", "tr", n) for n in CHATTERS]
    # Telegram's limits from here on: the bot's start-up calls (menus) are behind us.
    emulator.set_flood_limits(global_per_second=RATE, per_chat_per_second=1)
    emulator.accepted_sends.clear()

    def delivered() -> int:
        return sum(1 for chat_id in recipients if emulator.bot_messages(chat_id))

    services = limited_bot.runtime.services
    assert services is not None
    await services.delivery.enqueue(
        source="translation:budget",
        kind=WORK_KIND,
        broadcast_id=None,
        payloads={"de": {"method": "sendMessage", "text": "Straßenfest am Samstag"}},
        fallback_locale="de",
        recipients=[Recipient(chat_id, "de") for chat_id in recipients],
    )
    await emulator.wait_until(lambda: delivered() >= RATE // 2, timeout=10)

    answered_while_sending: list[bool] = []

    async def chat(resident_index: int) -> None:
        resident = residents[resident_index]
        for _ in range(3):
            await resident.say("/start")
            answered_while_sending.append(delivered() < BROADCAST)
            # A person reads before they type again; the sandbox allows one message a
            # second per chat.
            await asyncio.sleep(1.1)

    await asyncio.gather(*(chat(n) for n in range(len(residents))))
    engine = limited_bot.runtime.delivery_engine
    assert engine is not None
    await engine.run_until_idle(timeout=30)

    assert len(answered_while_sending) == 3 * len(CHATTERS)
    assert all(answered_while_sending)  # nobody waited for the broadcast to end
    assert {len(emulator.bot_messages(chat_id)) for chat_id in recipients} == {1}
    assert emulator.stats["answered_429"] == 0
    # What the sandbox counted at its fullest: replies and broadcast within one budget.
    assert emulator.max_sends_within(1.0) <= RATE
    for chat_id in CHATTERS:
        assert emulator.max_sends_within(1.0, chat_id) <= 1
    budget = limited_bot.runtime.budget
    assert budget is not None and budget.stats.replies >= 3 * len(CHATTERS)
    assert budget.stats.bulk >= BROADCAST


async def test_a_waiting_reply_goes_before_every_waiting_bulk_send() -> None:
    budget = OutgoingBudget(10, reserve=0)
    for chat_id in range(10):  # the window is full: ten sent and answered just now
        (await budget.acquire(chat_id, priority=Priority.BULK)).done()
    order: list[str] = []

    async def take(name: str, chat_id: int, priority: Priority) -> None:
        slot = await budget.acquire(chat_id, priority=priority)
        order.append(name)
        slot.done()

    bulk = [asyncio.create_task(take(f"bulk {n}", 100 + n, Priority.BULK)) for n in range(5)]
    await asyncio.sleep(0)  # the bulk sends queue first
    reply = asyncio.create_task(take("reply", 200, Priority.REPLY))
    await asyncio.gather(reply, *bulk)
    assert order[0] == "reply"
    assert order[1:] == [f"bulk {n}" for n in range(5)]  # bulk keeps its own order


async def test_bulk_leaves_the_reserve_to_replies() -> None:
    budget = OutgoingBudget(30)
    assert budget.reserve == 1
    # Replies in flight in all but the reserve's slots of the window.
    held = [await budget.acquire(chat_id, priority=Priority.REPLY) for chat_id in range(29)]
    bulk = asyncio.create_task(budget.acquire(100, priority=Priority.BULK))
    await asyncio.sleep(0)
    assert not bulk.done()  # a slot is free, but it is the replies'
    reply = asyncio.create_task(budget.acquire(101, priority=Priority.REPLY))
    await asyncio.sleep(0)
    assert reply.done()
    bulk.cancel()
    await asyncio.gather(bulk, return_exceptions=True)
    assert budget.waiting == 0 and len(held) == 29


async def test_a_group_flood_pauses_the_group_only_and_a_private_one_everything() -> None:
    budget = OutgoingBudget(30)
    assert budget.rate_limited(-1001, 5) is False
    group = asyncio.create_task(budget.acquire(-1001, priority=Priority.REPLY))
    await budget.acquire(42, priority=Priority.REPLY)  # another chat goes at once
    await asyncio.sleep(0)
    assert not group.done()
    assert budget.rate_limited(42, 5) is True
    other = asyncio.create_task(budget.acquire(43, priority=Priority.REPLY))
    await asyncio.sleep(0)
    assert not other.done()
    group.cancel()
    other.cancel()
    await asyncio.gather(group, other, return_exceptions=True)
    assert budget.waiting == 0


async def test_a_burst_of_replies_in_one_chat_pauses_that_chat_only() -> None:
    budget = OutgoingBudget(30)
    (await budget.acquire(7, priority=Priority.REPLY)).done()
    await budget.acquire(7, priority=Priority.REPLY)  # a second at once: private chats may
    assert budget.rate_limited(7, 5) is False
    elsewhere = asyncio.create_task(budget.acquire(8, priority=Priority.REPLY))
    same = asyncio.create_task(budget.acquire(7, priority=Priority.REPLY))
    await asyncio.sleep(0)
    assert elsewhere.done() and not same.done()
    same.cancel()
    await asyncio.gather(same, return_exceptions=True)


async def test_bulk_waits_its_interval_after_a_reply_in_the_same_chat() -> None:
    budget = OutgoingBudget(30)
    (await budget.acquire(5, priority=Priority.REPLY)).done()
    same = asyncio.create_task(budget.acquire(5, priority=Priority.BULK))
    other = asyncio.create_task(budget.acquire(6, priority=Priority.BULK))
    await asyncio.sleep(0)
    assert other.done() and not same.done()
    same.cancel()
    await asyncio.gather(same, return_exceptions=True)


async def test_a_slot_granted_just_before_a_429_waits_out_the_pause() -> None:
    # A waiter granted a slot, and a 429 answered before it woke up: its request has not left
    # yet, so it waits out the pause like the rest (seen as a send 1 ms after a 429).
    budget = OutgoingBudget(1, reserve=0)
    held = await budget.acquire(1, priority=Priority.BULK)
    waiting = asyncio.create_task(budget.acquire(2, priority=Priority.BULK))
    await asyncio.sleep(0)
    assert not waiting.done()
    held.cancel()  # frees the only slot: the waiter is granted at once...
    assert budget.rate_limited(3, 0.3) is True  # ...and a 429 arrives before it runs
    loop = asyncio.get_running_loop()
    paused_at = loop.time()
    slot = await waiting
    assert loop.time() - paused_at >= 0.29
    slot.done()
    assert budget.waiting == 0
