"""The composer's other screens: audience, languages, preview, confirmation, weekday.

The composer itself is in ``handlers/shared/composer.py``, since other features open it too;
the progress messages and the final summary are in ``progress.py``.
"""

from __future__ import annotations

from typing import Any

from babel.dates import get_day_names
from telegram import InlineKeyboardMarkup, Message, Update

from bot.context import BotContext
from bot.i18n import language_name
from bot.services.broadcasts import DAYS, BroadcastView
from bot.telegram_bidi import reading
from handlers.keyboards import topic_label
from handlers.render import show
from handlers.shared.composer import (
    action_button,
    composer_keyboard,
    composer_text,
    languages_line,
    residents_text,
)


async def only_for_coordinators(update: Update, context: BotContext) -> None:
    _ = context.t.gettext
    text = _("📣 Broadcasts are only for coordinators.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await show(update, text)


async def show_audience(update: Update, context: BotContext, view: BroadcastView) -> None:
    t = context.t
    _ = t.gettext
    chosen_locales = set(view.audience.get("locales", []))
    chosen_topics = set(view.audience.get("topics", []))
    counts = await context.services.broadcasts.recipient_counts(view.audience)
    locale_buttons = [
        action_button(
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
            action_button(
                ("✅ " if key in chosen_topics else "") + topic_label(t, key),
                "at",
                view.id,
                topic=key,
            )
        ]
        for key in context.settings.topics
    ]
    rows.append(
        [
            action_button(_("👥 Everyone"), "ac", view.id),
            action_button(_("↩️ Back"), "home", view.id),
        ]
    )
    text = "\n".join(
        [
            _(
                "👥 <b>Who should get it?</b>\n"
                "Tap languages and topics. Nothing chosen means everyone."
            ),
            _("📊 Recipients: {residents}").format(
                residents=residents_text(t, sum(counts.values()))
            )
            + (f" ({languages_line(t, counts)})" if counts else ""),
        ]
    )
    await show(update, text, InlineKeyboardMarkup(rows))


async def show_languages(update: Update, context: BotContext, view: BroadcastView) -> None:
    _ = context.t.gettext
    buttons = [
        action_button(
            ("✅ " if locale in view.versions else "") + language_name(locale),
            "text",
            view.id,
            locale=locale,
        )
        for locale in context.i18n.locales
        if locale != view.default_locale
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([action_button(_("↩️ Back"), "home", view.id)])
    await show(
        update,
        _(
            "🌐 <b>Versions per language</b>\n"
            "Residents without their own version get the text in {language}. "
            "Tap a language to write its text or record a voice note for it."
        ).format(language=context.t.language_in_mine(view.default_locale)),
        InlineKeyboardMarkup(rows),
    )


async def show_preview_menu(update: Update, context: BotContext, view: BroadcastView) -> None:
    _ = context.t.gettext
    buttons = [
        action_button(language_name(locale), "pv", view.id, locale=locale)
        for locale in context.i18n.locales
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([action_button(_("↩️ Back"), "home", view.id)])
    await show(update, _("👁 Preview as a resident of which language?"), InlineKeyboardMarkup(rows))


async def send_preview(
    update: Update, context: BotContext, view: BroadcastView, locale: str
) -> None:
    """Send exactly what a resident of that language will receive, then the composer again."""
    assert update.effective_chat is not None
    _ = context.t.gettext
    chat = update.effective_chat
    await chat.send_message(
        _("👁 Preview for {language}:").format(language=context.t.language_in_mine(locale))
    )
    payload = context.services.broadcasts.render(view, locale)
    with reading(context.i18n.translator(locale).rtl):  # as the outbox stores it for them
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


async def show_confirm(update: Update, context: BotContext, view: BroadcastView) -> None:
    t = context.t
    _ = t.gettext
    counts = await context.services.broadcasts.recipient_counts(view.audience)
    text = _("🚀 Send to {residents} now?").format(
        residents=residents_text(t, sum(counts.values()))
    )
    if counts:
        text += "\n" + languages_line(t, counts)
    await show(
        update,
        text,
        InlineKeyboardMarkup(
            [
                [
                    action_button(_("✅ Yes, send now"), "go", view.id),
                    action_button(_("↩️ Back"), "home", view.id),
                ]
            ]
        ),
    )


async def show_weekdays(update: Update, context: BotContext, view: BroadcastView) -> None:
    t = context.t
    _ = t.gettext
    names = get_day_names("wide", locale=t.babel_locale)
    buttons = [
        action_button(names[index], "wd", view.id, day=day) for index, day in enumerate(DAYS)
    ]
    rows = [buttons[0:4], buttons[4:7], [action_button(_("↩️ Back"), "home", view.id)]]
    await show(update, _("🔁 On which day every week?"), InlineKeyboardMarkup(rows))
