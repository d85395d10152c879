"""Broadcasts as a service: audiences, quiet hours, schedules claimed once, weekly digests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import I18n
from bot.rendering import BroadcastRenderer
from bot.services.broadcasts import (
    BroadcastService,
    NotEditable,
    NothingToSend,
    TextTooLong,
    WeeklyRule,
)
from bot.services.delivery import DeliveryService
from bot.services.permissions import NotAllowed
from bot.services.residents import ResidentService
from storage.db import create_session_factory
from storage.models import Delivery, DeliveryState, ResidentStatus
from tests.support.actors import COORDINATOR, lead, resident
from tests.support.clock import FixedClock

BERLIN = ZoneInfo("Europe/Berlin")
LOCALES = ("de", "tr", "ar", "uk", "el", "ro", "pl", "it", "fa", "ku", "ru", "en")


def build(
    engine: AsyncEngine, clock: FixedClock, digest: Any = None
) -> tuple[BroadcastService, ResidentService]:
    sessions = create_session_factory(engine)
    residents = ResidentService(sessions, topics=("children", "seniors"), clock=clock)
    renderer = BroadcastRenderer(I18n(LOCALES, "de", BERLIN))
    kwargs: dict[str, Any] = {"digest_source": digest} if digest else {}
    service = BroadcastService(
        sessions,
        DeliveryService(sessions, clock=clock),
        renderer,
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        clock=clock,
        **kwargs,
    )
    return service, residents


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The shared test database, emptied of this module's rows afterwards."""
    yield engine
    from sqlalchemy import delete

    from storage.models import Broadcast, OutboxMessage, Resident

    async with engine.begin() as connection:
        for table in (Delivery, OutboxMessage, Broadcast, Resident):
            await connection.execute(delete(table))


async def deliveries(engine: AsyncEngine, source: str) -> list[Delivery]:
    async with create_session_factory(engine)() as session:
        return list(await session.scalars(select(Delivery).where(Delivery.source == source)))


async def neighbourhood(residents: ResidentService) -> None:
    for telegram_id, locale in [(1, "de"), (2, "tr"), (3, "tr"), (4, "ar"), (5, "uk")]:
        await residents.register(telegram_id, locale)
    await residents.toggle_topic(2, "children")
    await residents.toggle_topic(4, "children")
    await residents.set_broadcast_opt_in(5, False)  # said /stop
    await residents.register(6, "de")
    await residents.set_status(6, ResidentStatus.BLOCKED)


async def test_audience_counts_per_language_and_combined_filters(clean_engine: AsyncEngine) -> None:
    service, residents = build(clean_engine, FixedClock(datetime(2026, 11, 26, 12, tzinfo=UTC)))
    await neighbourhood(residents)
    assert await service.recipient_counts({}) == {"de": 1, "tr": 2, "ar": 1}
    assert await service.recipient_counts({"locales": ["tr", "ar"]}) == {"tr": 2, "ar": 1}
    assert await service.recipient_counts({"topics": ["children"]}) == {"tr": 1, "ar": 1}
    assert await service.recipient_counts({"locales": ["tr"], "topics": ["children"]}) == {"tr": 1}


async def test_send_now_renders_each_language_with_fallback_and_quiet_hours(
    clean_engine: AsyncEngine,
) -> None:
    clock = FixedClock(datetime(2026, 11, 26, 21, 30, tzinfo=BERLIN).astimezone(UTC))  # quiet time
    service, residents = build(clean_engine, clock)
    await neighbourhood(residents)
    await residents.set_quiet_hours(1, 0, 0)  # resident 1 has none
    draft = await service.create_draft(COORDINATOR)
    with pytest.raises(NothingToSend):
        await service.send_now(COORDINATOR, draft.id)
    await service.set_version(COORDINATOR, draft.id, "de", text="Hallo <b>Nachbarn</b>")
    await service.set_version(COORDINATOR, draft.id, "tr", text="Merhaba komşular")
    counts = await service.send_now(COORDINATOR, draft.id)
    assert counts == {"de": 1, "tr": 2, "ar": 1}
    with pytest.raises(NotEditable):  # a double tap on "send" changes nothing
        await service.send_now(COORDINATOR, draft.id)

    rows = {row.chat_id: row for row in await deliveries(clean_engine, f"broadcast:{draft.id}")}
    assert set(rows) == {1, 2, 3, 4}
    morning = datetime(2026, 11, 27, 8, 0, tzinfo=BERLIN)
    assert rows[2].not_before == morning and rows[4].not_before == morning
    assert rows[1].not_before <= clock.now  # no quiet hours: right away
    view = await service.get(COORDINATOR, draft.id)
    tr_payload = service.render(view, "tr")
    ar_payload = service.render(view, "ar")
    assert tr_payload["text"].startswith("Merhaba komşular")
    assert ar_payload["text"].startswith("Hallo <b>Nachbarn</b>")  # default language
    assert "/stop" in ar_payload["text"] and ar_payload["text"] != tr_payload["text"]


async def test_urgent_ignores_quiet_hours(clean_engine: AsyncEngine) -> None:
    clock = FixedClock(datetime(2026, 11, 26, 23, 0, tzinfo=BERLIN).astimezone(UTC))
    service, residents = build(clean_engine, clock)
    await neighbourhood(residents)
    draft = await service.create_draft(COORDINATOR)
    await service.set_version(COORDINATOR, draft.id, "de", text="Wasserrohrbruch!")
    await service.set_urgent(COORDINATOR, draft.id, True)
    await service.send_now(COORDINATOR, draft.id)
    rows = await deliveries(clean_engine, f"broadcast:{draft.id}")
    assert rows and all(row.not_before <= clock.now for row in rows)


async def test_caption_limit_with_a_photo(clean_engine: AsyncEngine) -> None:
    service, _ = build(clean_engine, FixedClock(datetime(2026, 11, 26, 12, tzinfo=UTC)))
    draft = await service.create_draft(COORDINATOR)
    await service.set_version(COORDINATOR, draft.id, "de", text="x" * 2000)
    with pytest.raises(TextTooLong):
        await service.set_photo(COORDINATOR, draft.id, "photo-file-id")
    with pytest.raises(TextTooLong):
        await service.set_version(COORDINATOR, draft.id, "de", text="x" * 4000)


async def test_a_scheduled_broadcast_goes_out_once_after_a_restart(
    clean_engine: AsyncEngine,
) -> None:
    at = datetime(2026, 11, 28, 10, 0, tzinfo=BERLIN)
    clock = FixedClock(datetime(2026, 11, 26, 12, tzinfo=UTC))
    service, residents = build(clean_engine, clock)
    await neighbourhood(residents)
    draft = await service.create_draft(COORDINATOR)
    await service.set_version(COORDINATOR, draft.id, "de", text="Flohmarkt am Samstag")
    await service.schedule_once(COORDINATOR, draft.id, at)

    clock.now = at - timedelta(minutes=1)
    assert await service.run_due() == []
    # "Restart": new service objects on the same database, two processes looking at once.
    clock.now = at + timedelta(seconds=5)
    first, _ = build(clean_engine, clock)
    second, _ = build(clean_engine, clock)
    started = await asyncio.gather(first.run_due(), second.run_due())
    assert sorted(started[0] + started[1]) == [draft.id]
    assert len(await deliveries(clean_engine, f"broadcast:{draft.id}")) == 4
    assert await first.run_due() == []


async def test_weekly_repeat_across_daylight_saving(clean_engine: AsyncEngine) -> None:
    clock = FixedClock(datetime(2027, 3, 22, 9, 0, tzinfo=BERLIN).astimezone(UTC))
    service, residents = build(clean_engine, clock)
    await neighbourhood(residents)
    draft = await service.create_draft(COORDINATOR)
    await service.set_version(COORDINATOR, draft.id, "de", text="Sprechstunde heute")
    template = await service.schedule_weekly(COORDINATOR, draft.id, WeeklyRule("mon", 10, 0))
    assert template.send_at == datetime(2027, 3, 22, 10, 0, tzinfo=BERLIN)

    clock.now = datetime(2027, 3, 22, 10, 0, 5, tzinfo=BERLIN).astimezone(UTC)
    other, _ = build(clean_engine, clock)
    runs = await asyncio.gather(service.run_due(), other.run_due())
    occurrences = runs[0] + runs[1]
    assert len(occurrences) == 1  # claimed by exactly one
    template = await service.get(COORDINATOR, draft.id)
    assert template.send_at == datetime(2027, 3, 29, 10, 0, tzinfo=BERLIN)  # CEST now
    assert template.send_at.astimezone(UTC).hour == 8

    clock.now = datetime(2027, 3, 29, 10, 0, 5, tzinfo=BERLIN).astimezone(UTC)
    second_week = await service.run_due()
    assert len(second_week) == 1 and second_week != occurrences
    rows = await deliveries(clean_engine, f"broadcast:{second_week[0]}")
    assert len(rows) == 4 and {row.state for row in rows} == {DeliveryState.PENDING}


async def test_weekly_digest_is_skipped_when_there_is_nothing_to_say(
    clean_engine: AsyncEngine,
) -> None:
    calls: list[str] = []

    async def quiet_week(locale: str, start: datetime, end: datetime) -> str | None:
        calls.append(locale)
        return None

    clock = FixedClock(datetime(2026, 11, 30, 8, 0, tzinfo=BERLIN).astimezone(UTC))
    service, residents = build(clean_engine, clock, digest=quiet_week)
    await neighbourhood(residents)
    digest = await service.ensure_weekly_digest(WeeklyRule("mon", 9, 0))
    assert digest is not None and digest.send_at == datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    assert (await service.ensure_weekly_digest(WeeklyRule("mon", 9, 0))).id == digest.id  # once
    clock.now = datetime(2026, 11, 30, 9, 0, 1, tzinfo=BERLIN).astimezone(UTC)
    assert await service.run_due() == []
    assert "de" in calls


async def test_weekly_digest_reaches_only_residents_who_asked(clean_engine: AsyncEngine) -> None:
    async def busy_week(locale: str, start: datetime, end: datetime) -> str | None:
        return {"de": "Diese Woche: Flohmarkt", "tr": "Bu hafta: bit pazarı"}.get(locale)

    clock = FixedClock(datetime(2026, 11, 30, 8, 0, tzinfo=BERLIN).astimezone(UTC))
    service, residents = build(clean_engine, clock, digest=busy_week)
    await neighbourhood(residents)
    await residents.set_digest_opt_in(2, True)
    await residents.set_digest_opt_in(4, True)
    await service.ensure_weekly_digest(WeeklyRule("mon", 9, 0))
    clock.now = datetime(2026, 11, 30, 9, 0, 1, tzinfo=BERLIN).astimezone(UTC)
    [occurrence] = await service.run_due()
    rows = {row.chat_id: row for row in await deliveries(clean_engine, f"broadcast:{occurrence}")}
    assert set(rows) == {2, 4}
    view = await service.get(COORDINATOR, occurrence)
    assert service.render(view, "tr")["text"].startswith("Bu hafta")
    assert service.render(view, "ar")["text"].startswith("Diese Woche")  # default language
    assert "/settings" in service.render(view, "ar")["text"]


async def test_cancel_stops_a_running_broadcast_at_once(clean_engine: AsyncEngine) -> None:
    clock = FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    service, residents = build(clean_engine, clock)
    await neighbourhood(residents)
    draft = await service.create_draft(COORDINATOR)
    await service.set_version(COORDINATOR, draft.id, "de", text="Test")
    await service.send_now(COORDINATOR, draft.id)
    assert await service.cancel(COORDINATOR, draft.id) == 4
    rows = await deliveries(clean_engine, f"broadcast:{draft.id}")
    assert {row.state for row in rows} == {DeliveryState.CANCELLED}


# --- who may compose to whom (the rules in bot/services/permissions.py) -------------------

GROUP, OTHER_GROUP, LEAD_ID = 41, 42, 700


async def test_a_lead_writes_only_to_their_own_group(clean_engine: AsyncEngine) -> None:
    service, _ = build(clean_engine, FixedClock(datetime(2026, 11, 26, 12, tzinfo=UTC)))
    the_lead = lead(LEAD_ID, GROUP)
    for audience in ({}, {"locales": ["tr"]}, {"group_members": [OTHER_GROUP]}, None):
        with pytest.raises(NotAllowed):
            await service.create_draft(the_lead, audience)
    with pytest.raises(NotAllowed):
        await service.create_draft(resident(701), {"group_members": [GROUP]})
    draft = await service.create_draft(the_lead, {"group_members": [GROUP]})
    narrowed = await service.toggle_audience(the_lead, draft.id, "locales", "tr")
    assert narrowed.audience == {"group_members": [GROUP], "locales": ["tr"]}
    with pytest.raises(NotAllowed):  # "Everyone" is refused, and the audience stays as it was
        await service.clear_audience(the_lead, draft.id)
    assert (await service.get(the_lead, draft.id)).audience == narrowed.audience  # type: ignore[union-attr]
    # Someone else's draft: neither visible nor editable, for a resident or another lead.
    for stranger in (resident(701), lead(702, GROUP)):
        with pytest.raises(NotAllowed):
            await service.get(stranger, draft.id)
        with pytest.raises(NotAllowed):
            await service.set_version(stranger, draft.id, "de", text="Hallo")
        with pytest.raises(NotAllowed):
            await service.send_now(stranger, draft.id)
        with pytest.raises(NotAllowed):
            await service.discard(stranger, draft.id)
    # A coordinator handles everyone's drafts.
    assert (await service.get(COORDINATOR, draft.id)) is not None


async def test_everyone_and_send_tapped_together_never_reach_everyone(
    clean_engine: AsyncEngine,
) -> None:
    """The hole: a lead taps "Everyone" and "Send" at once; the text went to every resident."""
    service, residents = build(clean_engine, FixedClock(datetime(2026, 11, 26, 12, tzinfo=UTC)))
    await neighbourhood(residents)
    the_lead = lead(LEAD_ID, GROUP)
    for _attempt in range(7):
        draft = await service.create_draft(the_lead, {"group_members": [GROUP]})
        await service.set_version(the_lead, draft.id, "de", text="Nur für die Gruppe")
        results = await asyncio.gather(
            service.clear_audience(the_lead, draft.id),
            service.send_now(the_lead, draft.id),
            return_exceptions=True,
        )
        assert not any(
            isinstance(r, BaseException) and not isinstance(r, NotAllowed | NotEditable)
            for r in results
        ), results
        assert await deliveries(clean_engine, f"broadcast:{draft.id}") == []  # no member: nobody
        stored = await service.get(COORDINATOR, draft.id)
        assert stored is not None and stored.audience == {"group_members": [GROUP]}
