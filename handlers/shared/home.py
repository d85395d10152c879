"""The main menu, and the privacy notice and topic picker that /start and /settings both show."""

from __future__ import annotations

from typing import Literal

from telegram import Update

from bot.context import BotContext
from bot.services.notices import fill
from handlers import keyboards
from handlers.render import escape, show


def menu_text(context: BotContext) -> str:
    _ = context.t.gettext
    return _("🏠 <b>Main menu</b>\nWhat would you like to do?")


async def show_menu(update: Update, context: BotContext) -> None:
    await show(update, menu_text(context), keyboards.main_menu(context.t))


def retention_values(context: BotContext) -> dict[str, str]:
    """How long what is kept, from the settings (SIGNUP_RETENTION_DAYS, INACTIVE_DAYS), for
    the notice's placeholders; the defaults hold where a setting isn't there."""
    t = context.t
    settings = context.settings
    return {
        "signup_retention_days": t.format_number(getattr(settings, "signup_retention_days", 30)),
        "inactive_days": t.format_number(getattr(settings, "inactive_days", 365)),
    }


def privacy_notice(context: BotContext) -> str:
    """The built-in privacy notice (version 1): everything stored, why, who sees it and for
    how long, in the resident's language."""
    t = context.t
    _ = t.gettext
    return "\n\n".join(
        [
            _(
                "🔒 <b>Your data</b>\n"
                "We are the neighbourhood bot of {neighbourhood}. We store only what the bot "
                "needs, use it only for the bot and never pass it on."
            ).format(neighbourhood=escape(t, context.settings.neighbourhood_name)),
            # Translators: a paragraph of the privacy notice; {…} stay as they are
            _(
                "<b>What we store and who sees it</b>\n"
                "• Your Telegram ID, language, topics, quiet hours and which messages you want "
                "(news, messages about your sign-ups and groups, messages from group leads): "
                "to write to you as you wish.\n"
                "• Your first name from Telegram.\n"
                "• Your sign-ups with the people you bring, your needs and your note: the "
                "event's organiser and our coordinators see them, with your first name.\n"
                "• Your ideas: public once published, with your first name unless you share "
                "them anonymously.\n"
                "• Your memberships in groups and the help tasks you take on: the group's lead "
                "sees them, with your first name.\n"
                "• Messages from us that are waiting to be sent to you."
            ),
            # Translators: a paragraph of the privacy notice; {signup_retention_days} and
            # {inactive_days} are numbers of days
            _(
                "<b>How long</b>\n"
                "Sign-up details are deleted {signup_retention_days} days after the event. If "
                "you don't use the bot for {inactive_days} days, we remind you and then delete "
                "your data."
            ).format(**retention_values(context)),
            _(
                "Telegram carries our messages; its own privacy policy applies there.\n"
                "/mydata sends you everything we store, /privacy shows it and deletes it, "
                "/stop ends all news."
            ),
        ]
    )


async def current_notice(context: BotContext) -> tuple[int, str]:
    """The privacy notice's newest version and its text in the resident's language: the
    built-in one, or the one an admin published (/notice), in the default language with a
    note when none was written in theirs."""
    t = context.t
    found = await context.services.notices.text(t.locale)
    if found.text is None:
        return found.version, privacy_notice(context)
    body = escape(t, fill(found.text, retention_values(context)))
    if found.fallback:
        # Translators: above the privacy notice when it wasn't written in the reader's language
        note = t.gettext("(Not written in your language yet: here it is in {language}.)")
        body = note.format(language=t.language_in_mine(found.locale)) + "\n\n" + body
    return found.version, "🔒 " + body


async def show_topics(
    update: Update,
    context: BotContext,
    *,
    first_time: bool = False,
    then: Literal["settings"] | None = None,
) -> None:
    assert context.resident is not None
    _ = context.t.gettext
    text = _("Which topics interest you? Tap to choose, then press “Done”.")
    if first_time:
        text = _("Thank you! 🎉") + "\n" + text + "\n" + _("You can also skip this.")
    keyboard = keyboards.topics(context.t, context.settings.topics, context.resident.topics, then)
    await show(update, text, keyboard)
