"""Events as a service: seats with companions, waiting lists, reminders in the outbox, races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bidi import RLM  # an Arabic reader's message begins right to left
from bot.services.audiences import StaffAudience
from bot.services.delivery import DeliveryService, Recipient
from bot.services.events import (
    AlreadySignedUp,
    EventFull,
    EventNotFound,
    EventService,
    EventView,
    InvalidParty,
    InvalidTime,
    InvalidValue,
    MissingTitle,
    NotEditable,
    SignupClosed,
    SignupView,
    TextTooLong,
)
from bot.services.permissions import ANONYMOUS, NotAllowed
from bot.services.residents import ResidentService
from storage.db import create_session_factory
from storage.models import (
    Delivery,
    DeliverySource,
    DeliveryState,
    Event,
    EventStatus,
    OutboxMessage,
    Resident,
    Signup,
    SignupStatus,
)
from tests.support.actors import ADMIN, COORDINATOR, COORDINATOR_ID, lead, partner, resident
from tests.support.clock import FixedClock

BERLIN = ZoneInfo("Europe/Berlin")
LOCALES = ("de", "tr", "ar", "uk", "en")
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday
START = datetime(2026, 11, 29, 18, 0, tzinfo=BERLIN)  # Sunday evening


class FakeRenderer:
    """Payloads that say what they are, for whom and in which language."""

    def _payload(self, kind: str, event: EventView, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"{kind}:{event.id}:{locale}"}

    def reminder(self, event: EventView, locale: str) -> dict[str, Any]:
        return self._payload("reminder", event, locale)

    def still_coming(self, event: EventView, locale: str) -> dict[str, Any]:
        return self._payload("still", event, locale)

    def promoted(self, event: EventView, signup: SignupView, locale: str) -> dict[str, Any]:
        return self._payload(f"promoted-{signup.code}", event, locale)

    def changed(
        self, event: EventView, locale: str, changes: Sequence[str] = ("time", "place")
    ) -> dict[str, Any]:
        return self._payload("changed", event, locale)

    def cancelled(self, event: EventView, locale: str) -> dict[str, Any]:
        return self._payload("cancelled", event, locale)

    def announcement(self, event: EventView, locale: str) -> dict[str, Any]:
        return self._payload("announcement", event, locale)

    def fill_alert(self, event: EventView, percent: int, locale: str) -> dict[str, Any]:
        return self._payload(f"filled-{percent}", event, locale)

    def proposal(self, event: EventView, locale: str) -> dict[str, Any]:
        return self._payload("proposal", event, locale)

    def decision(self, event: EventView, approved: bool, locale: str) -> dict[str, Any]:
        return self._payload("approved" if approved else "rejected", event, locale)


def build(
    engine: AsyncEngine, clock: FixedClock, staff: StaffAudience | None = None
) -> EventService:
    sessions = create_session_factory(engine)
    return EventService(
        sessions,
        DeliveryService(sessions, clock=clock),
        FakeRenderer(),
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        clock=clock,
        staff=staff,
    )


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The shared test database, emptied of this module's rows afterwards."""
    yield engine
    async with engine.begin() as connection:
        for table in (Delivery, OutboxMessage, DeliverySource, Signup, Event, Resident):
            await connection.execute(delete(table))


async def published(
    service: EventService, *, capacity: int = 0, starts_at: datetime = START, **fields: Any
) -> EventView:
    draft = await service.create_draft(COORDINATOR)
    await service.set_version(
        COORDINATOR, draft.id, "de", title="Nachbarschaftsfest", description="Mit Kuchen"
    )
    await service.set_version(COORDINATOR, draft.id, "ar", title="مهرجان الحي")
    await service.update(
        COORDINATOR,
        draft.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        place_name="Stadtteiltreff",
        capacity=capacity,
        **fields,
    )
    return await service.publish(COORDINATOR, draft.id)


async def rows(engine: AsyncEngine, source_prefix: str) -> list[tuple[Delivery, dict[str, Any]]]:
    async with create_session_factory(engine)() as session:
        result = await session.execute(
            select(Delivery, OutboxMessage.payload)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.source.like(f"{source_prefix}%"))
            .order_by(Delivery.id)
        )
        return [(delivery, payload) for delivery, payload in result.all()]


async def test_companions_count_waiting_list_and_fifo_promotion_in_the_residents_language(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine, FixedClock(NOW))
    event = await published(service, capacity=5)

    first = await service.sign_up(event.id, 1, "tr", adults=1, children=2, childcare=True)
    assert first.signup.status == SignupStatus.CONFIRMED and first.signup.party == 3
    assert first.crossed_levels == (50,)
    assert len(first.signup.code) == 6 and not set(first.signup.code) & set("0O1IL")
    view = await service.get(COORDINATOR, event.id)
    assert view is not None and view.seats_taken == 3 and view.seats_left == 2

    with pytest.raises(EventFull) as full:  # a party of three doesn't fit: offer the list
        await service.sign_up(event.id, 2, "ar", adults=2, children=1)
    assert full.value.seats_left == 2
    second = await service.sign_up(event.id, 2, "ar", adults=2, children=1, waitlist=True)
    assert second.signup.status == SignupStatus.WAITLISTED and second.crossed_levels == ()

    # Asking for the waiting list while the party fits confirms instead.
    third = await service.sign_up(event.id, 3, "de", adults=2, waitlist=True)
    assert third.signup.status == SignupStatus.CONFIRMED
    assert third.crossed_levels == (80, 100)  # each level reported once
    fourth = await service.sign_up(event.id, 4, "uk", adults=1, waitlist=True)
    assert fourth.signup.status == SignupStatus.WAITLISTED

    result = await service.cancel_signup(event.id, 1)
    assert result.cancelled.status == SignupStatus.CANCELLED
    # Three seats freed: the Arabic party of three moves up; the next one doesn't fit any more.
    assert [s.telegram_id for s in result.promoted] == [2]
    view = await service.get(COORDINATOR, event.id)
    assert view is not None and view.seats_taken == 5 and view.waitlisted == 1

    notices = await rows(clean_engine, f"event:{event.id}:promoted:")
    assert len(notices) == 1
    delivery, payload = notices[0]
    assert delivery.source == f"event:{event.id}:promoted:{second.signup.id}:1"
    assert delivery.chat_id == 2 and delivery.locale == "ar"
    assert payload["text"] == f"{RLM}promoted-{second.signup.code}:{event.id}:ar"
    # The promoted resident now has reminders; the one who cancelled has none left pending.
    reminders = await rows(clean_engine, f"event:{event.id}:reminder:")
    states = {d.chat_id: d.state for d, _ in reminders}
    assert states[2] == DeliveryState.PENDING and states[3] == DeliveryState.PENDING
    assert states[1] == DeliveryState.CANCELLED and 4 not in states

    summary = await service.attendees(COORDINATOR, event.id)
    assert (summary.adults, summary.children) == (4, 1)
    assert [s.telegram_id for s in summary.waitlisted] == [4]

    # Cancelled residents may sign up again (the row is reused, at the back of the queue).
    again = await service.sign_up(event.id, 1, "tr", adults=1, waitlist=True)
    assert again.signup.id == first.signup.id and again.signup.status == SignupStatus.WAITLISTED
    # Raising the capacity moves the waiting list up at once, first come first served.
    await service.update(COORDINATOR, event.id, capacity=7)
    summary = await service.attendees(COORDINATOR, event.id)
    assert sorted(s.telegram_id for s in summary.confirmed) == [1, 2, 3, 4]
    assert summary.waitlisted == ()


async def test_fifo_stops_at_the_first_party_that_does_not_fit(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine, FixedClock(NOW))
    event = await published(service, capacity=2)
    await service.sign_up(event.id, 1, "de", adults=2)
    await service.sign_up(event.id, 2, "de", adults=2, waitlist=True)
    await service.sign_up(event.id, 3, "de", adults=1, waitlist=True)
    with pytest.raises(EventFull):
        await service.sign_up(event.id, 5, "de", adults=1)
    result = await service.cancel_signup(event.id, 1)
    assert [s.telegram_id for s in result.promoted] == [2]
    # "No, I'm not coming" releases the seats the same way.
    answered = await service.answer_still_coming(event.id, 2, coming=False)
    assert answered is not None and [s.telegram_id for s in answered.promoted] == [3]
    assert await service.answer_still_coming(event.id, 3, coming=True) is None


@pytest.mark.parametrize("parties", [50])
async def test_fifty_at_once_never_take_more_than_ten_seats(
    clean_engine: AsyncEngine, parties: int
) -> None:
    service = build(clean_engine, FixedClock(NOW))
    event = await published(service, capacity=10)

    async def attempt(telegram_id: int) -> str:
        try:
            await service.sign_up(event.id, telegram_id, "de")
        except EventFull:
            return "full"
        return "confirmed"

    outcomes = await asyncio.gather(*(attempt(1000 + n) for n in range(parties)))
    assert outcomes.count("confirmed") == 10 and outcomes.count("full") == parties - 10
    view = await service.get(COORDINATOR, event.id)
    assert view is not None and view.seats_taken == 10 and view.seats_left == 0
    summary = await service.attendees(COORDINATOR, event.id)
    assert len(summary.confirmed) == 10
    assert len({s.code for s in summary.confirmed}) == 10


async def test_bad_input_changes_nothing(clean_engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    service = build(clean_engine, clock)
    draft = await service.create_draft(COORDINATOR)
    with pytest.raises(InvalidTime):  # a date in the past
        await service.update(COORDINATOR, draft.id, starts_at=NOW - timedelta(days=1))
    with pytest.raises(InvalidTime):  # an end before the start
        await service.update(
            COORDINATOR, draft.id, starts_at=START, ends_at=START - timedelta(hours=1)
        )
    with pytest.raises(InvalidValue):
        await service.update(COORDINATOR, draft.id, capacity=-1)
    with pytest.raises(InvalidValue):
        await service.update(COORDINATOR, draft.id, reminder_hours=1000)
    with pytest.raises(TextTooLong):
        await service.set_version(COORDINATOR, draft.id, "de", title="x" * 201)
    with pytest.raises(MissingTitle):
        await service.publish(COORDINATOR, draft.id)
    with pytest.raises(EventNotFound):
        await service.update(COORDINATOR, 99999, capacity=3)
    unchanged = await service.get(COORDINATOR, draft.id)
    assert unchanged is not None and unchanged.starts_at is None and unchanged.capacity == 0
    with pytest.raises(SignupClosed):  # a draft takes no sign-ups
        await service.sign_up(draft.id, 1, "de")

    event = await published(service, capacity=10)
    for adults, children in [(-1, 0), (0, 0), (500, 0), (1, -1), (1, 500), (6, 5)]:
        with pytest.raises(InvalidParty):
            await service.sign_up(event.id, 1, "de", adults=adults, children=children)
    with pytest.raises(EventNotFound):  # a forged event id
        await service.sign_up(424242, 1, "de")
    first = await service.sign_up(event.id, 1, "de", adults=2)
    with pytest.raises(AlreadySignedUp) as twice:
        await service.sign_up(event.id, 1, "de", adults=5)
    assert twice.value.signup == first.signup
    view = await service.get(COORDINATOR, event.id)
    assert view is not None and view.seats_taken == 2

    with pytest.raises(NotEditable):  # published: no second publication
        await service.publish(COORDINATOR, event.id)
    clock.now = START + timedelta(minutes=1)  # it started: sign-ups are closed
    with pytest.raises(SignupClosed):
        await service.sign_up(event.id, 2, "de")


async def test_signup_window(clean_engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    service = build(clean_engine, clock)
    event = await published(
        service,
        signup_opens_at=NOW + timedelta(hours=1),
        signup_closes_at=NOW + timedelta(days=1),
    )
    with pytest.raises(SignupClosed):
        await service.sign_up(event.id, 1, "de")
    clock.now = NOW + timedelta(hours=2)
    await service.sign_up(event.id, 1, "de")
    clock.now = NOW + timedelta(days=2)
    with pytest.raises(SignupClosed):
        await service.sign_up(event.id, 2, "de")


async def test_reminders_are_durable_replaced_when_moved_and_cancelled_with_the_event(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine, FixedClock(NOW))
    event = await published(service, capacity=2)
    await service.sign_up(event.id, 1, "tr")
    await service.sign_up(event.id, 2, "ar", adults=2, waitlist=True)

    epoch = int(START.timestamp())
    reminders = await rows(clean_engine, f"event:{event.id}:reminder:")
    assert [(d.source, d.chat_id) for d, _ in reminders] == [
        (f"event:{event.id}:reminder:{epoch}", 1)
    ]
    assert reminders[0][0].not_before == START - timedelta(hours=24)
    assert reminders[0][1]["text"] == f"reminder:{event.id}:tr"
    still = await rows(clean_engine, f"event:{event.id}:still:")
    assert [d.chat_id for d, _ in still] == [1]
    assert still[0][0].not_before == datetime(2026, 11, 28, 10, 0, tzinfo=BERLIN)

    # A restart: new service objects on the same database find the row, and queueing it again
    # (a retry, a second process) keeps one row, so it goes out once.
    again = build(clean_engine, FixedClock(NOW))
    view = await again.get(COORDINATOR, event.id)
    assert view is not None
    await DeliveryService(create_session_factory(clean_engine), clock=FixedClock(NOW)).enqueue(
        source=f"event:{event.id}:reminder:{epoch}",
        kind="reminder",
        broadcast_id=None,
        payloads={"tr": {"method": "sendMessage", "text": "x"}},
        fallback_locale="tr",
        recipients=[Recipient(1, "tr", START - timedelta(hours=24))],
    )
    assert len(await rows(clean_engine, f"event:{event.id}:reminder:")) == 1

    # Moving the event: old reminders cancelled, new ones queued, everyone signed up told.
    moved = START + timedelta(days=1)
    await again.update(COORDINATOR, event.id, starts_at=moved)
    after = {d.source: d for d, _ in await rows(clean_engine, f"event:{event.id}:reminder:")}
    assert after[f"event:{event.id}:reminder:{epoch}"].state == DeliveryState.CANCELLED
    new = after[f"event:{event.id}:reminder:{int(moved.timestamp())}"]
    assert new.state == DeliveryState.PENDING and new.not_before == moved - timedelta(hours=24)
    changed = await rows(clean_engine, f"event:{event.id}:changed:")
    assert {(d.source, d.chat_id, p["text"]) for d, p in changed} == {
        (f"event:{event.id}:changed:1", 1, f"changed:{event.id}:tr"),
        (f"event:{event.id}:changed:1", 2, f"{RLM}changed:{event.id}:ar"),
    }
    view = await again.get(COORDINATOR, event.id)
    assert view is not None and view.ends_at == moved + timedelta(hours=2)  # duration kept

    # A new place: same reminder sources, re-rendered; a second change notice.
    await again.update(COORDINATOR, event.id, place_name="Schule")
    assert len(await rows(clean_engine, f"event:{event.id}:changed:2")) == 2
    pending = [
        d
        for d, _ in await rows(clean_engine, f"event:{event.id}:reminder:")
        if d.state == DeliveryState.PENDING
    ]
    assert len(pending) == 1

    # Cancelling the event: reminders stop, everyone signed up is told.
    told = await again.cancel(COORDINATOR, event.id)
    assert told == 2
    for prefix in ("reminder:", "still:"):
        states = {d.state for d, _ in await rows(clean_engine, f"event:{event.id}:{prefix}")}
        assert DeliveryState.PENDING not in states
    cancelled = await rows(clean_engine, f"event:{event.id}:cancelled")
    assert {p["text"] for _, p in cancelled} == {
        f"cancelled:{event.id}:tr",
        f"{RLM}cancelled:{event.id}:ar",
    }
    with pytest.raises(SignupClosed):
        await again.sign_up(event.id, 3, "de")


async def test_scheduled_publication_is_claimed_once(clean_engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    service = build(clean_engine, clock)
    draft = await service.create_draft(COORDINATOR)
    await service.set_version(COORDINATOR, draft.id, "de", title="Sprachcafé")
    await service.update(COORDINATOR, draft.id, starts_at=START)
    with pytest.raises(InvalidTime):
        await service.schedule_publication(COORDINATOR, draft.id, NOW - timedelta(minutes=1))
    scheduled = await service.schedule_publication(COORDINATOR, draft.id, NOW + timedelta(hours=1))
    assert scheduled.status == EventStatus.SCHEDULED
    assert await service.run_due_publications() == []
    clock.now = NOW + timedelta(hours=2)
    other = build(clean_engine, clock)
    results = await asyncio.gather(service.run_due_publications(), other.run_due_publications())
    assert sorted(results, key=len) == [[], [draft.id]]
    view = await service.get(COORDINATOR, draft.id)
    assert view is not None and view.status == EventStatus.PUBLISHED


async def test_proposals_approve_reject_duplicate(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine, FixedClock(NOW))
    proposal = await service.create_draft(partner(77), organiser="Kita Sonne")
    await service.set_version(COORDINATOR, proposal.id, "de", title="Elterncafé")
    await service.update(
        COORDINATOR, proposal.id, starts_at=START, topics=["children"], capacity=12
    )
    other = await service.create_draft(partner(77))
    assert [p.id for p in await service.proposals(COORDINATOR)] == [proposal.id, other.id]
    approved = await service.approve(COORDINATOR, proposal.id)
    assert approved.status == EventStatus.PUBLISHED and approved.organiser == "Kita Sonne"
    assert (await service.reject(COORDINATOR, other.id)).status == EventStatus.REJECTED
    with pytest.raises(NotEditable):
        await service.approve(COORDINATOR, other.id)

    copy = await service.duplicate(COORDINATOR, proposal.id, START + timedelta(days=7))
    assert copy.status == EventStatus.DRAFT and copy.id != proposal.id
    assert copy.versions["de"].title == "Elterncafé" and copy.capacity == 12
    assert copy.topics == ("children",)


async def test_browsing_my_signups_and_announcements(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine, FixedClock(NOW))
    residents = ResidentService(
        create_session_factory(clean_engine), topics=("children",), clock=FixedClock(NOW)
    )
    for telegram_id, locale in [(1, "de"), (2, "tr"), (3, "ar")]:
        await residents.register(telegram_id, locale)
    await residents.toggle_topic(2, "children")

    soon = await published(service, topics=["children"])
    later = await published(service, starts_at=START + timedelta(days=3))  # next week
    events, total = await service.upcoming()
    assert [e.id for e in events] == [soon.id, later.id] and total == 2
    events, total = await service.upcoming(this_week=True)
    assert [e.id for e in events] == [soon.id] and total == 1
    events, total = await service.upcoming(topic="children")
    assert [e.id for e in events] == [soon.id]
    events, total = await service.upcoming(offset=1, limit=1)
    assert [e.id for e in events] == [later.id] and total == 2

    await service.sign_up(later.id, 1, "de")
    await service.sign_up(soon.id, 1, "de", interpreter_locale="tr", wheelchair=True)
    mine = await service.my_signups(1)
    assert [event.id for event, _ in mine] == [soon.id, later.id]

    assert await service.announce_counts({}) == {"de": 1, "tr": 1, "ar": 1}
    assert await service.announce_counts({"topics": ["children"]}) == {"tr": 1}
    assert await service.announce_counts({"event_attendees": soon.id}) == {"de": 1}
    assert await service.announce_counts({"event_waitlist": soon.id}) == {}
    announced = await service.announce(COORDINATOR, soon.id, {"topics": ["children"]})
    assert announced.queued == {"tr": 1} and announced.already == 0
    announced = await rows(clean_engine, f"event:{soon.id}:announce")
    assert [(d.chat_id, p["text"]) for d, p in announced] == [(2, f"announcement:{soon.id}:tr")]

    summary = await service.attendees(COORDINATOR, soon.id)
    assert summary.interpreters == {"tr": 1} and summary.wheelchair == 1
    code = summary.confirmed[0].code
    checked = await service.check_in(COORDINATOR, soon.id, code.lower())
    assert checked is not None and checked.checked_in_at is not None
    assert await service.check_in(COORDINATOR, soon.id, "ZZZZZZ") is None

    between = await service.published_between(NOW, NOW + timedelta(days=30))
    assert [e.id for e in between] == [soon.id, later.id]


# --- who may do what with events (bot/services/permissions.py) ------------------------------


async def test_a_partners_edit_of_its_published_event_goes_back_for_approval(
    clean_engine: AsyncEngine,
) -> None:
    """The hole: a partner moved its approved, published event and signed-up residents were
    told, with no coordinator seeing the change."""
    service = build(clean_engine, FixedClock(NOW))
    kita = partner(77)
    proposal = await service.create_draft(kita, organiser="Kita Sonne")
    assert proposal.status == EventStatus.PROPOSED
    await service.set_version(kita, proposal.id, "de", title="Elterncafé")
    await service.update(kita, proposal.id, starts_at=START, place_name="Kita", capacity=10)
    await service.approve(COORDINATOR, proposal.id)
    await service.sign_up(proposal.id, 1, "tr", adults=1)
    moved = await service.update(kita, proposal.id, starts_at=START + timedelta(days=1))
    assert moved.status == EventStatus.PROPOSED  # back in the coordinators' queue
    assert [p.id for p in await service.proposals(COORDINATOR)] == [proposal.id]
    assert await rows(clean_engine, f"event:{proposal.id}:changed") == []  # nobody told yet
    assert await service.get(resident(1), proposal.id) is None  # no longer public meanwhile
    republished = await service.approve(COORDINATOR, proposal.id)
    assert republished.status == EventStatus.PUBLISHED


async def test_proposals_reach_the_coordinators_and_the_decision_the_partner(
    clean_engine: AsyncEngine,
) -> None:
    """Through the outbox, in each one's language, with the change that causes it."""
    clock = FixedClock(NOW)
    service = build(clean_engine, clock, StaffAudience(frozenset({COORDINATOR_ID}), "de"))
    residents = ResidentService(create_session_factory(clean_engine), clock=clock)
    await residents.register(COORDINATOR_ID, "tr")
    await residents.register(77, "ar")
    kita = partner(77)
    proposal = await service.create_draft(kita, organiser="Kita Sonne")
    with pytest.raises(MissingTitle):  # nothing to approve yet: nobody is bothered
        await service.propose(kita, proposal.id)
    assert await rows(clean_engine, f"event:{proposal.id}:") == []
    await service.set_version(kita, proposal.id, "de", title="Elterncafé")
    await service.update(kita, proposal.id, starts_at=START, place_name="Kita", capacity=10)
    for outsider in (resident(1), partner(78), ANONYMOUS):
        with pytest.raises(NotAllowed):
            await service.propose(outsider, proposal.id)

    await service.propose(kita, proposal.id)
    await service.propose(kita, proposal.id)  # a double tap tells them once
    told = await rows(clean_engine, f"event:{proposal.id}:proposed:")
    assert [(d.chat_id, p["text"]) for d, p in told] == [
        (COORDINATOR_ID, f"proposal:{proposal.id}:tr")
    ]

    await service.approve(COORDINATOR, proposal.id)
    decided = await rows(clean_engine, f"event:{proposal.id}:decision:")
    assert [(d.chat_id, p["text"]) for d, p in decided] == [(77, f"{RLM}approved:{proposal.id}:ar")]

    # The partner moves its published event: it goes back, and the coordinators hear of it.
    clock.advance(minutes=5)
    await service.update(kita, proposal.id, starts_at=START + timedelta(days=1))
    told = await rows(clean_engine, f"event:{proposal.id}:proposed:")
    assert len(told) == 2 and told[1][0].chat_id == COORDINATOR_ID
    await service.reject(COORDINATOR, proposal.id)
    decided = await rows(clean_engine, f"event:{proposal.id}:decision:")
    assert [p["text"] for _, p in decided] == [
        f"{RLM}approved:{proposal.id}:ar",
        f"{RLM}rejected:{proposal.id}:ar",
    ]


async def test_event_rules_for_every_role(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine, FixedClock(NOW))
    event = await published(service, capacity=5)
    draft = await service.create_draft(COORDINATOR)
    await service.set_version(COORDINATOR, draft.id, "de", title="Geheim")
    await service.update(COORDINATOR, draft.id, starts_at=START, latitude=50.0, longitude=8.4)
    own = await service.create_draft(partner(77))
    foreign = await service.create_draft(partner(78))
    people = {
        "anonymous": ANONYMOUS,
        "resident": resident(1),
        "lead": lead(2, 5),
        "partner": partner(77),
        "coordinator": COORDINATOR,
        "admin": ADMIN,
    }
    # Seeing: published events are public; drafts only to staff, proposals to their partner.
    for who, actor in people.items():
        staff = who in ("coordinator", "admin")
        assert (await service.get(actor, event.id)) is not None, who
        assert ((await service.get(actor, draft.id)) is not None) == staff, who
        assert ((await service.get(actor, own.id)) is not None) == (staff or who == "partner")
        assert ((await service.get(actor, foreign.id)) is not None) == staff, who
    # Creating: coordinators make drafts, partners proposals, nobody else anything.
    for who in ("anonymous", "resident", "lead"):
        with pytest.raises(NotAllowed):
            await service.create_draft(people[who])
    # Changing: staff only, except a partner on its own events; no one else, on nothing.
    for who in ("anonymous", "resident", "lead", "partner"):
        actor = people[who]
        for target in (event.id, draft.id, foreign.id):
            with pytest.raises(NotAllowed):
                await service.update(actor, target, capacity=1)
            with pytest.raises(NotAllowed):
                await service.set_version(actor, target, "de", title="Übernommen")
        for call in (
            service.publish(actor, draft.id),
            service.cancel(actor, event.id),
            service.approve(actor, own.id),
            service.reject(actor, own.id),
            service.announce(actor, event.id, {}),
            service.duplicate(actor, event.id, START + timedelta(days=7)),
            service.check_in(actor, event.id, "ABCDEF"),
            service.attendees(actor, event.id),
        ):
            with pytest.raises(NotAllowed):
                await call
    await service.set_version(partner(77), own.id, "de", title="Elterncafé")  # its own: fine
    for who in ("coordinator", "admin"):
        assert (await service.attendees(people[who], event.id)).event.id == event.id
    unchanged = await service.get(COORDINATOR, event.id)
    assert unchanged is not None and unchanged.capacity == 5
    assert unchanged.status == EventStatus.PUBLISHED
