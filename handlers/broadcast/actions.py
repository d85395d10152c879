"""/broadcast and the composer's buttons: one action per ``BroadcastButton`` action."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.buttons import BroadcastButton
from bot.context import BotContext
from bot.services.broadcasts import (
    DAYS,
    BroadcastError,
    BroadcastView,
    NotEditable,
    NothingToSend,
    TextTooLong,
)
from bot.services.chat_state import PendingInput
from bot.services.permissions import NotAllowed
from bot.services.timeparse import example_datetime, format_example
from handlers.broadcast.progress import show_progress
from handlers.broadcast.screens import (
    only_for_coordinators,
    send_preview,
    show_audience,
    show_confirm,
    show_languages,
    show_preview_menu,
    show_weekdays,
)
from handlers.flow_data import BroadcastStep
from handlers.flows import BROADCAST
from handlers.render import answer_expired, show
from handlers.shared.composer import action_button, show_composer

#: What a button does: (update, context, the broadcast, the button).
Action = Callable[[Update, BotContext, BroadcastView, BroadcastButton], Coroutine[Any, Any, None]]
#: One of the composer's screens (``screens.py``): (update, context, the broadcast).
Screen = Callable[[Update, BotContext, BroadcastView], Coroutine[Any, Any, None]]


# --- entry points -----------------------------------------------------------------------


async def broadcast_command(update: Update, context: BotContext) -> None:
    try:
        view = await context.services.broadcasts.create_draft(context.actor)
    except NotAllowed:
        await only_for_coordinators(update, context)
        return
    await show_composer(update, context, view)


async def broadcast_button(update: Update, context: BotContext, button: BroadcastButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    service = context.services.broadcasts
    try:
        view = await service.get(context.actor, button.broadcast_id)
    except NotAllowed:
        await only_for_coordinators(update, context)
        return
    if view is None:
        await answer_expired(update, context.t)
        return
    t = context.t
    _ = t.gettext
    user_id = update.effective_user.id
    try:
        await _ACTIONS[button.action](update, context, view, button)
    except TextTooLong as exc:
        await query.answer(
            _("That text is too long with a photo: at most {limit} characters.").format(
                limit=exc.limit
            ),
            show_alert=True,
        )
    except NothingToSend:
        await query.answer(_("Please write the text first."), show_alert=True)
    except NotEditable:
        await context.services.chat_state.clear(user_id)
        await query.answer(
            _("This broadcast was already sent, scheduled or discarded."), show_alert=True
        )
    except NotAllowed:
        await only_for_coordinators(update, context)
    except BroadcastError:
        await answer_expired(update, t)


# --- actions (each: update, context, view, button) --------------------------------------


def _opens(screen: Screen, *, drafts_only: bool = False) -> Action:
    """The action of a button that only opens one of the composer's screens."""

    async def action(
        update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
    ) -> None:
        assert update.callback_query is not None
        if drafts_only and view.status != "draft":
            raise NotEditable(str(view.id))
        await update.callback_query.answer()
        await screen(update, context, view)

    return action


async def _home(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.effective_user is not None and update.callback_query is not None
    await context.services.chat_state.clear(update.effective_user.id)
    await update.callback_query.answer()
    if view.status != "draft":
        raise NotEditable(str(view.id))
    await show_composer(update, context, view)


_audience = _opens(show_audience)


async def _toggle_locale(
    update: Update, context: BotContext, view: BroadcastView, button: BroadcastButton
) -> None:
    view = await context.services.broadcasts.toggle_audience(
        context.actor, view.id, "locales", button.locale or ""
    )
    await _audience(update, context, view, button)


async def _toggle_topic(
    update: Update, context: BotContext, view: BroadcastView, button: BroadcastButton
) -> None:
    topic = button.topic
    if topic not in context.settings.topics:
        raise BroadcastError(str(topic))
    view = await context.services.broadcasts.toggle_audience(
        context.actor, view.id, "topics", topic
    )
    await _audience(update, context, view, button)


async def _everyone(
    update: Update, context: BotContext, view: BroadcastView, button: BroadcastButton
) -> None:
    view = await context.services.broadcasts.clear_audience(context.actor, view.id)
    await _audience(update, context, view, button)


async def _await_input(
    update: Update,
    context: BotContext,
    view: BroadcastView,
    step: PendingInput,
    prompt: str,
    extra_rows: list[list[InlineKeyboardButton]] | None = None,
) -> None:
    """Remember what the next message is for, and ask for it (with a way back)."""
    assert update.callback_query is not None and update.effective_user is not None
    if view.status != "draft":
        raise NotEditable(str(view.id))
    await update.callback_query.answer()
    await context.services.chat_state.expect(update.effective_user.id, step)
    back = [action_button(context.t.gettext("↩️ Back"), "home", view.id)]
    await show(update, prompt, InlineKeyboardMarkup([*(extra_rows or []), back]))


async def _ask_text(
    update: Update, context: BotContext, view: BroadcastView, button: BroadcastButton
) -> None:
    locale = button.locale or view.default_locale
    if locale not in context.i18n.locales:
        raise BroadcastError(locale)
    _ = context.t.gettext
    remove = []
    if locale in view.versions and locale != view.default_locale:
        remove = [[action_button(_("🗑 Remove this version"), "rmv", view.id, locale=locale)]]
    prompt = _(
        "✏️ Send the text in {language} now. Bold, italics and links are kept.\n"
        "You can also send a voice note instead."
    ).format(language=context.t.language_in_mine(locale))
    step = BROADCAST.at("text", BroadcastStep(view.id, locale=locale))
    await _await_input(update, context, view, step, prompt, remove)


async def _remove_version(
    update: Update, context: BotContext, view: BroadcastView, button: BroadcastButton
) -> None:
    assert update.callback_query is not None and update.effective_user is not None
    await context.services.chat_state.clear(update.effective_user.id)
    view = await context.services.broadcasts.remove_version(
        context.actor, view.id, button.locale or ""
    )
    await update.callback_query.answer()
    await show_composer(update, context, view)


async def _ask_photo(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    prompt = context.t.gettext("🖼 Send the photo now.")
    step = BROADCAST.at("photo", BroadcastStep(view.id))
    await _await_input(update, context, view, step, prompt)


async def _remove_photo(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    view = await context.services.broadcasts.set_photo(context.actor, view.id, None)
    await update.callback_query.answer()
    await show_composer(update, context, view)


async def _toggle_urgent(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    view = await context.services.broadcasts.set_urgent(context.actor, view.id, not view.urgent)
    await update.callback_query.answer()
    await show_composer(update, context, view)


async def _preview(
    update: Update, context: BotContext, view: BroadcastView, button: BroadcastButton
) -> None:
    """Send exactly what a resident of that language will receive."""
    assert update.callback_query is not None and update.effective_chat is not None
    locale = button.locale
    if locale not in context.i18n.locales:
        raise BroadcastError(str(locale))
    await update.callback_query.answer()
    await send_preview(update, context, view, locale)


async def _confirm_send(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    if view.status != "draft":
        raise NotEditable(str(view.id))
    default = view.versions.get(view.default_locale)
    if not (default and (default.text or default.voice_file_id)) and not view.photo_file_id:
        raise NothingToSend(str(view.id))
    await update.callback_query.answer()
    await show_confirm(update, context, view)


async def _send(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    service = context.services.broadcasts
    await service.send_now(context.actor, view.id, progress_chat_id=update.effective_chat.id)
    await query.answer()
    await show_progress(update, context, view.id)


async def _refresh(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await show_progress(update, context, view.id)


async def _cancel(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    t = context.t
    _ = t.gettext
    was_running = view.status == "sending"
    cancelled = await context.services.broadcasts.cancel(context.actor, view.id)
    await update.callback_query.answer(
        t.ngettext(
            "⛔ Cancelled. {count} message was not sent.",
            "⛔ Cancelled. {count} messages were not sent.",
            cancelled,
        ).format(count=t.format_number(cancelled)),
        show_alert=True,
    )
    if was_running:
        await show_progress(update, context, view.id)
    else:
        await show(update, _("⛔ This broadcast was cancelled."))


async def _retry(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    t = context.t
    retried = await context.services.broadcasts.retry_failed(context.actor, view.id)
    if not retried:
        # A second tap, or a button from before the failed messages were sent again.
        await update.callback_query.answer(
            t.gettext("Nothing to retry: no message of this broadcast has failed."),
            show_alert=True,
        )
    else:
        await update.callback_query.answer(
            t.ngettext(
                "🔁 {count} message will be sent again.",
                "🔁 {count} messages will be sent again.",
                retried,
            ).format(count=t.format_number(retried))
        )
    await show_progress(update, context, view.id)


async def _discard(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None and update.effective_user is not None
    await context.services.chat_state.clear(update.effective_user.id)
    if not await context.services.broadcasts.discard(context.actor, view.id):
        raise NotEditable(str(view.id))
    await update.callback_query.answer()
    _ = context.t.gettext
    await show(update, _("🗑 The draft was discarded."))


async def _ask_when(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    tz = context.settings.tz
    example = format_example(example_datetime(context.clock(), tz), tz)
    prompt = context.t.gettext(
        "🕒 When should it go out? Send a date and time, for example {example}."
    ).format(example=context.t.isolate(example))
    step = BROADCAST.at("when", BroadcastStep(view.id))
    await _await_input(update, context, view, step, prompt)


async def _ask_weekly_time(
    update: Update, context: BotContext, view: BroadcastView, button: BroadcastButton
) -> None:
    if button.day not in DAYS:
        raise BroadcastError(str(button.day))
    prompt = context.t.gettext("🔁 At what time? Send it like {example}.").format(
        example=context.t.isolate("10:00")
    )
    step = BROADCAST.at("weekly_time", BroadcastStep(view.id, day=button.day))
    await _await_input(update, context, view, step, prompt)


_ACTIONS: dict[str, Action] = {
    "home": _home,
    "aud": _audience,
    "al": _toggle_locale,
    "at": _toggle_topic,
    "ac": _everyone,
    "langs": _opens(show_languages),
    "text": _ask_text,
    "rmv": _remove_version,
    "photo": _ask_photo,
    "nophoto": _remove_photo,
    "urg": _toggle_urgent,
    "prev": _opens(show_preview_menu),
    "pv": _preview,
    "send": _confirm_send,
    "go": _send,
    "prog": _refresh,
    "cancel": _cancel,
    "retry": _retry,
    "del": _discard,
    "when": _ask_when,
    "week": _opens(show_weekdays, drafts_only=True),
    "wd": _ask_weekly_time,
}
