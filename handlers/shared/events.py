"""The event screens other features open too: the list of upcoming events, an event's
details (a deep link opens them), "my sign-ups" (the main menu), the ticket of a sign-up, and the
words for a party and the seats left."""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.buttons import (
    CHILDCARE,
    INTERPRETER,
    WHEELCHAIR,
    EventAdminButton,
    EventButton,
    EventListButton,
    MenuButton,
)
from bot.context import BotContext
from bot.i18n import Translator
from bot.rendering import event_summary, event_title, registration_code
from bot.services.events import EventView, SignupView
from handlers.keyboards import button as _b
from handlers.keyboards import paging_row, topic_label
from handlers.render import answer_expired, escape, show

PAGE_SIZE = 3


def seats_line(t: Translator, event: EventView) -> str:
    left = event.seats_left
    if left is None:
        return ""
    if left <= 0:
        return t.gettext("🔴 Full: you can join the waiting list.")
    return t.ngettext("🟢 {count} seat left", "🟢 {count} seats left", left).format(
        count=t.format_number(left)
    )


def party_text(t: Translator, adults: int, children: int) -> str:
    grown_ups = t.ngettext("{count} adult", "{count} adults", adults).format(
        count=t.format_number(adults)
    )
    kids = t.ngettext("{count} child", "{count} children", children).format(
        count=t.format_number(children)
    )
    return t.format_list([grown_ups, kids])


def signup_status_text(t: Translator, signup: SignupView) -> str:
    _ = t.gettext
    if signup.status == "waitlisted":
        return _("⏳ You are on the waiting list ({party}).").format(
            party=party_text(t, signup.adults, signup.children)
        )
    return _("✅ You are signed up ({party}). Your code: {code}").format(
        party=party_text(t, signup.adults, signup.children),
        code=registration_code(t, signup.code),
    )


def needs_labels(t: Translator, flags: int) -> list[str]:
    """The needs ticked on the sign-up's needs screen, in its words."""
    _ = t.gettext
    options = [
        (INTERPRETER, _("🗣 Interpreter for my language")),
        (CHILDCARE, _("🧸 Childcare")),
        (WHEELCHAIR, _("♿ Wheelchair access")),
    ]
    return [label for bit, label in options if flags & bit]


def signup_needs(signup: SignupView) -> int:
    """A stored sign-up's needs as the buttons' bit mask."""
    return (
        (INTERPRETER if signup.interpreter_locale else 0)
        | (CHILDCARE if signup.childcare else 0)
        | (WHEELCHAIR if signup.wheelchair else 0)
    )


def signup_details(
    t: Translator, event: EventView, adults: int, children: int, flags: int, note: str | None
) -> str:
    """The event (title, date, time, place) and the party, needs and note: the body of the
    check before confirming and of the ticket."""
    _ = t.gettext
    lines = [event_summary(t, event), "👥 " + party_text(t, adults, children)]
    needs = needs_labels(t, flags)
    if needs:
        lines.append(_("Needs: {needs}").format(needs=t.format_list(needs)))
    if note:
        lines.append(_("📝 Note: {note}").format(note=escape(t, note)))
    return "\n".join(lines)


def signup_ticket(t: Translator, event: EventView, signup: SignupView) -> str:
    """A sign-up as its ticket: what, when, where, who, needs, note, and the code once; the
    message sent after Confirm and each entry of "My sign-ups"."""
    _ = t.gettext
    details = signup_details(
        t, event, signup.adults, signup.children, signup_needs(signup), signup.note
    )
    if signup.status == "waitlisted":
        return _("⏳ <b>On the waiting list</b>") + "\n" + details
    code = _("🎫 Your code for the entrance: {code}").format(code=registration_code(t, signup.code))
    return _("✅ <b>You are signed up</b>") + "\n" + details + "\n" + code


async def list_events(
    update: Update, context: BotContext, page: EventListButton | None = None
) -> None:
    t = context.t
    _ = t.gettext
    page = page or EventListButton()
    topic = page.topic
    if topic is not None and topic not in context.settings.topics:
        await answer_expired(update, t)
        return
    events, total = await context.services.events.upcoming(
        topic=topic, this_week=page.scope == "week", offset=page.offset, limit=PAGE_SIZE
    )
    title = {
        "all": _("📅 <b>Upcoming events</b>"),
        "week": _("📅 <b>Events this week</b>"),
    }.get(page.scope) or _("📅 <b>Events: {topic}</b>").format(topic=topic_label(t, topic or ""))
    blocks = [title]
    rows: list[list[InlineKeyboardButton]] = []
    for event in events:
        seats = seats_line(t, event)
        blocks.append(event_summary(t, event) + (f"\n{seats}" if seats else ""))
        label = t.mirror("➡️ ") + event_title(t, event, isolated=False)
        rows.append([_b(label, EventButton("show", event.id))])
    if not events:
        blocks.append(_("There are no upcoming events right now. We will let you know!"))
    rows += paging_row(t, page.offset, total, PAGE_SIZE, lambda at: replace(page, offset=at))
    rows.append(
        [
            _b(_("🗓 This week"), EventListButton(0, "week"))
            if page.scope != "week"
            else _b(_("📋 All events"), EventListButton(0, "all")),
        ]
    )
    rows.extend(
        [
            _b(
                ("✅ " if key == topic else "") + topic_label(t, key),
                EventListButton(0, key),
            )
        ]
        for key in context.settings.topics
    )
    rows.append([_b(_("🏠 Main menu"), MenuButton("home"))])
    await show(update, "\n\n".join(blocks), InlineKeyboardMarkup(rows))


async def show_event(update: Update, context: BotContext, event_id: int) -> None:
    t = context.t
    _ = t.gettext
    event = await context.services.events.get(context.actor, event_id)
    if event is None or event.status not in ("published", "cancelled"):
        # An old link, a deleted draft, or a forged id: say so plainly, change nothing.
        all_events = InlineKeyboardMarkup([[_b(_("📅 All events"), EventListButton())]])
        await show(update, _("😕 This event doesn't exist (any more)."), all_events)
        return
    user = update.effective_user
    assert user is not None
    mine = await context.services.events.signup_of(event.id, user.id)
    parts = [event_summary(t, event)]
    version = event.version_for(t.locale)
    if version and version.description:
        parts.append(escape(t, version.description))
    if event.organiser:
        parts.append(_("Organised by {organiser}").format(organiser=escape(t, event.organiser)))
    if event.status == "cancelled":
        parts.append(_("❌ This event has been cancelled."))
    else:
        seats = seats_line(t, event)
        if seats:
            parts.append(seats)
    if mine is not None:
        parts.append(signup_status_text(t, mine))
    username = context.bot.username
    parts.append(
        _("🔗 Share: {link}").format(link=f"https://t.me/{username}?start=event_{event.id}")
    )
    rows: list[list[InlineKeyboardButton]] = []
    if event.status == "published":
        if mine is None:
            rows.append([_b(_("✍️ Sign up"), EventButton("join", event.id))])
        else:
            rows.append([_b(_("❌ Cancel my sign-up"), EventButton("cx", event.id))])
        extra = [_b(_("🗓 Add to calendar"), EventButton("ics", event.id))]
        if event.latitude is not None and event.longitude is not None:
            extra.append(_b(_("🗺 Map"), EventButton("map", event.id)))
        rows.append(extra)
    if context.actor.is_staff:
        # Translators: opens the coordinators' tools for this event
        rows.append([_b(_("🛠 Manage"), EventAdminButton("menu", event.id))])
    rows.append([_b(_("📅 All events"), EventListButton())])
    await show(update, "\n\n".join(parts), InlineKeyboardMarkup(rows))


async def my_signups(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    t = context.t
    _ = t.gettext
    found = await context.services.events.my_signups(user.id)
    blocks = [_("📝 <b>My sign-ups</b>")]
    rows = []
    for event, signup in found:
        blocks.append(signup_ticket(t, event, signup))
        label = t.mirror("➡️ ") + event_title(t, event, isolated=False)
        rows.append([_b(label, EventButton("show", event.id))])
    if not found:
        blocks.append(_("You are not signed up for any event yet."))
        rows.append([_b(_("📅 Upcoming events"), EventListButton())])
    rows.append([_b(_("🏠 Main menu"), MenuButton("home"))])
    await show(update, "\n\n".join(blocks), InlineKeyboardMarkup(rows))
