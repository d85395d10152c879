"""Button payloads: every inline button's callback data, as a small typed record.

One frozen dataclass per family of buttons. ``pack()`` writes the string Telegram carries
back when the button is tapped (``<prefix>:<part>:<part>…``, at most 64 bytes) and
``unpack(data)`` reads it, validating every part: a known prefix and action, the exact number
of parts, canonical ASCII numbers in range, locale codes and topic keys of the right shape.
Anything else (an old format, forged or truncated data) unpacks to None and is answered as an
invalid button. ``pack()`` checks that its output unpacks to the same record, so the bot never
sends a button it would refuse. The wire formats are on each record; they don't change, so
buttons already sent in chats keep working.

Handlers receive the record (``handlers.callbacks.ButtonHandler``); keyboards, the outbox's
messages (``bot/rendering.py``) and tests build callback data with ``pack()``. Nothing else
writes or parses callback data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import ClassVar, Literal, Self, TypeVar, get_args

from bot.services.broadcasts import DAYS
from bot.services.events import MAX_CAPACITY, MAX_PARTY, MAX_REMINDER_HOURS
from bot.services.ideas import REJECT_REASONS
from bot.topics import TOPIC_LABELS

#: Telegram's limit for callback data, in bytes (UTF-8).
MAX_BYTES = 64
#: Ids of events, broadcasts, ideas, groups and slots: the database's 32-bit integers.
MAX_ID = 2**31 - 1
#: The largest first item of a page of a list (events, ideas, groups).
MAX_OFFSET = 9999

#: A deep link's payload, as in t.me/<bot>?start=event_42; it travels on through onboarding.
DEEP_LINK = r"(?:event|project|group|idea)_[0-9]{1,10}"

#: A sign-up's needs travel as a bit mask of these.
INTERPRETER, CHILDCARE, WHEELCHAIR = 1, 2, 4
ALL_NEEDS = INTERPRETER | CHILDCARE | WHEELCHAIR

_NUMBER = re.compile(r"0|[1-9][0-9]{0,9}")
_LOCALE = re.compile(r"[a-z]{2,3}(?:_[a-z]{2,8})?")  # "de", "ku", a variety: "de_simple"
_LINK = re.compile(DEEP_LINK)

W = TypeVar("W", bound=str)
YesNo = Literal["yes", "no"]
#: Where the topic choice goes when done: none, the main menu (onboarding); or the settings.
TopicsThen = Literal["settings"]


class Malformed(ValueError):
    """Callback data that isn't what any button of the family sends."""


def _number(text: str, low: int, high: int) -> int:
    if not _NUMBER.fullmatch(text) or not low <= int(text) <= high:
        raise Malformed(text)
    return int(text)


class _Parts:
    """The parts of callback data after the prefix, read from left to right."""

    def __init__(self, parts: Sequence[str]) -> None:
        self._parts = parts
        self._at = 0

    def next(self) -> str:
        if self._at >= len(self._parts):
            raise Malformed("too few parts")
        self._at += 1
        return self._parts[self._at - 1]

    def more(self) -> bool:
        return self._at < len(self._parts)

    def end(self) -> None:
        if self.more():
            raise Malformed("too many parts")

    def word(self, words: tuple[W, ...]) -> W:
        part = self.next()
        for word in words:
            if part == word:
                return word
        raise Malformed(part)

    def number(self, low: int, high: int) -> int:
        return _number(self.next(), low, high)

    def id(self) -> int:
        return self.number(1, MAX_ID)

    def offset(self) -> int:
        return self.number(0, MAX_OFFSET)

    def locale(self) -> str:
        part = self.next()
        if not _LOCALE.fullmatch(part):
            raise Malformed(part)
        return part

    def link(self) -> str:
        part = self.next()
        if not _LINK.fullmatch(part):
            raise Malformed(part)
        return part

    def topic(self, *words: str, prefix: str = "") -> str:
        """A topic the code knows (written after ``prefix``), or one of ``words``."""
        part = self.next()
        if part in words:
            return part
        if part.startswith(prefix) and part[len(prefix) :] in TOPIC_LABELS:
            return part[len(prefix) :]
        raise Malformed(part)

    def topic_or_none(self, none: str) -> str | None:
        """A topic the code knows, or the word ``none`` for none."""
        topic = self.topic(none)
        return None if topic == none else topic


#: Every family, by prefix (filled in as the records are defined).
FAMILIES: dict[str, type[Button]] = {}


@dataclass(frozen=True)
class Button:
    """The base of every record: ``PREFIX`` names the family, the fields are the parts."""

    PREFIX: ClassVar[str] = ""

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "PREFIX" in cls.__dict__:
            assert cls.PREFIX not in FAMILIES, f"two families use {cls.PREFIX}:"
            FAMILIES[cls.PREFIX] = cls

    def _parts(self) -> tuple[object, ...]:
        """The parts after the prefix: by default the fields in order, those that are None
        left out. A family whose parts differ from its fields says how."""
        values = (getattr(self, field.name) for field in fields(self))
        return tuple(value for value in values if value is not None)

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        raise NotImplementedError

    def pack(self) -> str:
        """The callback data; ValueError for a record no button may carry."""
        data = ":".join([self.PREFIX, *(str(part) for part in self._parts())])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"{data!r} is longer than {MAX_BYTES} bytes")
        if type(self).unpack(data) != self:
            raise ValueError(f"{self!r} is not a valid button")
        return data

    @classmethod
    def has_prefix(cls, data: object) -> bool:
        """Whether ``data`` belongs to this family by its prefix, valid or not."""
        return bool(cls.PREFIX) and isinstance(data, str) and data.startswith(f"{cls.PREFIX}:")

    @classmethod
    def unpack(cls, data: object) -> Self | None:
        """The record behind callback data of this family, or None."""
        if not isinstance(data, str) or not data.isascii() or len(data) > MAX_BYTES:
            return None
        prefix, *rest = data.split(":")
        if prefix != cls.PREFIX or not cls.PREFIX:
            return None
        parts = _Parts(rest)
        try:
            button = cls._read(parts)
            parts.end()
        except Malformed:
            return None
        return button


# --- onboarding, the menu and settings -----------------------------------------------------


@dataclass(frozen=True)
class LanguageButton(Button):
    """``lang:<locale>[:<deep link>]``: a language picked; a pending deep link travels on."""

    PREFIX = "lang"
    locale: str
    link: str | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.locale(), parts.link() if parts.more() else None)


@dataclass(frozen=True)
class ConsentButton(Button):
    """``consent:<yes|no>:<locale>[:<deep link>]``: the answer to the privacy notice."""

    PREFIX = "consent"
    answer: YesNo
    locale: str
    link: str | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        answer = parts.word(get_args(YesNo))
        return cls(answer, parts.locale(), parts.link() if parts.more() else None)


@dataclass(frozen=True)
class TopicButton(Button):
    """``topic:<topic>[:settings]``: a topic followed or no longer followed (``settings``: the
    choice was opened from the settings, whose Done goes back there)."""

    PREFIX = "topic"
    topic: str
    then: TopicsThen | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        topic = parts.topic()
        return cls(topic, parts.word(get_args(TopicsThen)) if parts.more() else None)


@dataclass(frozen=True)
class TopicsDoneButton(Button):
    """``topics:done[:settings]``: the topics are chosen; on to the main menu (onboarding), or
    back to the settings they were opened from."""

    PREFIX = "topics"
    then: TopicsThen | None = None

    def _parts(self) -> tuple[object, ...]:
        return ("done",) if self.then is None else ("done", self.then)

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        parts.word(("done",))
        return cls(parts.word(get_args(TopicsThen)) if parts.more() else None)


MenuEntry = Literal["home", "events", "projects", "idea", "signups"]
SettingsEntry = Literal[
    "open",
    "language",
    "topics",
    "news_on",
    "news_off",
    "privacy",
    "quiet",
    # consent per purpose: messages about one's own sign-ups and groups; a group lead's
    "service_on",
    "service_off",
    "lead_on",
    "lead_off",
]
PrivacyStep = Literal["ask", "delete", "keep"]
DigestChoice = Literal["on", "off"]


@dataclass(frozen=True)
class MenuButton(Button):
    """``menu:<entry>``: an entry of the main menu."""

    PREFIX = "menu"
    entry: MenuEntry

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.word(get_args(MenuEntry)))


@dataclass(frozen=True)
class SettingsButton(Button):
    """``set:<entry>``: an entry of /settings."""

    PREFIX = "set"
    entry: SettingsEntry

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.word(get_args(SettingsEntry)))


@dataclass(frozen=True)
class PrivacyButton(Button):
    """``privacy:<step>``: deleting one's data, asked and confirmed."""

    PREFIX = "privacy"
    step: PrivacyStep

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.word(get_args(PrivacyStep)))


@dataclass(frozen=True)
class QuietButton(Button):
    """``quiet:off``, ``quiet:<start hour>-<end hour>``: quiet hours chosen (None: none)."""

    PREFIX = "quiet"
    hours: tuple[int, int] | None

    def _parts(self) -> tuple[object, ...]:
        return (f"{self.hours[0]}-{self.hours[1]}" if self.hours is not None else "off",)

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        part = parts.next()
        if part == "off":
            return cls(None)
        start, _, end = part.partition("-")
        return cls((_number(start, 0, 23), _number(end, 0, 23)))


@dataclass(frozen=True)
class DigestButton(Button):
    """``digest:<on|off>``: the weekly overview turned on or off."""

    PREFIX = "digest"
    choice: DigestChoice

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.word(get_args(DigestChoice)))


# --- broadcasts ----------------------------------------------------------------------------

BroadcastAction = Literal[
    "home", "aud", "al", "at", "ac", "langs", "text", "rmv", "photo", "nophoto", "prev", "pv",
    "urg", "send", "go", "when", "week", "wd", "del", "cancel", "prog", "retry",
]  # fmt: skip
#: The composer's actions that name a language (``at`` names a topic, ``wd`` a weekday).
BROADCAST_LOCALE_ACTIONS = ("al", "text", "rmv", "pv")


@dataclass(frozen=True)
class BroadcastButton(Button):
    """``bc:<action>:<broadcast id>``, and ``bc:al|text|rmv|pv:<id>:<locale>``,
    ``bc:at:<id>:<topic>``, ``bc:wd:<id>:<mon..sun>``: the broadcast composer."""

    PREFIX = "bc"
    action: BroadcastAction
    broadcast_id: int
    locale: str | None = None
    topic: str | None = None
    day: str | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action, broadcast_id = parts.word(get_args(BroadcastAction)), parts.id()
        if action in BROADCAST_LOCALE_ACTIONS:
            return cls(action, broadcast_id, locale=parts.locale())
        if action == "at":
            return cls(action, broadcast_id, topic=parts.topic())
        if action == "wd":
            return cls(action, broadcast_id, day=parts.word(DAYS))
        return cls(action, broadcast_id)


# --- events --------------------------------------------------------------------------------

EventAction = Literal[
    "show", "join", "ad", "ch", "nd", "ok", "wl", "note", "cx", "cxy", "still", "ics", "map",
    "chk", "stop", "wlq",
]  # fmt: skip
#: How many of adults, children and needs follow each action (``still`` has its answer).
_EVENT_PARTY_PARTS: dict[str, int] = {
    "ad": 1, "ch": 2, "nd": 3, "ok": 3, "wl": 3, "note": 3, "chk": 3
}  # fmt: skip


@dataclass(frozen=True)
class EventButton(Button):
    """``ev:<action>:<event id>``; signing up carries the party along:
    ``ev:ad:<id>:<adults>``, ``ev:ch:<id>:<adults>:<children>``,
    ``ev:nd|chk|ok|wl|note:<id>:<adults>:<children>:<needs>`` (a bit mask; ``chk``: the
    check before confirming), ``ev:stop:<id>`` (cancel at the check), ``ev:wlq:<id>`` (a
    full event's waiting list: ask the party); and the answer to "still coming?":
    ``ev:still:<id>:<yes|no>``."""

    PREFIX = "ev"
    action: EventAction
    event_id: int
    adults: int | None = None
    children: int | None = None
    needs: int | None = None
    answer: YesNo | None = None

    @property
    def party(self) -> tuple[int, int, int]:
        """Adults, children and needs so far (0 for those not chosen yet)."""
        return self.adults or 0, self.children or 0, self.needs or 0

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action, event_id = parts.word(get_args(EventAction)), parts.id()
        if action == "still":
            return cls(action, event_id, answer=parts.word(get_args(YesNo)))
        count = _EVENT_PARTY_PARTS.get(action, 0)
        adults = parts.number(1, MAX_PARTY) if count > 0 else None
        children = parts.number(0, MAX_PARTY) if count > 1 else None
        needs = parts.number(0, ALL_NEEDS) if count > 2 else None
        return cls(action, event_id, adults, children, needs)


EventScope = Literal["all", "week"]


@dataclass(frozen=True)
class EventListButton(Button):
    """``evl:<offset>:<all|week|t_<topic>>``: a page of upcoming events; ``scope`` is
    "all", "week" or a topic."""

    PREFIX = "evl"
    offset: int = 0
    scope: str = "all"

    @property
    def topic(self) -> str | None:
        return None if self.scope in get_args(EventScope) else self.scope

    def _parts(self) -> tuple[object, ...]:
        return (self.offset, self.scope if self.topic is None else f"t_{self.topic}")

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.offset(), parts.topic(*get_args(EventScope), prefix="t_"))


EventAdminAction = Literal[
    "menu", "people", "csv", "checkin", "move", "place", "dup", "cancel", "cancely",
    "approve", "reject", "msg", "msgw",
]  # fmt: skip


@dataclass(frozen=True)
class EventAdminButton(Button):
    """``eva:<action>:<event id>``: a coordinator's tools for one event."""

    PREFIX = "eva"
    action: EventAdminAction
    event_id: int

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.word(get_args(EventAdminAction)), parts.id())


EventComposerAction = Literal[
    "skip", "cap", "topic", "publish", "later", "draft", "announce", "ann", "annw", "propose"
]
#: The steps of /newevent that a "Skip" button may skip.
SkippableStep = Literal["description", "until", "address", "topic", "photo"]
AnnounceTo = Literal["topics", "all"]


@dataclass(frozen=True)
class EventComposerButton(Button):
    """``evc:<action>:<event id>``, and ``evc:skip:<id>:<step>``, ``evc:cap:<id>:<seats>``,
    ``evc:topic:<id>:<topic>``, ``evc:ann:<id>:<topics|all>``: /newevent and announcing
    (``annw``: announcing once the translations are in)."""

    PREFIX = "evc"
    action: EventComposerAction
    event_id: int
    step: SkippableStep | None = None
    capacity: int | None = None
    topic: str | None = None
    audience: AnnounceTo | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action, event_id = parts.word(get_args(EventComposerAction)), parts.id()
        if action == "skip":
            return cls(action, event_id, step=parts.word(get_args(SkippableStep)))
        if action == "cap":
            return cls(action, event_id, capacity=parts.number(0, MAX_CAPACITY))
        if action == "topic":
            return cls(action, event_id, topic=parts.topic())
        if action in ("ann", "annw"):
            return cls(action, event_id, audience=parts.word(get_args(AnnounceTo)))
        return cls(action, event_id)


#: What the edit screen of a published (or any) event can change, one field at a time.
EventEditField = Literal[
    "title", "description", "when", "until", "place", "address", "capacity",
    "reminder", "opens", "closes", "topic", "photo",
]  # fmt: skip
#: The optional fields the edit screen can empty again.
ClearableField = Literal["until", "address", "opens", "closes", "topic", "photo"]
EventEditAction = Literal["ask", "clear", "remind"]


@dataclass(frozen=True)
class EventEditButton(Button):
    """``eve:<event id>``: the event's edit screen; ``eve:<id>:ask:<field>`` asks for a new
    value of a field, ``eve:<id>:clear:<field>`` empties an optional one, and
    ``eve:<id>:remind:<hours>`` sets how long before the start the reminder goes out."""

    PREFIX = "eve"
    event_id: int
    action: EventEditAction | None = None
    field: EventEditField | None = None
    hours: int | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        event_id = parts.id()
        if not parts.more():
            return cls(event_id)
        action = parts.word(get_args(EventEditAction))
        if action == "remind":
            return cls(event_id, action, hours=parts.number(0, MAX_REMINDER_HOURS))
        if action == "clear":
            return cls(event_id, action, parts.word(get_args(ClearableField)))
        return cls(event_id, action, parts.word(get_args(EventEditField)))


# --- ideas ---------------------------------------------------------------------------------

IdeaStep = Literal["new", "board", "topic", "place", "anon", "send", "cancel"]


@dataclass(frozen=True)
class IdeaButton(Button):
    """Sharing an idea: ``idea:<new|board|send|cancel>:go``, ``idea:place:skip``,
    ``idea:topic:<topic|none>``, ``idea:anon:<0|1>``."""

    PREFIX = "idea"
    step: IdeaStep
    topic: str | None = None
    anonymous: bool | None = None

    def _parts(self) -> tuple[object, ...]:
        if self.step == "topic":
            return (self.step, self.topic or "none")
        if self.step == "anon":
            return (self.step, int(bool(self.anonymous)))
        return (self.step, "skip" if self.step == "place" else "go")

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        step = parts.word(get_args(IdeaStep))
        if step == "topic":
            return cls(step, topic=parts.topic_or_none("none"))
        if step == "anon":
            return cls(step, anonymous=bool(parts.number(0, 1)))
        parts.word(("skip",) if step == "place" else ("go",))
        return cls(step)


IdeaOrder = Literal["supported", "newest"]


@dataclass(frozen=True)
class IdeaBoardButton(Button):
    """``idb:<offset>:<supported|newest>:<topic|all>``: a page of the idea board."""

    PREFIX = "idb"
    offset: int = 0
    order: IdeaOrder = "supported"
    topic: str | None = None

    def _parts(self) -> tuple[object, ...]:
        return (self.offset, self.order, self.topic or "all")

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.offset(), parts.word(get_args(IdeaOrder)), parts.topic_or_none("all"))


@dataclass(frozen=True)
class _OneIdea(Button):
    idea_id: int

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.id())


@dataclass(frozen=True)
class IdeaSupportButton(_OneIdea):
    """``ids:<idea id>``: support an idea, or withdraw one's support."""

    PREFIX = "ids"


@dataclass(frozen=True)
class IdeaReportButton(_OneIdea):
    """``idr:<idea id>``: a resident reports a public idea (hidden after a few reports until a
    coordinator looks)."""

    PREFIX = "idr"


@dataclass(frozen=True)
class IdeaVoiceButton(_OneIdea):
    """``idv:<idea id>``: listen to an idea sent as a voice message."""

    PREFIX = "idv"


IdeaModerationAction = Literal[
    "pub", "st", "why", "rs", "merge", "msg", "proj",
    # after reports: keep it public, hide it for good; its author: ask, ban, unban
    "keep", "hide", "ban", "banok", "unban",
]  # fmt: skip
#: The statuses a coordinator sets with one tap, and the two that need a reason.
IdeaStatusChoice = Literal["under_review", "planned", "in_progress", "done"]
IdeaDecline = Literal["not_possible", "rejected"]
#: How a decline is written before its reason: ``not_<reason>``, ``rej_<reason>``.
_DECLINE_KEYS: dict[str, IdeaDecline] = {"not": "not_possible", "rej": "rejected"}


@dataclass(frozen=True)
class IdeaModerationButton(Button):
    """Coordinators on one idea: ``idm:<action>:<idea id>``, ``idm:st:<id>:<status>``,
    ``idm:why:<id>:<not_possible|rejected>`` and ``idm:rs:<id>:<not|rej>_<reason>``."""

    PREFIX = "idm"
    action: IdeaModerationAction
    idea_id: int
    status: IdeaStatusChoice | IdeaDecline | None = None
    reason: str | None = None

    def _parts(self) -> tuple[object, ...]:
        if self.action == "rs" and self.status is not None:
            return (self.action, self.idea_id, f"{self.status[:3]}_{self.reason}")
        return super()._parts()

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action, idea_id = parts.word(get_args(IdeaModerationAction)), parts.id()
        if action == "st":
            return cls(action, idea_id, parts.word(get_args(IdeaStatusChoice)))
        if action == "why":
            return cls(action, idea_id, parts.word(get_args(IdeaDecline)))
        if action == "rs":
            key, _, reason = parts.next().partition("_")
            if key not in _DECLINE_KEYS or reason not in REJECT_REASONS:
                raise Malformed(f"{key}_{reason}")
            return cls(action, idea_id, _DECLINE_KEYS[key], reason)
        return cls(action, idea_id)


# --- projects and working groups -----------------------------------------------------------

GroupAction = Literal[
    "show", "join", "leave", "slot", "unslot", "members", "msg", "msgh", "close", "addslot",
    "meet",
]  # fmt: skip


@dataclass(frozen=True)
class GroupButton(Button):
    """``grp:<action>:<group id>``, and ``grp:slot|unslot:<group id>:<slot id>``."""

    PREFIX = "grp"
    action: GroupAction
    group_id: int
    slot_id: int | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action, group_id = parts.word(get_args(GroupAction)), parts.id()
        return cls(action, group_id, parts.id() if action in ("slot", "unslot") else None)


GroupScope = Literal["all", "mine"]


@dataclass(frozen=True)
class GroupListButton(Button):
    """``grl:<offset>:<all|mine|topic>``: a page of projects and groups; ``scope`` is "all",
    "mine" or a topic."""

    PREFIX = "grl"
    offset: int = 0
    scope: str = "all"

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.offset(), parts.topic(*get_args(GroupScope)))


GroupEditAction = Literal[
    "open", "name", "desc", "rhythm", "topics", "topic", "leads", "lead", "me",
    "slot", "label", "cap", "rm", "rmok",
]  # fmt: skip
_EDIT_SLOT_ACTIONS = ("slot", "label", "cap", "rm", "rmok")


@dataclass(frozen=True)
class GroupEditButton(Button):
    """Editing a group (its lead, coordinators): ``gre:open:<group id>`` the edit screen,
    ``gre:name|desc|rhythm:<group id>`` a text to type, ``gre:topics:<group id>`` the topic
    picker and ``gre:topic:<group id>:<topic|none>`` a topic chosen, ``gre:leads:<group id>``
    the lead picker, ``gre:lead:<group id>:<user id>`` a member made lead and
    ``gre:me:<group id>`` the coordinator who taps; ``gre:slot|label|cap|rm|rmok:<group
    id>:<slot id>`` a help task's screen, its label, its capacity, its removal and the
    removal confirmed."""

    PREFIX = "gre"
    action: GroupEditAction
    group_id: int
    slot_id: int | None = None
    topic: str | None = None
    telegram_id: int | None = None

    def _parts(self) -> tuple[object, ...]:
        if self.action == "topic":
            return (self.action, self.group_id, self.topic or "none")
        return super()._parts()

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action, group_id = parts.word(get_args(GroupEditAction)), parts.id()
        if action == "topic":
            return cls(action, group_id, topic=parts.topic_or_none("none"))
        if action == "lead":
            return cls(action, group_id, telegram_id=parts.number(1, MAX_TELEGRAM_ID))
        if action in _EDIT_SLOT_ACTIONS:
            return cls(action, group_id, parts.id())
        return cls(action, group_id)


GroupKind = Literal["project", "group"]
GroupNewStep = Literal["kind", "topic", "skip"]


@dataclass(frozen=True)
class GroupNewButton(Button):
    """/newgroup: ``grn:kind:<project|group>``, ``grn:topic:<topic|none>``,
    ``grn:skip:rhythm``."""

    PREFIX = "grn"
    step: GroupNewStep
    kind: GroupKind | None = None
    topic: str | None = None

    def _parts(self) -> tuple[object, ...]:
        if self.step == "topic":
            return (self.step, self.topic or "none")
        return (self.step, self.kind if self.step == "kind" else "rhythm")

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        step = parts.word(get_args(GroupNewStep))
        if step == "kind":
            return cls(step, kind=parts.word(get_args(GroupKind)))
        if step == "topic":
            return cls(step, topic=parts.topic_or_none("none"))
        parts.word(("rhythm",))
        return cls(step)


# --- translations --------------------------------------------------------------------------

TranslationSubject = Literal["event", "group", "broadcast"]
TranslationAction = Literal["open", "lang", "ask", "skip", "wait", "machine"]


@dataclass(frozen=True)
class TranslationButton(Button):
    """``tl:open|ask|skip|wait|machine:<event|group|broadcast>:<id>``,
    ``tl:lang:<event|group>:<id>:<locale>``: the 🌐 Translations screen of an event, group or
    broadcast, a language to write a version of, the translators asked for the missing
    languages, a field skipped while writing one, a broadcast sent once translated, its
    machine drafts approved unreviewed."""

    PREFIX = "tl"
    action: TranslationAction
    subject: TranslationSubject
    subject_id: int
    locale: str | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action = parts.word(get_args(TranslationAction))
        subject, subject_id = parts.word(get_args(TranslationSubject)), parts.id()
        if action == "lang":
            return cls(action, subject, subject_id, parts.locale())
        return cls(action, subject, subject_id)


TaskAction = Literal["do", "ok", "no", "edit", "list"]


@dataclass(frozen=True)
class TaskButton(Button):
    """``tt:<do|ok|no|edit>:<task id>``: translate a task, approve, reject or correct (then
    approve) a translation; ``tt:list``: the open tasks of a translator's language."""

    PREFIX = "tt"
    action: TaskAction
    task_id: int | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action = parts.word(get_args(TaskAction))
        if action == "list":
            return cls(action)
        return cls(action, parts.id())


TranslatorAction = Literal["offer", "yes", "no"]
#: Telegram's user ids: positive, up to 52 bits, ten digits today.
MAX_TELEGRAM_ID = 9_999_999_999


@dataclass(frozen=True)
class TranslatorButton(Button):
    """``tv:offer``: a resident offers to translate into their language; ``tv:yes|no:<user
    id>``: a coordinator makes them a translator, or not."""

    PREFIX = "tv"
    action: TranslatorAction
    telegram_id: int | None = None

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action = parts.word(get_args(TranslatorAction))
        if action == "offer":
            return cls(action)
        return cls(action, parts.number(1, MAX_TELEGRAM_ID))


# --- roles and the audit log ---------------------------------------------------------------

RoleName = Literal["admin", "coordinator", "partner", "translator"]
RoleAction = Literal["list", "inv", "rvk", "rvy"]


@dataclass(frozen=True)
class RoleButton(Button):
    """``rl:list``: the staff by role (/roles); ``rl:inv:<role>``: a new invitation link to
    a role; ``rl:rvk:<user id>:<role>``: revoke it from them, asked first;
    ``rl:rvy:<user id>:<role>``: yes, revoke."""

    PREFIX = "rl"
    action: RoleAction
    role: RoleName | None = None
    telegram_id: int | None = None

    def _parts(self) -> tuple[object, ...]:
        if self.action == "list":
            return (self.action,)
        if self.action == "inv":
            return (self.action, self.role)
        return (self.action, self.telegram_id, self.role)

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action = parts.word(get_args(RoleAction))
        if action == "list":
            return cls(action)
        if action == "inv":
            return cls(action, parts.word(get_args(RoleName)))
        telegram_id = parts.number(1, MAX_TELEGRAM_ID)
        return cls(action, parts.word(get_args(RoleName)), telegram_id)


@dataclass(frozen=True)
class AuditButton(Button):
    """``au:<entry id>``: the page of the audit log with the entries older than that one."""

    PREFIX = "au"
    before: int

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        return cls(parts.number(1, 2**63 - 1))


# --- the privacy notice --------------------------------------------------------------------

NoticeAction = Literal["ok", "no", "new", "skip", "pub"]
MAX_NOTICE_VERSION = 99_999


@dataclass(frozen=True)
class NoticeButton(Button):
    """``nt:ok:<version>`` / ``nt:no:<version>``: a resident agrees to (or declines) the
    privacy notice's version they were shown; an admin's /notice: ``nt:new`` write the next
    version, ``nt:skip`` leave out the language asked for, ``nt:pub`` publish it."""

    PREFIX = "nt"
    action: NoticeAction
    version: int | None = None

    def _parts(self) -> tuple[object, ...]:
        if self.action in ("ok", "no"):
            return (self.action, self.version)
        return (self.action,)

    @classmethod
    def _read(cls, parts: _Parts) -> Self:
        action = parts.word(get_args(NoticeAction))
        if action in ("ok", "no"):
            return cls(action, parts.number(1, MAX_NOTICE_VERSION))
        return cls(action)
