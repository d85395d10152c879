"""What residents receive from the outbox: broadcasts rendered per language as Bot API payloads.

The services decide *what* to send and to whom; this module decides how it looks in each
language (the version or the default, and the translated way to unsubscribe).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, get_args

from bot.buttons import (
    Button,
    EventAdminButton,
    EventButton,
    GroupButton,
    IdeaModerationButton,
    IdeaStatusChoice,
)
from bot.i18n import N_, I18n, Translator, language_name
from bot.services.audiences import DIGEST
from bot.services.broadcasts import BroadcastView
from bot.topics import TOPIC_LABELS

if TYPE_CHECKING:  # the services import this module's protocol counterparts
    from bot.services.events import EventView, SignupView
    from bot.services.groups import GroupView
    from bot.services.ideas import IdeaView


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


def _button(text: str, data: Button) -> dict[str, str]:
    """An inline button in a Bot API payload."""
    return {"text": text, "callback_data": data.pack()}


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
        return [[_button(t.gettext("📅 Show the event"), EventButton("show", event.id))]]

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
                _button(_("✅ Yes, I'm coming"), EventButton("still", event.id, answer="yes")),
                _button(_("❌ No, free my seats"), EventButton("still", event.id, answer="no")),
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
        keyboard = [[_button(t.gettext("✍️ Sign up"), EventButton("show", event.id))]]
        return self._message(text, keyboard)

    def fill_alert(self, event: EventView, percent: int, locale: str) -> dict[str, Any]:
        """For whoever created the event: it is 50, 80 or 100 % full."""
        t = self._i18n.translator(locale)
        text = t.gettext("📈 {title} is {percent} % full.").format(
            title=event_title(t, event), percent=t.format_number(percent)
        )
        return self._message(text)

    def proposal(self, event: EventView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = (
            t.gettext("📨 A partner organisation asks you to approve this event:")
            + "\n"
            + event_summary(t, event)
        )
        review = _button(t.gettext("🔎 Review it"), EventAdminButton("menu", event.id))
        return self._message(text, [[review]])

    def decision(self, event: EventView, approved: bool, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        outcome = (
            t.gettext("✅ Your event was approved and is now published:")
            if approved
            else t.gettext("❌ Your event was not approved this time:")
        )
        return self._message(outcome + "\n" + event_summary(t, event))


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


# --- ideas -------------------------------------------------------------------------------

#: Status and reason labels (msgids), translated when shown.
IDEA_STATUS_LABELS = {
    "received": N_("📥 received"),
    "under_review": N_("🔎 under review"),
    "planned": N_("🗓 planned"),
    "in_progress": N_("🛠 in progress"),
    "done": N_("✅ done"),
    "not_possible": N_("🚫 not possible"),
    "rejected": N_("❌ not taken up"),
    "merged": N_("🔗 joined with a similar idea"),
}
IDEA_REASON_LABELS = {
    "duplicate": N_("There is already a similar idea."),
    "not_our_area": N_("This is outside what the neighbourhood office can do."),
    "not_feasible": N_("This cannot be done at the moment."),
    "other": N_("Please ask the neighbourhood office for details."),
}


def idea_excerpt(t: Translator, idea: IdeaView, length: int = 160) -> str:
    if idea.text:
        text = idea.text if len(idea.text) <= length else idea.text[: length - 1] + "…"
        return f"<i>{html.escape(text, quote=False)}</i>"
    if idea.voice_file_id:
        return t.gettext("🎤 (voice message)")
    return t.gettext("🖼 (photo)")


def idea_status(t: Translator, idea: IdeaView) -> str:
    return t.gettext(IDEA_STATUS_LABELS.get(str(idea.status), str(idea.status)))


def topic_label(t: Translator, key: str) -> str:
    emoji, label = TOPIC_LABELS[key]
    return f"{emoji} {t.gettext(label)}"


IDEA_STATUS_BUTTONS: tuple[IdeaStatusChoice, ...] = get_args(IdeaStatusChoice)


def _with_status(idea: IdeaView, status: str) -> IdeaView:
    """The idea as it would look in ``status``: lets a button show the status's own label."""
    from bot.services.ideas import IdeaStatus  # late: the services import this module

    return replace(idea, status=IdeaStatus(status))


def idea_card_text(t: Translator, idea: IdeaView, author_name: str | None = None) -> str:
    """The coordinators' card of an idea: number, language, text, topic, place, who, status."""
    _ = t.gettext
    lines = [
        _("💡 <b>Idea {number}</b> · {language}").format(
            number=t.format_number(idea.id), language=language_name(idea.locale)
        ),
        idea_excerpt(t, idea, 1000),
    ]
    if idea.topic and idea.topic in TOPIC_LABELS:
        lines.append(_("Topic: {topic}").format(topic=topic_label(t, idea.topic)))
    if idea.place_text:
        lines.append(
            _("Place: {place}").format(place=t.isolate(html.escape(idea.place_text, quote=False)))
        )
    if idea.anonymous:
        lines.append(_("Sent anonymously"))
    elif author_name and idea.author_id:
        lines.append(
            _("From: {name}").format(
                name=f'<a href="tg://user?id={idea.author_id}">'
                f"{html.escape(author_name, quote=False)}</a>"
            )
        )
    lines.append(_("Status: {status}").format(status=idea_status(t, idea)))
    return "\n".join(lines)


def idea_card_buttons(t: Translator, idea: IdeaView) -> list[list[dict[str, str]]]:
    """The moderation buttons under an idea's card."""
    _ = t.gettext
    status_row = [
        _button(
            idea_status(t, _with_status(idea, status)), IdeaModerationButton("st", idea.id, status)
        )
        for status in IDEA_STATUS_BUTTONS
    ]
    rows = []
    if not idea.published:
        rows.append(
            [_button(_("📢 Publish on the idea board"), IdeaModerationButton("pub", idea.id))]
        )
    rows += [status_row[:2], status_row[2:]]
    rows.append(
        [
            _button(
                idea_status(t, _with_status(idea, decline)),
                IdeaModerationButton("why", idea.id, decline),
            )
            for decline in ("not_possible", "rejected")
        ]
    )
    rows.append([_button(_("🔗 Join with another idea"), IdeaModerationButton("merge", idea.id))])
    if idea.published:
        rows.append([_button(_("📣 Message its supporters"), IdeaModerationButton("msg", idea.id))])
    rows.append([_button(_("🌱 Make it a project"), IdeaModerationButton("proj", idea.id))])
    return rows


class IdeaRenderer:
    """What an idea's author and the coordinators are told, each in their language."""

    def __init__(self, i18n: I18n) -> None:
        self._i18n = i18n

    def _message(self, text: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": text, "parse_mode": "HTML"}

    def status_changed(self, idea: IdeaView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        _ = t.gettext
        lines = [
            _("💡 News about your idea:"),
            idea_excerpt(t, idea),
            _("Status: {status}").format(status=idea_status(t, idea)),
        ]
        if idea.reason in IDEA_REASON_LABELS:
            lines.append(_(IDEA_REASON_LABELS[idea.reason]))
        return self._message("\n".join(lines))

    def published(self, idea: IdeaView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = (
            t.gettext("💡 Your idea is now on the idea board, where neighbours can support it:")
            + "\n"
            + idea_excerpt(t, idea)
        )
        return self._message(text)

    def new_idea(
        self, idea: IdeaView, author_name: str | None, locale: str
    ) -> list[dict[str, Any]]:
        """A coordinator's notice of a new idea: the original voice, photo and location (each
        captioned with the idea's number, in case they arrive apart), then the card."""
        t = self._i18n.translator(locale)
        caption = t.gettext("💡 <b>Idea {number}</b> · {language}").format(
            number=t.format_number(idea.id), language=language_name(idea.locale)
        )
        parts: list[dict[str, Any]] = []
        if idea.voice_file_id:
            parts.append(
                {
                    "method": "sendVoice",
                    "voice": idea.voice_file_id,
                    "caption": caption,
                    "parse_mode": "HTML",
                }
            )
        if idea.photo_file_id:
            parts.append(
                {
                    "method": "sendPhoto",
                    "photo": idea.photo_file_id,
                    "caption": caption,
                    "parse_mode": "HTML",
                }
            )
        if idea.latitude is not None and idea.longitude is not None:
            parts.append(
                {"method": "sendLocation", "latitude": idea.latitude, "longitude": idea.longitude}
            )
        card = self._message(idea_card_text(t, idea, author_name))
        card["reply_markup"] = {"inline_keyboard": idea_card_buttons(t, idea)}
        parts.append(card)
        return parts

    def milestone(self, idea: IdeaView, supporters: int, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = (
            t.ngettext(
                "🎉 {count} neighbour supports your idea:",
                "🎉 {count} neighbours support your idea:",
                supporters,
            ).format(count=t.format_number(supporters))
            + "\n"
            + idea_excerpt(t, idea)
        )
        return self._message(text)


# --- projects and working groups -------------------------------------------------------


def group_name(t: Translator, group: GroupView) -> str:
    version = group.version_for(t.locale)
    return html.escape(version.name if version else "…", quote=False)


class GroupRenderer:
    """What members and invited residents are told about a project or group."""

    def __init__(self, i18n: I18n) -> None:
        self._i18n = i18n

    def invitation(self, group: GroupView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = t.gettext(
            "🌱 An idea you shared or supported has become a project: {name}\n"
            "Would you like to join?"
        ).format(name=f"<b>{group_name(t, group)}</b>")
        button = _button(t.gettext("👀 Show the project"), GroupButton("show", group.id))
        return {
            "method": "sendMessage",
            "text": text,
            "parse_mode": "HTML",
            "reply_markup": {"inline_keyboard": [[button]]},
        }

    def closed(self, group: GroupView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = t.gettext("🏁 {name} has come to an end. Thank you for taking part!").format(
            name=f"<b>{group_name(t, group)}</b>"
        )
        if group.outcome:
            text += "\n\n" + html.escape(group.outcome, quote=False)
        return {"method": "sendMessage", "text": text, "parse_mode": "HTML"}
