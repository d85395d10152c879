"""The typed data each multi-step flow keeps between its steps (declared in handlers/flows.py).

A flow's data is stored as plain JSON in ``chat_states``, one key per field, unset (None)
fields left out: the keys are the ones earlier versions wrote, so their rows still read. A row
is read back field by field against the dataclass: a value of the wrong type, or a missing
field that has no default, and the row does not read at all (``from_json`` gives None), since
an older version's or a forged row must not reach a handler half-valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from functools import cache
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_type_hints

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")

#: The types a field may have (or ``X | None``): what JSON carries back unchanged.
SCALARS: tuple[type, ...] = (bool, int, float, str)


@dataclass(frozen=True)
class BroadcastStep:
    """The broadcast the composer waits for input for; ``locale`` at "text" (the version
    being written), ``day`` at "weekly_time"."""

    id: int
    locale: str | None = None
    day: str | None = None


@dataclass(frozen=True)
class SignupNote:
    """The sign-up a note belongs to: the party chosen on the buttons before it, and the note
    once typed (at "check", where it waits for Confirm)."""

    id: int
    adults: int
    children: int
    flags: int
    note: str | None = None


@dataclass(frozen=True)
class GroupDraft:
    """A /newgroup draft (``kind`` from the first tap, then name, description, topic,
    rhythm), or the group a lead closes (``id``), adds a help slot to (``id``, ``label``) or
    edits (``id``; ``slot``: the help task whose label or capacity is typed)."""

    kind: str | None = None
    name: str | None = None
    description: str | None = None
    topic: str | None = None
    rhythm: str | None = None
    id: int | None = None
    label: str | None = None
    slot: int | None = None


@dataclass(frozen=True)
class IdeaDraft:
    """An idea being shared: its content (text, a voice message or a photo, file ids), then
    topic, place (typed, or a location) and whether it is anonymous (None: not asked yet)."""

    text: str | None = None
    voice: str | None = None
    photo: str | None = None
    topic: str | None = None
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    anonymous: bool | None = None


@dataclass(frozen=True)
class IdeaMerge:
    """The idea a coordinator joins with the one whose number they type next."""

    id: int


@dataclass(frozen=True)
class EventStep:
    """The event the composer (or a coordinator's tool) waits for input for; ``editing``: the
    step was opened from the event's edit screen, which it returns to (None, not False, when
    it wasn't: rows keep the keys earlier versions wrote)."""

    id: int
    editing: bool | None = None


@dataclass(frozen=True)
class VersionStep:
    """One language's version of an event's or a group's text, written field by field by
    someone who may edit it (the 🌐 Translations screen)."""

    subject: str
    id: int
    locale: str
    slot: int | None = None  # at the step "slot": the help task whose label is written


@dataclass(frozen=True)
class TranslationDraft:
    """A volunteer's translation of a task, field by field; the fields typed so far."""

    id: int  # the task
    title: str | None = None
    name: str | None = None
    description: str | None = None
    rhythm: str | None = None


@dataclass(frozen=True)
class NoticeDraft:
    """An admin writing the privacy notice's next ``version`` (/notice), one language after
    the other: ``locale`` is the one being written, ``texts`` those written so far, as a JSON
    object of locale to text (a flow carries scalars only)."""

    version: int
    locale: str
    texts: str = "{}"


@cache
def field_types(kind: type[DataclassInstance]) -> dict[str, tuple[type, ...]]:
    """Each field's allowed types; a field of any other type is refused (ValueError), so a
    flow can't declare data that wouldn't come back from JSON as it went in."""
    hints = get_type_hints(kind)
    allowed: dict[str, tuple[type, ...]] = {}
    for each in fields(kind):
        hint = hints[each.name]
        options = get_args(hint) if isinstance(hint, UnionType) else (hint,)
        if not all(option in (*SCALARS, NoneType) for option in options):
            raise ValueError(f"{kind.__name__}.{each.name}: {hint} is not a JSON scalar")
        allowed[each.name] = options
    return allowed


def to_json(data: DataclassInstance) -> dict[str, Any]:
    return {key: value for key, value in asdict(data).items() if value is not None}


def _fits(value: object, options: tuple[type, ...]) -> bool:
    if value is None:
        return NoneType in options
    if isinstance(value, bool):  # a bool is an int to isinstance, but not a number here
        return bool in options
    if isinstance(value, int):
        return int in options or float in options
    return any(isinstance(value, option) for option in options)


def from_json(kind: type[D], raw: object) -> D | None:
    """The data a row holds, or None if it doesn't fit ``kind``; unknown keys are ignored."""
    if not isinstance(raw, Mapping):
        return None
    allowed = field_types(kind)
    values: dict[str, Any] = {}
    for each in fields(kind):
        if each.name not in raw:
            if each.default is MISSING and each.default_factory is MISSING:
                return None
            continue
        value = raw[each.name]
        if not _fits(value, allowed[each.name]):
            return None
        if isinstance(value, int) and not isinstance(value, bool) and int not in allowed[each.name]:
            value = float(value)  # a whole number may come back without its ".0"
        values[each.name] = value
    return kind(**values)
