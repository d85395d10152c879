"""/start: language picker, privacy notice, consent, topics, then the menu.

The flow keeps its state in the buttons (the chosen language and a pending deep link travel in
the callback data), so nothing is stored before the resident agrees, and any replica can
answer any step.
"""

from __future__ import annotations

from telegram import Update

from bot.buttons import ConsentButton, LanguageButton, TopicButton, TopicsDoneButton
from bot.context import BotContext
from handlers import keyboards
from handlers.commands import set_staff_menu
from handlers.deeplinks import DeepLink, parse_deep_link, parse_invitation
from handlers.render import (
    answer_expired,
    escape,
    for_residents,
    show,
    update_keyboard,
)
from handlers.settings import show_settings
from handlers.shared.events import show_event
from handlers.shared.groups import show_group
from handlers.shared.home import current_notice, show_menu, show_topics
from handlers.shared.ideas import ideas_home
from handlers.shared.roles import accept_invitation


async def start(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    payload = context.args[0] if context.args else None
    code = parse_invitation(payload)
    if code is not None:  # an invitation to a role; then /start goes on as without one
        await accept_invitation(update, context, code)
        payload = None
    link = parse_deep_link(payload)
    resident = context.resident
    if context.actor.is_staff:  # their command menu, in their language
        await set_staff_menu(context.bot, user.id, context.t)
    if resident is not None and resident.consent_is_current:
        if link is not None:
            await open_deep_link(update, context, link)
        else:
            await show_menu(update, context)
        return
    _ = context.t.gettext
    text = _("👋 Hello, {name}! Welcome to {neighbourhood}.\nPlease choose your language:").format(
        name=escape(context.t, user.first_name),
        neighbourhood=escape(context.t, context.settings.neighbourhood_name),
    )
    suggested = context.i18n.match(user.language_code)
    keyboard = keyboards.language_picker(
        context.i18n.locales, suggested, link.payload if link else None
    )
    await show(update, text, keyboard)


async def open_deep_link(update: Update, context: BotContext, link: DeepLink) -> None:
    """Route a deep link to its feature. Features register here as they arrive."""
    if link.kind == "event":
        await show_event(update, context, link.target_id)
        return
    if link.kind == "idea":
        await ideas_home(update, context)
        return
    await show_group(update, context, link.target_id)  # project_<id> and group_<id>


async def choose_language(update: Update, context: BotContext, button: LanguageButton) -> None:
    """A language button: for a resident it's a change of language; else the next step."""
    query = update.callback_query
    assert query is not None and update.effective_user
    locale, link = button.locale, button.link
    if locale not in context.i18n.locales:
        await answer_expired(update, context.t)
        return
    context.locale = locale
    _ = context.t.gettext
    if context.resident is not None and context.resident.consent_is_current:
        context.resident = await context.services.residents.set_locale(
            update.effective_user.id, locale
        )
        if context.actor.is_staff:  # their chat's command menu follows them into it
            await set_staff_menu(context.bot, update.effective_user.id, context.t)
        await query.answer(
            _("✅ Language changed to {language}.").format(language=context.t.language(locale))
        )
        await show_menu(update, context)
        return
    await query.answer()
    # The newest version (an admin's, /notice, or the built-in one) in the chosen language.
    _version, notice = await current_notice(context)
    await show(update, notice + "\n\n" + _("Do you agree?"), keyboards.consent(context.t, link))


async def answer_consent(update: Update, context: BotContext, button: ConsentButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user
    locale, link = button.locale, button.link
    if locale not in context.i18n.locales:
        await answer_expired(update, context.t)
        return
    context.locale = locale
    _ = context.t.gettext
    await query.answer()
    if button.answer == "no":
        # Nothing is written. A resident who had agreed before keeps their data until they
        # delete it under /privacy; declining a newer notice doesn't silently erase it.
        await show(
            update,
            _(
                "No problem. We have stored nothing about you.\n"
                "You can still ask for /help. If you change your mind, just send /start."
            ),
        )
        return
    context.resident = await context.services.residents.register(update.effective_user.id, locale)
    if context.actor.is_staff:  # /start set it in Telegram's language; now in the chosen one
        await set_staff_menu(context.bot, update.effective_user.id, context.t)
    parsed = parse_deep_link(link)
    if parsed is not None:
        await open_deep_link(update, context, parsed)
        return
    await show_topics(update, context, first_time=True)


@for_residents
async def toggle_topic(update: Update, context: BotContext, button: TopicButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user
    topic = button.topic
    _ = context.t.gettext
    if topic not in context.settings.topics:
        await answer_expired(update, context.t)
        return
    context.resident = await context.services.residents.toggle_topic(
        update.effective_user.id, topic
    )
    if context.resident is None:  # deleted their data in the meantime
        await query.answer()
        return
    # Translators: a short pop-up after a tap
    await query.answer(_("Saved"))
    keyboard = keyboards.topics(
        context.t, context.settings.topics, context.resident.topics, button.then
    )
    await update_keyboard(update, keyboard)


async def topics_done(update: Update, context: BotContext, button: TopicsDoneButton) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    if button.then == "settings" and context.resident is not None:
        await show_settings(update, context)
    else:  # onboarding goes on to the main menu
        await show_menu(update, context)
