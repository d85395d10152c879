"""Erase means erased (issue 13): a resident who used every feature deletes their data, and a
scan of every column of every table finds neither their id, nor their first name, nor a text
they wrote (their idea's text stays, without them); the seat they freed went to the waiting
list, and nothing queued for them is delivered afterwards. /stop ends news of every kind, the
queued ones too, while a notice about one's own sign-up still comes. /mydata's file says what
the database holds. Through the sandbox; the erase itself on both backends too."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_services
from bot.buttons import INTERPRETER, WHEELCHAIR, IdeaButton
from bot.services import Services
from bot.services.chat_state import PendingInput
from bot.services.delivery import Recipient
from bot.services.ideas import FORGOTTEN
from bot.services.privacy import anonymous_signup_id
from storage.db import create_engine, create_session_factory
from storage.models import (
    Base,
    Delivery,
    DeliveryState,
    Event,
    GroupMember,
    Idea,
    IdeaSupport,
    Resident,
    ResidentTopic,
    Signup,
    SignupStatus,
    SlotHolder,
)
from tests.conftest import ADMIN_ID, make_settings
from tests.support.actors import STAFF
from tests.support.clock import TEST_START, FixedClock
from tests.support.live import LiveBot, LiveResident, onboard, tr
from tests.test_groups_e2e import raised_beds
from tests.test_signup_ticket_e2e import to_the_needs

ZERRIN = 4_242_017  # an id that appears nowhere else, so the scan can't mistake it
WERA = 4_242_018  # waits for a seat
NAME = "Zerrin"
NOTE = "Rollstuhl, Diabetes, Zimmer 12"
DRAFT = "Ein Trinkbrunnen vor der Schule, bitte"  # typed, never sent
IDEA = "Mehr Bänke im Park an der Kantstraße"
PLACE = "Spielplatz Lindenhof"

ERASE_PROMPT = (
    "Do you really want to delete all your data? This deletes:\n"
    "• your settings, language, topics and first name;\n"
    "• your sign-ups: seats for upcoming events are given up and offered to the "
    "waiting list; past events keep only the number of people, without your name "
    "or needs;\n"
    "• your memberships in projects and groups and the tasks you took on;\n"
    "• messages from us that are still waiting to be sent to you;\n"
    "• your name on your ideas: the ideas stay, without your name, voice message or "
    "location.\n"
    "This cannot be undone."
)


# --- the scan ------------------------------------------------------------------------------


def _cells(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


async def scan(engine: AsyncEngine, telegram_id: int, texts: list[str]) -> list[str]:
    """Every (table.column, value) that holds the id (as a number, or inside a text or JSON)
    or one of the texts, in every column of every table."""
    number = re.compile(rf"(?<!\d){telegram_id}(?!\d)")
    found = []
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in await connection.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if value is None:
                        continue
                    where = f"{table.name}.{column.name}"
                    if isinstance(value, int) and not isinstance(value, bool):
                        if value == telegram_id:
                            found.append(f"{where} = {value}")
                        continue
                    cell = _cells(value)
                    if number.search(cell):
                        found.append(f"{where} ∋ id: {cell[:120]}")
                    found += [f"{where} ∋ {text!r}" for text in texts if text in cell]
    return found


def wal_size(database: str) -> int:
    """The size of an SQLite database's write-ahead log (0 when there is none)."""
    wal = Path(database + "-wal")
    return wal.stat().st_size if wal.exists() else 0


# --- a resident who used every feature -----------------------------------------------------


async def an_event(live_bot: LiveBot, title: str, capacity: int, days: int = 3) -> int:
    events = live_bot.runtime.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title=title)
    start = live_bot.runtime.clock() + timedelta(days=days)
    await events.update(
        STAFF, draft.id, starts_at=start, ends_at=start + timedelta(hours=2), capacity=capacity
    )
    return (await events.publish(STAFF, draft.id)).id


async def sign_up_with_note(resident: LiveResident, event_id: int) -> None:
    """Two adults, an interpreter, wheelchair access and the note, through the buttons."""
    await to_the_needs(resident, event_id, 2, 0)
    needs = INTERPRETER | WHEELCHAIR
    await resident.tap(f"ev:nd:{event_id}:2:0:{INTERPRETER}")
    await resident.tap(f"ev:nd:{event_id}:2:0:{needs}")
    await resident.tap(f"ev:note:{event_id}:2:0:{needs}")
    await resident.say(NOTE)
    await resident.tap(f"ev:ok:{event_id}:2:0:{needs}")
    # The ticket comes as a message of its own after the confirmation: wait for it, so that
    # it isn't taken for the answer to whatever the resident does next.
    await resident.emulator.wait_until(
        lambda: any(
            data == f"ev:ics:{event_id}"
            for m in resident.emulator.bot_messages(resident.user_id)
            for _, data in m.buttons()
        ),
        timeout=10,
    )


async def in_the_past(live_bot: LiveBot, event_id: int) -> None:
    """The event took place two days ago (a test can't wait that long)."""
    past = live_bot.runtime.clock() - timedelta(days=2)
    assert live_bot.runtime.engine is not None
    async with live_bot.runtime.engine.begin() as connection:
        await connection.execute(
            update(Event).where(Event.id == event_id).values(starts_at=past, ends_at=past)
        )


async def everything(live_bot: LiveBot) -> dict[str, Any]:
    """Zerrin signs up (with her note and needs) for a full event Wera waits for and for one
    that is over, joins a group and takes a help task, shares an idea, supports another, and
    follows a topic; the coordinator has her idea's card with her name."""
    services = live_bot.runtime.services
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    zerrin = live_bot.resident(NAME, "de", ZERRIN)
    wera = live_bot.resident("Wera", "de", WERA)
    await onboard(zerrin, "de")
    await onboard(wera, "de")
    await services.residents.toggle_topic(ZERRIN, "environment")

    full = await an_event(live_bot, "Hoffest", capacity=2)
    await sign_up_with_note(zerrin, full)
    signup = await services.events.signup_of(full, ZERRIN)
    assert signup is not None and signup.note == NOTE and signup.wheelchair
    await services.events.sign_up(full, WERA, "de", adults=1, waitlist=True)
    assert (await services.events.signup_of(full, WERA)).status == "waitlisted"  # type: ignore[union-attr]

    over = await an_event(live_bot, "Flohmarkt", capacity=20)
    await sign_up_with_note(zerrin, over)
    await in_the_past(live_bot, over)

    group = await raised_beds(live_bot, lead_id=ADMIN_ID)
    slot = group.slots[0]
    await zerrin.say(f"/start project_{group.id}")
    await zerrin.tap(f"grp:join:{group.id}")
    await zerrin.tap(f"grp:slot:{group.id}:{slot.id}")
    assert (await services.groups.get(group.id)).slots[0].filled == 1  # type: ignore[union-attr]

    idea = await services.ideas.submit(
        ZERRIN, "de", text=IDEA, place_text=PLACE, latitude=52.5, longitude=13.3
    )
    other = await services.ideas.submit(WERA, "de", text="Ein Bücherschrank")
    await services.ideas.publish(STAFF, other.id)
    await services.ideas.toggle_support(other.id, ZERRIN)
    # The coordinator's card names her (it went out through the outbox).
    await live_bot.emulator.wait_until(
        lambda: any(NAME in (m.text or "") for m in live_bot.emulator.bot_messages(ADMIN_ID)),
        timeout=15,
    )
    return {"full": full, "over": over, "group": group.id, "slot": slot.id, "idea": idea.id}


async def stop_sending(live_bot: LiveBot) -> None:
    """Nothing goes out for now: what is queued from here on stays pending."""
    assert live_bot.runtime.delivery_engine is not None
    await live_bot.runtime.delivery_engine.stop()


async def send_everything(live_bot: LiveBot) -> None:
    engine = live_bot.runtime.delivery_engine
    assert engine is not None
    engine.start()
    await engine.run_until_idle(timeout=20)


async def a_broadcast(live_bot: LiveBot, text: str) -> None:
    broadcasts = live_bot.runtime.services.broadcasts
    draft = await broadcasts.create_draft(STAFF)
    await broadcasts.set_version(STAFF, draft.id, "de", text=text)
    await broadcasts.send_now(STAFF, draft.id)


def received(live_bot: LiveBot, chat_id: int, text: str) -> bool:
    return any(text in (m.text or m.caption or "") for m in live_bot.emulator.bot_messages(chat_id))


# --- erase ---------------------------------------------------------------------------------


async def test_after_erasing_no_column_holds_her_id_name_or_words(live_bot: LiveBot) -> None:
    services = live_bot.runtime.services
    ids = await everything(live_bot)
    zerrin = LiveResident(live_bot.emulator, ZERRIN)
    await zerrin.say("/privacy")
    asked = await zerrin.tap("privacy:ask")
    assert asked.text == tr(live_bot, "de", ERASE_PROMPT)  # says what goes, seats too

    # The idea she began and never sent waits in chat_states; a broadcast waits in the outbox.
    await zerrin.say("/ideas")
    await zerrin.tap(IdeaButton("new").pack())
    await zerrin.say(DRAFT)
    assert DRAFT in json.dumps((await services.chat_state.get(ZERRIN)).data)  # type: ignore[union-attr]
    await stop_sending(live_bot)
    await a_broadcast(live_bot, "Straßenfest am Samstag")
    async with create_session_factory(live_bot.runtime.engine)() as session:
        queued = list(
            await session.scalars(
                select(Delivery.kind).where(
                    Delivery.chat_id == ZERRIN, Delivery.state == DeliveryState.PENDING
                )
            )
        )
    assert "broadcast" in queued and "reminder" in queued

    # She taps "Yes, delete everything" on the question above.
    question = next(
        m
        for m in reversed(live_bot.emulator.bot_messages(ZERRIN))
        if "privacy:delete" in [data for _, data in m.buttons()]
    )
    live_bot.emulator.press_button(ZERRIN, question.message_id, "privacy:delete")
    await live_bot.emulator.wait_until(
        lambda: any(
            "/start" in (m.text or "") and m.message_id == question.message_id
            for m in live_bot.emulator.bot_messages(ZERRIN)
        ),
        timeout=10,
    )
    seen_before = len(live_bot.emulator.bot_messages(ZERRIN))

    assert live_bot.runtime.engine is not None
    found = await scan(live_bot.runtime.engine, ZERRIN, [NAME, NOTE, DRAFT, IDEA, PLACE])
    # Her idea stays for the neighbourhood, without her: its text and place, in its own row.
    assert sorted(found) == [f"ideas.place_text ∋ {PLACE!r}", f"ideas.text ∋ {IDEA!r}"]
    async with create_session_factory(live_bot.runtime.engine)() as session:
        idea = await session.get(Idea, ids["idea"])
        assert idea is not None and idea.author_telegram_id == FORGOTTEN and idea.anonymous
        assert (idea.latitude, idea.longitude) == (None, None)
        # The past event keeps an anonymous count; the upcoming one's seats went to Wera.
        past = list(await session.scalars(select(Signup).where(Signup.event_id == ids["over"])))
        assert [
            (s.adults, s.children, s.note, s.wheelchair, s.interpreter_locale) for s in past
        ] == [(2, 0, None, False, None)]
        assert past[0].telegram_id == anonymous_signup_id(past[0].id)
        wera = await session.scalar(
            select(Signup).where(Signup.event_id == ids["full"], Signup.telegram_id == WERA)
        )
        assert wera is not None and wera.status == SignupStatus.CONFIRMED
        assert (
            await session.scalar(select(SlotHolder).where(SlotHolder.slot_id == ids["slot"]))
            is None
        )
    assert (await services.groups.get(ids["group"])).slots[0].filled == 0  # type: ignore[union-attr]

    # The outbox runs again: Wera hears she moved up and gets the broadcast; Zerrin nothing.
    await send_everything(live_bot)
    assert received(live_bot, WERA, "Straßenfest am Samstag")
    assert len(live_bot.emulator.bot_messages(WERA)) > 0
    assert len(live_bot.emulator.bot_messages(ZERRIN)) == seen_before
    assert not received(live_bot, ZERRIN, "Straßenfest am Samstag")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Services, AsyncEngine]]:
    """The services on a fresh database of each backend."""
    if request.param == "postgresql":
        url = str(request.getfixturevalue("empty_postgres"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'erase.sqlite3'}"
    from storage import migrate

    engine = create_engine(url)
    await migrate.upgrade(engine)
    settings = make_settings(tmp_path, database_url=url)
    try:
        yield build_services(settings, engine, clock=FixedClock(TEST_START)), engine
    finally:
        await engine.dispose()


async def test_erase_in_one_transaction_on_each_backend(
    backend: tuple[Services, AsyncEngine],
) -> None:
    """Without the bot: an open flow with her draft, queued and sent rows, a sign-up on the
    waiting list of a full event and one that holds the seats someone waits for."""
    services, engine = backend
    clock = services.clock
    for telegram_id, locale in ((ZERRIN, "de"), (WERA, "tr"), (ADMIN_ID, "de")):
        await services.residents.register(telegram_id, locale)
    await services.residents.seen(ZERRIN, NAME)
    await services.residents.toggle_topic(ZERRIN, "environment")
    events = services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title="Hoffest")
    start = clock() + timedelta(days=3)
    await events.update(STAFF, draft.id, starts_at=start, capacity=2)
    await events.publish(STAFF, draft.id)
    await events.sign_up(draft.id, ZERRIN, "de", adults=2, note=NOTE, wheelchair=True)
    await events.sign_up(draft.id, WERA, "tr", adults=1, waitlist=True)
    group = await services.groups.create(
        STAFF,
        "project",
        name="Hof",
        description="",
        rhythm="",
        topic="environment",
        lead_id=ADMIN_ID,
        locale="de",
    )
    group = await services.groups.add_slot(STAFF, group.id, "Gießen", 1, locale="de")
    await services.groups.take_slot(group.slots[0].id, ZERRIN)
    idea = await services.ideas.submit(ZERRIN, "de", text=IDEA, voice_file_id="VOICE-OF-ZERRIN")
    await services.chat_state.expect(ZERRIN, PendingInput("idea", "topic", {"text": DRAFT}))
    await services.delivery.enqueue(
        source="broadcast:test",
        kind="broadcast",
        broadcast_id=None,
        payloads={"de": {"method": "sendMessage", "text": "Hallo"}},
        fallback_locale="de",
        recipients=[Recipient(ZERRIN, "de"), Recipient(WERA, "tr")],
    )

    erased = await services.privacy.erase(ZERRIN)

    assert erased.resident and erased.signups_removed == 1 and erased.promoted == 1
    assert erased.memberships == 1 and erased.slots == 1 and erased.ideas_kept == 1
    assert await scan(engine, ZERRIN, [NAME, NOTE, DRAFT, "VOICE-OF-ZERRIN"]) == []
    async with create_session_factory(engine)() as session:
        wera = await session.scalar(select(Signup).where(Signup.telegram_id == WERA))
        assert wera is not None and wera.status == SignupStatus.CONFIRMED
        kept = await session.get(Idea, idea.id)
        assert kept is not None and kept.text == IDEA and kept.voice_file_id is None
        # Wera's row of the broadcast is still there; Zerrin's is gone.
        rows = list(
            await session.scalars(
                select(Delivery.chat_id).where(Delivery.source == "broadcast:test")
            )
        )
        assert rows == [WERA]
    assert await services.residents.get(ZERRIN) is None
    assert (await services.privacy.erase(ZERRIN)).resident is False  # twice is harmless
    if engine.dialect.name == "sqlite":
        # Deleted pages are overwritten in the file, and the write-ahead log was emptied.
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA secure_delete"))).scalar() == 1
        database = engine.url.database
        assert database is not None
        assert wal_size(database) == 0


# --- /stop ---------------------------------------------------------------------------------


async def test_stop_ends_queued_news_but_not_the_notice_about_her_own_seat(
    live_bot: LiveBot,
) -> None:
    services = live_bot.runtime.services
    zerrin = live_bot.resident(NAME, "de", ZERRIN)
    wera = live_bot.resident("Wera", "de", WERA)
    await onboard(zerrin, "de")
    await onboard(wera, "de")
    full = await an_event(live_bot, "Hoffest", capacity=1)
    other = await an_event(live_bot, "Lesenacht im Hof", capacity=0)
    await services.events.sign_up(full, WERA, "de")
    await services.events.sign_up(full, ZERRIN, "de", waitlist=True)

    await stop_sending(live_bot)
    await a_broadcast(live_bot, "Straßenfest am Samstag")
    announced = await services.events.announce(STAFF, other, {})
    assert announced.queued == {"de": 2}
    await services.events.cancel_signup(full, WERA)  # Zerrin moves up: she is to be told
    await zerrin.say("/stop")
    await send_everything(live_bot)

    # Wera, who didn't send /stop, gets the news; Zerrin only the notice about her seat.
    assert received(live_bot, WERA, "Straßenfest am Samstag")
    assert received(live_bot, WERA, "Lesenacht im Hof")
    assert not received(live_bot, ZERRIN, "Straßenfest am Samstag")
    assert not received(live_bot, ZERRIN, "Lesenacht im Hof")
    assert received(live_bot, ZERRIN, "Hoffest")
    profile = await services.residents.get(ZERRIN)
    assert profile is not None and not profile.broadcast_opt_in and not profile.digest_opt_in


# --- /mydata -------------------------------------------------------------------------------


async def test_mydata_sends_what_the_database_holds(live_bot: LiveBot) -> None:
    ids = await everything(live_bot)
    zerrin = LiveResident(live_bot.emulator, ZERRIN)
    sent = await zerrin.say("/mydata")
    assert sent.kind == "document" and sent.extra["file_name"] == "my-data.json"
    data = json.loads(live_bot.emulator.file_bytes(sent.extra["file_id"]))

    assert live_bot.runtime.engine is not None
    async with create_session_factory(live_bot.runtime.engine)() as session:
        resident = await session.scalar(select(Resident).where(Resident.telegram_id == ZERRIN))
        assert resident is not None
        assert data["telegram_id"] == ZERRIN
        assert data["profile"]["first_name"] == resident.first_name == NAME
        assert data["profile"]["locale"] == resident.locale
        assert data["profile"]["settings"]["news_messages"] == resident.broadcast_opt_in
        assert data["topics"] == sorted(
            await session.scalars(
                select(ResidentTopic.topic).where(ResidentTopic.resident_id == resident.id)
            )
        )
        signups = list(await session.scalars(select(Signup).where(Signup.telegram_id == ZERRIN)))
        assert sorted(
            (
                s["event_id"],
                s["note"],
                s["adults"],
                s["wheelchair"],
                s["interpreter_locale"],
                s["code"],
                s["status"],
            )
            for s in data["signups"]
        ) == sorted(
            (
                s.event_id,
                s.note,
                s.adults,
                s.wheelchair,
                s.interpreter_locale,
                s.code,
                str(s.status),
            )
            for s in signups
        )
        assert {s["event_title"] for s in data["signups"]} == {"Hoffest", "Flohmarkt"}
        assert all(s["event_starts_at"] for s in data["signups"])
        ideas = list(await session.scalars(select(Idea).where(Idea.author_telegram_id == ZERRIN)))
        assert [(i["id"], i["text"], i["place"]) for i in data["ideas"]] == [
            (i.id, i.text, i.place_text) for i in ideas
        ]
        assert [s["idea_id"] for s in data["supports"]] == list(
            await session.scalars(
                select(IdeaSupport.idea_id).where(IdeaSupport.telegram_id == ZERRIN)
            )
        )
        assert (
            [g["group_id"] for g in data["groups"] if g["member"]]
            == list(
                await session.scalars(
                    select(GroupMember.group_id).where(GroupMember.telegram_id == ZERRIN)
                )
            )
            == [ids["group"]]
        )
        assert [h["slot_id"] for h in data["help_tasks"]] == [ids["slot"]]
        assert data["help_tasks"][0]["label"] == "Gießen"
        queued = list(
            await session.scalars(
                select(Delivery.id).where(
                    Delivery.chat_id == ZERRIN,
                    Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
                )
            )
        )
        assert data["queued_messages"] == len(queued) > 0  # her reminders
        assert data["translation_tasks"] == []
