"""Typed input while the composer waits for it: a version's text or voice note, the photo, the
date and time of a scheduled broadcast, the time of a weekly one."""

from __future__ import annotations

import html

from babel.dates import get_day_names
from telegram import InlineKeyboardMarkup, Message, MessageEntity, Update

from bot.context import BotContext
from bot.services.broadcasts import (
    DAYS,
    BroadcastError,
    NotEditable,
    NothingToSend,
    TextTooLong,
    WeeklyRule,
)
from bot.services.permissions import NotAllowed
from bot.services.timeparse import (
    example_datetime,
    format_example,
    parse_local_datetime,
    parse_time_of_day,
)
from handlers.broadcast.screens import only_for_coordinators
from handlers.flow_data import BroadcastStep
from handlers.shared.composer import action_button, composer_keyboard, composer_text


def formatted_html(message: Message, *, caption: bool = False) -> str | None:
    """The message's text (or caption) as HTML, bold, italics and links kept.

    PTB's ``text_html`` writes a link's URL into ``href="…"`` as it is, so a URL with a quote
    (or a ``&``, ``<``) would be stored as broken HTML that Telegram refuses for every
    recipient. Here every attribute value is escaped first (Telegram decodes it again)."""
    text = message.caption if caption else message.text
    if text is None:
        return None
    entities = message.caption_entities if caption else message.entities
    safe = []
    for entity in entities:
        data = entity.to_dict()
        for key in ("url", "language", "custom_emoji_id"):
            if isinstance(data.get(key), str):
                data[key] = html.escape(data[key], quote=True)
        safe.append(MessageEntity.de_json(data, message.get_bot()))
    plain = Message(message.message_id, message.date, message.chat, text=text, entities=safe)
    return plain.text_html


async def handle_input(update: Update, context: BotContext, step: str, data: BroadcastStep) -> None:
    """A message from a coordinator while the composer waits for text, a photo or a time."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    try:
        await context.services.broadcasts.get(context.actor, data.id)
    except NotAllowed:
        await context.services.chat_state.clear(update.effective_user.id)
        await only_for_coordinators(update, context)
        return
    service = context.services.broadcasts
    broadcast_id = data.id
    back = InlineKeyboardMarkup([[action_button(_("↩️ Back"), "home", broadcast_id)]])
    try:
        if step == "text":
            locale = data.locale
            assert locale is not None  # BROADCAST requires it at "text"
            if message.voice is not None:
                view = await service.set_version(
                    context.actor,
                    broadcast_id,
                    locale,
                    voice_file_id=message.voice.file_id,
                    text=formatted_html(message, caption=True) or None,
                )
            elif message.text:
                view = await service.set_version(
                    context.actor, broadcast_id, locale, text=formatted_html(message)
                )
            else:
                await message.reply_text(_("Please send text or a voice note."), reply_markup=back)
                return
        elif step == "photo":
            if not message.photo:
                await message.reply_text(_("Please send a photo."), reply_markup=back)
                return
            view = await service.set_photo(context.actor, broadcast_id, message.photo[-1].file_id)
        elif step == "when":
            now, tz = context.clock(), context.settings.tz
            at = parse_local_datetime(
                message.text or "", now, tz, (t.locale, context.settings.default_locale)
            )
            if at is None:
                example = format_example(example_datetime(now, tz), tz)
                await message.reply_text(
                    _(
                        "I couldn't read that. Please write the date and time like {example}."
                    ).format(example=t.isolate(example)),
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
                    [[action_button(_("⛔ Cancel"), "cancel", broadcast_id)]]
                ),
            )
            return
        elif step == "weekly_time":
            clock = parse_time_of_day(message.text or "")
            if clock is None:
                await message.reply_text(
                    _("I couldn't read that. Please write the time like {example}.").format(
                        example=t.isolate("10:00")
                    ),
                    reply_markup=back,
                )
                return
            assert data.day is not None  # required at "weekly_time"
            rule = WeeklyRule(data.day, clock.hour, clock.minute)
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
                    [[action_button(_("⛔ Cancel"), "cancel", broadcast_id)]]
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
