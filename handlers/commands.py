"""The command menu, per language (``set_my_commands`` with ``language_code``)."""

from __future__ import annotations

from bot.i18n import Translator


def resident_commands(t: Translator) -> list[tuple[str, str]]:
    _ = t.gettext
    return [
        ("start", _("Start and choose your language")),
        ("menu", _("Main menu")),
        ("events", _("Upcoming events")),
        ("ideas", _("Ideas for the neighbourhood")),
        ("groups", _("Projects and working groups")),
        ("translate", _("Help translate into your language")),
        ("cancel", _("Stop what you are doing")),
        ("language", _("Change the language")),
        ("settings", _("Your settings")),
        ("privacy", _("Your data and privacy")),
        ("stop", _("No more news messages")),
        # Translators: the /help command in Telegram's command menu
        ("help", _("Help")),
    ]
