"""One transaction per action: a sign-up and the outbox rows it causes commit together, or not
at all; the delivery engine is woken after the commit; a tap that only shows something writes
nothing. Counted with SQLAlchemy's engine events (statements and transaction boundaries)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bidi import RLM  # an Arabic reader's message begins right to left
from bot.i18n import I18n
from bot.rendering import BroadcastRenderer
from bot.services.audiences import StaffAudience
from bot.services.broadcasts import BroadcastService
from bot.services.delivery import DeliveryService
from bot.services.events import EventService, EventView, SignupView
from bot.services.groups import GroupService, GroupView
from bot.services.ideas import IdeaService, IdeaStatus, IdeaView
from bot.services.residents import ResidentService
from storage.db import create_session_factory
from storage.models import (
    Broadcast,
    Delivery,
    DeliverySource,
    DeliveryState,
    Event,
    Group,
    GroupMember,
    Idea,
    IdeaSupport,
    OutboxMessage,
    Resident,
    Signup,
    SignupStatus,
)
from tests.conftest import ADMIN_ID, BotHarness
from tests.support import updates
from tests.support.actors import COORDINATOR, COORDINATOR_ID, STAFF
from tests.support.clock import FixedClock
from tests.test_events_service import BERLIN, LOCALES, NOW, FakeRenderer, published, rows
from tests.test_ideas_service import FakeRenderer as IdeaFakeRenderer

WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Transaction:
    statements: list[str] = field(default_factory=list)
    outcome: str = "open"

    @property
    def writes(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith(WRITES)]


@dataclass
class SqlLog:
    """What reached the database: every statement, grouped by transaction."""

    transactions: list[Transaction] = field(default_factory=list)

    @property
    def statements(self) -> list[str]:
        return [s for t in self.transactions for s in t.statements]

    @property
    def writes(self) -> list[str]:
        return [s for t in self.transactions for s in t.writes]

    @property
    def commits(self) -> int:
        return sum(t.outcome == "COMMIT" for t in self.transactions)

    @property
    def writing(self) -> list[Transaction]:
        return [t for t in self.transactions if t.writes]


@contextmanager
def sql_log(engine: AsyncEngine) -> Iterator[SqlLog]:
    log = SqlLog()
    current: dict[int, Transaction] = {}

    def begin(connection: Connection) -> None:
        current[id(connection)] = transaction = Transaction()
        log.transactions.append(transaction)

    def end(outcome: str) -> Any:
        def listener(connection: Connection) -> None:
            transaction = current.pop(id(connection), None)
            if transaction is not None:
                transaction.outcome = outcome

        return listener

    def statement(connection: Connection, _cursor: Any, sql: str, *_args: Any) -> None:
        transaction = current.get(id(connection))
        if transaction is None:  # outside any transaction: count it on its own
            transaction = Transaction(outcome="none")
            log.transactions.append(transaction)
        transaction.statements.append(sql)

    listeners = [
        ("begin", begin),
        ("commit", end("COMMIT")),
        ("rollback", end("ROLLBACK")),
        ("before_cursor_execute", statement),
    ]
    for name, listener in listeners:
        event.listen(engine.sync_engine, name, listener)
    try:
        yield log
    finally:
        for name, listener in listeners:
            event.remove(engine.sync_engine, name, listener)


# --- the service -------------------------------------------------------------------------


@dataclass
class Outbox:
    events: EventService
    delivery: DeliveryService
    residents: ResidentService
    #: How many transactions had committed each time the delivery engine was woken.
    woken_after: list[int] = field(default_factory=list)


class BrokenRenderer(FakeRenderer):
    """Renders everything except the "still coming?" check, which comes after the reminder."""

    def still_coming(self, event: EventView, locale: str) -> dict[str, Any]:
        raise RuntimeError("the renderer broke")


class BrokenPromotionRenderer(FakeRenderer):
    def promoted(self, event: EventView, signup: SignupView, locale: str) -> dict[str, Any]:
        raise RuntimeError("the renderer broke")


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    yield engine
    async with engine.begin() as connection:
        for table in (Delivery, OutboxMessage, DeliverySource, Signup, Event, Resident):
            await connection.execute(delete(table))


def outbox(engine: AsyncEngine, renderer: Any = None) -> Outbox:
    sessions = create_session_factory(engine)
    clock = FixedClock(NOW)
    delivery = DeliveryService(sessions, clock=clock)
    events = EventService(
        sessions,
        delivery,
        renderer or FakeRenderer(),
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        clock=clock,
    )
    return Outbox(events, delivery, ResidentService(sessions, clock=clock))


def watch_wakes(box: Outbox, log: SqlLog) -> None:
    box.delivery.add_listener(lambda: box.woken_after.append(log.commits))


async def test_a_confirmed_sign_up_is_one_transaction_with_its_reminders_and_alert(
    clean_engine: AsyncEngine,
) -> None:
    box = outbox(clean_engine)
    await box.residents.register(COORDINATOR_ID, "ar")  # the organiser reads Arabic
    await box.residents.register(1, "tr")
    event = await published(box.events, capacity=4)

    with sql_log(clean_engine) as log:
        watch_wakes(box, log)
        result = await box.events.sign_up(event.id, 1, "tr", adults=2)

    assert result.signup.status == SignupStatus.CONFIRMED and result.crossed_levels == (50,)
    # One transaction, committed, that wrote the sign-up and every outbox row it causes.
    assert [t.outcome for t in log.transactions] == ["COMMIT"]
    (transaction,) = log.transactions
    inserts = " ".join(s for s in transaction.writes if s.startswith("INSERT"))
    assert "INSERT INTO signups" in inserts and "INSERT INTO deliveries" in inserts
    # The delivery engine was woken once, after that commit (never before it).
    assert box.woken_after == [1]

    reminder = await rows(clean_engine, f"event:{event.id}:reminder:")
    still = await rows(clean_engine, f"event:{event.id}:still:")
    assert [(d.chat_id, d.state) for d, _ in reminder] == [(1, DeliveryState.PENDING)]
    assert [(d.chat_id, d.state) for d, _ in still] == [(1, DeliveryState.PENDING)]
    # The organiser's fill alert waits in the outbox, in the organiser's language.
    alerts = await rows(clean_engine, f"event:{event.id}:filled:")
    assert [(d.source, d.chat_id, d.locale, p["text"]) for d, p in alerts] == [
        (f"event:{event.id}:filled:50", COORDINATOR_ID, "ar", f"{RLM}filled-50:{event.id}:ar")
    ]

    # Two levels crossed by one party: one alert, the highest, still in the one transaction;
    # both count as alerted, so 80 % never comes later.
    with sql_log(clean_engine) as log:
        more = await box.events.sign_up(event.id, 2, "de", adults=2)
    assert more.crossed_levels == (80, 100)
    assert [t.outcome for t in log.transactions] == ["COMMIT"]
    alerts = await rows(clean_engine, f"event:{event.id}:filled:")
    assert [(d.source.rsplit(":", 1)[1], d.chat_id, p["text"]) for d, p in alerts] == [
        ("50", COORDINATOR_ID, f"{RLM}filled-50:{event.id}:ar"),
        ("100", COORDINATOR_ID, f"{RLM}filled-100:{event.id}:ar"),
    ]
    await box.events.cancel_signup(event.id, 2)
    await box.events.sign_up(event.id, 3, "de", adults=2)  # 80 and 100 % again: no new alert
    alerts = await rows(clean_engine, f"event:{event.id}:filled:")
    assert [d.source.rsplit(":", 1)[1] for d, _ in alerts] == ["50", "100"]


async def test_a_failure_between_the_sign_up_and_its_reminders_leaves_nothing(
    clean_engine: AsyncEngine,
) -> None:
    box = outbox(clean_engine, BrokenRenderer())
    event = await published(box.events, capacity=4)

    with sql_log(clean_engine) as log:
        watch_wakes(box, log)
        with pytest.raises(RuntimeError):
            await box.events.sign_up(event.id, 1, "tr", adults=2)

    assert log.commits == 0 and box.woken_after == []
    assert await box.events.signup_of(event.id, 1) is None
    view = await box.events.get(COORDINATOR, event.id)
    assert view is not None and view.seats_left == 4
    assert await rows(clean_engine, f"event:{event.id}:") == []  # no reminder, no alert
    async with create_session_factory(clean_engine)() as session:
        assert list(await session.scalars(select(Signup))) == []


async def test_a_cancellation_and_the_promotion_it_causes_commit_together(
    clean_engine: AsyncEngine,
) -> None:
    box = outbox(clean_engine)
    event = await published(box.events, capacity=2)
    await box.events.sign_up(event.id, 1, "tr", adults=2)
    await box.events.sign_up(event.id, 2, "ar", adults=2, waitlist=True)

    with sql_log(clean_engine) as log:
        result = await box.events.cancel_signup(event.id, 1)
    assert [s.telegram_id for s in result.promoted] == [2]
    assert [t.outcome for t in log.transactions] == ["COMMIT"]
    reminders = {d.chat_id: d.state for d, _ in await rows(clean_engine, f"event:{event.id}:rem")}
    assert reminders == {1: DeliveryState.CANCELLED, 2: DeliveryState.PENDING}
    assert len(await rows(clean_engine, f"event:{event.id}:promoted:")) == 1

    # The same with a renderer that breaks on the promotion notice: nothing happened at all.
    broken = outbox(clean_engine, BrokenPromotionRenderer())
    await broken.events.sign_up(event.id, 3, "de", adults=1, waitlist=True)
    with pytest.raises(RuntimeError):
        await broken.events.cancel_signup(event.id, 2)
    still_in = await broken.events.signup_of(event.id, 2)
    assert still_in is not None and still_in.status == SignupStatus.CONFIRMED
    waiting = await broken.events.signup_of(event.id, 3)
    assert waiting is not None and waiting.status == SignupStatus.WAITLISTED
    reminders = {d.chat_id: d.state for d, _ in await rows(clean_engine, f"event:{event.id}:rem")}
    assert reminders[2] == DeliveryState.PENDING and 3 not in reminders


async def test_moving_and_cancelling_an_event_commit_with_their_notices(
    clean_engine: AsyncEngine,
) -> None:
    box = outbox(clean_engine)
    event = await published(box.events, capacity=2)
    await box.events.sign_up(event.id, 1, "tr", adults=1)

    assert event.starts_at is not None
    with sql_log(clean_engine) as log:
        await box.events.update(COORDINATOR, event.id, starts_at=event.starts_at + timedelta(1))
    assert [t.outcome for t in log.transactions] == ["COMMIT"]
    assert len(await rows(clean_engine, f"event:{event.id}:changed:1")) == 1

    with sql_log(clean_engine) as log:
        assert await box.events.cancel(COORDINATOR, event.id) == 1
    assert [t.outcome for t in log.transactions] == ["COMMIT"]
    assert len(await rows(clean_engine, f"event:{event.id}:cancelled")) == 1
    pending = [
        d
        for d, _ in await rows(clean_engine, f"event:{event.id}:")
        if d.kind == "reminder" and d.state == DeliveryState.PENDING
    ]
    assert pending == []


# --- through the bot ---------------------------------------------------------------------

AYSE = updates.user(1001, "Ayşe", "tr")


async def _onboard(harness: BotHarness, sender: dict[str, Any], locale: str) -> None:
    await harness.send(sender, "/start")
    await harness.tap(sender, f"lang:{locale}")
    await harness.tap(sender, f"consent:yes:{locale}")
    await harness.tap(sender, "topics:done")


async def _published_in_the_bot(harness: BotHarness, capacity: int) -> EventView:
    services = harness.application.bot_data.services
    draft = await services.events.create_draft(STAFF)
    await services.events.set_version(STAFF, draft.id, "de", title="Hoffest")
    await services.events.set_version(STAFF, draft.id, "tr", title="Avlu şenliği")
    start = services.clock() + timedelta(days=3)
    await services.events.update(
        STAFF, draft.id, starts_at=start, place_name="Innenhof", capacity=capacity
    )
    return await services.events.publish(STAFF, draft.id)


async def test_the_main_menu_and_the_event_list_only_read(harness: BotHarness) -> None:
    event = await _published_in_the_bot(harness, capacity=10)
    await _onboard(harness, AYSE, "tr")
    t = harness.application.bot_data.i18n.translator("tr")

    with sql_log(harness.engine) as log:
        await harness.tap(AYSE, "menu:home")
    assert harness.request.last_message().text == t.gettext(
        "🏠 <b>Main menu</b>\nWhat would you like to do?"
    )
    assert log.statements and log.writes == []  # the resident was loaded with a read

    with sql_log(harness.engine) as log:
        await harness.tap(AYSE, "menu:events")
    assert "Avlu şenliği" in harness.request.last_message().text
    assert f"ev:show:{event.id}" in [data for _, data in harness.request.last_message().buttons]
    assert log.statements and log.writes == []


async def test_the_first_name_is_stored_once_not_on_every_update(harness: BotHarness) -> None:
    """Loading the resident stays a read: Telegram's first name is stored while none is, and
    a changed one only with last_seen_at (every few minutes), never on each update."""
    await _onboard(harness, AYSE, "tr")
    residents = harness.application.bot_data.services.residents
    assert (await residents.get(1001)).first_name == "Ayşe"
    with sql_log(harness.engine) as log:
        await harness.tap(AYSE, "menu:home")
        await harness.tap(updates.user(1001, "Ayşe Nur", "tr"), "menu:home")
    assert log.statements and log.writes == []
    assert (await residents.get(1001)).first_name == "Ayşe"


async def test_confirm_sign_up_in_the_bot_writes_once_and_queues_the_organisers_alert(
    harness: BotHarness,
) -> None:
    services = harness.application.bot_data.services
    await services.residents.register(ADMIN_ID, "de")  # the organiser
    event = await _published_in_the_bot(harness, capacity=2)
    await _onboard(harness, AYSE, "tr")
    await harness.tap(AYSE, f"ev:chk:{event.id}:2:0:0")  # the check: stores nothing
    assert await services.events.signup_of(event.id, AYSE["id"]) is None
    harness.request.clear()

    with sql_log(harness.engine) as log:
        await harness.tap(AYSE, f"ev:ok:{event.id}:2:0:0")  # its Confirm

    signup = await services.events.signup_of(event.id, AYSE["id"])
    assert signup is not None and harness.request.last_message().text.count(signup.code) == 1
    assert len(log.writing) == 1 and log.writing[0].outcome == "COMMIT"
    # Nothing was sent to the organiser inline: the alerts wait in the outbox, in German.
    assert [c for c in harness.request.sent("sendMessage") if c.params["chat_id"] == ADMIN_ID] == []
    de = harness.application.bot_data.i18n.translator("de")
    async with create_session_factory(harness.engine)() as session:
        alerts = (
            await session.execute(
                select(Delivery.chat_id, OutboxMessage.payload)
                .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
                .where(Delivery.source.like(f"event:{event.id}:filled:%"))
                .order_by(Delivery.id)
            )
        ).all()
    # One party filled it: one alert, the highest level crossed (50 and 80 % are not sent).
    expected = [
        de.gettext("📈 {title} is {percent} % full.").format(
            title="Hoffest", percent=de.format_number(level)
        )
        for level in (100,)
    ]
    assert [(chat, payload["text"]) for chat, payload in alerts] == [
        (ADMIN_ID, text) for text in expected
    ]


# --- ideas, groups and broadcasts: the change and its notices, one commit ----------------


class IdeaCards(IdeaFakeRenderer):
    def new_idea(
        self, idea: IdeaView, author_name: str | None, locale: str, translation: Any = None
    ) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if idea.voice_file_id:
            parts.append({"method": "sendVoice", "voice": idea.voice_file_id})
        parts.append({"method": "sendMessage", "text": f"card:{idea.id}:{author_name}:{locale}"})
        return parts


class BrokenIdeaCards(IdeaCards):
    def new_idea(
        self, idea: IdeaView, author_name: str | None, locale: str, translation: Any = None
    ) -> list[dict[str, Any]]:
        raise RuntimeError("the renderer broke")


def idea_service(engine: AsyncEngine, renderer: Any) -> IdeaService:
    sessions = create_session_factory(engine)
    clock = FixedClock(NOW)
    return IdeaService(
        sessions,
        DeliveryService(sessions, clock=clock),
        renderer,
        clock=clock,
        staff=StaffAudience(frozenset({COORDINATOR_ID}), "de"),
    )


@pytest.fixture
async def ideas_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    yield engine
    async with engine.begin() as connection:
        for table in (Delivery, OutboxMessage, DeliverySource, IdeaSupport, Idea, Resident):
            await connection.execute(delete(table))


async def test_a_new_idea_and_the_coordinators_cards_commit_together(
    ideas_engine: AsyncEngine,
) -> None:
    residents = ResidentService(create_session_factory(ideas_engine), clock=FixedClock(NOW))
    await residents.register(COORDINATOR_ID, "uk")  # the coordinator reads Ukrainian
    ideas = idea_service(ideas_engine, IdeaCards())

    with sql_log(ideas_engine) as log:
        idea = await ideas.submit(
            1, "tr", text="Bir çeşme", voice_file_id="v-1", author_name="Ayşe"
        )
    assert [t.outcome for t in log.transactions] == ["COMMIT"]
    cards = await rows(ideas_engine, f"idea:{idea.id}:new:")
    assert [(d.chat_id, d.locale, p.get("text", p.get("voice"))) for d, p in cards] == [
        (COORDINATOR_ID, "uk", "v-1"),
        (COORDINATOR_ID, "uk", f"card:{idea.id}:Ayşe:uk"),
    ]

    anonymous = await ideas.submit(2, "ar", text="فكرة", anonymous=True, author_name="Layla")
    (card,) = await rows(ideas_engine, f"idea:{anonymous.id}:new:")
    assert card[1]["text"] == f"card:{anonymous.id}:None:uk"  # no name for an anonymous idea

    # The coordinators' card can't be queued: the idea isn't stored either.
    broken = idea_service(ideas_engine, BrokenIdeaCards())
    with pytest.raises(RuntimeError):
        await broken.submit(3, "de", text="Eine Bank")
    async with create_session_factory(ideas_engine)() as session:
        authors = set(await session.scalars(select(Idea.author_telegram_id)))
    assert authors == {1, 2}


async def test_an_ideas_status_and_the_authors_notice_commit_together(
    ideas_engine: AsyncEngine,
) -> None:
    ideas = idea_service(ideas_engine, IdeaCards())
    idea = await ideas.submit(1, "tr", text="Bir çeşme")
    with sql_log(ideas_engine) as log:
        await ideas.publish(COORDINATOR, idea.id)
        await ideas.set_status(COORDINATOR, idea.id, IdeaStatus.PLANNED)
    assert [t.outcome for t in log.transactions if t.writes] == ["COMMIT", "COMMIT"]
    for transaction in log.writing:
        inserts = " ".join(transaction.writes)
        assert "UPDATE ideas" in inserts and "INSERT INTO deliveries" in inserts
    told = await rows(ideas_engine, f"idea:{idea.id}:")
    assert [d.source for d, _ in told if d.chat_id == 1] == [
        f"idea:{idea.id}:published",
        f"idea:{idea.id}:status:1",
    ]


class GroupNotices:
    def invitation(self, group: GroupView, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"invite:{group.id}:{locale}"}

    def closed(self, group: GroupView, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"closed:{group.id}:{locale}"}


class BrokenGroupNotices(GroupNotices):
    def closed(self, group: GroupView, locale: str) -> dict[str, Any]:
        raise RuntimeError("the renderer broke")


async def test_closing_a_group_and_telling_its_members_commit_together(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)
    clock = FixedClock(NOW)

    def groups(renderer: Any) -> GroupService:
        delivery = DeliveryService(sessions, clock=clock)
        return GroupService(sessions, delivery, renderer, default_locale="de", clock=clock)

    try:
        broken = groups(BrokenGroupNotices())
        group = await broken.create(COORDINATOR, "project", name="Hofgarten")
        await broken.join(group.id, 1)
        with pytest.raises(RuntimeError):
            await broken.close(COORDINATOR, group.id, "Beete angelegt")
        assert (await broken.get(group.id)).status == "open"  # type: ignore[union-attr]

        with sql_log(engine) as log:
            closed = await groups(GroupNotices()).close(COORDINATOR, group.id, "Beete angelegt")
        assert closed.status == "closed"
        assert [t.outcome for t in log.transactions if t.writes] == ["COMMIT"]
        (notice,) = await rows(engine, f"group:{group.id}:closed")
        assert notice[0].chat_id == 1
    finally:
        async with engine.begin() as connection:
            for table in (Delivery, OutboxMessage, DeliverySource, GroupMember, Group):
                await connection.execute(delete(table))


async def test_starting_a_broadcast_and_queueing_it_are_one_transaction(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)
    clock = FixedClock(NOW)
    residents = ResidentService(sessions, clock=clock)
    broadcasts = BroadcastService(
        sessions,
        DeliveryService(sessions, clock=clock),
        BroadcastRenderer(I18n(LOCALES, "de", BERLIN)),
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        clock=clock,
    )
    try:
        for telegram_id, locale in [(1, "de"), (2, "tr")]:
            await residents.register(telegram_id, locale)
        draft = await broadcasts.create_draft(COORDINATOR)
        await broadcasts.set_version(COORDINATOR, draft.id, "de", text="Hoffest am Samstag")
        with sql_log(engine) as log:
            counts = await broadcasts.send_now(COORDINATOR, draft.id)
        assert counts == {"de": 1, "tr": 1}
        (started,) = log.writing
        assert started.outcome == "COMMIT"
        writes = " ".join(started.writes)
        assert "UPDATE broadcasts" in writes and "INSERT INTO deliveries" in writes

        # A scheduled one: claimed and queued together as well.
        later = await broadcasts.create_draft(COORDINATOR)
        await broadcasts.set_version(COORDINATOR, later.id, "de", text="Flohmarkt")
        await broadcasts.schedule_once(COORDINATOR, later.id, NOW + timedelta(hours=1))
        clock.now = NOW + timedelta(hours=2)
        with sql_log(engine) as log:
            assert await broadcasts.run_due() == [later.id]
        (started,) = log.writing
        writes = " ".join(started.writes)
        assert started.outcome == "COMMIT"
        assert "UPDATE broadcasts" in writes and "INSERT INTO deliveries" in writes
    finally:
        async with engine.begin() as connection:
            for table in (Delivery, OutboxMessage, DeliverySource, Broadcast, Resident):
                await connection.execute(delete(table))
