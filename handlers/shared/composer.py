"""The broadcast composer's main screen: what the draft says, who gets it, and its buttons.

``/broadcast`` opens it (``handlers/broadcast/``), and so do a group's lead, an idea's
moderator and an event's organiser, with their audience already chosen.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.buttons import BroadcastAction, BroadcastButton
from bot.context import BotContext
from bot.i18n import Translator
from bot.rendering import event_title, group_name
from bot.services.broadcasts import BroadcastView
from handlers.keyboards import button, topic_label
from handlers.render import show
from handlers.shared.translations import translations_button


def action_button(
    text: str, action: BroadcastAction, broadcast_id: int, **argument: str
) -> InlineKeyboardButton:
    return button(text, BroadcastButton(action, broadcast_id, **argument))


def languages_line(t: Translator, counts: dict[str, int]) -> str:
    return " · ".join(
        f"{t.language_in_mine(locale)} {t.format_number(count)}"
        for locale, count in sorted(counts.items(), key=lambda item: -item[1])
    )


def residents_text(t: Translator, count: int) -> str:
    return t.ngettext("{count} resident", "{count} residents", count).format(
        count=t.format_number(count)
    )


async def composer_text(context: BotContext, view: BroadcastView) -> str:
    t = context.t
    _ = t.gettext
    counts = await context.services.broadcasts.recipient_counts(view.audience)
    parts = []
    if view.audience.get("locales"):
        parts.append(
            t.format_list(t.language_in_mine(locale) for locale in view.audience["locales"])
        )
    if view.audience.get("topics"):
        parts.append(t.format_list(topic_label(t, key) for key in view.audience["topics"]))
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
    # Translators: the audience when no language, topic or group is chosen: "Audience: everyone"
    audience = " + ".join(parts) if parts else _("everyone")
    versions = t.format_list(
        t.language_in_mine(locale) + (" 🎤" if version.voice_file_id else "")
        for locale, version in view.versions.items()
    )
    lines = [
        _("📣 <b>New broadcast</b>"),
        _("👥 Audience: {audience}").format(audience=audience),
        _("📊 Recipients: {residents}").format(residents=residents_text(t, sum(counts.values())))
        + (f" ({languages_line(t, counts)})" if counts else ""),
        _("🌐 Versions: {versions}").format(
            versions=versions or _("none yet, write the text first")
        ),
        _("🖼 Photo: {photo}").format(photo=_("yes") if view.photo_file_id else _("no")),
        _("⚡ Urgent, ignores quiet hours: {urgent}").format(
            # Translators: "yes"/"no" after "Photo:" and "Urgent, ignores quiet hours:" in a draft
            urgent=_("yes") if view.urgent else _("no")
        ),
    ]
    # Recipients whose language has no version yet read the default one: say which.
    missing = [locale for locale in counts if locale not in view.versions and counts[locale]]
    if view.versions and missing:
        lines.insert(
            4,
            _("🌐 Not yet in: {languages}").format(
                languages=t.format_list(
                    f"{t.language_in_mine(locale)} ({t.format_number(counts[locale])})"
                    for locale in missing
                )
            ),
        )
    return "\n".join(lines)


def composer_keyboard(t: Translator, view: BroadcastView) -> InlineKeyboardMarkup:
    _ = t.gettext
    b = view.id
    return InlineKeyboardMarkup(
        [
            [
                action_button(
                    _("✏️ Text ({language})").format(
                        language=t.language_in_mine(view.default_locale)
                    ),
                    "text",
                    b,
                    locale=view.default_locale,
                )
            ],
            [
                action_button(_("🌐 Other languages"), "langs", b),
                translations_button(t, "broadcast", b),
                action_button(_("👥 Audience"), "aud", b),
            ],
            [
                action_button(_("🖼 Remove photo"), "nophoto", b)
                if view.photo_file_id
                else action_button(_("🖼 Add a photo"), "photo", b),
                action_button(_("⚡ Urgent: on") if view.urgent else _("⚡ Urgent: off"), "urg", b),
            ],
            # Translators: shows the broadcast as a resident will see it
            [action_button(_("👁 Preview"), "prev", b)],
            [
                action_button(_("🚀 Send now"), "send", b),
                # Translators: send the broadcast later, at a date and time
                action_button(_("🕒 Later"), "when", b),
                action_button(_("🔁 Weekly"), "week", b),
            ],
            # Translators: deletes this broadcast draft
            [action_button(_("🗑 Discard"), "del", b)],
        ]
    )


async def show_composer(update: Update, context: BotContext, view: BroadcastView) -> None:
    await show(update, await composer_text(context, view), composer_keyboard(context.t, view))
