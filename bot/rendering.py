"""What residents receive from the outbox: broadcasts rendered per language as Bot API payloads.

The services decide *what* to send and to whom; this module decides how it looks in each
language (the version or the default, and the translated way to unsubscribe).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.i18n import I18n, Translator
from bot.services.broadcasts import DIGEST, BroadcastView

if TYPE_CHECKING:  # the event service imports this module's protocol counterpart
    from bot.services.events import EventView, SignupView


class BroadcastRenderer:
    def __init__(self, i18n: I18n) -> None:
        self._i18n = i18n

    def __call__(self, broadcast: BroadcastView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        _ = t.gettext
        version = broadcast.version_for(locale)
        own_voice = broadcast.versions.get(locale)
        if broadcast.kind == DIGEST:
            footer = _(
                "You get this weekly overview because you asked for it. Change it in /settings."
            )
        else:
            footer = _("No more news messages? Send /stop.")
        text = version.text if version and version.text else ""
        body = f"{text}\n\n<i>{footer}</i>" if text else f"<i>{footer}</i>"
        # A voice note recorded in the resident's own language comes first; a voice note can't
        # carry a photo, so the photo goes to everyone else.
        if own_voice is not None and own_voice.voice_file_id:
            return {
                "method": "sendVoice",
                "voice": own_voice.voice_file_id,
                "caption": body,
                "parse_mode": "HTML",
            }
        if broadcast.photo_file_id:
            return {
                "method": "sendPhoto",
                "photo": broadcast.photo_file_id,
                "caption": body,
                "parse_mode": "HTML",
            }
        if version is not None and version.voice_file_id and not version.text:
            return {
                "method": "sendVoice",
                "voice": version.voice_file_id,
                "caption": body,
                "parse_mode": "HTML",
            }
        return {"method": "sendMessage", "text": body, "parse_mode": "HTML"}


# --- events ------------------------------------------------------------------------------


def event_title(t: Translator, event: EventView) -> str:
    version = event.version_for(t.locale)
    return html.escape(version.title if version else "…", quote=False)


def event_when_where(t: Translator, event: EventView) -> str:
    """Date, time and place in the resident's language, one line each."""
    _ = t.gettext
    lines = []
    if event.starts_at is not None:
        when = f"{t.format_date(event.starts_at, 'full')}, {t.format_time(event.starts_at)}"
        if event.ends_at is not None:
            when += f"–{t.format_time(event.ends_at)}"
        lines.append(f"📅 {when}")
    place = ", ".join(
        html.escape(part, quote=False) for part in (event.place_name, event.address) if part
    )
    if place:
        lines.append(f"📍 {t.isolate(place)}")
    return "\n".join(lines)


def event_summary(t: Translator, event: EventView) -> str:
    return f"<b>{event_title(t, event)}</b>\n{event_when_where(t, event)}"


class EventRenderer:
    """Messages the outbox sends about events, in each resident's language."""

    def __init__(self, i18n: I18n) -> None:
        self._i18n = i18n

    def _message(
        self, text: str, keyboard: list[list[dict[str, str]]] | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"method": "sendMessage", "text": text, "parse_mode": "HTML"}
        if keyboard:
            payload["reply_markup"] = {"inline_keyboard": keyboard}
        return payload

    def _details_button(self, t: Translator, event: EventView) -> list[list[dict[str, str]]]:
        return [[{"text": t.gettext("📅 Show the event"), "callback_data": f"ev:show:{event.id}"}]]

    def reminder(self, event: EventView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = t.gettext("⏰ Reminder: you are signed up for") + "\n" + event_summary(t, event)
        return self._message(text, self._details_button(t, event))

    def still_coming(self, event: EventView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        _ = t.gettext
        text = _("🙋 Are you still coming tomorrow?") + "\n" + event_summary(t, event)
        keyboard = [
            [
                {"text": _("✅ Yes, I'm coming"), "callback_data": f"ev:still:{event.id}:yes"},
                {"text": _("❌ No, free my seats"), "callback_data": f"ev:still:{event.id}:no"},
            ]
        ]
        return self._message(text, keyboard)

    def promoted(self, event: EventView, signup: SignupView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = (
            t.gettext("🎉 Good news: a place became free and you are now signed up for")
            + "\n"
            + event_summary(t, event)
            + "\n"
            + t.gettext("Your registration code: {code}").format(code=f"<code>{signup.code}</code>")
        )
        return self._message(text, self._details_button(t, event))

    def changed(self, event: EventView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = (
            t.gettext("🔄 The time or place of this event has changed:")
            + "\n"
            + event_summary(t, event)
        )
        return self._message(text, self._details_button(t, event))

    def cancelled(self, event: EventView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = (
            t.gettext("❌ Unfortunately this event has been cancelled:")
            + "\n"
            + event_summary(t, event)
        )
        return self._message(text)

    def announcement(self, event: EventView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        version = event.version_for(locale)
        text = t.gettext("📣 New event:") + "\n" + event_summary(t, event)
        if version and version.description:
            text += "\n\n" + html.escape(version.description, quote=False)
        text += "\n\n<i>" + t.gettext("No more news messages? Send /stop.") + "</i>"
        keyboard = [[{"text": t.gettext("✍️ Sign up"), "callback_data": f"ev:show:{event.id}"}]]
        return self._message(text, keyboard)


class EventDigestWriter:
    """The weekly overview: the coming week's events, in one language."""

    def __init__(self, i18n: I18n) -> None:
        self._i18n = i18n

    def __call__(self, events: Sequence[EventView], locale: str) -> str:
        t = self._i18n.translator(locale)
        parts = [t.gettext("🗓 <b>The coming week in the neighbourhood</b>")]
        parts += [event_summary(t, event) for event in events]
        parts.append(t.gettext("Sign up with /events."))
        return "\n\n".join(parts)
