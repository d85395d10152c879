"""What residents receive from the outbox: broadcasts rendered per language as Bot API payloads.

The services decide *what* to send and to whom; this module decides how it looks in each
language (the version or the default, and the translated way to unsubscribe).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any, get_args

from bot.buttons import (
    Button,
    EventAdminButton,
    EventButton,
    GroupButton,
    IdeaModerationButton,
    IdeaStatusChoice,
    PrivacyButton,
    TaskButton,
    TranslatorButton,
)
from bot.i18n import N_, I18n, Translator, language_name
from bot.services.audiences import DIGEST
from bot.services.broadcasts import BroadcastView
from bot.topics import TOPIC_LABELS

if TYPE_CHECKING:  # the services import this module's protocol counterparts
    from bot.services.events import EventView, SignupView
    from bot.services.groups import GroupView
    from bot.services.ideas import IdeaView
    from bot.services.translations import TaskView as TranslationTaskView


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


def event_title(t: Translator, event: EventView, *, isolated: bool = True) -> str:
    """The title in the reader's language, escaped; isolated in right-to-left text (a button's
    label, which is the title alone, takes ``isolated=False``)."""
    version = event.version_for(t.locale)
    title = html.escape(version.title if version else "…", quote=False)
    return t.isolate(title) if isolated else title


def registration_code(t: Translator, code: str) -> str:
    """A sign-up's code as the entrance checks it: monospace, one left-to-right unit."""
    return f"<code>{t.isolate(html.escape(code, quote=False))}</code>"


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


def _html_message(text: str, keyboard: list[list[dict[str, str]]] | None = None) -> dict[str, Any]:
    """A ``sendMessage`` payload in HTML, with inline buttons if any."""
    payload: dict[str, Any] = {"method": "sendMessage", "text": text, "parse_mode": "HTML"}
    if keyboard:
        payload["reply_markup"] = {"inline_keyboard": keyboard}
    return payload


class _OutboxRenderer:
    """What the outbox renderers share: the catalogs, and HTML messages with buttons."""

    def __init__(self, i18n: I18n) -> None:
        self._i18n = i18n

    def _message(
        self, text: str, keyboard: list[list[dict[str, str]]] | None = None
    ) -> dict[str, Any]:
        return _html_message(text, keyboard)


class EventRenderer(_OutboxRenderer):
    """Messages the outbox sends about events, in each resident's language."""

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
            + t.gettext("Your registration code: {code}").format(
                code=registration_code(t, signup.code)
            )
        )
        return self._message(text, self._details_button(t, event))

    def changed(
        self, event: EventView, locale: str, changes: Sequence[str] = ("time", "place")
    ) -> dict[str, Any]:
        """For whoever signed up: what changed (``NOTIFIED_CHANGES``) and the event as it is now."""
        t = self._i18n.translator(locale)
        names = {
            "title": t.pgettext("what changed", "the title"),
            "time": t.pgettext("what changed", "the time"),
            "place": t.pgettext("what changed", "the place"),
        }
        text = (
            t.gettext("🔄 This event has changed ({changes}):").format(
                changes=t.format_list(names[change] for change in changes if change in names)
            )
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
        # Translators: a coordinator opens the event to review it
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
    # Translators: the status of an idea (the idea: feminine in many languages), after "Status:"
    "received": N_("📥 received"),
    # Translators: the status of an idea (the idea: feminine in many languages), after "Status:"
    "under_review": N_("🔎 under review"),
    # Translators: the status of an idea (the idea: feminine in many languages), after "Status:"
    "planned": N_("🗓 planned"),
    # Translators: the status of an idea (the idea: feminine in many languages), after "Status:"
    "in_progress": N_("🛠 in progress"),
    # Translators: the status of an idea (the idea: feminine in many languages), after "Status:"
    "done": N_("✅ done"),
    # Translators: the status of an idea (the idea: feminine in many languages), after "Status:"
    "not_possible": N_("🚫 not possible"),
    # Translators: the status of an idea (the idea: feminine in many languages), after "Status:"
    "rejected": N_("❌ not taken up"),
    # Translators: the status of an idea (the idea: feminine in many languages), after "Status:"
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
        return f"<i>{t.isolate(html.escape(text, quote=False))}</i>"
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
    """The coordinators' card of an idea: number, language, text, topic, place, who, status.

    Who: ``author_name``, else the view's ``author_name`` (the stored first name the service
    gives coordinators' views); never for an anonymous idea."""
    _ = t.gettext
    lines = [
        _("💡 <b>Idea {number}</b> · {language}").format(
            number=t.format_number(idea.id), language=t.language(idea.locale)
        ),
        idea_excerpt(t, idea, 1000),
    ]
    if idea.topic and idea.topic in TOPIC_LABELS:
        lines.append(_("Topic: {topic}").format(topic=topic_label(t, idea.topic)))
    if idea.place_text:
        lines.append(
            _("Place: {place}").format(place=t.isolate(html.escape(idea.place_text, quote=False)))
        )
    name = author_name or idea.author_name
    if idea.anonymous:
        lines.append(_("Sent anonymously"))
    elif name and idea.author_id:
        lines.append(
            _("From: {name}").format(
                name=f'<a href="tg://user?id={idea.author_id}">'
                f"{t.isolate(html.escape(name, quote=False))}</a>"
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
    # Translators: on an idea's card; asks before it bans the idea's author from the bot
    rows.append([_button(_("⛔ Ban the author"), IdeaModerationButton("ban", idea.id))])
    return rows


def idea_reported_buttons(t: Translator, idea: IdeaView) -> list[list[dict[str, str]]]:
    """Under the notice of an idea hidden after residents' reports."""
    _ = t.gettext
    return [
        # Translators: an idea hidden after reports goes back on the board, reports cleared
        [_button(_("✅ Keep it public"), IdeaModerationButton("keep", idea.id))],
        # Translators: an idea hidden after reports leaves the board for good
        [_button(_("🙈 Hide it for good"), IdeaModerationButton("hide", idea.id))],
        [_button(_("⛔ Ban the author"), IdeaModerationButton("ban", idea.id))],
    ]


class IdeaRenderer(_OutboxRenderer):
    """What an idea's author and the coordinators are told, each in their language."""

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
        self,
        idea: IdeaView,
        author_name: str | None,
        locale: str,
        translation: str | None = None,
    ) -> list[dict[str, Any]]:
        """A coordinator's notice of a new idea: the original voice, photo and location (each
        captioned with the idea's number, in case they arrive apart), then the card, with a
        machine translation into the coordinator's language above the original when there
        is one."""
        t = self._i18n.translator(locale)
        parts = idea_media(t, idea)
        text = idea_card_text(t, idea, author_name)
        if translation:
            text += "\n\n" + t.gettext("🤖 Machine translation, not reviewed:") + "\n"
            text += f"<i>{html.escape(translation[:1000], quote=False)}</i>"
        card = self._message(text)
        card["reply_markup"] = {"inline_keyboard": idea_card_buttons(t, idea)}
        parts.append(card)
        return parts

    def reported(self, idea: IdeaView, reports: int, locale: str) -> dict[str, Any]:
        """A coordinator's notice: residents reported a public idea, which is off the board
        until someone looks."""
        t = self._i18n.translator(locale)
        text = (
            t.ngettext(
                "🚩 {count} neighbour reported this idea. It is hidden from the idea board "
                "until a coordinator looks at it.",
                "🚩 {count} neighbours reported this idea. It is hidden from the idea board "
                "until a coordinator looks at it.",
                reports,
            ).format(count=t.format_number(reports))
            + "\n\n"
            + idea_card_text(t, idea)
        )
        return self._message(text, idea_reported_buttons(t, idea))

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


def idea_media(t: Translator, idea: IdeaView) -> list[dict[str, Any]]:
    """An idea's original voice, photo and location as Bot API payloads, each captioned with
    the idea's number (in case they arrive apart): sent before its card, by the outbox for a
    new idea and by /ideas."""
    caption = t.gettext("💡 <b>Idea {number}</b> · {language}").format(
        number=t.format_number(idea.id), language=t.language(idea.locale)
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
    return parts


# --- projects and working groups -------------------------------------------------------


def group_name(t: Translator, group: GroupView, *, isolated: bool = True) -> str:
    """The name in the reader's language, escaped; isolated in right-to-left text (a button's
    label, which is the name alone, takes ``isolated=False``)."""
    version = group.version_for(t.locale)
    name = html.escape(version.name if version else "…", quote=False)
    return t.isolate(name) if isolated else name


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

    # What changed, told to the people it concerns; each opens the group's page.

    def _changed(self, t: Translator, group: GroupView, text: str) -> dict[str, Any]:
        label = t.mirror("➡️ ") + group_name(t, group, isolated=False)
        return _html_message(text, [[_button(label, GroupButton("show", group.id))]])

    @staticmethod
    def _text(t: Translator, text: str) -> str:
        """What the lead wrote (in the group's language), escaped and isolated."""
        return t.isolate(html.escape(text, quote=False))

    def renamed(self, group: GroupView, old: str, new: str, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        # Translators: a project or working group got a new name
        text = t.gettext("🔄 {old} is now called {new}.").format(
            old=f"<b>{self._text(t, old)}</b>", new=f"<b>{self._text(t, new)}</b>"
        )
        return self._changed(t, group, text)

    def rhythm_changed(self, group: GroupView, rhythm: str, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        # Translators: a group's new meeting times; {rhythm} is what its lead wrote, e.g.
        # "every Tuesday at 17:00", perhaps in another language
        text = t.gettext("🔄 {name}: now meets {rhythm}").format(
            name=f"<b>{group_name(t, group)}</b>", rhythm=self._text(t, rhythm)
        )
        return self._changed(t, group, text)

    def lead_given(self, group: GroupView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = t.gettext(
            "🤝 You now lead {name}. Your tools (members, messages, help tasks) are on its page."
        ).format(name=f"<b>{group_name(t, group)}</b>")
        return self._changed(t, group, text)

    def lead_handed_over(
        self, group: GroupView, new_lead: str | None, locale: str
    ) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        name = f"<b>{group_name(t, group)}</b>"
        if new_lead:
            # Translators: told to a group's former lead; {person} is the new lead's first name
            text = t.gettext("🤝 {person} now leads {name}. Thank you for leading it!").format(
                person=self._text(t, new_lead), name=name
            )
        else:
            text = t.gettext("🤝 Someone else now leads {name}. Thank you for leading it!").format(
                name=name
            )
        return self._changed(t, group, text)

    def slot_renamed(self, group: GroupView, old: str, new: str, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        # Translators: told to the people doing a help task whose name changed
        text = t.gettext("🔄 {name}: the help task {old} is now called {new}.").format(
            name=f"<b>{group_name(t, group)}</b>",
            old=f"<i>{self._text(t, old)}</i>",
            new=f"<i>{self._text(t, new)}</i>",
        )
        return self._changed(t, group, text)

    def slot_removed(self, group: GroupView, label: str, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        # Translators: told to the people who had taken a help task that was removed
        text = t.gettext(
            "🗑 {name}: the help task {task} has been removed. Thank you for offering your help!"
        ).format(name=f"<b>{group_name(t, group)}</b>", task=f"<i>{self._text(t, label)}</i>")
        return self._changed(t, group, text)


# --- translations --------------------------------------------------------------------------

TRANSLATION_FIELD_LABELS = {
    "title": N_("Title"),
    "name": N_("Name"),
    "description": N_("Description"),
    # Translators: when a project or working group meets, e.g. "every Tuesday at 17:00".
    "rhythm": N_("Meetings"),
    "slot": N_("Help task"),
}


def translation_field(t: Translator, field: str) -> str:
    return t.gettext(TRANSLATION_FIELD_LABELS.get(field, field))


def _quoted(t: Translator, text: str, length: int = 1000) -> str:
    """Someone's text quoted, isolated in right-to-left messages (it may be German)."""
    short = text if len(text) <= length else text[: length - 1] + "…"
    return f"<i>{t.isolate(html.escape(short, quote=False))}</i>"


class TranslationRenderer(_OutboxRenderer):
    """What volunteer translators and coordinators are told about translations."""

    def task(
        self, task: TranslationTaskView, glossary: Sequence[tuple[str, str]], locale: str
    ) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        _ = t.gettext
        lines = [
            _("🌐 <b>Translation wanted</b> into {language}, please by {deadline}:").format(
                language=t.isolate(language_name(task.locale)),
                deadline=t.format_datetime(task.deadline, "short"),
            )
        ]
        for field, text in task.source.items():
            lines.append(f"<b>{translation_field(t, field)}</b>: {_quoted(t, text)}")
        if glossary:
            # The glossary's forms are word beginnings, so that every ending fits.
            lines.append(_("📖 Our words for it (the beginnings of words):"))
            arrow = t.mirror("→")
            lines += [
                f"• {t.isolate(html.escape(a, quote=False))} {arrow} {html.escape(b, quote=False)}"
                for a, b in glossary
            ]
        button = _button(_("✍️ Translate it"), TaskButton("do", task.id))
        return self._message("\n".join(lines), [[button]])

    def submitted(self, task: TranslationTaskView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        _ = t.gettext
        lines = [
            _("🌐 A translation into {language} waits for your approval:").format(
                language=t.isolate(language_name(task.locale))
            )
        ]
        if task.is_machine:
            lines.append(_("🤖 Machine translation, not reviewed:"))
        for field, text in (task.result or {}).items():
            lines.append(f"<b>{translation_field(t, field)}</b>: {_quoted(t, text)}")
            if field in task.source:
                lines.append(f"↳ {_quoted(t, task.source[field], 300)}")
        keyboard = [
            [
                _button(_("✅ Approve"), TaskButton("ok", task.id)),
                _button(_("✏️ Edit"), TaskButton("edit", task.id)),
                _button(_("❌ Reject"), TaskButton("no", task.id)),
            ]
        ]
        return self._message("\n".join(lines), keyboard)

    def approved(self, task: TranslationTaskView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = t.gettext(
            "🙏 Thank you! Your translation of {title} is approved: neighbours now read it in "
            "their language."
        ).format(title=f"<b>{html.escape(task.title, quote=False)}</b>")
        return self._message(text)

    def offer(self, telegram_id: int, name: str, offered: str, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        _ = t.gettext
        text = _("🌐 {name} offers to translate into {language}.").format(
            name=f'<a href="tg://user?id={telegram_id}">{html.escape(name, quote=False)}</a>',
            language=t.isolate(language_name(offered)),
        )
        keyboard = [
            [_button(_("✅ Make them a translator"), TranslatorButton("yes", telegram_id))],
            [_button(_("No, thanks"), TranslatorButton("no", telegram_id))],
        ]
        return self._message(text, keyboard)

    def appointed(self, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        text = t.gettext(
            "🌐 Welcome to the translators! When something needs translating into your "
            "language, it comes here. Send /translate to see what is open and what you "
            "translated."
        )
        return self._message(text)


class RetentionRenderer(_OutboxRenderer):
    """The warning before a long-inactive resident's data is deleted (bot/services/retention.py)."""

    def inactivity_warning(self, removal_day: date, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        _ = t.gettext
        text = _(
            "👋 We haven't seen you here for a long time. To protect your privacy, your data "
            "(your settings, sign-ups and memberships) will be deleted on {date}, unless you "
            "send us any message or tap a button before then."
        ).format(date=t.format_date(removal_day, "long"))
        # Translators: the button under the warning above; tapping it keeps the resident's data
        keyboard = [[_button(_("✅ Keep my data"), PrivacyButton("keep"))]]
        return self._message(text, keyboard)
