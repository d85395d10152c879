"""The event service's limits, errors and results: frozen values made from the rows, and the
renderer it is handed; no queries and no Telegram here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Protocol

from bot.services.versions import Versioned
from storage.models import Event, EventStatus, Signup, SignupStatus

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
#: What a change notice names, in this order: the changes that concern whoever signed up.
#: (A new description, topic or photo doesn't: nobody is told of those.)
NOTIFIED_CHANGES = ("title", "time", "place")


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


class EndBeforeStart(InvalidTime):
    """The end would come before (or at) the start."""


class WindowClosesFirst(InvalidTime):
    """The sign-up window would close before it opens."""


class InvalidValue(EventError):
    """A field out of range (capacity, reminder hours, coordinates, unknown field)."""


class CapacityTooLow(EventError):
    """Fewer seats than the confirmed sign-ups hold already (they keep their seats)."""

    def __init__(self, taken: int) -> None:
        super().__init__(f"{taken} seats are taken")
        self.taken = taken


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
    #: Written before the default language's text last changed.
    needs_review: bool = False


@dataclass(frozen=True)
class EventView(Versioned[EventVersionView]):
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
    #: An announcement waits for translations until then at the latest.
    announce_at: datetime | None = None
    waitlisted: int = 0

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
        versions = (
            EventVersionView(v.locale, v.title, v.description, bool(v.needs_review))
            for v in row.versions
        )
        values = {name: getattr(row, name) for name in VIEW_FIELDS}
        return cls.of_values(values, versions, seats_taken, waitlisted)

    @classmethod
    def of_values(
        cls,
        values: Mapping[Any, Any],
        versions: Iterable[EventVersionView],
        seats_taken: int = 0,
        waitlisted: int = 0,
    ) -> EventView:
        """From the ``VIEW_FIELDS`` columns as read (a row of a list, no ORM object)."""
        fields = {name: values[name] for name in VIEW_FIELDS}
        fields["topics"] = tuple(fields["topics"] or ())
        return cls(
            **fields,
            versions={version.locale: version for version in versions},
            seats_taken=int(seats_taken or 0),
            waitlisted=int(waitlisted or 0),
        )


#: The event's columns a view shows, by name: a list reads only these.
VIEW_FIELDS = (
    "id",
    "status",
    "created_by",
    "organiser",
    "default_locale",
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
    "publish_at",
    "photo_file_id",
    "reminder_hours",
    "announce_at",
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
    #: The resident's stored first name: filled in only for those who may see who comes
    #: (``Signups.attendees``), None everywhere else.
    first_name: str | None = None

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

    def changed(
        self, event: EventView, locale: str, changes: Sequence[str] = ("time", "place")
    ) -> dict[str, Any]: ...

    def cancelled(self, event: EventView, locale: str) -> dict[str, Any]: ...

    def announcement(self, event: EventView, locale: str) -> dict[str, Any]: ...

    def fill_alert(self, event: EventView, percent: int, locale: str) -> dict[str, Any]: ...

    def proposal(self, event: EventView, locale: str) -> dict[str, Any]:
        """To coordinators: a partner organisation asks for approval."""
        ...

    def decision(self, event: EventView, approved: bool, locale: str) -> dict[str, Any]:
        """To the partner organisation: its event was approved or not."""
        ...
