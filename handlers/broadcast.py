"""/broadcast: coordinators compose, preview, send, schedule and watch broadcasts.

Every step's state is the draft in the database plus, while we wait for typed input, a
``PendingInput`` (``ChatStateService``), so a replica restart or a second replica changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from babel.dates import get_day_names
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError

from bot.buttons import BroadcastAction, BroadcastButton
from bot.context import AppState, BotContext
from bot.i18n import Translator, language_name
from bot.rendering import event_title, group_name
from bot.services.broadcasts import (
    DAYS,
    BroadcastError,
    BroadcastView,
    NotEditable,
    NothingToSend,
    Progress,
    TextTooLong,
    WeeklyRule,
)
from bot.services.chat_state import PendingInput
from bot.services.delivery import DeliveryState
from bot.services.permissions import NotAllowed
from bot.services.timeparse import parse_local_datetime, parse_time_of_day
from handlers.keyboards import button, topic_label
from handlers.render import answer_expired, show

log = logging.getLogger(__name__)

FLOW = "broadcast"


def _button(
    text: str, action: BroadcastAction, broadcast_id: int, **argument: str
) -> InlineKeyboardButton:
    return button(text, BroadcastButton(action, broadcast_id, **argument))


def _languages_line(t: Translator, counts: dict[str, int]) -> str:
    return " · ".join(
        f"{language_name(locale)} {t.format_number(count)}"
        for locale, count in sorted(counts.items(), key=lambda item: -item[1])
    )


def _residents(t: Translator, count: int) -> str:
    return t.ngettext("{count} resident", "{count} residents", count).format(
        count=t.format_number(count)
    )


async def _refuse(update: Update, context: BotContext) -> None:
    _ = context.t.gettext
    text = _("📣 Broadcasts are only for coordinators.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await show(update, text)


# --- screens ----------------------------------------------------------------------------


async def composer_text(context: BotContext, view: BroadcastView) -> str:
    t = context.t
    _ = t.gettext
    counts = await context.services.broadcasts.recipient_counts(view.audience)
    parts = []
    if view.audience.get("locales"):
        parts.append(", ".join(language_name(locale) for locale in view.audience["locales"]))
    if view.audience.get("topics"):
        parts.append(", ".join(topic_label(t, key) for key in view.audience["topics"]))
    for group_id in [
        *(view.audience.get("group_members") or []),
        *(view.audience.get("slot_holders") or []),
    ]:
        group = await context.services.groups.get(int(group_id))
        if group is not None:
            parts.append(f"🤝 {group_name(t, group)}")
    for idea_id in view.audience.get("idea_supporters") or []:
        parts.append(f"💡 #{t.format_number(int(idea_id))}")
    for key, mark in (("event_attendees", "📅"), ("event_waitlist", "⏳")):
        for event_id in view.audience.get(key) or []:
            event = await context.services.events.get(context.actor, int(event_id))
            if event is not None:
                parts.append(f"{mark} {event_title(t, event)}")
    audience = " + ".join(parts) if parts else _("everyone")
    versions = ", ".join(
        language_name(locale) + (" 🎤" if version.voice_file_id else "")
        for locale, version in view.versions.items()
    )
    lines = [
        _("📣 <b>New broadcast</b>"),
        _("👥 Audience: {audience}").format(audience=audience),
        _("📊 Recipients: {residents}").format(residents=_residents(t, sum(counts.values())))
        + (f" ({_languages_line(t, counts)})" if counts else ""),
        _("🌐 Versions: {versions}").format(
            versions=versions or _("none yet, write the text first")
        ),
        _("🖼 Photo: {photo}").format(photo=_("yes") if view.photo_file_id else _("no")),
        _("⚡ Urgent, ignores quiet hours: {urgent}").format(
            urgent=_("yes") if view.urgent else _("no")
        ),
    ]
    return "\n".join(lines)


def composer_keyboard(t: Translator, view: BroadcastView) -> InlineKeyboardMarkup:
    _ = t.gettext
    b = view.id
    return InlineKeyboardMarkup(
        [
            [
                _button(
                    _("✏️ Text ({language})").format(language=language_name(view.default_locale)),
                    "text",
                    b,
                    locale=view.default_locale,
                )
            ],
            [_button(_("🌐 Other languages"), "langs", b), _button(_("👥 Audience"), "aud", b)],
            [
                _button(_("🖼 Remove photo"), "nophoto", b)
                if view.photo_file_id
                else _button(_("🖼 Add a photo"), "photo", b),
                _button(_("⚡ Urgent: on") if view.urgent else _("⚡ Urgent: off"), "urg", b),
            ],
            [_button(_("👁 Preview"), "prev", b)],
            [
                _button(_("🚀 Send now"), "send", b),
                _button(_("🕒 Later"), "when", b),
                _button(_("🔁 Weekly"), "week", b),
            ],
            [_button(_("🗑 Discard"), "del", b)],
        ]
    )


async def show_composer(update: Update, context: BotContext, view: BroadcastView) -> None:
    await show(update, await composer_text(context, view), composer_keyboard(context.t, view))


def progress_text(t: Translator, view: BroadcastView, progress: Progress) -> str:
    _ = t.gettext
    finished = progress.finished and view.finished_at is not None
    title = (
        _("📣 <b>Broadcast {number}: finished</b>")
        if finished
        else _("📣 <b>Broadcast {number}: sending</b>")
    ).format(number=t.format_number(view.id))
    lines = [
        title,
        _(
            "✅ Sent: {sent} · ⏳ Waiting: {waiting} · ❌ Failed: {failed} · ⏭ Skipped: {skipped}"
        ).format(
            sent=t.format_number(progress.total(DeliveryState.SENT)),
            waiting=t.format_number(progress.total(DeliveryState.PENDING, DeliveryState.SENDING)),
            failed=t.format_number(progress.total(DeliveryState.FAILED)),
            skipped=t.format_number(progress.total(DeliveryState.SKIPPED, DeliveryState.CANCELLED)),
        ),
    ]
    for locale, counts in sorted(progress.by_locale.items()):
        sent = t.format_number(counts.get(DeliveryState.SENT, 0))
        lines.append(f"{language_name(locale)}: {sent}/{t.format_number(sum(counts.values()))}")
    if not progress.by_locale:
        lines.append(_("Nobody matched the audience, so nothing was sent."))
    return "\n".join(lines)


def progress_keyboard(
    t: Translator, view: BroadcastView, progress: Progress
) -> InlineKeyboardMarkup | None:
    if view.finished_at is not None:
        return None
    _ = t.gettext
    return InlineKeyboardMarkup(
        [[_button(_("🔄 Refresh"), "prog", view.id), _button(_("⛔ Cancel"), "cancel", view.id)]]
    )


# --- entry points -----------------------------------------------------------------------


async def broadcast_command(update: Update, context: BotContext) -> None:
    try:
        view = await context.services.broadcasts.create_draft(context.actor)
    except NotAllowed:
        await _refuse(update, context)
        return
    await show_composer(update, context, view)


async def broadcast_button(update: Update, context: BotContext, button: BroadcastButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    service = context.services.broadcasts
    try:
        view = await service.get(context.actor, button.broadcast_id)
    except NotAllowed:
        await _refuse(update, context)
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
        await _refuse(update, context)
    except BroadcastError:
        await answer_expired(update, t)


# --- actions (each: update, context, view, button) --------------------------------------


async def _home(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.effective_user is not None and update.callback_query is not None
    await context.services.chat_state.clear(update.effective_user.id)
    await update.callback_query.answer()
    if view.status != "draft":
        raise NotEditable(str(view.id))
    await show_composer(update, context, view)


async def _audience(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    t = context.t
    _ = t.gettext
    chosen_locales = set(view.audience.get("locales", []))
    chosen_topics = set(view.audience.get("topics", []))
    counts = await context.services.broadcasts.recipient_counts(view.audience)
    locale_buttons = [
        _button(
            ("✅ " if locale in chosen_locales else "") + language_name(locale),
            "al",
            view.id,
            locale=locale,
        )
        for locale in context.i18n.locales
    ]
    rows = [locale_buttons[i : i + 3] for i in range(0, len(locale_buttons), 3)]
    rows += [
        [
            _button(
                ("✅ " if key in chosen_topics else "") + topic_label(t, key),
                "at",
                view.id,
                topic=key,
            )
        ]
        for key in context.settings.topics
    ]
    rows.append([_button(_("👥 Everyone"), "ac", view.id), _button(_("↩️ Back"), "home", view.id)])
    text = "\n".join(
        [
            _(
                "👥 <b>Who should get it?</b>\n"
                "Tap languages and topics. Nothing chosen means everyone."
            ),
            _("📊 Recipients: {residents}").format(residents=_residents(t, sum(counts.values())))
            + (f" ({_languages_line(t, counts)})" if counts else ""),
        ]
    )
    await show(update, text, InlineKeyboardMarkup(rows))


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


async def _languages(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    _ = context.t.gettext
    buttons = [
        _button(
            ("✅ " if locale in view.versions else "") + language_name(locale),
            "text",
            view.id,
            locale=locale,
        )
        for locale in context.i18n.locales
        if locale != view.default_locale
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([_button(_("↩️ Back"), "home", view.id)])
    await show(
        update,
        _(
            "🌐 <b>Versions per language</b>\n"
            "Residents without their own version get the text in {language}. "
            "Tap a language to write its text or record a voice note for it."
        ).format(language=language_name(view.default_locale)),
        InlineKeyboardMarkup(rows),
    )


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
    back = [_button(context.t.gettext("↩️ Back"), "home", view.id)]
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
        remove = [[_button(_("🗑 Remove this version"), "rmv", view.id, locale=locale)]]
    prompt = _(
        "✏️ Send the text in {language} now. Bold, italics and links are kept.\n"
        "You can also send a voice note instead."
    ).format(language=language_name(locale))
    step = PendingInput(FLOW, "text", {"id": view.id, "locale": locale})
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
    await _await_input(update, context, view, PendingInput(FLOW, "photo", {"id": view.id}), prompt)


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


async def _preview_menu(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    _ = context.t.gettext
    buttons = [
        _button(language_name(locale), "pv", view.id, locale=locale)
        for locale in context.i18n.locales
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([_button(_("↩️ Back"), "home", view.id)])
    await show(update, _("👁 Preview as a resident of which language?"), InlineKeyboardMarkup(rows))


async def _preview(
    update: Update, context: BotContext, view: BroadcastView, button: BroadcastButton
) -> None:
    """Send exactly what a resident of that language will receive."""
    assert update.callback_query is not None and update.effective_chat is not None
    locale = button.locale
    if locale not in context.i18n.locales:
        raise BroadcastError(str(locale))
    await update.callback_query.answer()
    _ = context.t.gettext
    chat = update.effective_chat
    await chat.send_message(_("👁 Preview for {language}:").format(language=language_name(locale)))
    payload = context.services.broadcasts.render(view, locale)
    await send_payload(context, chat.id, payload)
    await chat.send_message(
        await composer_text(context, view), reply_markup=composer_keyboard(context.t, view)
    )


async def send_payload(context: BotContext, chat_id: int, payload: dict[str, Any]) -> Message:
    """Send an outbox payload through the application's bot (previews only)."""
    fields = {key: value for key, value in payload.items() if key != "method"}
    senders: dict[str, Any] = {
        "sendMessage": context.bot.send_message,
        "sendPhoto": context.bot.send_photo,
        "sendVoice": context.bot.send_voice,
    }
    result: Message = await senders[payload["method"]](chat_id=chat_id, **fields)
    return result


async def _confirm_send(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    t = context.t
    _ = t.gettext
    if view.status != "draft":
        raise NotEditable(str(view.id))
    default = view.versions.get(view.default_locale)
    if not (default and (default.text or default.voice_file_id)) and not view.photo_file_id:
        raise NothingToSend(str(view.id))
    await update.callback_query.answer()
    counts = await context.services.broadcasts.recipient_counts(view.audience)
    text = _("🚀 Send to {residents} now?").format(residents=_residents(t, sum(counts.values())))
    if counts:
        text += "\n" + _languages_line(t, counts)
    await show(
        update,
        text,
        InlineKeyboardMarkup(
            [[_button(_("✅ Yes, send now"), "go", view.id), _button(_("↩️ Back"), "home", view.id)]]
        ),
    )


async def _send(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    service = context.services.broadcasts
    await service.send_now(context.actor, view.id, progress_chat_id=update.effective_chat.id)
    await query.answer()
    await _show_progress(update, context, view.id)


async def _show_progress(update: Update, context: BotContext, broadcast_id: int) -> None:
    service = context.services.broadcasts
    view = await service.get(context.actor, broadcast_id)
    assert view is not None
    progress = await service.progress(broadcast_id)
    await show(
        update,
        progress_text(context.t, view, progress),
        progress_keyboard(context.t, view, progress),
    )
    message = update.callback_query.message if update.callback_query else None
    if message is not None and update.effective_chat is not None:
        await service.set_progress_message(
            broadcast_id, update.effective_chat.id, message.message_id
        )


async def finish_broadcast(bot: Bot, state: AppState, source: str) -> None:
    """The outbox has sent everything of ``source``: mark it done and show the summary."""
    view = await state.services.broadcasts.finish(source)
    if view is not None:
        await refresh_progress(bot, state, view.id)


async def _refresh(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _show_progress(update, context, view.id)


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
        await _show_progress(update, context, view.id)
    else:
        await show(update, _("⛔ This broadcast was cancelled."))


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
    prompt = context.t.gettext(
        "🕒 When should it go out? Send a date and time, for example {example}."
    ).format(example=context.t.isolate("28.11.2026 10:00"))
    await _await_input(update, context, view, PendingInput(FLOW, "when", {"id": view.id}), prompt)


async def _ask_weekday(
    update: Update, context: BotContext, view: BroadcastView, _tap: BroadcastButton
) -> None:
    assert update.callback_query is not None
    if view.status != "draft":
        raise NotEditable(str(view.id))
    await update.callback_query.answer()
    t = context.t
    _ = t.gettext
    names = get_day_names("wide", locale=t.babel_locale)
    buttons = [_button(names[index], "wd", view.id, day=day) for index, day in enumerate(DAYS)]
    rows = [buttons[0:4], buttons[4:7], [_button(_("↩️ Back"), "home", view.id)]]
    await show(update, _("🔁 On which day every week?"), InlineKeyboardMarkup(rows))


async def _ask_weekly_time(
    update: Update, context: BotContext, view: BroadcastView, button: BroadcastButton
) -> None:
    if button.day not in DAYS:
        raise BroadcastError(str(button.day))
    prompt = context.t.gettext("🔁 At what time? Send it like {example}.").format(
        example=context.t.isolate("10:00")
    )
    step = PendingInput(FLOW, "weekly_time", {"id": view.id, "day": button.day})
    await _await_input(update, context, view, step, prompt)


_ACTIONS = {
    "home": _home,
    "aud": _audience,
    "al": _toggle_locale,
    "at": _toggle_topic,
    "ac": _everyone,
    "langs": _languages,
    "text": _ask_text,
    "rmv": _remove_version,
    "photo": _ask_photo,
    "nophoto": _remove_photo,
    "urg": _toggle_urgent,
    "prev": _preview_menu,
    "pv": _preview,
    "send": _confirm_send,
    "go": _send,
    "prog": _refresh,
    "cancel": _cancel,
    "del": _discard,
    "when": _ask_when,
    "week": _ask_weekday,
    "wd": _ask_weekly_time,
}


# --- typed input while a step waits for it ----------------------------------------------


async def handle_input(update: Update, context: BotContext, pending: PendingInput) -> None:
    """A message from a coordinator while the composer waits for text, a photo or a time."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    try:
        await context.services.broadcasts.get(context.actor, int(pending.data["id"]))
    except NotAllowed:
        await context.services.chat_state.clear(update.effective_user.id)
        await _refuse(update, context)
        return
    service = context.services.broadcasts
    broadcast_id = int(pending.data["id"])
    back = InlineKeyboardMarkup([[_button(_("↩️ Back"), "home", broadcast_id)]])
    try:
        if pending.step == "text":
            locale = str(pending.data["locale"])
            if message.voice is not None:
                view = await service.set_version(
                    context.actor,
                    broadcast_id,
                    locale,
                    voice_file_id=message.voice.file_id,
                    text=message.caption_html or None,
                )
            elif message.text:
                view = await service.set_version(
                    context.actor, broadcast_id, locale, text=message.text_html
                )
            else:
                await message.reply_text(_("Please send text or a voice note."), reply_markup=back)
                return
        elif pending.step == "photo":
            if not message.photo:
                await message.reply_text(_("Please send a photo."), reply_markup=back)
                return
            view = await service.set_photo(context.actor, broadcast_id, message.photo[-1].file_id)
        elif pending.step == "when":
            at = parse_local_datetime(message.text or "", context.clock(), context.settings.tz)
            if at is None:
                await message.reply_text(
                    _(
                        "I couldn't read that. Please write the date and time like {example}."
                    ).format(example=t.isolate("28.11.2026 10:00")),
                    reply_markup=back,
                )
                return
            view = await service.schedule_once(context.actor, broadcast_id, at)
            await context.services.chat_state.clear(update.effective_user.id)
            await message.reply_text(
                _("🕒 Scheduled for {date}. Recipients are counted when it goes out.").format(
                    date=t.format_datetime(at, "full")
                ),
                reply_markup=InlineKeyboardMarkup(
                    [[_button(_("⛔ Cancel"), "cancel", broadcast_id)]]
                ),
            )
            return
        elif pending.step == "weekly_time":
            clock = parse_time_of_day(message.text or "")
            if clock is None:
                await message.reply_text(
                    _("I couldn't read that. Please write the time like {example}.").format(
                        example=t.isolate("10:00")
                    ),
                    reply_markup=back,
                )
                return
            rule = WeeklyRule(str(pending.data["day"]), clock.hour, clock.minute)
            view = await service.schedule_weekly(context.actor, broadcast_id, rule)
            await context.services.chat_state.clear(update.effective_user.id)
            assert view.send_at is not None
            day_name = get_day_names("wide", locale=t.babel_locale)[DAYS.index(rule.day)]
            await message.reply_text(
                _("🔁 Every {weekday} at {time}. The first goes out on {date}.").format(
                    weekday=day_name,
                    time=t.format_time(view.send_at),
                    date=t.format_date(view.send_at),
                ),
                reply_markup=InlineKeyboardMarkup(
                    [[_button(_("⛔ Cancel"), "cancel", broadcast_id)]]
                ),
            )
            return
        else:
            await context.services.chat_state.clear(update.effective_user.id)
            return
    except TextTooLong as exc:
        await message.reply_text(
            _("That text is too long: at most {limit} characters.").format(
                limit=t.format_number(exc.limit)
            ),
            reply_markup=back,
        )
        return
    except NothingToSend:
        await message.reply_text(_("Please write the text first."), reply_markup=back)
        return
    except NotEditable:
        await context.services.chat_state.clear(update.effective_user.id)
        await message.reply_text(_("This broadcast was already sent, scheduled or discarded."))
        return
    except BroadcastError:
        await message.reply_text(
            _("That time has already passed. Please choose a later one."), reply_markup=back
        )
        return
    await context.services.chat_state.clear(update.effective_user.id)
    await message.reply_text(
        await composer_text(context, view), reply_markup=composer_keyboard(t, view)
    )


# --- jobs --------------------------------------------------------------------------------


async def refresh_progress(bot: Bot, state: AppState, broadcast_id: int) -> None:
    """Edit the coordinator's progress message (also used for the final summary)."""
    service = state.services.broadcasts
    view = await service.load(broadcast_id)
    if view is None or view.progress_chat_id is None or view.progress_message_id is None:
        return
    owner = await state.services.residents.get(view.created_by)
    t = state.i18n.translator(owner.locale if owner else None)
    progress = await service.progress(broadcast_id)
    try:
        await bot.edit_message_text(
            progress_text(t, view, progress),
            chat_id=view.progress_chat_id,
            message_id=view.progress_message_id,
            reply_markup=progress_keyboard(t, view, progress),
        )
    except BadRequest as exc:
        if "not modified" not in exc.message:
            log.warning("could not update progress of broadcast %s: %s", broadcast_id, exc)
    except TelegramError as exc:
        log.warning("could not update progress of broadcast %s: %s", broadcast_id, exc)
