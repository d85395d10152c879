"""/settings, /language, /stop and /privacy: a resident's own choices and data."""

from __future__ import annotations

import json

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.buttons import DigestButton, PrivacyButton, QuietButton, SettingsButton
from bot.context import BotContext
from bot.i18n import Translator
from bot.services.residents import ResidentProfile
from handlers import keyboards
from handlers.keyboards import button, topic_label
from handlers.render import answer_expired, escape, for_residents, not_started, show
from handlers.shared.home import current_notice, show_menu, show_topics


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
            # Translators: consent per purpose in /settings; {state} is "on" or "off"
            _("Messages about your sign-ups and groups: {state}").format(
                state=news_state(t, resident.service_opt_in)
            ),
            # Translators: consent per purpose in /settings; {state} is "on" or "off"
            _("Messages from group leads: {state}").format(
                state=news_state(t, resident.lead_contact_opt_in)
            ),
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


async def show_settings(update: Update, context: BotContext, above: str = "") -> None:
    """The settings; ``above``, a line about the change just made, on top."""
    if context.resident is None:
        await not_started(update, context)
        return
    keyboard = settings_keyboard(context.t, context.resident)
    await show(update, (above + "\n\n" if above else "") + settings_text(context), keyboard)


def settings_keyboard(t: Translator, resident: ResidentProfile) -> InlineKeyboardMarkup:
    """The settings' buttons, with a toggle for each purpose of consent below the news one."""
    _ = t.gettext
    rows = [
        list(row)
        for row in keyboards.settings(
            t, resident.broadcast_opt_in, resident.digest_opt_in
        ).inline_keyboard
    ]
    service = (
        button(_("🔕 Sign-ups and groups: turn off"), SettingsButton("service_off"))
        if resident.service_opt_in
        else button(_("🔔 Sign-ups and groups: turn on"), SettingsButton("service_on"))
    )
    lead = (
        button(_("🔕 Group leads: turn off"), SettingsButton("lead_off"))
        if resident.lead_contact_opt_in
        else button(_("🔔 Group leads: turn on"), SettingsButton("lead_on"))
    )
    rows[2:2] = [[service], [lead]]  # after the language and topics row and the news one
    return InlineKeyboardMarkup(rows)


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
    # Broadcasts, announcements and the weekly overview end at once, the queued ones too, in
    # the opt-out's own transaction; messages about one's own sign-ups keep coming.
    context.resident = await context.services.residents.stop_news(user.id)
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
    residents = context.services.residents
    user_id = update.effective_user.id
    if entry == "news_on" or entry == "news_off":
        opt_in = entry == "news_on"
        if opt_in:
            context.resident = await residents.set_broadcast_opt_in(user_id, True)
        else:
            # As /stop: no news of any kind, the queued ones (announcements too) cancelled,
            # in one transaction.
            context.resident = await residents.stop_news(user_id)
        await query.answer(
            _("🔔 News messages are on.") if opt_in else _("🔕 News messages are off.")
        )
        if context.resident is not None:
            await show_settings(update, context)
        return
    if entry in ("service_on", "service_off"):
        context.resident = await residents.set_service_opt_in(user_id, entry == "service_on")
        await query.answer(_("Saved"))
        if context.resident is not None:
            await show_settings(update, context)
        return
    if entry in ("lead_on", "lead_off"):
        context.resident = await residents.set_lead_contact_opt_in(user_id, entry == "lead_on")
        await query.answer(_("Saved"))
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
    context.resident, released = await context.services.residents.change_quiet_hours(
        update.effective_user.id, start, end
    )
    t = context.t
    await query.answer(t.gettext("Saved"))
    if context.resident is None:
        return
    # What waited for the quiet hours goes now (released in the setting's transaction): said.
    on_its_way = (
        t.ngettext(
            "📬 {count} message held for your quiet hours is on its way now.",
            "📬 {count} messages held for your quiet hours are on their way now.",
            released,
        ).format(count=t.format_number(released))
        if released
        else ""
    )
    await show_settings(update, context, above=on_its_way)


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
    _version, notice = await current_notice(context)
    if resident is None:
        await show(update, notice + "\n\n" + _("Right now we store nothing about you."))
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
    if resident.first_name:
        # Translators: a line of "What we store about you now"; {name} is their Telegram
        # first name
        details += "\n" + _(
            "First name from Telegram: {name} (the organiser of an event you sign up for and "
            "our coordinators see it)"
        ).format(name=escape(t, resident.first_name))
    await show(update, notice + "\n\n" + details, keyboards.privacy(t))


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
            _(
                "Do you really want to delete all your data? This deletes:\n"
                "• your settings, language, topics and first name;\n"
                "• your sign-ups: seats for upcoming events are given up and offered to the "
                "waiting list; past events keep only the number of people, without your name "
                "or needs;\n"
                "• your memberships in projects and groups and the tasks you took on;\n"
                "• messages from us that are still waiting to be sent to you;\n"
                "• your name on your ideas: the ideas stay, without your name, voice message or "
                "location.\n"
                "This cannot be undone."
            ),
            keyboards.confirm_delete(context.t),
        )
    elif step == "keep":
        await show_menu(update, context)
    else:
        # One transaction: seats go to the waiting list, ideas stay without their author,
        # memberships, tasks, the open flow and every queued message go (PrivacyService).
        await context.services.privacy.erase(update.effective_user.id)
        context.resident = None
        await show(
            update,
            _(
                "✅ All your data has been deleted. Goodbye!\n"
                "If you want to come back, just send /start."
            ),
        )


async def mydata_command(update: Update, context: BotContext) -> None:
    """/mydata: everything stored about the resident, as a JSON file."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    _ = context.t.gettext
    if context.resident is None:
        await show(update, _("Right now we store nothing about you."))
        return
    data = await context.services.privacy.export(user.id)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    await chat.send_document(
        InputFile(body, filename="my-data.json"),
        # Translators: the caption of the file /mydata sends
        caption=_("📦 Everything we store about you. You can delete it with /privacy."),
    )
