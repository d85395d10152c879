"""/newevent for coordinators and partner organisations, and the coordinators' event tools:
attendees with totals, first names, languages, parties and needs, the .xlsx export, check-in
by code, moving, duplicating, cancelling, announcing, and approving partners' proposals.

Each step's state is the event row plus the flow's ``EventStep`` in the database. The first step,
which a group's "plan a meeting" opens too, is in ``handlers/shared/newevent.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from bot.buttons import (
    ClearableField,
    EventAdminButton,
    EventComposerButton,
    EventEditButton,
    EventEditField,
)
from bot.context import BotContext
from bot.i18n import Translator, language_name
from bot.rendering import event_summary, event_title, registration_code
from bot.services.events import (
    MAX_REMINDER_HOURS,
    Announced,
    CapacityTooLow,
    EndBeforeStart,
    EventError,
    EventView,
    InvalidTime,
    MissingTitle,
    SignupView,
    TextTooLong,
    WindowClosesFirst,
)
from bot.services.permissions import NotAllowed
from bot.services.timeparse import (
    example_datetime,
    format_example,
    parse_local_datetime,
    parse_time_of_day,
)
from bot.sheets import attendee_needs, attendee_workbook
from handlers.flow_data import EventStep
from handlers.flows import EVENT, take_step
from handlers.keyboards import button as _b
from handlers.keyboards import topic_label
from handlers.render import answer_expired, escape, show
from handlers.shared.composer import show_composer
from handlers.shared.events import party_text
from handlers.shared.newevent import ask_step as _ask
from handlers.shared.newevent import may_propose as _may_propose
from handlers.shared.newevent import start_new_event
from handlers.shared.translations import missing_languages_line, translations_button

CAPACITY_CHOICES = (0, 10, 20, 30, 50, 100)


def date_example(context: BotContext) -> str:
    """A date and time ahead of the bot's clock (next Saturday 15:00), in the form the date
    steps read back in every language."""
    tz = context.settings.tz
    return format_example(example_datetime(context.clock(), tz), tz)


def _attendee_line(t: Translator, signup: SignupView) -> str:
    """One party on the attendee screen: first name, language, party, needs, code."""
    parts = [
        escape(t, signup.first_name) if signup.first_name else "—",
        t.language(signup.locale),
        party_text(t, signup.adults, signup.children),
        *attendee_needs(t, signup),
        registration_code(t, signup.code),
    ]
    return "• " + " · ".join(parts)


def _date_prompt(context: BotContext, question: str) -> str:
    t = context.t
    return (
        question
        + "\n"
        + t.gettext("For example: {example}").format(example=t.isolate(date_example(context)))
    )


async def newevent_command(update: Update, context: BotContext) -> None:
    await start_new_event(update, context)


async def _next_after(update: Update, context: BotContext, event: EventView, step: str) -> None:
    """The step that follows ``step`` in the composer."""
    t = context.t
    _ = t.gettext
    if step == "title":
        await _ask(
            update,
            context,
            event.id,
            "description",
            _("📝 Describe the event in a few sentences."),
            skip=True,
        )
    elif step == "description":
        await _ask(
            update, context, event.id, "when", _date_prompt(context, _("📅 When does it start?"))
        )
    elif step == "when":
        await _ask(
            update,
            context,
            event.id,
            "until",
            _("🕒 Until what time? For example: {example}").format(example=t.isolate("17:00")),
            skip=True,
        )
    elif step == "until":
        await _ask(
            update,
            context,
            event.id,
            "place",
            _("📍 Where does it take place? Send the name of the place."),
        )
    elif step == "place":
        await _ask(
            update,
            context,
            event.id,
            "address",
            _("🏠 What is the address? You can also send a location."),
            skip=True,
        )
    elif step == "address":
        buttons = [
            _b(
                # Translators: a button among seat numbers: no limit
                _("Unlimited") if n == 0 else t.format_number(n),
                EventComposerButton("cap", event.id, capacity=n),
            )
            for n in CAPACITY_CHOICES
        ]
        await _ask(
            update,
            context,
            event.id,
            "capacity",
            _("👥 How many seats are there, children included? Tap or type a number."),
            extra=[buttons[:3], buttons[3:]],
        )
    elif step == "capacity":
        rows = [
            [_b(topic_label(t, key), EventComposerButton("topic", event.id, topic=key))]
            for key in context.settings.topics
        ]
        await _ask(
            update, context, event.id, "topic", _("🏷 Which topic fits best?"), skip=True, extra=rows
        )
    elif step == "topic":
        await _ask(
            update,
            context,
            event.id,
            "photo",
            _("🖼 Would you like to add a photo? Send it now."),
            skip=True,
        )
    else:
        await show_preview(update, context, event)


async def show_preview(update: Update, context: BotContext, event: EventView) -> None:
    user = update.effective_user
    assert user is not None
    await context.services.chat_state.clear(user.id)
    t = context.t
    _ = t.gettext
    _allowed, proposed = _may_propose(context)
    text = _("👁 <b>Preview</b>, as residents will see it:") + "\n\n" + event_summary(t, event)
    if proposed:
        rows = [[_b(_("📨 Send for approval"), EventComposerButton("propose", event.id))]]
    else:
        rows = [
            [_b(_("🚀 Publish now"), EventComposerButton("publish", event.id))],
            [
                _b(_("🕒 Publish later"), EventComposerButton("later", event.id)),
                _b(_("💾 Keep as draft"), EventComposerButton("draft", event.id)),
            ],
        ]
    missing = await missing_languages_line(context, "event", event.id)
    if missing is not None:
        # Offered after the default language's text, before it goes out.
        text += "\n\n" + missing
        rows.insert(0, [translations_button(t, "event", event.id)])
    await show(update, text, InlineKeyboardMarkup(rows))


async def composer_button(update: Update, context: BotContext, button: EventComposerButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    user_id = update.effective_user.id
    allowed, proposed = _may_propose(context)
    t = context.t
    _ = t.gettext
    action, event_id = button.action, button.event_id
    events = context.services.events
    event = await events.get(context.actor, event_id)
    if not allowed or event is None or (proposed and event.created_by != user_id):
        await answer_expired(update, t)
        return
    # The wizard's own buttons belong to one step of this event's open wizard: a stale one
    # (a finished wizard, a second tap) is refused and changes nothing.
    step = {"skip": button.step, "cap": "capacity", "topic": "topic"}.get(action)
    claimed = None
    if step is not None:
        claimed = await take_step(context, user_id, EVENT, step, data_id=event_id)
        if claimed is None:
            await answer_expired(update, t)
            return
    editing = claimed is not None and bool(claimed.editing)
    try:
        if action == "skip" and button.step is not None:
            await query.answer()
            await _next_after(update, context, event, button.step)
        elif action == "cap" and button.capacity is not None:
            event = await events.update(context.actor, event_id, capacity=button.capacity)
            await query.answer()
            await _after_step(update, context, event, "capacity", editing)
        elif action == "topic" and button.topic in context.settings.topics:
            event = await events.update(context.actor, event_id, topics=[button.topic])
            await query.answer()
            await _after_step(update, context, event, "topic", editing)
        elif action == "publish" and not proposed:
            event = await events.publish(context.actor, event_id)
            await query.answer()
            await _offer_announcement(update, context, event)
        elif action == "later" and not proposed:
            await query.answer()
            await _ask(
                update,
                context,
                event_id,
                "publish_at",
                _date_prompt(context, _("🕒 When should it be published?")),
            )
        elif action == "draft":
            await context.services.chat_state.clear(user_id)
            await query.answer()
            await show(update, _("💾 Saved as a draft."))
        elif action == "announce" and not proposed:
            await query.answer()
            await _offer_announcement(update, context, event)
        elif action == "annw" and not proposed:
            audience = {"topics": list(event.topics)} if button.audience == "topics" else {}
            latest = await context.services.translations.waiting_until(
                context.actor, "event", event_id
            )
            if latest is None:  # they came in meanwhile: announce now
                latest = context.clock() + timedelta(minutes=1)
            await events.announce_when_translated(context.actor, event_id, audience, latest)
            quiet = await events.announce_quiet_at(audience, latest)
            await query.answer()
            text = _(
                "⏳ The announcement goes out as soon as the translations are approved, "
                "by {deadline} at the latest."
            ).format(deadline=t.format_datetime(latest, "short"))
            if quiet.count and quiet.earliest is not None:
                text += "\n" + t.ngettext(
                    "🌙 If it goes out then, {count} resident is in their quiet hours "
                    "and gets it at {time}.",
                    "🌙 If it goes out then, {count} residents are in their quiet hours; "
                    "the first gets it at {time}.",
                    quiet.count,
                ).format(
                    count=t.format_number(quiet.count),
                    time=t.format_datetime(quiet.earliest, "short"),
                )
            await show(update, text)
        elif action == "ann" and not proposed:
            audience = {"topics": list(event.topics)} if button.audience == "topics" else {}
            announced = await events.announce(context.actor, event_id, audience)
            await query.answer()
            await show(update, _announced_text(t, announced))
        elif action == "propose" and proposed:
            await events.propose(context.actor, event.id)
            await context.services.chat_state.clear(user_id)
            await query.answer()
            await show(
                update,
                _(
                    "📨 Thank you! A coordinator will look at your event, "
                    "and we will tell you the outcome."
                ),
            )
        else:
            await answer_expired(update, t)
    except MissingTitle:
        await query.answer(_("Please write the title first."), show_alert=True)
    except InvalidTime:
        await query.answer(_("Please set a start time in the future first."), show_alert=True)
    except CapacityTooLow as error:
        await query.answer(_seats_taken_text(t, error.taken), show_alert=True)
    except EventError:
        await answer_expired(update, t)


def _seats_taken_text(t: Translator, taken: int) -> str:
    return t.ngettext(
        "👥 {count} seat is taken already; there can't be fewer seats. "
        "Whoever signed up keeps their seat.",
        "👥 {count} seats are taken already; there can't be fewer seats. "
        "Whoever signed up keeps their seat.",
        taken,
    ).format(count=t.format_number(taken))


def _announced_text(t: Translator, announced: Announced) -> str:
    """Whom an announcement reached now, who had it already, and what waits for quiet hours
    (nothing is held back without a word)."""
    _ = t.gettext
    total = announced.new
    if total or not announced.already:
        lines = [
            _("📣 The announcement goes out to {residents}.").format(
                residents=t.ngettext("{count} resident", "{count} residents", total).format(
                    count=t.format_number(total)
                )
            )
        ]
    else:
        lines = [_("📣 Everyone in this audience has the announcement already; nothing was sent.")]
    if announced.already:
        lines.append(
            t.ngettext(
                "✔️ {count} resident had it already.",
                "✔️ {count} residents had it already.",
                announced.already,
            ).format(count=t.format_number(announced.already))
        )
    if announced.held and announced.held_until is not None:
        lines.append(held_line(t, announced.held, announced.held_until))
    return "\n".join(lines)


def held_line(t: Translator, count: int, earliest: datetime) -> str:
    return t.ngettext(
        "🌙 {count} message waits for quiet hours and goes out at {time}.",
        "🌙 {count} messages wait for quiet hours; the first goes out at {time}.",
        count,
    ).format(count=t.format_number(count), time=t.format_datetime(earliest, "short"))


async def _offer_announcement(update: Update, context: BotContext, event: EventView) -> None:
    t = context.t
    _ = t.gettext
    events = context.services.events
    everyone = sum((await events.announce_counts({})).values())
    rows = []
    if event.topics:
        interested = sum((await events.announce_counts({"topics": list(event.topics)})).values())
        rows.append(
            [
                _b(
                    _("🏷 Residents interested in its topic ({count})").format(
                        count=t.format_number(interested)
                    ),
                    EventComposerButton("ann", event.id, audience="topics"),
                )
            ]
        )
    rows.append(
        [
            _b(
                _("👥 Everyone ({count})").format(count=t.format_number(everyone)),
                EventComposerButton("ann", event.id, audience="all"),
            )
        ]
    )
    text = _("✅ Published. Would you like to announce it?")
    waiting = await context.services.translations.waiting_until(context.actor, "event", event.id)
    if waiting is not None:
        # Translations are on their way: the announcement may wait for them.
        text += "\n\n" + _(
            "⏳ Some translations are still on their way. The announcement can wait for them, "
            "until {deadline} at the latest; whoever has no translation by then reads it in "
            "{language}."
        ).format(
            deadline=t.format_datetime(waiting, "short"),
            language=t.isolate(language_name(event.default_locale)),
        )
        later = EventComposerButton("annw", event.id, audience="topics" if event.topics else "all")
        rows.append([_b(_("⏳ Announce once translated"), later)])
    rows.append([_b(_("🔇 Don't announce"), EventAdminButton("menu", event.id))])
    await show(update, text, InlineKeyboardMarkup(rows))


async def handle_input(update: Update, context: BotContext, step: str, data: EventStep) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    t = context.t
    _ = t.gettext
    events = context.services.events
    event_id = data.id
    event = await events.get(context.actor, event_id)
    allowed, _proposed = _may_propose(context)
    if event is None or not allowed:
        await context.services.chat_state.clear(user.id)
        await show(update, _("⚠️ This button is no longer valid. Please send /menu."))
        return
    text = (message.text or "").strip()
    try:
        if step == "title":
            if not text:
                await message.reply_text(_("Please send the title as text."))
                return
            event = await events.set_version(
                context.actor, event_id, event.default_locale, title=text
            )
        elif step == "description":
            if not text:
                await message.reply_text(_("Please send the description as text."))
                return
            event = await events.set_version(
                context.actor, event_id, event.default_locale, description=text
            )
        elif step in ("when", "move", "dup", "publish_at", "opens", "closes"):
            at = parse_local_datetime(
                text,
                context.clock(),
                context.settings.tz,
                (t.locale, context.settings.default_locale),
            )
            if at is None:
                await message.reply_text(
                    _(
                        "I couldn't read that. Please write the date and time like {example}."
                    ).format(example=t.isolate(date_example(context)))
                )
                return
            if step == "when" and data.editing:  # the new start keeps the event's length
                event = await events.update(context.actor, event_id, starts_at=at)
            elif step == "when":
                event = await events.update(
                    context.actor, event_id, starts_at=at, ends_at=at + timedelta(hours=2)
                )
            elif step in ("opens", "closes"):
                key = "signup_opens_at" if step == "opens" else "signup_closes_at"
                event = await events.update(context.actor, event_id, **{key: at})
            elif step == "move":
                length = (
                    (event.ends_at - event.starts_at)
                    if event.ends_at and event.starts_at
                    else timedelta(hours=2)
                )
                event = await events.update(
                    context.actor, event_id, starts_at=at, ends_at=at + length
                )
                await context.services.chat_state.clear(user.id)
                await message.reply_text(
                    _("🔄 Moved. Everyone signed up is told in their language.")
                )
                return
            elif step == "dup":
                copy = await events.duplicate(context.actor, event_id, at)
                await show_preview(update, context, copy)
                return
            else:
                event = await events.schedule_publication(context.actor, event_id, at)
                await context.services.chat_state.clear(user.id)
                await message.reply_text(
                    _("🕒 It will be published on {date}.").format(
                        date=t.format_datetime(at, "full")
                    )
                )
                return
        elif step == "until":
            clock = parse_time_of_day(text)
            if clock is None or event.starts_at is None:
                await message.reply_text(
                    _("I couldn't read that. Please write the time like {example}.").format(
                        example=t.isolate("17:00")
                    )
                )
                return
            local_start = event.starts_at.astimezone(context.settings.tz)
            end = datetime.combine(local_start.date(), clock, tzinfo=context.settings.tz)
            event = await events.update(context.actor, event_id, ends_at=end)
        elif step == "place":
            if not text:
                await message.reply_text(_("Please send the name of the place as text."))
                return
            event = await events.update(context.actor, event_id, place_name=text[:200])
        elif step == "address":
            if message.location is not None:
                event = await events.update(
                    context.actor,
                    event_id,
                    latitude=message.location.latitude,
                    longitude=message.location.longitude,
                )
            elif text:
                event = await events.update(context.actor, event_id, address=text[:300])
            else:
                await message.reply_text(_("Please send the address as text, or a location."))
                return
        elif step == "capacity":
            if not text.isdigit():
                await message.reply_text(
                    _("Please send a number, for example 25, or 0 for unlimited.")
                )
                return
            event = await events.update(context.actor, event_id, capacity=int(text))
        elif step == "reminder":
            if not text.isdigit() or int(text) > MAX_REMINDER_HOURS:
                await message.reply_text(
                    _("Please send a number of hours, for example 24, or 0 for no reminder.")
                )
                return
            event = await events.update(context.actor, event_id, reminder_hours=int(text))
        elif step == "photo":
            if not message.photo:
                await message.reply_text(_("Please send a photo."))
                return
            event = await events.update(
                context.actor, event_id, photo_file_id=message.photo[-1].file_id
            )
        elif step == "new_place":
            if not text:
                await message.reply_text(_("Please send the name of the place as text."))
                return
            await events.update(context.actor, event_id, place_name=text[:200], address=None)
            await context.services.chat_state.clear(user.id)
            await message.reply_text(
                _("📍 The place has changed. Everyone signed up is told in their language.")
            )
            return
        elif step == "checkin":
            signup = await events.check_in(context.actor, event_id, text)
            if signup is None:
                await message.reply_text(
                    _("No sign-up has this code. Please check it and send it again.")
                )
                return
            await message.reply_text(
                _("✅ Checked in: {code} ({party}).").format(
                    code=registration_code(t, signup.code),
                    party=party_text(t, signup.adults, signup.children),
                )
            )
            return
        else:
            await context.services.chat_state.clear(user.id)
            return
    except InvalidTime as error:
        await message.reply_text(_invalid_time_text(t, error))
        return
    except CapacityTooLow as error:
        await message.reply_text(_seats_taken_text(t, error.taken))
        return
    except TextTooLong as error:
        await message.reply_text(
            _("That is too long: please use at most {limit} characters.").format(
                limit=t.format_number(error.limit)
            )
        )
        return
    except EventError:
        await message.reply_text(_("Please check what you sent and try again."))
        return
    await _after_step(update, context, event, step, bool(data.editing))


def _invalid_time_text(t: Translator, error: InvalidTime) -> str:
    _ = t.gettext
    if isinstance(error, EndBeforeStart):
        return _("The end must come after the start. Please choose a later time.")
    if isinstance(error, WindowClosesFirst):
        return _("Sign-up must close after it opens. Please choose a later time.")
    return _("That time has already passed. Please choose a later one.")


async def _after_step(
    update: Update, context: BotContext, event: EventView, step: str, editing: bool
) -> None:
    """The composer's next step, or, for a step opened from the edit screen, that screen."""
    if editing:
        assert update.effective_user is not None
        await context.services.chat_state.clear(update.effective_user.id)
        await show_edit_screen(update, context, event, saved=step)
    else:
        await _next_after(update, context, event, step)


# --- coordinators' tools for one event ----------------------------------------------------


async def proposals_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    _ = context.t.gettext
    if not context.actor.is_staff:
        await show(update, _("📅 Only coordinators and partner organisations can create events."))
        return
    found = await context.services.events.proposals(context.actor)
    if not found:
        await show(update, _("📨 There are no proposals from partner organisations."))
        return
    rows = [
        [
            _b(
                "📨 " + event_title(context.t, event, isolated=False),
                EventAdminButton("menu", event.id),
            )
        ]
        for event in found
    ]
    await show(
        update, _("📨 <b>Proposals from partner organisations</b>"), InlineKeyboardMarkup(rows)
    )


async def admin_button(update: Update, context: BotContext, button: EventAdminButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    # A partner may look at who comes to its own event: the service decides (NotAllowed).
    attendee_views = button.action in ("people", "csv") and context.actor.is_partner
    if not (context.actor.is_staff or attendee_views):
        await answer_expired(update, t)
        return
    action, event_id = button.action, button.event_id
    events = context.services.events
    event = await events.get(context.actor, event_id)
    if event is None:
        await answer_expired(update, t)
        return
    try:
        await _admin_action(update, context, event, action)
    except EventError:
        await answer_expired(update, t)


def _public_links(context: BotContext, event: EventView) -> list[tuple[str, str]]:
    """The flyer to print (the coordinator's language and the event's next one) and the .ics
    file, on the HTTP server's public address (``bot/web/events.py``); none without one."""
    base = context.settings.public_url
    _ = context.t.gettext
    if not base or event.starts_at is None:
        return []
    base = base.rstrip("/")
    links: list[tuple[str, str]] = []
    if event.status == "published":
        mine = context.t.locale
        others = [event.default_locale, *event.versions]
        second = next((locale for locale in others if locale != mine), None)
        query = urlencode({"lang": mine} | ({"lang2": second} if second else {}))
        links.append((_("🖨 Flyer"), f"{base}/events/{event.id}/flyer?{query}"))
    if event.status in ("published", "cancelled"):
        # Translators: a link to the event's calendar file (.ics)
        links.append((_("🗓 Calendar file"), f"{base}/events/{event.id}.ics"))
    return links


def _button_url(url: str) -> bool:
    """Whether Telegram takes ``url`` in a button: http(s), not a loopback address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and host not in ("localhost", "127.0.0.1", "::1")


async def _admin_action(update: Update, context: BotContext, event: EventView, action: str) -> None:
    query = update.callback_query
    assert query is not None
    t = context.t
    _ = t.gettext
    events = context.services.events
    if action == "menu":
        await query.answer()
        rows = [
            [
                _b(_("👥 Attendees"), EventAdminButton("people", event.id)),
                # Translators: mark who has arrived, at the door
                _b(_("✅ Check in"), EventAdminButton("checkin", event.id)),
            ],
            [
                # Translators: opens the screen that changes any of the event's details
                _b(_("✏️ Change the details"), EventEditButton(event.id)),
                # Translators: copies the event to a new date
                _b(_("📄 Duplicate"), EventAdminButton("dup", event.id)),
            ],
            # Translators: sends residents a message about the event just published
            [_b(_("📣 Announce"), EventComposerButton("announce", event.id))],
            [
                _b(_("📣 Message attendees"), EventAdminButton("msg", event.id)),
                _b(_("📣 Message the waiting list"), EventAdminButton("msgw", event.id)),
            ],
            [translations_button(t, "event", event.id)],
            [_b(_("⛔ Cancel the event"), EventAdminButton("cancel", event.id))],
        ]
        if event.status == "proposed":
            rows.insert(
                0,
                [
                    # Translators: approves a partner organisation's event or a translation
                    _b(_("✅ Approve"), EventAdminButton("approve", event.id)),
                    # Translators: turns down a partner organisation's event or a translation
                    _b(_("❌ Reject"), EventAdminButton("reject", event.id)),
                ],
            )
        text = "🛠 " + event_summary(t, event)
        links = _public_links(context, event)
        if links and _button_url(links[0][1]):
            rows.insert(-1, [InlineKeyboardButton(label, url=url) for label, url in links])
        elif links:  # a local address (the sandbox): Telegram takes no such URL in a button
            text += "\n\n" + "\n".join(f"{label}: {t.isolate(url)}" for label, url in links)
        await show(update, text, InlineKeyboardMarkup(rows))
    elif action == "people":
        await query.answer()
        summary = await events.attendees(context.actor, event.id)
        lines = [
            "👥 " + event_summary(t, event),
            _("Confirmed: {party}. Waiting list: {groups}.").format(
                party=party_text(t, summary.adults, summary.children),
                groups=t.ngettext(
                    "{count} group", "{count} groups", len(summary.waitlisted)
                ).format(count=t.format_number(len(summary.waitlisted))),
            ),
            _(
                "Childcare: {childcare} · Wheelchair: {wheelchair} · Checked in: {checked_in}"
            ).format(
                childcare=t.format_number(summary.childcare),
                wheelchair=t.format_number(summary.wheelchair),
                checked_in=t.format_number(summary.checked_in),
            ),
        ]
        if summary.interpreters:
            lines.append(
                _("Interpreters: {languages}").format(
                    languages=t.format_list(
                        f"{t.language(locale)} {t.format_number(n)}"
                        for locale, n in summary.interpreters.items()
                    )
                )
            )
        lines += [_attendee_line(t, signup) for signup in summary.confirmed]
        if summary.waitlisted:
            lines.append("\n" + _("⏳ <b>Waiting list</b>"))
            lines += [_attendee_line(t, signup) for signup in summary.waitlisted]
        rows = [
            # The wire action stays "csv", so buttons already sent keep working.
            [_b(_("📄 Export as a spreadsheet (.xlsx)"), EventAdminButton("csv", event.id))],
        ]
        if context.actor.is_staff:  # the tools' menu is the coordinators'
            rows.append([_b(_("↩️ Back"), EventAdminButton("menu", event.id))])
        await show(update, "\n".join(lines[:60]), InlineKeyboardMarkup(rows))
    elif action in ("msg", "msgw"):
        # The broadcast composer, with this event's attendees (or waiting list) as audience.
        key = "event_attendees" if action == "msg" else "event_waitlist"
        draft = await context.services.broadcasts.create_draft(
            context.actor, audience={key: [event.id]}
        )
        await query.answer()
        await show_composer(update, context, draft)
    elif action == "csv":  # the export, an .xlsx (opens alike in every Excel and LibreOffice)
        await query.answer()
        data = attendee_workbook(t, await events.attendees(context.actor, event.id))
        assert update.effective_chat is not None
        await update.effective_chat.send_document(
            InputFile(data, filename=f"event-{event.id}-attendees.xlsx")
        )
    elif action == "checkin":
        await query.answer()
        await _ask(
            update,
            context,
            event.id,
            "checkin",
            _("✅ Send the registration code to check someone in."),
        )
    elif action == "move":
        await query.answer()
        await _ask(
            update,
            context,
            event.id,
            "move",
            _date_prompt(context, _("🕒 When does it start now?")),
        )
    elif action == "place":
        await query.answer()
        await _ask(update, context, event.id, "new_place", _("📍 Where does it take place now?"))
    elif action == "dup":
        await query.answer()
        await _ask(
            update,
            context,
            event.id,
            "dup",
            _date_prompt(context, _("📄 When does the copy start?")),
        )
    elif action == "cancel":
        await query.answer()
        await show(
            update,
            _("Do you really want to cancel this event? Everyone signed up will be told."),
            InlineKeyboardMarkup(
                [
                    [_b(_("⛔ Yes, cancel the event"), EventAdminButton("cancely", event.id))],
                    [_b(_("↩️ Back"), EventAdminButton("menu", event.id))],
                ]
            ),
        )
    elif action == "cancely":
        told = await events.cancel(context.actor, event.id)
        await query.answer()
        await show(
            update,
            t.ngettext(
                "⛔ Cancelled. {count} person signed up is told.",
                "⛔ Cancelled. {count} people signed up are told.",
                told,
            ).format(count=t.format_number(told)),
        )
    elif action in ("approve", "reject"):
        event = await (
            events.approve(context.actor, event.id)
            if action == "approve"
            else events.reject(context.actor, event.id)
        )
        await query.answer()
        await show(update, _("Done. The partner organisation has been told."))


# --- the edit screen: every field of an event, one at a time ------------------------------

REMINDER_CHOICES = (0, 2, 24, 48)


def _edit_rows(t: Translator, event: EventView) -> list[list[InlineKeyboardButton]]:
    _ = t.gettext

    def ask(label: str, field: EventEditField) -> InlineKeyboardButton:
        return _b(label, EventEditButton(event.id, "ask", field))

    return [
        [ask(_("✏️ Title"), "title"), ask(_("📝 Description"), "description")],
        # Translators: the event's start (date and time), and its end (a time)
        [ask(_("📅 Start"), "when"), ask(_("🕒 End"), "until")],
        # Translators: the event's place (its name), and its address or map pin
        [ask(_("📍 Place"), "place"), ask(_("🏠 Address or pin"), "address")],
        [ask(_("👥 Seats"), "capacity"), ask(_("⏰ Reminder"), "reminder")],
        # Translators: when sign-up opens, and when it closes
        [ask(_("🟢 Sign-up opens"), "opens"), ask(_("🔴 Sign-up closes"), "closes")],
        [ask(_("🏷 Topic"), "topic"), ask(_("🖼 Photo"), "photo")],
        [translations_button(t, "event", event.id)],
        [_b(_("↩️ Back"), EventAdminButton("menu", event.id))],
    ]


def _edit_details(t: Translator, event: EventView) -> list[str]:
    """What the summary doesn't show: seats, reminder, sign-up window, photo."""
    _ = t.gettext
    seats = (
        _("Unlimited")
        if not event.capacity
        else t.ngettext("{count} seat", "{count} seats", event.capacity).format(
            count=t.format_number(event.capacity)
        )
    )
    reminder = (
        _("no reminder")
        if not event.reminder_hours
        else t.ngettext("{count} hour before", "{count} hours before", event.reminder_hours).format(
            count=t.format_number(event.reminder_hours)
        )
    )

    def moment(value: datetime | None) -> str:
        # Translators: no date set for when sign-up opens or closes
        return t.format_datetime(value, "short") if value else _("no limit")

    return [
        _("👥 Seats: {seats}").format(seats=seats),
        _("⏰ Reminder: {reminder}").format(reminder=reminder),
        _("🟢 Sign-up opens: {moment}").format(moment=moment(event.signup_opens_at)),
        _("🔴 Sign-up closes: {moment}").format(moment=moment(event.signup_closes_at)),
        _("🖼 Photo: {answer}").format(answer=_("yes") if event.photo_file_id else _("no")),
    ]


async def show_edit_screen(
    update: Update, context: BotContext, event: EventView, saved: str | None = None
) -> None:
    """Every field of the event, each a button; ``saved``: the field just changed, confirmed
    with who is told of it."""
    t = context.t
    _ = t.gettext
    lines = ["✏️ " + event_summary(t, event), *_edit_details(t, event)]
    if saved is not None:
        said = _("✅ Saved.")
        concerns = {"title", "when", "until", "place", "address"}
        if (
            event.status == "published"
            and saved in concerns
            and (event.seats_taken or event.waitlisted)
        ):
            said += " " + _("Everyone signed up is told in their language.")
        elif event.status == "proposed" and not context.actor.is_staff:
            said += " " + _("A coordinator looks at the change before residents see it.")
        lines.insert(0, said)
    await show(update, "\n".join(lines), InlineKeyboardMarkup(_edit_rows(t, event)))


async def edit_button(update: Update, context: BotContext, button: EventEditButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    events = context.services.events
    event = await events.get(context.actor, button.event_id)
    allowed, _proposed = _may_propose(context)
    editable = ("draft", "scheduled", "published", "proposed")
    if event is None or not allowed or event.status not in editable:
        await answer_expired(update, t)
        return
    try:
        if button.action is None:
            await query.answer()
            await show_edit_screen(update, context, event)
        elif button.action == "remind" and button.hours is not None:
            event = await events.update(context.actor, event.id, reminder_hours=button.hours)
            await query.answer()
            await show_edit_screen(update, context, event, saved="reminder")
        elif button.action == "clear" and button.field is not None:
            emptied: dict[str, dict[str, Any]] = {
                "until": {"ends_at": None},
                "address": {"address": None, "latitude": None, "longitude": None},
                "opens": {"signup_opens_at": None},
                "closes": {"signup_closes_at": None},
                "topic": {"topics": []},
                "photo": {"photo_file_id": None},
            }
            event = await events.update(context.actor, event.id, **emptied[button.field])
            await query.answer()
            await show_edit_screen(update, context, event, saved=button.field)
        elif button.action == "ask" and button.field is not None:
            await query.answer()
            await _ask_field(update, context, event, button.field)
        else:
            await answer_expired(update, t)
    except NotAllowed:
        await query.answer(
            _("📅 Only coordinators and partner organisations can create events."),
            show_alert=True,
        )
    except EventError:
        await answer_expired(update, t)


async def _ask_field(
    update: Update, context: BotContext, event: EventView, field: EventEditField
) -> None:
    """The prompt for one field's new value, with its current value where it helps."""
    t = context.t
    _ = t.gettext

    def clear(label: str) -> list[InlineKeyboardButton]:
        return [_b(label, EventEditButton(event.id, "clear", cast(ClearableField, field)))]

    extra: list[list[InlineKeyboardButton]] = []
    if field == "title":
        prompt = _("✏️ The new title in {language}:").format(
            language=t.language_in_mine(event.default_locale)
        )
        step = "title"
    elif field == "description":
        prompt = _("📝 The new description in {language}:").format(
            language=t.language_in_mine(event.default_locale)
        )
        step = "description"
    elif field == "when":
        prompt = _date_prompt(context, _("📅 When does it start now? The length stays the same."))
        step = "when"
    elif field == "until":
        prompt = _("🕒 Until what time? For example: {example}").format(example=t.isolate("17:00"))
        step = "until"
        extra.append(clear(_("No end time")))
    elif field == "place":
        prompt = _("📍 Where does it take place now?")
        step = "place"
    elif field == "address":
        prompt = _("🏠 What is the address? You can also send a location.")
        step = "address"
        extra.append(clear(_("No address")))
    elif field == "capacity":
        prompt = _("👥 How many seats are there, children included? Tap or type a number.")
        step = "capacity"
        buttons = [
            _b(
                _("Unlimited") if n == 0 else t.format_number(n),
                EventComposerButton("cap", event.id, capacity=n),
            )
            for n in CAPACITY_CHOICES
        ]
        extra += [buttons[:3], buttons[3:]]
    elif field == "reminder":
        prompt = _("⏰ How many hours before the start should the reminder go out? 0: none.")
        step = "reminder"
        extra.append(
            [
                _b(
                    _("No reminder") if n == 0 else t.format_number(n),
                    EventEditButton(event.id, "remind", hours=n),
                )
                for n in REMINDER_CHOICES
            ]
        )
    elif field in ("opens", "closes"):
        question = (
            _("🟢 From when can people sign up?")
            if field == "opens"
            else _("🔴 Until when can people sign up?")
        )
        prompt = _date_prompt(context, question)
        step = field
        extra.append(clear(_("No limit")))
    elif field == "topic":
        prompt = _("🏷 Which topic fits best?")
        step = "topic"
        extra += [
            [_b(topic_label(t, key), EventComposerButton("topic", event.id, topic=key))]
            for key in context.settings.topics
        ]
        extra.append(clear(_("No topic")))
    else:
        prompt = _("🖼 Send the new photo.")
        step = "photo"
        if event.photo_file_id:
            extra.append(clear(_("Remove the photo")))
    await _ask(update, context, event.id, step, prompt, extra=extra, editing=True)
