"""Ideas as a service: limits, similarity, moderation notices, anonymity, concurrent support."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bidi import RLM  # an Arabic reader's message begins right to left
from bot.services.audiences import audience_statement
from bot.services.delivery import DeliveryService
from bot.services.ideas import (
    MAX_IDEA_LENGTH,
    MAX_IDEAS_PER_DAY,
    EmptyIdea,
    IdeaNotFound,
    IdeaService,
    IdeaStatus,
    IdeaTooLong,
    IdeaView,
    InvalidChange,
    TooManyIdeas,
)
from bot.services.residents import ResidentService
from storage.db import create_session_factory
from storage.models import (
    Delivery,
    DeliverySource,
    Idea,
    IdeaSupport,
    OutboxMessage,
    Resident,
)
from tests.support.actors import COORDINATOR
from tests.support.clock import FixedClock

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
AUTHOR = 777_000_111  # a number that appears nowhere else in a view
BENCH = "Wir brauchen mehr Bänke auf dem Spielplatz in der Berliner Straße"


class FakeRenderer:
    """Payloads that say what they are, which idea, which status and which language."""

    def status_changed(self, idea: IdeaView, locale: str) -> dict[str, Any]:
        text = f"status:{idea.id}:{idea.status.value}:{idea.reason}:{locale}"
        return {"method": "sendMessage", "text": text}

    def published(self, idea: IdeaView, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"published:{idea.id}:{locale}"}

    def milestone(self, idea: IdeaView, supporters: int, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"milestone:{idea.id}:{supporters}:{locale}"}


def build(engine: AsyncEngine, clock: FixedClock | None = None) -> IdeaService:
    sessions = create_session_factory(engine)
    clock = clock or FixedClock(NOW)
    return IdeaService(
        sessions, DeliveryService(sessions, clock=clock), FakeRenderer(), clock=clock
    )


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The shared test database, emptied of this module's rows afterwards."""
    yield engine
    async with engine.begin() as connection:
        for table in (Delivery, OutboxMessage, DeliverySource, IdeaSupport, Idea, Resident):
            await connection.execute(delete(table))


async def notices(engine: AsyncEngine, idea_id: int) -> list[tuple[int, str, str]]:
    """(chat, source, text) of every outbox row about this idea, oldest first."""
    async with create_session_factory(engine)() as session:
        result = await session.execute(
            select(Delivery.chat_id, Delivery.source, OutboxMessage.payload)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.source.like(f"idea:{idea_id}:%"))
            .order_by(Delivery.id)
        )
        return [(int(chat), source, payload["text"]) for chat, source, payload in result.all()]


async def support_rows(engine: AsyncEngine, idea_id: int) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(IdeaSupport).where(IdeaSupport.idea_id == idea_id)
        )
        return int(count or 0)


async def on_board(service: IdeaService, text: str, author: int = AUTHOR, **kw: Any) -> IdeaView:
    idea = await service.submit(author, "de", text=text, **kw)
    return await service.publish(COORDINATOR, idea.id)


async def test_submit_text_voice_photo_and_bad_input(clean_engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    service = build(clean_engine, clock)
    text = await service.submit(
        1, "ar", text="  حديقة للأطفال  ", topic="children", place_text="Park", latitude=50.0
    )
    assert text.text == "حديقة للأطفال" and text.locale == "ar" and text.topic == "children"
    assert text.status == IdeaStatus.RECEIVED and not text.published and text.author_id == 1
    voice = await service.submit(2, "ar", voice_file_id="VOICE")
    assert voice.voice_file_id == "VOICE" and voice.text is None
    photo = await service.submit(2, "tr", photo_file_id="PHOTO", text="Caption")
    assert photo.photo_file_id == "PHOTO" and photo.text == "Caption"

    with pytest.raises(EmptyIdea):
        await service.submit(3, "de")
    with pytest.raises(EmptyIdea):
        await service.submit(3, "de", text=" \n\t ")
    with pytest.raises(EmptyIdea):
        await service.check_limits(3, "   ")
    with pytest.raises(IdeaTooLong) as too_long:
        await service.submit(3, "de", text="x" * 10_000)
    assert too_long.value.limit == MAX_IDEA_LENGTH
    with pytest.raises(IdeaTooLong):
        await service.check_limits(3, "x" * 10_000)
    await service.check_limits(3, "x" * MAX_IDEA_LENGTH)
    await service.check_limits(3, None)  # a voice idea: only the daily limit applies

    for n in range(MAX_IDEAS_PER_DAY - 1):
        await service.submit(1, "ar", text=f"Idee {n}")
    with pytest.raises(TooManyIdeas) as too_many:
        await service.submit(1, "ar", text="Noch eine")
    assert too_many.value.limit == MAX_IDEAS_PER_DAY
    with pytest.raises(TooManyIdeas):
        await service.check_limits(1, "Noch eine")
    clock.now = NOW + timedelta(hours=24, seconds=1)  # a rolling day later
    await service.check_limits(1, "Noch eine")
    assert (
        len(await service.inbox(COORDINATOR)) == 3 + MAX_IDEAS_PER_DAY - 1
    )  # nothing bad was saved


async def test_similar_finds_a_near_duplicate_not_an_unrelated_idea(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    bench = await on_board(service, BENCH)
    course = await on_board(service, "Ein Deutschkurs für Mütter am Vormittag", author=2)
    await service.submit(3, "de", text="Mehr Bänke am Spielplatz")  # not published: not shown
    found = await service.similar("Mehr Bänke am Spielplatz Berliner Straße bitte")
    assert [v.id for v in found] == [bench.id]
    assert await service.similar("Straßenfest im Sommer mit Musik") == []
    assert [v.id for v in await service.similar("Deutschkurs für Mütter")] == [course.id]
    await service.set_status(COORDINATOR, bench.id, IdeaStatus.DONE)  # closed ideas aren't offered
    assert await service.similar("Mehr Bänke am Spielplatz Berliner Straße") == []
    assert await service.similar("   ") == []


async def test_publish_and_status_changes_tell_the_author_in_their_language(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    idea = await service.submit(AUTHOR, "ar", voice_file_id="VOICE")
    published = await service.publish(COORDINATOR, idea.id)
    assert published.published and published.status == IdeaStatus.UNDER_REVIEW
    with pytest.raises(InvalidChange):
        await service.publish(COORDINATOR, idea.id)  # a second tap
    planned = await service.set_status(COORDINATOR, idea.id, IdeaStatus.PLANNED)
    assert planned.status == IdeaStatus.PLANNED
    with pytest.raises(InvalidChange):
        await service.set_status(COORDINATOR, idea.id, IdeaStatus.PLANNED)  # the same status again
    with pytest.raises(InvalidChange):
        await service.set_status(COORDINATOR, idea.id, IdeaStatus.NOT_POSSIBLE)  # no reason
    with pytest.raises(InvalidChange):
        await service.set_status(COORDINATOR, idea.id, IdeaStatus.REJECTED, reason="because")
    with pytest.raises(InvalidChange):
        await service.set_status(COORDINATOR, idea.id, IdeaStatus.MERGED)
    with pytest.raises(IdeaNotFound):
        await service.set_status(COORDINATOR, 999_999, IdeaStatus.PLANNED)
    rejected = await service.set_status(
        COORDINATOR, idea.id, IdeaStatus.REJECTED, reason="not_our_area"
    )
    assert rejected.reason == "not_our_area" and not rejected.published
    reopened = await service.set_status(COORDINATOR, idea.id, IdeaStatus.UNDER_REVIEW)
    assert reopened.reason is None

    assert await notices(clean_engine, idea.id) == [
        (AUTHOR, f"idea:{idea.id}:published", f"{RLM}published:{idea.id}:ar"),
        (AUTHOR, f"idea:{idea.id}:status:1", f"{RLM}status:{idea.id}:planned:None:ar"),
        (AUTHOR, f"idea:{idea.id}:status:2", f"{RLM}status:{idea.id}:rejected:not_our_area:ar"),
        (AUTHOR, f"idea:{idea.id}:status:3", f"{RLM}status:{idea.id}:under_review:None:ar"),
    ]
    # A resident who switched to another language is told in that one.
    residents = ResidentService(
        create_session_factory(clean_engine),
        admin_ids=frozenset(),
        topics=(),
        clock=FixedClock(NOW),
    )
    await residents.register(AUTHOR, "uk")
    assert await service.author_locale(idea.id) == "uk"
    await service.set_status(COORDINATOR, idea.id, IdeaStatus.IN_PROGRESS)
    assert (await notices(clean_engine, idea.id))[-1][2] == f"status:{idea.id}:in_progress:None:uk"


async def test_an_anonymous_author_is_invisible_yet_told(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine)
    idea = await service.submit(AUTHOR, "ar", text=BENCH, anonymous=True, topic="children")
    other = await service.submit(2, "de", text="Ein Deutschkurs für Mütter")
    seen: list[Any] = [
        idea,
        await service.get(COORDINATOR, idea.id),
        await service.inbox(COORDINATOR),
    ]
    seen.append(await service.publish(COORDINATOR, idea.id))
    seen.append(await service.board())
    seen.append(await service.board(topic="children", order="newest"))
    seen.append(await service.similar("Mehr Bänke am Spielplatz Berliner Straße"))
    seen.append(await service.set_status(COORDINATOR, idea.id, IdeaStatus.PLANNED))
    seen.append(await service.merge(COORDINATOR, other.id, idea.id))
    seen.append(await service.author_locale(idea.id))
    second = await service.submit(AUTHOR, "ar", text="Noch eine Idee", anonymous=True)
    seen.append(await service.merge(COORDINATOR, second.id, idea.id))
    seen.append(await service.get(COORDINATOR, idea.id))

    views = [v for v in seen if isinstance(v, IdeaView)]
    views += [v for group in seen if isinstance(group, list) for v in group]
    views += [v for group in seen if isinstance(group, tuple) for v in group[0]]
    mine = [v for v in views if v.id in (idea.id, second.id)]
    assert len(mine) >= 8 and all(v.author_id is None and v.anonymous for v in mine)
    assert str(AUTHOR) not in repr(seen)
    assert seen[-3] == "ar"  # the coordinator answers in Arabic without knowing who asked

    chats = {chat for chat, _, _ in await notices(clean_engine, idea.id)}
    chats |= {chat for chat, _, _ in await notices(clean_engine, second.id)}
    assert chats == {AUTHOR}
    texts = [text for _, _, text in await notices(clean_engine, idea.id)]
    assert texts == [f"{RLM}published:{idea.id}:ar", f"{RLM}status:{idea.id}:planned:None:ar"]


async def test_one_resident_tapping_thirty_times_at_once_counts_at_most_once(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    idea = await on_board(service, BENCH)
    results = await asyncio.gather(*(service.toggle_support(idea.id, 42) for _ in range(30)))
    rows = await support_rows(clean_engine, idea.id)
    assert rows in (0, 1)
    assert all(count in (0, 1) for _, count in results)
    assert await service.supports(idea.id, 42) == (rows == 1)
    view = await service.get(COORDINATOR, idea.id)
    assert view is not None and view.supporters == rows


async def test_twenty_residents_at_once_count_twenty_and_ten_is_announced_once(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    idea = await on_board(service, BENCH)
    results = await asyncio.gather(*(service.toggle_support(idea.id, 100 + n) for n in range(20)))
    assert all(supporting for supporting, _ in results)
    assert max(count for _, count in results) == 20
    assert await support_rows(clean_engine, idea.id) == 20
    view = await service.get(COORDINATOR, idea.id)
    assert view is not None and view.supporters == 20
    milestones = [n for n in await notices(clean_engine, idea.id) if ":milestone:" in n[1]]
    assert milestones == [(AUTHOR, f"idea:{idea.id}:milestone:10", f"milestone:{idea.id}:10:de")]


async def test_milestone_at_ten_exactly_once_and_support_rules(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine)
    idea = await on_board(service, BENCH)
    for n in range(9):
        assert await service.toggle_support(idea.id, 100 + n) == (True, n + 1)
    assert [n for n in await notices(clean_engine, idea.id) if ":milestone:" in n[1]] == []
    assert await service.toggle_support(idea.id, 200) == (True, 10)
    assert await service.toggle_support(idea.id, 200) == (False, 9)
    assert await service.toggle_support(idea.id, 200) == (True, 10)  # crossing again
    assert await service.toggle_support(idea.id, 201) == (True, 11)
    milestones = [n for n in await notices(clean_engine, idea.id) if ":milestone:" in n[1]]
    assert milestones == [(AUTHOR, f"idea:{idea.id}:milestone:10", f"milestone:{idea.id}:10:de")]

    with pytest.raises(InvalidChange):
        await service.toggle_support(idea.id, AUTHOR)  # one's own idea
    unpublished = await service.submit(3, "de", text="Noch nicht freigegeben")
    with pytest.raises(IdeaNotFound):
        await service.toggle_support(unpublished.id, 42)
    with pytest.raises(IdeaNotFound):
        await service.toggle_support(999_999, 42)
    await service.set_status(COORDINATOR, idea.id, IdeaStatus.DONE)
    with pytest.raises(InvalidChange):
        await service.toggle_support(idea.id, 300)  # closed: no new support...
    assert await service.toggle_support(idea.id, 201) == (False, 10)  # ...but one may withdraw
    await service.set_status(COORDINATOR, idea.id, IdeaStatus.REJECTED, reason="other")
    with pytest.raises(IdeaNotFound):
        await service.toggle_support(idea.id, 200)


async def test_board_orders_and_pages(clean_engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    service = build(clean_engine, clock)
    first = await on_board(service, "Erste Idee", author=1, topic="children")
    clock.now += timedelta(minutes=1)
    second = await on_board(service, "Zweite Idee", author=2, topic="seniors")
    clock.now += timedelta(minutes=1)
    third = await on_board(service, "Dritte Idee", author=3, topic="children")
    await service.submit(4, "de", text="Nicht freigegeben")
    await service.toggle_support(first.id, 50)
    await service.toggle_support(first.id, 51)
    await service.toggle_support(second.id, 50)
    page, total = await service.board()
    assert [v.id for v in page] == [first.id, second.id, third.id] and total == 3
    assert [v.supporters for v in page] == [2, 1, 0]
    page, total = await service.board(order="newest", offset=1, limit=1)
    assert [v.id for v in page] == [second.id] and total == 3
    page, total = await service.board(topic="children", order="newest")
    assert [v.id for v in page] == [third.id, first.id] and total == 2
    await service.set_status(COORDINATOR, third.id, IdeaStatus.REJECTED, reason="duplicate")
    assert (await service.board(topic="children"))[1] == 1
    inbox = await service.inbox(COORDINATOR, statuses=[IdeaStatus.RECEIVED])
    assert [v.text for v in inbox] == ["Nicht freigegeben"]


async def test_merge_moves_supporters_and_tells_the_author(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine)
    main = await on_board(service, BENCH, author=1)
    duplicate = await on_board(service, "Bänke am Spielplatz", author=2)
    for resident in (10, 11, 12):
        await service.toggle_support(main.id, resident)
    for resident in (12, 13, 1):  # 12 supports both; 1 is the main idea's author
        await service.toggle_support(duplicate.id, resident)
    with pytest.raises(InvalidChange):
        await service.merge(COORDINATOR, main.id, main.id)
    with pytest.raises(IdeaNotFound):
        await service.merge(COORDINATOR, duplicate.id, 999_999)
    merged = await service.merge(COORDINATOR, duplicate.id, main.id)
    assert merged.status == IdeaStatus.MERGED and merged.merged_into_id == main.id
    assert merged.supporters == 0 and not merged.published
    target = await service.get(COORDINATOR, main.id)
    assert target is not None and target.supporters == 4  # 10, 11, 12, 13
    assert await service.supports(main.id, 13) and not await service.supports(main.id, 1)
    assert await notices(clean_engine, duplicate.id) == [
        (2, f"idea:{duplicate.id}:published", f"published:{duplicate.id}:de"),
        (2, f"idea:{duplicate.id}:status:1", f"status:{duplicate.id}:merged:duplicate:de"),
    ]
    with pytest.raises(InvalidChange):
        await service.merge(COORDINATOR, duplicate.id, main.id)  # already merged
    with pytest.raises(InvalidChange):
        await service.merge(COORDINATOR, main.id, duplicate.id)  # into a merged idea
    with pytest.raises(InvalidChange):
        await service.set_status(COORDINATOR, duplicate.id, IdeaStatus.PLANNED)
    assert [v.id for v in (await service.board())[0]] == [main.id]


async def test_supporters_are_a_broadcast_audience(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine)
    residents = ResidentService(
        create_session_factory(clean_engine),
        admin_ids=frozenset(),
        topics=(),
        clock=FixedClock(NOW),
    )
    for resident in (10, 11, 12):
        await residents.register(resident, "tr")
    idea = await on_board(service, BENCH)
    await service.toggle_support(idea.id, 10)
    await service.toggle_support(idea.id, 12)
    async with clean_engine.connect() as connection:
        for value in (idea.id, [idea.id], [str(idea.id)]):
            statement = audience_statement(
                [Resident.telegram_id], {"idea_supporters": value}, "broadcast"
            )
            assert sorted((await connection.scalars(statement)).all()) == [10, 12]


async def test_forget_author(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine)
    idea = await on_board(service, BENCH, author=AUTHOR)
    other = await on_board(service, "Ein Deutschkurs für Mütter", author=2)
    await service.toggle_support(other.id, AUTHOR)
    await service.toggle_support(idea.id, 5)
    await service.forget_author(AUTHOR)
    view = await service.get(COORDINATOR, idea.id)
    assert view is not None and view.author_id is None and view.anonymous
    assert view.supporters == 1  # other residents' support stays
    assert not await service.supports(other.id, AUTHOR)
    before = await notices(clean_engine, idea.id)
    await service.set_status(COORDINATOR, idea.id, IdeaStatus.PLANNED)  # nobody left to tell
    assert await notices(clean_engine, idea.id) == before
    assert await service.author_locale(idea.id) == "de"
    async with clean_engine.connect() as connection:
        left = await connection.scalar(
            select(func.count()).select_from(Idea).where(Idea.author_telegram_id == AUTHOR)
        )
    assert left == 0
