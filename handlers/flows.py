"""The multi-step flows, declared in one place, and the rules every flow obeys.

A flow's state lives in ``chat_states`` (bot/services/chat_state.py): one open flow per chat, at
one step. Here each flow declares which buttons belong to it and at which steps it waits for a
tap rather than for typed text. Then, for every update, before any handler:

- any command (but /cancel, which says what it ended) ends the open flow;
- a tap on a button that doesn't belong to the open flow (Back, the main menu, an old message)
  ends it;
- a flow idle for longer than its time-to-live has expired: typed text then gets a friendly
  "let's start again", and its buttons are refused.

Handlers move a flow on with ``take_step``: it claims the step atomically, so a double tap or a
stale button from a finished flow acts at most once, and never on the wrong flow.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update

from bot.buttons import (
    BroadcastButton,
    Button,
    EventComposerButton,
    GroupNewButton,
    IdeaButton,
    IdeaModerationButton,
)
from bot.context import BotContext
from bot.services.chat_state import PendingInput


@dataclass(frozen=True)
class Flow:
    name: str
    #: The families of the flow's own buttons (bot/buttons.py); a tap on any other ends it,
    #: while one of them that is no longer valid is refused and leaves the flow be.
    buttons: tuple[type[Button], ...] = ()
    #: Steps that wait for a tap; typed text there is answered with "use the buttons".
    tap_steps: frozenset[str] = frozenset()


FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        Flow("broadcast", buttons=(BroadcastButton,)),
        Flow("signup_note"),
        Flow("group", buttons=(GroupNewButton,), tap_steps=frozenset({"topic"})),
        Flow("idea", buttons=(IdeaButton,), tap_steps=frozenset({"topic", "anon", "confirm"})),
        Flow("idea_admin", buttons=(IdeaModerationButton,)),
        Flow("event", buttons=(EventComposerButton,), tap_steps=frozenset({"topic"})),
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
    found = await chat_state.current(user.id)
    context.flow_expired = found.expired
    pending = found.pending
    if pending is None:
        return
    flow = FLOWS.get(pending.flow, Flow(pending.flow))
    text = update.effective_message.text if update.effective_message is not None else None
    ended_by_command = command and not (text or "").startswith("/cancel")
    foreign_tap = query is not None and not any(
        kind.has_prefix(query.data) for kind in flow.buttons
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
    flow: str,
    steps: str | tuple[str, ...],
    *,
    data_id: int | None = None,
) -> PendingInput | None:
    """Claim the flow's current step if it is one of ``steps`` (and, with ``data_id``, belongs
    to that object); None for a stale, repeated or foreign tap, which then changes nothing."""
    wanted = (steps,) if isinstance(steps, str) else steps
    chat_state = context.services.chat_state
    claimed = await chat_state.claim(telegram_id, flow, wanted)
    if claimed is None:
        return None
    if data_id is not None and str(claimed.data.get("id")) != str(data_id):
        await chat_state.expect(telegram_id, claimed)  # another object's flow: leave it be
        return None
    return claimed
