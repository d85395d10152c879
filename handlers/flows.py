"""The multi-step flows, declared in one place, and the rules every flow obeys.

A flow's state lives in ``chat_states`` (bot/services/chat_state.py): one open flow per chat, at
one step. Here each flow declares its steps, the typed data it carries between them (a frozen
dataclass, handlers/flow_data.py), which buttons belong to it and at which steps it waits for a
tap rather than for typed text. ``Flow.at`` and ``Flow.read`` are the only way between that data
and the stored JSON; a row that doesn't read (an older version's, or forged) is a stale flow.
Then, for every update, before any handler:

- any command (but /cancel, which says what it ended) ends the open flow;
- a tap on a button that doesn't belong to the open flow (Back, the main menu, an old message)
  ends it;
- a flow idle for longer than its time-to-live has expired: typed text then gets a friendly
  "let's start again", and its buttons are refused.

Handlers move a flow on with ``take_step``: it claims the step atomically, so a double tap or a
stale button from a finished flow acts at most once, and never on the wrong flow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, is_dataclass
from typing import Any, Generic

from telegram import Update

from bot.buttons import (
    BroadcastButton,
    Button,
    EventButton,
    EventComposerButton,
    GroupNewButton,
    IdeaButton,
    IdeaModerationButton,
    NoticeButton,
    TaskButton,
    TranslationButton,
)
from bot.context import BotContext
from bot.services.chat_state import PendingInput
from handlers.flow_data import (
    BroadcastStep,
    D,
    EventStep,
    GroupDraft,
    IdeaDraft,
    IdeaMerge,
    NoticeDraft,
    SignupNote,
    TranslationDraft,
    VersionStep,
    field_types,
    from_json,
    to_json,
)


@dataclass(frozen=True)
class Flow(Generic[D]):
    name: str
    #: What the flow carries from step to step.
    data: type[D]
    #: Every step it can wait at: no other is stored, and a row at another doesn't read.
    steps: frozenset[str]
    #: The families of the flow's own buttons (bot/buttons.py); a tap on any other ends it,
    #: while one of them that is no longer valid is refused and leaves the flow be.
    buttons: tuple[type[Button], ...] = ()
    #: Steps that wait for a tap; typed text there is answered with "use the buttons".
    tap_steps: frozenset[str] = frozenset()
    #: Fields that must be set at a step (the handler of that step relies on them).
    requires: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Of its families' taps, those that belong to it (None: all of them); any other ends it.
    owns: Callable[[object], bool] | None = None

    def __post_init__(self) -> None:
        # A declaration mistake fails at import, not on a resident's tap.
        params = getattr(self.data, "__dataclass_params__", None)
        if not (is_dataclass(self.data) and params is not None and params.frozen):
            raise ValueError(f"{self.name}: its data must be a frozen dataclass")
        names = set(field_types(self.data))
        if not self.tap_steps <= self.steps or not set(self.requires) <= self.steps:
            raise ValueError(f"{self.name}: tap_steps and requires must name declared steps")
        if not all(wanted <= names for wanted in self.requires.values()):
            raise ValueError(f"{self.name}: requires names a field {self.data.__name__} lacks")

    def at(self, step: str, data: D) -> PendingInput:
        """The flow waiting at ``step`` with ``data``, to store (``ChatStateService.expect``);
        ValueError for a step it doesn't declare, or data that isn't its own or doesn't fit."""
        if step not in self.steps:
            raise ValueError(f"{self.name} has no step {step!r}")
        if type(data) is not self.data:
            raise ValueError(f"{self.name} carries {self.data.__name__}, not {type(data).__name__}")
        pending = PendingInput(self.name, step, to_json(data))
        if self.read(pending) != data:  # e.g. a str where an int belongs, or a required None
            raise ValueError(f"{self.name} at {step!r} can't carry {data!r}")
        return pending

    def read(self, pending: PendingInput) -> D | None:
        """The typed data of a stored step; None if it isn't this flow's, is at a step it
        doesn't declare, or holds a missing or ill-typed value: the caller treats the flow
        as stale."""
        if pending.flow != self.name or pending.step not in self.steps:
            return None
        data = from_json(self.data, pending.data)
        if data is None or any(
            getattr(data, name) is None for name in self.requires.get(pending.step, ())
        ):
            return None
        return data


BROADCAST = Flow(
    "broadcast",
    BroadcastStep,
    frozenset({"text", "photo", "when", "weekly_time"}),
    buttons=(BroadcastButton,),
    requires={"text": frozenset({"locale"}), "weekly_time": frozenset({"day"})},
)
#: The sign-up steps a note travels through: the needs screen, the note, the check and its
#: Confirm; any other tap (the event, cancel, an old message's "show") ends it.
SIGNUP_ACTIONS = frozenset({"nd", "note", "chk", "ok", "wl"})


def _signup_tap(data: object) -> bool:
    button = EventButton.unpack(data)
    return button is not None and button.action in SIGNUP_ACTIONS


SIGNUP_NOTE = Flow(
    "signup_note",
    SignupNote,
    frozenset({"note", "check"}),
    buttons=(EventButton,),
    requires={"check": frozenset({"note"})},
    owns=_signup_tap,
)
_NAMED = frozenset({"kind", "name"})
#: Editing a group: the text typed for one of its fields (the step names it).
GROUP_EDIT_STEPS = frozenset({"edit_name", "edit_description", "edit_rhythm"})
GROUP_SLOT_EDIT_STEPS = frozenset({"edit_label", "edit_capacity"})
GROUP = Flow(
    "group",
    GroupDraft,
    frozenset({"name", "description", "topic", "rhythm", "outcome", "slot_label", "slot_capacity"})
    | GROUP_EDIT_STEPS
    | GROUP_SLOT_EDIT_STEPS,
    buttons=(GroupNewButton,),
    tap_steps=frozenset({"topic"}),
    requires={
        "name": frozenset({"kind"}),
        "description": _NAMED,
        "topic": _NAMED,
        "rhythm": _NAMED,
        "outcome": frozenset({"id"}),
        "slot_label": frozenset({"id"}),
        "slot_capacity": frozenset({"id", "label"}),
        **{step: frozenset({"id"}) for step in GROUP_EDIT_STEPS},
        **{step: frozenset({"id", "slot"}) for step in GROUP_SLOT_EDIT_STEPS},
    },
)
IDEA = Flow(
    "idea",
    IdeaDraft,
    frozenset({"content", "topic", "place", "anon", "confirm"}),
    buttons=(IdeaButton,),
    tap_steps=frozenset({"topic", "anon", "confirm"}),
    requires={"confirm": frozenset({"anonymous"})},
)
IDEA_MERGE = Flow("idea_admin", IdeaMerge, frozenset({"merge"}), buttons=(IdeaModerationButton,))
EVENT = Flow(
    "event",
    EventStep,
    frozenset(
        {
            # the composer, in order
            *("title", "description", "when", "until", "place", "address", "capacity"),
            *("topic", "photo", "publish_at"),
            # a coordinator's tools for one event, and the edit screen's own steps
            *("checkin", "move", "new_place", "dup", "reminder", "opens", "closes"),
        }
    ),
    # The edit screen's buttons (EventEditButton) act on their own: a tap ends the step.
    buttons=(EventComposerButton,),
    tap_steps=frozenset({"topic"}),
)

#: The step is the field being written (``FIELDS`` in bot/services/translations.py).
_TEXT_FIELDS = frozenset({"title", "name", "description", "rhythm"})
VERSION = Flow(
    "version",
    VersionStep,
    _TEXT_FIELDS | {"slot"},
    buttons=(TranslationButton,),
    requires={"slot": frozenset({"slot"})},
)
TRANSLATE = Flow("translate", TranslationDraft, _TEXT_FIELDS, buttons=(TaskButton,))


def _notice_tap(data: object) -> bool:
    button = NoticeButton.unpack(data)
    return button is not None and button.action in ("skip", "pub")


#: An admin writing the privacy notice's next version, a language at a time (/notice): the
#: step "text" waits for the text in ``locale``; "review", all asked, for Publish.
NOTICE = Flow(
    "notice",
    NoticeDraft,
    frozenset({"text", "review"}),
    buttons=(NoticeButton,),
    tap_steps=frozenset({"review"}),
    owns=_notice_tap,
)
#: A coordinator correcting a submitted translation before approving it.
TASK_EDIT = Flow("task_edit", TranslationDraft, _TEXT_FIELDS, buttons=(TaskButton,))

FLOWS: dict[str, Flow[Any]] = {
    flow.name: flow
    for flow in (
        *(BROADCAST, SIGNUP_NOTE, GROUP, IDEA, IDEA_MERGE, EVENT),
        *(VERSION, TRANSLATE, TASK_EDIT, NOTICE),
    )
}


def _is_command(update: Update) -> bool:
    message = update.effective_message
    text = message.text if message is not None else None
    return bool(text) and text.startswith("/")  # type: ignore[union-attr]


async def end_stale_flows(update: Update, context: BotContext) -> None:
    """Group -1: commands and foreign taps end the open flow; an expired one is reported."""
    user = update.effective_user
    if user is None or user.is_bot:
        return
    query = update.callback_query
    command = _is_command(update)
    if query is None and update.effective_message is None:
        return
    chat_state = context.services.chat_state
    arrival = context.arrival
    found = await (
        # Read with the resident in group -4 already: no second read.
        chat_state.opened(user.id, arrival.flow)
        if arrival is not None and arrival.actor.is_person(user.id)
        else chat_state.current(user.id)
    )
    context.flow_expired = found.expired
    pending = found.pending
    if pending is None:
        return
    flow = FLOWS.get(pending.flow)
    text = update.effective_message.text if update.effective_message is not None else None
    ended_by_command = command and not (text or "").startswith("/cancel")
    foreign_tap = query is not None and not (
        flow is not None
        and any(kind.has_prefix(query.data) for kind in flow.buttons)
        and (flow.owns is None or flow.owns(query.data))
    )
    if ended_by_command or foreign_tap:
        await chat_state.clear(user.id)
    else:
        context.pending = pending  # typed input reads it from here: one read per update


def waits_for_a_tap(pending: PendingInput) -> bool:
    flow = FLOWS.get(pending.flow)
    return flow is not None and pending.step in flow.tap_steps


async def take_step(
    context: BotContext,
    telegram_id: int,
    flow: Flow[D],
    steps: str | tuple[str, ...],
    *,
    data_id: int | None = None,
) -> D | None:
    """Claim the flow's current step if it is one of ``steps`` (and, with ``data_id``, belongs
    to that object), returning its data; None for a stale, repeated or foreign tap, which then
    changes nothing."""
    wanted = (steps,) if isinstance(steps, str) else steps
    chat_state = context.services.chat_state
    claimed = await chat_state.claim(telegram_id, flow.name, wanted)
    if claimed is None:
        return None
    data = flow.read(claimed)
    if data is None:  # unreadable, so stale: claiming it has ended it
        return None
    if data_id is not None and getattr(data, "id", None) != data_id:
        await chat_state.expect(telegram_id, claimed)  # another object's flow: leave it be
        return None
    return data
