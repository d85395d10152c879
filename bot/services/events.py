"""Events and sign-ups: compose, publish, browse, register with companions, waiting lists.

An event has a title and description per language (the default language's is required), a
time, a place and a capacity in seats (0 = unlimited; companions count). Residents sign up with
their party and needs and get a short registration code. When the seats are gone the waiting
list is offered; a cancellation hands the freed seats to the waiting list at once (first come,
first served) and whoever moves up is told through the outbox.

Seats are never oversold: counting and inserting happen in one transaction that holds the
event's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite an UPDATE of the row comes
first, which takes the database's write lock before anything is counted).

Reminders are outbox rows with ``not_before`` in the future, so they survive restarts and are
claimed once by whichever delivery engine sees them due. Their sources carry the start time
(``event:<id>:reminder:<epoch>``): a moved event cancels the old ones and queues new ones.

One transaction per action: a sign-up, its reminders and the fill alerts it causes commit
together (so do a cancellation, the seats it frees for the waiting list and the notices and
reminders of whoever moves up, and an event's change or cancellation with its notices). A
failure anywhere leaves none of it behind, and the delivery engine is woken only after the
commit.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import BROADCAST, audience_statement, quiet_until
from bot.services.delivery import DeliveryService, Recipient
from bot.services.permissions import (
    Actor,
    may_edit_event,
    may_see_event,
    require,
    require_staff,
)
from storage.db import in_transaction, lock_row
from storage.models import (
    DeliverySource,
    Event,
    EventStatus,
    EventVersion,
    Resident,
    Signup,
    SignupStatus,
)

__all__ = [
    "AlreadySignedUp",
    "AttendeeSummary",
    "CancelResult",
    "EventError",
    "EventFull",
    "EventNotFound",
    "EventRenderer",
    "EventService",
    "EventVersionView",
    "EventView",
    "InvalidParty",
    "InvalidTime",
    "InvalidValue",
    "MissingTitle",
    "NotEditable",
    "NotSignedUp",
    "SignupClosed",
    "SignupResult",
    "SignupView",
    "TextTooLong",
]

MAX_PARTY = 10
MAX_TITLE = 200
MAX_DESCRIPTION = 3000
MAX_CAPACITY = 10_000
MAX_REMINDER_HOURS = 336
FILL_LEVELS = (50, 80, 100)
#: Registration codes: no 0/O, 1/I/L, so they can be read aloud and typed from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
STILL_COMING_AT = time(10, 0)  # local time, the day before the event
ACTIVE = (SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
EVENT_KIND = "event"
REMINDER_KIND = "reminder"

UPDATABLE = frozenset(
    {
        "starts_at",
        "ends_at",
        "place_name",
        "address",
        "latitude",
        "longitude",
        "topics",
        "capacity",
        "signup_opens_at",
        "signup_closes_at",
        "photo_file_id",
        "reminder_hours",
        "organiser",
        "group_id",  # the event is a meeting of this project or working group
    }
)
PLACE_FIELDS = ("place_name", "address", "latitude", "longitude")


# --- errors ------------------------------------------------------------------------------


class EventError(Exception):
    """A request that can't be done as asked; the handler explains it."""


class EventNotFound(EventError):
    pass


class NotEditable(EventError):
    """The event's status doesn't allow this (e.g. it was cancelled meanwhile)."""


class MissingTitle(EventError):
    """No title in the default language yet."""


class InvalidTime(EventError):
    """A start in the past, no start at all, or an end before the start."""


class InvalidValue(EventError):
    """A field out of range (capacity, reminder hours, coordinates, unknown field)."""


class TextTooLong(EventError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"text longer than {limit} characters")
        self.limit = limit


class InvalidParty(EventError):
    """Adults 1..MAX_PARTY, children 0..MAX_PARTY, together at most MAX_PARTY."""


class SignupClosed(EventError):
    """Not published, cancelled, already started, or outside the sign-up window."""


class NotSignedUp(EventError):
    """No confirmed or waitlisted sign-up to cancel."""


class AlreadySignedUp(EventError):
    def __init__(self, signup: SignupView) -> None:
        super().__init__(f"already signed up for event {signup.event_id}")
        self.signup = signup


class EventFull(EventError):
    def __init__(self, seats_left: int) -> None:
        super().__init__(f"only {seats_left} seats left")
        self.seats_left = seats_left


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventVersionView:
    locale: str
    title: str
    description: str | None


@dataclass(frozen=True)
class EventView:
    id: int
    status: EventStatus
    created_by: int
    organiser: str | None
    default_locale: str
    starts_at: datetime | None
    ends_at: datetime | None
    place_name: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    topics: tuple[str, ...]
    capacity: int
    signup_opens_at: datetime | None
    signup_closes_at: datetime | None
    publish_at: datetime | None
    photo_file_id: str | None
    reminder_hours: int
    versions: Mapping[str, EventVersionView]
    seats_taken: int = 0
    waitlisted: int = 0

    def version_for(self, locale: str) -> EventVersionView | None:
        """The resident's language, else the default language."""
        return self.versions.get(locale) or self.versions.get(self.default_locale)

    @property
    def seats_left(self) -> int | None:
        if not self.capacity:
            return None
        return max(0, self.capacity - self.seats_taken)

    @property
    def source(self) -> str:
        return f"event:{self.id}"

    @classmethod
    def of(cls, row: Event, seats_taken: int = 0, waitlisted: int = 0) -> EventView:
        return cls(
            id=row.id,
            status=row.status,
            created_by=row.created_by,
            organiser=row.organiser,
            default_locale=row.default_locale,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            place_name=row.place_name,
            address=row.address,
            latitude=row.latitude,
            longitude=row.longitude,
            topics=tuple(row.topics or ()),
            capacity=row.capacity,
            signup_opens_at=row.signup_opens_at,
            signup_closes_at=row.signup_closes_at,
            publish_at=row.publish_at,
            photo_file_id=row.photo_file_id,
            reminder_hours=row.reminder_hours,
            versions={
                v.locale: EventVersionView(v.locale, v.title, v.description) for v in row.versions
            },
            seats_taken=seats_taken,
            waitlisted=waitlisted,
        )


@dataclass(frozen=True)
class SignupView:
    id: int
    event_id: int
    telegram_id: int
    locale: str
    status: SignupStatus
    adults: int
    children: int
    interpreter_locale: str | None
    childcare: bool
    wheelchair: bool
    note: str | None
    code: str
    checked_in_at: datetime | None
    created_at: datetime

    @property
    def party(self) -> int:
        return self.adults + self.children

    @classmethod
    def of(cls, row: Signup) -> SignupView:
        return cls(
            id=row.id,
            event_id=row.event_id,
            telegram_id=row.telegram_id,
            locale=row.locale,
            status=row.status,
            adults=row.adults,
            children=row.children,
            interpreter_locale=row.interpreter_locale,
            childcare=row.childcare,
            wheelchair=row.wheelchair,
            note=row.note,
            code=row.code,
            checked_in_at=row.checked_in_at,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class SignupResult:
    signup: SignupView
    #: Fill levels (50, 80, 100 %) this sign-up crossed first; each is reported once per event,
    #: to its creator through the outbox, queued in the sign-up's transaction.
    crossed_levels: tuple[int, ...] = ()


@dataclass(frozen=True)
class CancelResult:
    cancelled: SignupView
    #: Waiting-list parties that moved up, first come first served.
    promoted: tuple[SignupView, ...] = ()


@dataclass(frozen=True)
class AttendeeSummary:
    event: EventView
    confirmed: tuple[SignupView, ...]
    waitlisted: tuple[SignupView, ...]
    adults: int
    children: int
    interpreters: Mapping[str, int]  # locale -> confirmed parties needing one
    childcare: int  # confirmed parties
    wheelchair: int  # confirmed parties
    checked_in: int


class EventRenderer(Protocol):
    """Bot API payloads for event messages (``bot.rendering.EventRenderer`` implements it)."""

    def reminder(self, event: EventView, locale: str) -> dict[str, Any]: ...

    def still_coming(self, event: EventView, locale: str) -> dict[str, Any]: ...

    def promoted(self, event: EventView, signup: SignupView, locale: str) -> dict[str, Any]: ...

    def changed(self, event: EventView, locale: str) -> dict[str, Any]: ...

    def cancelled(self, event: EventView, locale: str) -> dict[str, Any]: ...

    def announcement(self, event: EventView, locale: str) -> dict[str, Any]: ...

    def fill_alert(self, event: EventView, percent: int, locale: str) -> dict[str, Any]: ...


# --- helpers -------------------------------------------------------------------------------

T = TypeVar("T")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def reminder_source(event_id: int, starts_at: datetime) -> str:
    return f"event:{event_id}:reminder:{_epoch(starts_at)}"


def still_source(event_id: int, starts_at: datetime) -> str:
    return f"event:{event_id}:still:{_epoch(starts_at)}"


def fill_source(event_id: int, percent: int) -> str:
    return f"event:{event_id}:filled:{percent}"


def _check_party(adults: int, children: int) -> None:
    if not (1 <= adults <= MAX_PARTY and 0 <= children <= MAX_PARTY):
        raise InvalidParty(f"{adults} adults, {children} children")
    if adults + children > MAX_PARTY:
        raise InvalidParty(f"party of {adults + children}")


# --- the service ---------------------------------------------------------------------------


class EventService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryService,
        renderer: EventRenderer,
        *,
        locales: Sequence[str],
        default_locale: str,
        tz: tzinfo,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._delivery = delivery
        self.renderer = renderer
        self.locales = tuple(locales)
        self.default_locale = default_locale
        self.tz = tz
        self._clock = clock

    # internals --------------------------------------------------------------------------

    async def _counts(
        self, session: AsyncSession, event_ids: Iterable[int]
    ) -> dict[int, tuple[int, int]]:
        ids = list(event_ids)
        if not ids:
            return {}
        seats = func.coalesce(
            func.sum(
                case(
                    (Signup.status == SignupStatus.CONFIRMED, Signup.adults + Signup.children),
                    else_=0,
                )
            ),
            0,
        )
        waiting = func.coalesce(
            func.sum(case((Signup.status == SignupStatus.WAITLISTED, 1), else_=0)), 0
        )
        rows = await session.execute(
            select(Signup.event_id, seats, waiting)
            .where(Signup.event_id.in_(ids))
            .group_by(Signup.event_id)
        )
        return {int(eid): (int(taken), int(wait)) for eid, taken, wait in rows}

    async def _views(self, session: AsyncSession, rows: Sequence[Event]) -> list[EventView]:
        counts = await self._counts(session, [row.id for row in rows])
        return [EventView.of(row, *counts.get(row.id, (0, 0))) for row in rows]

    async def _view(self, session: AsyncSession, row: Event) -> EventView:
        return (await self._views(session, [row]))[0]

    async def _lock_event(self, session: AsyncSession, event_id: int) -> Event | None:
        """The event row, locked for this transaction (see the module docstring)."""
        return await lock_row(session, Event, event_id)

    async def _locked(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await in_transaction(self._sessions, work)

    async def _edit(
        self,
        actor: Actor,
        event_id: int,
        change: Callable[[Event], None],
        allowed: Iterable[EventStatus] = (
            EventStatus.PROPOSED,
            EventStatus.DRAFT,
            EventStatus.SCHEDULED,
            EventStatus.PUBLISHED,
        ),
        then: Callable[[AsyncSession, Event, EventView], Awaitable[EventView]] | None = None,
    ) -> EventView:
        """Change the event under its row lock; ``then`` queues what the change causes (notices,
        reminders, promotions) in the same transaction."""
        statuses = set(allowed)

        async def work(session: AsyncSession) -> EventView:
            row = await self._lock_event(session, event_id)
            if row is None:
                raise EventNotFound(str(event_id))
            if row.status not in statuses:
                raise NotEditable(str(event_id))
            require(may_edit_event(actor, row.created_by, row.status), "event.edit")
            change(row)
            if not actor.is_staff and row.status == EventStatus.PUBLISHED:
                # A partner changed a published event: it goes back to the coordinators.
                row.status = EventStatus.PROPOSED
            row.updated_at = self._clock()
            await session.flush()
            await session.refresh(row, ["versions"])
            view = await self._view(session, row)
            return view if then is None else await then(session, row, view)

        return await self._locked(work)

    async def _active_signups(
        self, session: AsyncSession, event_id: int, statuses: Sequence[SignupStatus] = ACTIVE
    ) -> list[SignupView]:
        rows = await session.scalars(
            select(Signup)
            .where(Signup.event_id == event_id, Signup.status.in_(list(statuses)))
            .order_by(Signup.created_at, Signup.id)
        )
        return [SignupView.of(row) for row in rows]

    async def _next_number(self, session: AsyncSession, prefix: str) -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(DeliverySource)
            .where(DeliverySource.source.like(f"{prefix}%"))
        )
        return int(count or 0) + 1

    async def _tell(
        self,
        session: AsyncSession,
        source: str,
        signups: Iterable[SignupView],
        render: Callable[[str], dict[str, Any]],
        *,
        not_before: datetime | None = None,
        kind: str = EVENT_KIND,
    ) -> int:
        recipients = [Recipient(s.telegram_id, s.locale, not_before) for s in signups]
        if not recipients:
            return 0
        locales = {r.locale for r in recipients}
        payloads = {locale: render(locale) for locale in locales}
        fallback = next(iter(sorted(locales)))
        await self._delivery.enqueue(
            source=source,
            kind=kind,
            broadcast_id=None,
            payloads=payloads,
            fallback_locale=fallback,
            recipients=recipients,
            session=session,
        )
        return len(recipients)

    async def _quiet_hours(
        self, session: AsyncSession, chat_ids: Iterable[int]
    ) -> dict[int, tuple[int, int]]:
        ids = list(chat_ids)
        rows = await session.execute(
            select(Resident.telegram_id, Resident.quiet_start, Resident.quiet_end).where(
                Resident.telegram_id.in_(ids)
            )
        )
        return {int(t): (int(s), int(e)) for t, s, e in rows}

    def _still_coming_time(self, starts_at: datetime) -> datetime:
        day_before = starts_at.astimezone(self.tz).date() - timedelta(days=1)
        return datetime.combine(day_before, STILL_COMING_AT, tzinfo=self.tz)

    async def _queue_reminders(
        self, session: AsyncSession, event: EventView, signups: Sequence[SignupView]
    ) -> None:
        """The reminder and the "still coming?" check for these confirmed sign-ups."""
        if event.starts_at is None or not signups:
            return
        now = self._clock()
        quiet = await self._quiet_hours(session, (s.telegram_id for s in signups))
        chat_ids = [s.telegram_id for s in signups]
        reminder = reminder_source(event.id, event.starts_at)
        still = still_source(event.id, event.starts_at)
        # A renewed sign-up (or a moved-back event) may have cancelled rows under these sources.
        await self._delivery.forget_cancelled([reminder, still], chat_ids, session=session)
        remind_at = event.starts_at - timedelta(hours=event.reminder_hours)
        still_at = self._still_coming_time(event.starts_at)
        for signup in signups:
            if event.reminder_hours and remind_at > now:
                start, end = quiet.get(signup.telegram_id, (0, 0))
                at = quiet_until(remind_at, self.tz, start, end) or remind_at
                if at >= event.starts_at:
                    at = remind_at
                await self._tell(
                    session,
                    reminder,
                    [signup],
                    lambda locale: self.renderer.reminder(event, locale),
                    not_before=at,
                    kind=REMINDER_KIND,
                )
            if still_at > now and still_at < event.starts_at:
                await self._tell(
                    session,
                    still,
                    [signup],
                    lambda locale: self.renderer.still_coming(event, locale),
                    not_before=still_at,
                    kind=REMINDER_KIND,
                )

    async def _cancel_reminders(
        self, session: AsyncSession, event_id: int, starts_at: datetime | None
    ) -> None:
        if starts_at is None:
            return
        await self._delivery.cancel_source(reminder_source(event_id, starts_at), session=session)
        await self._delivery.cancel_source(still_source(event_id, starts_at), session=session)

    async def _alert_organiser(
        self, session: AsyncSession, event: EventView, levels: Sequence[int]
    ) -> None:
        """Tell whoever created the event that it is 50, 80 or 100 % full, in their language
        (queued with the sign-up that filled it, so it goes out once that has committed)."""
        if not levels:
            return
        locale = await session.scalar(
            select(Resident.locale).where(Resident.telegram_id == event.created_by)
        )
        locale = locale or self.default_locale
        for level in levels:
            await self._delivery.enqueue(
                source=fill_source(event.id, level),
                kind=EVENT_KIND,
                broadcast_id=None,
                payloads={locale: self.renderer.fill_alert(event, level, locale)},
                fallback_locale=locale,
                recipients=[Recipient(event.created_by, locale)],
                session=session,
            )

    def _check_publishable(self, row: Event) -> None:
        version = next((v for v in row.versions if v.locale == row.default_locale), None)
        if version is None or not version.title.strip():
            raise MissingTitle(str(row.id))
        if row.starts_at is None or row.starts_at <= self._clock():
            raise InvalidTime("the event needs a start in the future")

    # composing ----------------------------------------------------------------------------

    async def create_draft(self, actor: Actor, *, organiser: str | None = None) -> EventView:
        """A coordinator's draft, or a partner organisation's proposal (approved later)."""
        require(
            actor.telegram_id is not None and (actor.is_staff or actor.is_partner), "event.create"
        )
        assert actor.telegram_id is not None
        async with self._sessions.begin() as session:
            row = Event(
                status=EventStatus.DRAFT if actor.is_staff else EventStatus.PROPOSED,
                created_by=actor.telegram_id,
                organiser=organiser,
                default_locale=self.default_locale,
                topics=[],
                capacity=0,
                reminder_hours=24,
                alerted_levels=[],
                created_at=self._clock(),
                updated_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            await session.refresh(row, ["versions"])
            return EventView.of(row)

    async def set_version(
        self,
        actor: Actor,
        event_id: int,
        locale: str,
        *,
        title: str | None = None,
        description: str | None = None,
    ) -> EventView:
        if locale not in self.locales:
            raise InvalidValue(f"unknown locale {locale}")
        if title is not None:
            title = title.strip()
            if len(title) > MAX_TITLE:
                raise TextTooLong(MAX_TITLE)
            if not title:
                raise MissingTitle(str(event_id))
        if description is not None and len(description) > MAX_DESCRIPTION:
            raise TextTooLong(MAX_DESCRIPTION)

        def change(row: Event) -> None:
            version = next((v for v in row.versions if v.locale == locale), None)
            if version is None:
                if title is None:
                    raise MissingTitle(str(event_id))
                version = EventVersion(locale=locale, title=title)
                row.versions.append(version)
            if title is not None:
                version.title = title
            if description is not None:
                version.description = description or None

        return await self._edit(actor, event_id, change)

    async def update(self, actor: Actor, event_id: int, **fields: Any) -> EventView:
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise InvalidValue(f"unknown fields {sorted(unknown)}")
        now = self._clock()
        if "capacity" in fields and not 0 <= int(fields["capacity"]) <= MAX_CAPACITY:
            raise InvalidValue("capacity")
        if (
            "reminder_hours" in fields
            and not 0 <= int(fields["reminder_hours"]) <= MAX_REMINDER_HOURS
        ):
            raise InvalidValue("reminder_hours")
        if fields.get("latitude") is not None and not -90 <= float(fields["latitude"]) <= 90:
            raise InvalidValue("latitude")
        if fields.get("longitude") is not None and not -180 <= float(fields["longitude"]) <= 180:
            raise InvalidValue("longitude")
        for key in ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at"):
            value = fields.get(key)
            if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
                raise InvalidTime(f"{key} needs an aware datetime")
        if fields.get("starts_at") is not None and fields["starts_at"] <= now:
            raise InvalidTime("the start has passed")
        for key in ("place_name", "organiser"):
            if fields.get(key) is not None and len(str(fields[key])) > 200:
                raise TextTooLong(200)
        if fields.get("address") is not None and len(str(fields["address"])) > 300:
            raise TextTooLong(300)
        before: dict[str, Any] = {}

        def change(row: Event) -> None:
            before.update(
                status=row.status,
                starts_at=row.starts_at,
                place=tuple(getattr(row, key) for key in PLACE_FIELDS),
                capacity=row.capacity,
            )
            old_start = row.starts_at
            for key, value in fields.items():
                if key == "topics":
                    value = list(dict.fromkeys(str(t) for t in (value or ())))
                setattr(row, key, value)
            new_start = row.starts_at
            if (
                "ends_at" not in fields
                and old_start is not None
                and new_start is not None
                and row.ends_at is not None
            ):
                row.ends_at = row.ends_at + (new_start - old_start)  # keep the duration
            if row.ends_at is not None and (new_start is None or row.ends_at <= new_start):
                raise InvalidTime("the end must come after the start")
            if (
                row.signup_opens_at is not None
                and row.signup_closes_at is not None
                and row.signup_closes_at <= row.signup_opens_at
            ):
                raise InvalidTime("the sign-up window closes before it opens")

        async def then(session: AsyncSession, row: Event, view: EventView) -> EventView:
            if before["status"] != EventStatus.PUBLISHED or view.status != EventStatus.PUBLISHED:
                return view  # only a published event's people are told (a partner's edit waits)
            moved = view.starts_at != before["starts_at"]
            relocated = tuple(getattr(view, key) for key in PLACE_FIELDS) != before["place"]
            if moved or relocated:
                # A moved event gets new sources; a relocated one the same sources, re-rendered.
                await self._cancel_reminders(session, view.id, before["starts_at"])
                signups = await self._active_signups(session, view.id)
                confirmed = [s for s in signups if s.status == SignupStatus.CONFIRMED]
                await self._queue_reminders(session, view, confirmed)
                prefix = f"event:{view.id}:changed:"
                number = await self._next_number(session, prefix)
                await self._tell(
                    session,
                    f"{prefix}{number}",
                    signups,
                    lambda locale: self.renderer.changed(view, locale),
                )
            if view.capacity != before["capacity"]:
                promoted = await self._promote(session, row)
                if promoted:
                    view = await self._view(session, row)
                    await self._after_promotion(session, view, promoted)
            return view

        return await self._edit(actor, event_id, change, then=then)

    async def publish(self, actor: Actor, event_id: int) -> EventView:
        require_staff(actor, "event.publish")

        def change(row: Event) -> None:
            self._check_publishable(row)
            row.status = EventStatus.PUBLISHED
            row.publish_at = row.publish_at or self._clock()

        return await self._edit(
            actor,
            event_id,
            change,
            (EventStatus.DRAFT, EventStatus.SCHEDULED, EventStatus.PROPOSED),
        )

    async def schedule_publication(self, actor: Actor, event_id: int, at: datetime) -> EventView:
        require_staff(actor, "event.publish")
        if at.tzinfo is None or at <= self._clock():
            raise InvalidTime("that time has passed")

        def change(row: Event) -> None:
            self._check_publishable(row)
            assert row.starts_at is not None
            if at >= row.starts_at:
                raise InvalidTime("publication must come before the event")
            row.status = EventStatus.SCHEDULED
            row.publish_at = at

        return await self._edit(actor, event_id, change, (EventStatus.DRAFT, EventStatus.SCHEDULED))

    async def run_due_publications(self) -> list[int]:
        """Publish every scheduled event whose time has come; each is claimed exactly once."""
        now = self._clock()
        async with self._sessions() as session:
            due = list(
                await session.scalars(
                    select(Event.id).where(
                        Event.status == EventStatus.SCHEDULED, Event.publish_at <= now
                    )
                )
            )
        published = []
        for event_id in due:
            async with self._sessions.begin() as session:
                claimed = await session.execute(
                    update(Event)
                    .where(Event.id == event_id, Event.status == EventStatus.SCHEDULED)
                    .values(status=EventStatus.PUBLISHED)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount:  # type: ignore[attr-defined]
                    published.append(event_id)
        return published

    def _audience(self, audience: Mapping[str, Any]) -> Select[Any]:
        columns = [Resident.telegram_id, Resident.locale, Resident.quiet_start, Resident.quiet_end]
        return audience_statement(columns, audience, BROADCAST)

    async def announce_counts(self, audience: Mapping[str, Any]) -> dict[str, int]:
        statement = audience_statement(
            [Resident.locale, func.count()], audience, BROADCAST
        ).group_by(Resident.locale)
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return {str(locale): int(count) for locale, count in rows}

    async def announce(
        self, actor: Actor, event_id: int, audience: Mapping[str, Any]
    ) -> dict[str, int]:
        require_staff(actor, "event.announce")
        view = await self._require(event_id)
        if view.status != EventStatus.PUBLISHED:
            raise NotEditable(str(event_id))
        now = self._clock()
        async with self._sessions() as session:
            rows = (await session.execute(self._audience(audience))).all()
        recipients = [
            Recipient(int(tid), str(locale), quiet_until(now, self.tz, start, end))
            for tid, locale, start, end in rows
        ]
        locales = {r.locale for r in recipients} | {view.default_locale}
        await self._delivery.enqueue(
            source=f"{view.source}:announce",
            kind=EVENT_KIND,
            broadcast_id=None,
            payloads={locale: self.renderer.announcement(view, locale) for locale in locales},
            fallback_locale=view.default_locale,
            recipients=recipients,
        )
        counts: dict[str, int] = {}
        for recipient in recipients:
            counts[recipient.locale] = counts.get(recipient.locale, 0) + 1
        return counts

    async def duplicate(self, actor: Actor, event_id: int, starts_at: datetime) -> EventView:
        require_staff(actor, "event.create")
        if starts_at.tzinfo is None or starts_at <= self._clock():
            raise InvalidTime("the start has passed")
        async with self._sessions.begin() as session:
            original = await session.get(Event, event_id)
            if original is None:
                raise EventNotFound(str(event_id))
            delta = starts_at - original.starts_at if original.starts_at else None

            def shifted(value: datetime | None) -> datetime | None:
                return value + delta if value is not None and delta is not None else None

            row = Event(
                status=EventStatus.DRAFT,
                created_by=original.created_by,
                organiser=original.organiser,
                default_locale=original.default_locale,
                starts_at=starts_at,
                ends_at=shifted(original.ends_at),
                place_name=original.place_name,
                address=original.address,
                latitude=original.latitude,
                longitude=original.longitude,
                topics=list(original.topics or []),
                capacity=original.capacity,
                signup_opens_at=shifted(original.signup_opens_at),
                signup_closes_at=shifted(original.signup_closes_at),
                photo_file_id=original.photo_file_id,
                reminder_hours=original.reminder_hours,
                alerted_levels=[],
                created_at=self._clock(),
                updated_at=self._clock(),
                versions=[
                    EventVersion(locale=v.locale, title=v.title, description=v.description)
                    for v in original.versions
                ],
            )
            session.add(row)
            await session.flush()
            await session.refresh(row, ["versions"])
            return EventView.of(row)

    async def cancel(self, actor: Actor, event_id: int) -> int:
        """Cancel the event; its queued reminders stop and everyone signed up is told."""
        require_staff(actor, "event.cancel")
        told = 0

        async def then(session: AsyncSession, row: Event, view: EventView) -> EventView:
            nonlocal told
            await self._cancel_reminders(session, view.id, view.starts_at)
            await self._delivery.cancel_source(f"{view.source}:announce", session=session)
            everyone = await self._active_signups(session, view.id)
            told = await self._tell(
                session,
                f"{view.source}:cancelled",
                everyone,
                lambda locale: self.renderer.cancelled(view, locale),
            )
            return view

        await self._edit(
            actor,
            event_id,
            lambda row: setattr(row, "status", EventStatus.CANCELLED),
            then=then,
        )
        return told

    async def approve(self, actor: Actor, event_id: int) -> EventView:
        require_staff(actor, "event.approve")

        def change(row: Event) -> None:
            self._check_publishable(row)
            row.status = EventStatus.PUBLISHED
            row.publish_at = self._clock()

        return await self._edit(actor, event_id, change, (EventStatus.PROPOSED,))

    async def reject(self, actor: Actor, event_id: int) -> EventView:
        require_staff(actor, "event.approve")
        return await self._edit(
            actor,
            event_id,
            lambda row: setattr(row, "status", EventStatus.REJECTED),
            (EventStatus.PROPOSED,),
        )

    async def proposals(self) -> list[EventView]:
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(Event)
                    .where(Event.status == EventStatus.PROPOSED)
                    .order_by(Event.created_at, Event.id)
                )
            )
            return await self._views(session, rows)

    # reading ----------------------------------------------------------------------------------

    async def get(self, actor: Actor, event_id: int) -> EventView | None:
        """The event if this actor may see it: published and cancelled events are public,
        drafts and proposals only for coordinators and the partner who made them."""
        view = await self.load(event_id)
        if view is None or not may_see_event(actor, view.created_by, view.status):
            return None
        return view

    async def load(self, event_id: int) -> EventView | None:
        """For the bot's own work (alerts, jobs), never for a person's request."""
        async with self._sessions() as session:
            row = await session.get(Event, event_id)
            return await self._view(session, row) if row else None

    async def _require(self, event_id: int) -> EventView:
        view = await self.load(event_id)
        if view is None:
            raise EventNotFound(str(event_id))
        return view

    def end_of_week(self, moment: datetime) -> datetime:
        """Sunday 24:00 local time of ``moment``'s week."""
        local = moment.astimezone(self.tz).date()
        monday = local + timedelta(days=7 - local.weekday())
        return datetime.combine(monday, time(0, 0), tzinfo=self.tz)

    async def upcoming(
        self,
        *,
        topic: str | None = None,
        this_week: bool = False,
        offset: int = 0,
        limit: int = 3,
    ) -> tuple[list[EventView], int]:
        now = self._clock()
        conditions = [Event.status == EventStatus.PUBLISHED, Event.starts_at > now]
        if this_week:
            conditions.append(Event.starts_at < self.end_of_week(now))
        async with self._sessions() as session:
            rows = list(
                await session.scalars(select(Event).where(*conditions).order_by(Event.starts_at))
            )
            if topic:
                rows = [row for row in rows if topic in (row.topics or [])]
            page = rows[max(0, offset) : max(0, offset) + max(0, limit)]
            return await self._views(session, page), len(rows)

    async def published_between(
        self, start: datetime, end: datetime, *, include_cancelled: bool = False
    ) -> list[EventView]:
        statuses = [EventStatus.PUBLISHED]
        if include_cancelled:
            statuses.append(EventStatus.CANCELLED)
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(Event)
                    .where(
                        Event.status.in_(statuses), Event.starts_at >= start, Event.starts_at < end
                    )
                    .order_by(Event.starts_at, Event.id)
                )
            )
            return await self._views(session, rows)

    # signing up -------------------------------------------------------------------------------

    def _check_open(self, row: Event, now: datetime) -> None:
        if row.status != EventStatus.PUBLISHED or row.starts_at is None or row.starts_at <= now:
            raise SignupClosed(str(row.id))
        if row.signup_opens_at is not None and now < row.signup_opens_at:
            raise SignupClosed(str(row.id))
        if row.signup_closes_at is not None and now >= row.signup_closes_at:
            raise SignupClosed(str(row.id))

    async def _new_code(self, session: AsyncSession, event_id: int) -> str:
        taken = set(await session.scalars(select(Signup.code).where(Signup.event_id == event_id)))
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if code not in taken:
                return code

    async def sign_up(
        self,
        event_id: int,
        telegram_id: int,
        locale: str,
        *,
        adults: int = 1,
        children: int = 0,
        interpreter_locale: str | None = None,
        childcare: bool = False,
        wheelchair: bool = False,
        note: str | None = None,
        waitlist: bool = False,
    ) -> SignupResult:
        _check_party(adults, children)
        if note is not None and len(note) > 500:
            raise TextTooLong(500)
        party = adults + children

        async def work(session: AsyncSession) -> SignupResult:
            now = self._clock()
            row = await self._lock_event(session, event_id)
            if row is None:
                raise EventNotFound(str(event_id))
            self._check_open(row, now)
            existing = await session.scalar(
                select(Signup).where(Signup.event_id == event_id, Signup.telegram_id == telegram_id)
            )
            if existing is not None and existing.status in ACTIVE:
                raise AlreadySignedUp(SignupView.of(existing))
            taken, _ = (await self._counts(session, [event_id])).get(event_id, (0, 0))
            status = SignupStatus.CONFIRMED
            if row.capacity and party > row.capacity - taken:
                if not waitlist:
                    raise EventFull(max(0, row.capacity - taken))
                status = SignupStatus.WAITLISTED
            values: dict[str, Any] = dict(
                locale=locale,
                status=status,
                adults=adults,
                children=children,
                interpreter_locale=interpreter_locale,
                childcare=childcare,
                wheelchair=wheelchair,
                note=note,
                checked_in_at=None,
                created_at=now,  # a renewed sign-up queues at the back
                updated_at=now,
            )
            if existing is None:
                signup = Signup(
                    event_id=event_id,
                    telegram_id=telegram_id,
                    code=await self._new_code(session, event_id),
                    **values,
                )
                session.add(signup)
            else:
                signup = existing
                for key, value in values.items():
                    setattr(signup, key, value)
            await session.flush()
            crossed: tuple[int, ...] = ()
            if status == SignupStatus.CONFIRMED and row.capacity:
                filled = (taken + party) * 100 / row.capacity
                already = set(row.alerted_levels or [])
                crossed = tuple(lvl for lvl in FILL_LEVELS if filled >= lvl and lvl not in already)
                if crossed:
                    row.alerted_levels = sorted(already | set(crossed))
            await session.flush()
            view = EventView.of(row, taken + (party if status == SignupStatus.CONFIRMED else 0))
            result = SignupResult(SignupView.of(signup), crossed)
            # In the same transaction: no sign-up without its reminders, nor the reverse.
            if status == SignupStatus.CONFIRMED:
                await self._queue_reminders(session, view, [result.signup])
            await self._alert_organiser(session, view, crossed)
            return result

        return await self._locked(work)

    async def _promote(self, session: AsyncSession, row: Event) -> list[SignupView]:
        """Move waiting-list parties up while they fit (strictly first come, first served).

        ``row`` is the event, locked by the caller's transaction."""
        if row.status != EventStatus.PUBLISHED:
            return []
        taken, _ = (await self._counts(session, [row.id])).get(row.id, (0, 0))
        waiting = await session.scalars(
            select(Signup)
            .where(Signup.event_id == row.id, Signup.status == SignupStatus.WAITLISTED)
            .order_by(Signup.created_at, Signup.id)
        )
        promoted = []
        for signup in waiting:
            party = signup.adults + signup.children
            if row.capacity and taken + party > row.capacity:
                break
            signup.status = SignupStatus.CONFIRMED
            signup.updated_at = self._clock()
            taken += party
            promoted.append(signup)
        await session.flush()
        return [SignupView.of(s) for s in promoted]

    async def _after_promotion(
        self, session: AsyncSession, event: EventView, promoted: Sequence[SignupView]
    ) -> None:
        """Tell whoever moved up and queue their reminders, in the promotion's transaction."""
        for signup in promoted:
            prefix = f"event:{event.id}:promoted:{signup.id}:"
            number = await self._next_number(session, prefix)
            await self._tell(
                session, f"{prefix}{number}", [signup], self._promoted_notice(event, signup)
            )
        await self._queue_reminders(session, event, promoted)

    def _promoted_notice(
        self, event: EventView, signup: SignupView
    ) -> Callable[[str], dict[str, Any]]:
        return lambda locale: self.renderer.promoted(event, signup, locale)

    async def cancel_signup(self, event_id: int, telegram_id: int) -> CancelResult:
        async def work(session: AsyncSession) -> CancelResult:
            row = await self._lock_event(session, event_id)
            if row is None:
                raise EventNotFound(str(event_id))
            signup = await session.scalar(
                select(Signup).where(
                    Signup.event_id == event_id,
                    Signup.telegram_id == telegram_id,
                    Signup.status.in_(list(ACTIVE)),
                )
            )
            if signup is None:
                raise NotSignedUp(str(event_id))
            signup.status = SignupStatus.CANCELLED
            signup.updated_at = self._clock()
            await session.flush()
            cancelled = SignupView.of(signup)
            if row.starts_at is not None:
                await self._delivery.cancel_for_chat_in_sources(
                    telegram_id,
                    [
                        reminder_source(event_id, row.starts_at),
                        still_source(event_id, row.starts_at),
                    ],
                    session=session,
                )
            promoted = await self._promote(session, row)
            if promoted:
                await self._after_promotion(session, await self._view(session, row), promoted)
            return CancelResult(cancelled, tuple(promoted))

        return await self._locked(work)

    async def answer_still_coming(
        self, event_id: int, telegram_id: int, coming: bool
    ) -> CancelResult | None:
        if coming:
            return None
        try:
            return await self.cancel_signup(event_id, telegram_id)
        except NotSignedUp:
            return None

    async def my_signups(self, telegram_id: int) -> list[tuple[EventView, SignupView]]:
        now = self._clock()
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Event, Signup)
                    .join(Signup, Signup.event_id == Event.id)
                    .where(
                        Signup.telegram_id == telegram_id,
                        Signup.status.in_(list(ACTIVE)),
                        Event.status == EventStatus.PUBLISHED,
                        Event.starts_at > now,
                    )
                    .order_by(Event.starts_at, Event.id)
                )
            ).all()
            views = await self._views(session, [event for event, _ in rows])
            return [
                (view, SignupView.of(signup)) for view, (_, signup) in zip(views, rows, strict=True)
            ]

    async def signup_of(self, event_id: int, telegram_id: int) -> SignupView | None:
        """A resident's confirmed or waitlisted sign-up for an event, if any."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(Signup).where(
                    Signup.event_id == event_id,
                    Signup.telegram_id == telegram_id,
                    Signup.status.in_(list(ACTIVE)),
                )
            )
            return SignupView.of(row) if row else None

    # coordinators -------------------------------------------------------------------------------

    async def attendees(self, actor: Actor, event_id: int) -> AttendeeSummary:
        """Who comes: for coordinators, and for a partner organisation on its own events."""
        event = await self._require(event_id)
        require(_may_see_signups(actor, event), "event.attendees")
        async with self._sessions() as session:
            signups = await self._active_signups(session, event_id)
        confirmed = tuple(s for s in signups if s.status == SignupStatus.CONFIRMED)
        waitlisted = tuple(s for s in signups if s.status == SignupStatus.WAITLISTED)
        interpreters: dict[str, int] = {}
        for s in confirmed:
            if s.interpreter_locale:
                interpreters[s.interpreter_locale] = interpreters.get(s.interpreter_locale, 0) + 1
        return AttendeeSummary(
            event=event,
            confirmed=confirmed,
            waitlisted=waitlisted,
            adults=sum(s.adults for s in confirmed),
            children=sum(s.children for s in confirmed),
            interpreters=interpreters,
            childcare=sum(1 for s in confirmed if s.childcare),
            wheelchair=sum(1 for s in confirmed if s.wheelchair),
            checked_in=sum(1 for s in confirmed if s.checked_in_at is not None),
        )

    async def csv(self, actor: Actor, event_id: int) -> str:
        summary = await self.attendees(actor, event_id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "code",
                "status",
                "locale",
                "adults",
                "children",
                "interpreter",
                "childcare",
                "wheelchair",
                "note",
                "checked_in",
            ]
        )
        for s in (*summary.confirmed, *summary.waitlisted):
            note = s.note or ""
            if note[:1] in ("=", "+", "-", "@"):  # no formulas in spreadsheets
                note = "'" + note
            writer.writerow(
                [
                    s.code,
                    s.status.value,
                    s.locale,
                    s.adults,
                    s.children,
                    s.interpreter_locale or "",
                    "yes" if s.childcare else "",
                    "yes" if s.wheelchair else "",
                    note,
                    s.checked_in_at.astimezone(self.tz).isoformat(timespec="minutes")
                    if s.checked_in_at
                    else "",
                ]
            )
        return out.getvalue()

    async def check_in(self, actor: Actor, event_id: int, code: str) -> SignupView | None:
        require_staff(actor, "event.check_in")
        normalized = code.strip().upper()
        async with self._sessions.begin() as session:
            await session.execute(
                update(Signup)
                .where(
                    Signup.event_id == event_id,
                    Signup.code == normalized,
                    Signup.status == SignupStatus.CONFIRMED,
                    Signup.checked_in_at.is_(None),
                )
                .values(checked_in_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            row = await session.scalar(
                select(Signup).where(
                    Signup.event_id == event_id,
                    Signup.code == normalized,
                    Signup.status == SignupStatus.CONFIRMED,
                )
            )
            return SignupView.of(row) if row else None


def _may_see_signups(actor: Actor, event: EventView) -> bool:
    return actor.is_staff or (actor.is_partner and actor.is_person(event.created_by))
