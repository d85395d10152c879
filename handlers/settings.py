"""/settings, /language, /stop and /privacy: a resident's own choices and data."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers import keyboards
from handlers.keyboards import topic_label
from handlers.menu import not_started, show_menu
from handlers.onboarding import privacy_notice, show_topics
from handlers.render import show


def settings_text(context: BotContext) -> str:
    resident = context.resident
    assert resident is not None
    t = context.t
    _ = t.gettext
    topics = ", ".join(
        topic_label(t, key) for key in context.settings.topics if key in resident.topics
    )
    return _(
        "⚙️ <b>Your settings</b>\nLanguage: {language}\nTopics: {topics}\nNews messages: {news}"
    ).format(
        language=t.language_name,
        topics=topics or _("none yet"),
        news=_("on") if resident.broadcast_opt_in else _("off"),
    )


async def show_settings(update: Update, context: BotContext) -> None:
    if context.resident is None:
        await not_started(update, context)
        return
    keyboard = keyboards.settings(context.t, context.resident.broadcast_opt_in)
    await show(update, settings_text(context), keyboard)


async def language_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    _ = context.t.gettext
    suggested = context.locale if context.resident else context.i18n.match(user.language_code)
    await show(
        update,
        _("🌐 Please choose your language:"),
        keyboards.language_picker(context.i18n.locales, suggested),
    )


async def stop_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    _ = context.t.gettext
    if context.resident is None:
        await show(update, _("We don't send you any news messages. Send /start to begin."))
        return
    context.resident = await context.services.residents.set_broadcast_opt_in(user.id, False)
    await show(
        update,
        _(
            "🔕 Done: you will get no more news messages from us.\n"
            "You can turn them on again in /settings."
        ),
    )


async def settings_entry(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and context.matches and update.effective_user
    entry = context.matches[0].group("entry")
    if context.resident is None:
        await query.answer()
        await not_started(update, context)
        return
    _ = context.t.gettext
    if entry == "news_on" or entry == "news_off":
        opt_in = entry == "news_on"
        context.resident = await context.services.residents.set_broadcast_opt_in(
            update.effective_user.id, opt_in
        )
        await query.answer(
            _("🔔 News messages are on.") if opt_in else _("🔕 News messages are off.")
        )
        if context.resident is not None:
            await show_settings(update, context)
        return
    await query.answer()
    if entry == "open":
        await show_settings(update, context)
    elif entry == "language":
        await language_command(update, context)
    elif entry == "topics":
        await show_topics(update, context)
    elif entry == "privacy":
        await show_privacy(update, context)


async def show_privacy(update: Update, context: BotContext) -> None:
    t = context.t
    _ = t.gettext
    resident = context.resident
    if resident is None:
        await show(
            update, privacy_notice(context) + "\n\n" + _("Right now we store nothing about you.")
        )
        return
    count = len(resident.topics)
    details = _(
        "<b>What we store about you now</b>\n"
        "Language: {language}\n"
        "{topics}\n"
        "News messages: {news}\n"
        "You agreed on {date}."
    ).format(
        language=t.language_name,
        topics=t.ngettext("{count} topic", "{count} topics", count).format(
            count=t.format_number(count)
        ),
        news=_("on") if resident.broadcast_opt_in else _("off"),
        date=t.format_date(resident.consent_at),
    )
    await show(update, privacy_notice(context) + "\n\n" + details, keyboards.privacy(t))


async def privacy_step(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and context.matches and update.effective_user
    step = context.matches[0].group("step")
    _ = context.t.gettext
    await query.answer()
    if context.resident is None:
        await not_started(update, context)
        return
    if step == "ask":
        await show(
            update,
            _("Do you really want to delete all your data? Your settings will be lost."),
            keyboards.confirm_delete(context.t),
        )
    elif step == "keep":
        await show_menu(update, context)
    else:
        await context.services.residents.forget(update.effective_user.id)
        context.resident = None
        await show(
            update,
            _(
                "✅ All your data has been deleted. Goodbye!\n"
                "If you want to come back, just send /start."
            ),
        )
