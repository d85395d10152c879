"""/settings, /language, /stop and /privacy: a resident's own choices and data."""

from __future__ import annotations

import contextlib

from telegram import Update

from bot.buttons import DigestButton, PrivacyButton, QuietButton, SettingsButton
from bot.context import BotContext
from bot.i18n import Translator
from bot.services.audiences import BROADCAST, DIGEST
from bot.services.events import EventError
from bot.services.residents import ResidentProfile
from handlers import keyboards
from handlers.keyboards import topic_label
from handlers.render import answer_expired, for_residents, not_started, show
from handlers.shared.home import privacy_notice, show_menu, show_topics

#: What /stop silences (later: not reminders of events a resident signed up for).
NEWS_KINDS = (BROADCAST, DIGEST)


def settings_text(context: BotContext) -> str:
    resident = context.resident
    assert resident is not None
    t = context.t
    _ = t.gettext
    topics = t.format_list(
        topic_label(t, key) for key in context.settings.topics if key in resident.topics
    )
    text = _(
        "⚙️ <b>Your settings</b>\nLanguage: {language}\nTopics: {topics}\nNews messages: {news}"
    ).format(
        language=t.language(t.locale),
        # Translators: no topic chosen yet, after "Topics:"
        topics=topics or _("none yet"),
        news=news_state(t, resident.broadcast_opt_in),
    )
    return "\n".join(
        [
            text,
            _("Quiet hours: {hours}").format(hours=quiet_hours_label(t, resident)),
            _("Weekly overview: {digest}").format(
                # Translators: the state after "Weekly overview:" (one overview, singular)
                digest=t.pgettext("weekly overview", "on")
                if resident.digest_opt_in
                else t.pgettext("weekly overview", "off")
            ),
        ]
    )


def news_state(t: Translator, opted_in: bool) -> str:
    """What follows "News messages:" in the settings and the privacy screen."""
    if opted_in:
        # Translators: the state after "News messages:" (the news messages, plural)
        return t.pgettext("news messages", "on")
    # Translators: the state after "News messages:" (the news messages, plural)
    return t.pgettext("news messages", "off")


def quiet_hours_label(t: Translator, resident: ResidentProfile) -> str:
    if resident.quiet_start == resident.quiet_end:
        # Translators: no quiet hours set, after "Quiet hours:"
        return t.gettext("none")
    start, end = divmod(resident.quiet_start, 60), divmod(resident.quiet_end, 60)
    return t.isolate(f"{start[0]:02d}:{start[1]:02d}–{end[0]:02d}:{end[1]:02d}")


async def show_settings(update: Update, context: BotContext) -> None:
    if context.resident is None:
        await not_started(update, context)
        return
    keyboard = keyboards.settings(
        context.t, context.resident.broadcast_opt_in, context.resident.digest_opt_in
    )
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
    # Takes effect at once: what is already queued for this resident is cancelled too.
    await context.services.delivery.cancel_for_chat(user.id, kinds=NEWS_KINDS)
    await show(
        update,
        _(
            "🔕 Done: you will get no more news messages from us.\n"
            "You can turn them on again in /settings."
        ),
    )


@for_residents
async def settings_entry(update: Update, context: BotContext, button: SettingsButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user
    entry = button.entry
    _ = context.t.gettext
    if entry == "news_on" or entry == "news_off":
        opt_in = entry == "news_on"
        context.resident = await context.services.residents.set_broadcast_opt_in(
            update.effective_user.id, opt_in
        )
        if not opt_in:
            await context.services.delivery.cancel_for_chat(
                update.effective_user.id, kinds=NEWS_KINDS
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
        await show_topics(update, context, then="settings")
    elif entry == "privacy":
        await show_privacy(update, context)
    elif entry == "quiet":
        await show_quiet_hours(update, context)


async def show_quiet_hours(update: Update, context: BotContext) -> None:
    assert context.resident is not None
    _ = context.t.gettext
    await show(
        update,
        _(
            "🌙 <b>Quiet hours</b>\n"
            "During these hours we send you no news; they wait until your quiet hours end. "
            "Only urgent warnings come through."
        ),
        keyboards.quiet_hours(
            context.t, (context.resident.quiet_start, context.resident.quiet_end)
        ),
    )


@for_residents
async def quiet_hours_choice(update: Update, context: BotContext, button: QuietButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user
    if button.hours is None:
        start = end = 0
    elif button.hours in keyboards.QUIET_HOUR_CHOICES:
        start, end = button.hours[0] * 60, button.hours[1] * 60
    else:
        await answer_expired(update, context.t)
        return
    context.resident = await context.services.residents.set_quiet_hours(
        update.effective_user.id, start, end
    )
    await query.answer(context.t.gettext("Saved"))
    if context.resident is not None:
        await show_settings(update, context)


@for_residents
async def digest_choice(update: Update, context: BotContext, button: DigestButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user
    opt_in = button.choice == "on"
    context.resident = await context.services.residents.set_digest_opt_in(
        update.effective_user.id, opt_in
    )
    await query.answer(context.t.gettext("Saved"))
    if context.resident is not None:
        await show_settings(update, context)


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
        language=t.language(t.locale),
        topics=t.ngettext("{count} topic", "{count} topics", count).format(
            count=t.format_number(count)
        ),
        news=news_state(t, resident.broadcast_opt_in),
        date=t.format_date(resident.consent_at),
    )
    await show(update, privacy_notice(context) + "\n\n" + details, keyboards.privacy(t))


@for_residents
async def privacy_step(update: Update, context: BotContext, button: PrivacyButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user
    step = button.step
    _ = context.t.gettext
    await query.answer()
    if step == "ask":
        await show(
            update,
            _("Do you really want to delete all your data? Your settings will be lost."),
            keyboards.confirm_delete(context.t),
        )
    elif step == "keep":
        await show_menu(update, context)
    else:
        user_id = update.effective_user.id
        # Seats go back to the waiting list; ideas stay on the board but lose their author.
        for event, _signup in await context.services.events.my_signups(user_id):
            with contextlib.suppress(EventError):
                await context.services.events.cancel_signup(event.id, user_id)
        await context.services.ideas.forget_author(user_id)
        await context.services.residents.forget(user_id)
        context.resident = None
        await show(
            update,
            _(
                "✅ All your data has been deleted. Goodbye!\n"
                "If you want to come back, just send /start."
            ),
        )
