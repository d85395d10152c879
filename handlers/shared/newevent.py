"""The first step of the event composer (``/newevent``), which a group's "plan a meeting"
opens too, and how the composer asks for a step's input. The rest is ``handlers/newevent.py``."""

from __future__ import annotations

from typing import cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.buttons import EventComposerButton, EventEditButton, SkippableStep
from bot.context import BotContext
from handlers.flow_data import EventStep
from handlers.flows import EVENT
from handlers.keyboards import button as _b
from handlers.render import show


def may_propose(context: BotContext) -> tuple[bool, bool]:
    """(may create events, must wait for approval), for the words; the service decides."""
    actor = context.actor
    return actor.is_staff or actor.is_partner, not actor.is_staff


async def ask_step(
    update: Update,
    context: BotContext,
    event_id: int,
    step: str,
    prompt: str,
    skip: bool = False,
    extra: list[list[InlineKeyboardButton]] | None = None,
    editing: bool = False,
) -> None:
    """Wait for ``step``'s input. From the edit screen (``editing``) the step returns there,
    and offers "Back" to it instead of "Skip"."""
    user = update.effective_user
    assert user is not None
    await context.services.chat_state.expect(
        user.id, EVENT.at(step, EventStep(event_id, editing=editing or None))
    )
    rows = list(extra or [])
    if editing:
        rows.append([_b(context.t.gettext("↩️ Back"), EventEditButton(event_id))])
    elif skip:  # pack() refuses a step that has no "Skip"
        skipped = EventComposerButton("skip", event_id, step=cast(SkippableStep, step))
        # Translators: leaves out an optional step (not "reject")
        rows.append([_b(context.t.gettext("⏭ Skip"), skipped)])
    await show(update, prompt, InlineKeyboardMarkup(rows) if rows else None)


async def start_new_event(update: Update, context: BotContext, group_id: int | None = None) -> None:
    """/newevent, or "plan a meeting" of a project or working group."""
    user = update.effective_user
    assert user is not None
    _ = context.t.gettext
    allowed, _proposed = may_propose(context)
    if not allowed:
        await show(update, _("📅 Only coordinators and partner organisations can create events."))
        return
    event = await context.services.events.create_draft(context.actor)
    if group_id is not None:
        group = await context.services.groups.get(group_id)
        topics = [group.topic] if group is not None and group.topic else []
        event = await context.services.events.update(
            context.actor, event.id, group_id=group_id, topics=topics
        )
    await ask_step(
        update,
        context,
        event.id,
        "title",
        _("✏️ What is the event called? Please write the title in {language}.").format(
            language=context.t.language_in_mine(event.default_locale)
        ),
    )
