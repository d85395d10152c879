"""The way into a subject's translations, shared by the event and group screens."""

from __future__ import annotations

from telegram import InlineKeyboardButton

from bot.buttons import TranslationButton, TranslationSubject
from bot.context import BotContext
from bot.i18n import Translator, language_name
from bot.services.permissions import NotAllowed
from bot.services.translations import TranslationError
from handlers.keyboards import button as _b


def translations_button(
    t: Translator, subject: TranslationSubject, subject_id: int
) -> InlineKeyboardButton:
    """The entry on an event's or a group's tools."""
    return _b(t.gettext("🌐 Translations"), TranslationButton("open", subject, subject_id))


async def missing_languages_line(
    context: BotContext, subject: TranslationSubject, subject_id: int
) -> str | None:
    """The languages still missing, for a composer's last screen; None when all are there."""
    try:
        states = await context.services.translations.languages(context.actor, subject, subject_id)
    except (NotAllowed, TranslationError):
        return None
    missing = [language_name(s.locale) for s in states if s.state == "missing"]
    if not missing:
        return None
    t = context.t
    return t.gettext("🌐 Not yet in: {languages}").format(
        languages=t.format_list(t.isolate(name) for name in missing)
    )
