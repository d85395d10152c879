"""Events and sign-ups: compose, publish, browse, register with companions, waiting lists.

An event has a title and description per language (the default language's is required), a
time, a place and a capacity in seats (0 = unlimited; companions count). Residents sign up with
their party and needs and get a short registration code. When the seats are gone the waiting
list is offered; a cancellation hands the freed seats to the waiting list at once (first come,
first served) and whoever moves up is told through the outbox.

One transaction per action: a sign-up, its reminders and the fill alerts it causes commit
together (so do a cancellation, the seats it frees for the waiting list and the notices and
reminders of whoever moves up, and an event's change or cancellation with its notices). A
failure anywhere leaves none of it behind, and the delivery engine is woken only after the
commit.

The parts: ``views`` (limits, errors, results, the renderer's protocol), ``core`` (the shared
dependencies, reads and the event's row lock), ``reminders`` (the outbox side, written into the
caller's transaction), ``publishing``, ``signups`` (with the waiting list), ``reading``, and
``service``, which puts ``EventService`` together from them.
"""

from bot.services.events.publishing import Announced
from bot.services.events.service import EventService
from bot.services.events.views import (
    MAX_CAPACITY,
    MAX_PARTY,
    MAX_REMINDER_HOURS,
    AlreadySignedUp,
    AttendeeSummary,
    CancelResult,
    CapacityTooLow,
    EndBeforeStart,
    EventError,
    EventFull,
    EventNotFound,
    EventRenderer,
    EventVersionView,
    EventView,
    InvalidParty,
    InvalidTime,
    InvalidValue,
    MissingTitle,
    NotEditable,
    NotSignedUp,
    SignupClosed,
    SignupResult,
    SignupView,
    TextTooLong,
    WindowClosesFirst,
)

__all__ = [
    "MAX_CAPACITY",
    "MAX_PARTY",
    "MAX_REMINDER_HOURS",
    "AlreadySignedUp",
    "Announced",
    "AttendeeSummary",
    "CancelResult",
    "CapacityTooLow",
    "EndBeforeStart",
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
    "WindowClosesFirst",
]
