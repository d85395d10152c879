"""Events for residents: browse, details, sign up with companions and needs, waiting list,
cancel, "my sign-ups", calendar file and map pin.

The list, the details and "my sign-ups" are drawn by ``handlers/shared/events.py``, since a
deep link and the main menu open them too; the buttons on them are answered here."""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from bot.buttons import (
    CHILDCARE,
    INTERPRETER,
    WHEELCHAIR,
    EventButton,
    EventListButton,
    MenuButton,
)
from bot.calendar import event_ics
from bot.context import BotContext
from bot.i18n import Translator
from bot.services.chat_state import StepGone
from bot.services.events import (
    AlreadySignedUp,
    EventError,
    EventFull,
    EventView,
    InvalidParty,
    SignupClosed,
)
from handlers.flow_data import SignupNote
from handlers.flows import SIGNUP_NOTE
from handlers.keyboards import button as _b
from handlers.render import answer_expired, escape, fit, for_residents, show
from handlers.shared.events import (
    list_events,
    needs_labels,
    party_text,
    show_event,
    signup_details,
    signup_ticket,
)

MAX_BUTTON_COUNT = 6  # adults 1..6, children 0..6 as buttons; the service allows up to 10 in all


async def event_list_button(update: Update, context: BotContext, button: EventListButton) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await list_events(update, context, button)


# --- signing up --------------------------------------------------------------------------


@for_residents
async def event_button(update: Update, context: BotContext, button: EventButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    action, event_id = button.action, button.event_id
    adults, children, flags = button.party
    t = context.t
    _ = t.gettext
    events = context.services.events
    user_id = update.effective_user.id
    if action == "show":
        await query.answer()
        await show_event(update, context, event_id)
    elif action in ("join", "wlq"):
        await query.answer()
        left = await _seats_left(context, event_id)
        full = left is not None and left <= 0
        if full and action == "join":
            # No seat left: say so first, and offer the waiting list before asking anything.
            await show(update, _full_text(t), _waiting_list_offer(t, EventButton("wlq", event_id)))
            return
        buttons = [_b(t.format_number(n), EventButton("ad", event_id, n)) for n in range(1, 7)]
        await show(
            update,
            _waiting_line(t, full) + _("👥 How many adults are coming, including you?"),
            InlineKeyboardMarkup(
                [buttons[:3], buttons[3:], [_b(_("↩️ Back"), EventButton("show", event_id))]]
            ),
        )
    elif action == "ad":
        await query.answer()
        buttons = [
            _b(t.format_number(n), EventButton("ch", event_id, adults, n))
            for n in range(0, MAX_BUTTON_COUNT + 1)
        ]
        await show(
            update,
            _("🧒 And how many children?"),
            InlineKeyboardMarkup(
                [buttons[:4], buttons[4:], [_b(_("↩️ Back"), EventButton("join", event_id))]]
            ),
        )
    elif action == "ch":
        await query.answer()
        left = await _seats_left(context, event_id)
        if left is not None and 0 < left < adults + children:
            # Told at once, before the needs and the note: the group doesn't fit.
            await show(
                update,
                _too_few_text(t, left),
                _waiting_list_offer(
                    t,
                    EventButton("nd", event_id, adults, children, 0),
                    [_b(_("👥 Change the group"), EventButton("join", event_id))],
                ),
            )
            return
        await _show_needs(update, context, event_id, adults, children, flags)
    elif action == "nd":
        await query.answer()
        await _show_needs(update, context, event_id, adults, children, flags)
    elif action == "chk":
        await query.answer()
        note = _pending_note(context, event_id)
        if note is not None:  # the note travels to the check, where Confirm picks it up
            checked = SignupNote(event_id, adults, children, flags, note)
            await context.services.chat_state.expect(user_id, SIGNUP_NOTE.at("check", checked))
        await show_check(update, context, SignupNote(event_id, adults, children, flags, note))
    elif action in ("ok", "wl"):
        await sign_up(
            update,
            context,
            event_id,
            adults,
            children,
            flags,
            waitlist=action == "wl",
            note=_pending_note(context, event_id),
        )
    elif action == "stop":
        # The flow ended with this tap (it isn't one of its own): nothing was stored.
        await query.answer(_("✖️ Cancelled. Nothing was saved."))
        await show_event(update, context, event_id)
    elif action == "note":
        await query.answer()
        party = SignupNote(event_id, adults, children, flags, _pending_note(context, event_id))
        await context.services.chat_state.expect(user_id, SIGNUP_NOTE.at("note", party))
        await show(
            update,
            _("📝 Write your note, for example about allergies or what you can bring."),
            InlineKeyboardMarkup([[_b(_("↩️ Back"), EventButton("show", event_id))]]),
        )
    elif action == "cx":
        await query.answer()
        await show(
            update,
            _("Do you really want to cancel your sign-up?"),
            InlineKeyboardMarkup(
                [
                    [_b(_("❌ Yes, cancel it"), EventButton("cxy", event_id))],
                    [
                        _b(
                            # Translators: answers "Do you really want to cancel your sign-up?"
                            t.pgettext("cancel sign-up", "↩️ No, keep it"),
                            EventButton("show", event_id),
                        )
                    ],
                ]
            ),
        )
    elif action in ("cxy", "still"):
        try:
            if button.answer == "yes":
                await events.answer_still_coming(event_id, user_id, True)
                await query.answer()
                await show(update, _("👍 Thank you! See you there."), _back_to(t, event_id))
                return
            await events.cancel_signup(event_id, user_id)
        except EventError:
            await answer_expired(update, t)
            return
        await query.answer()
        await show(
            update,
            _(
                "Your sign-up is cancelled. "
                "Thank you for letting us know: your seats are free for others now."
            ),
            _back_to(t, event_id),
        )
    elif action == "ics":
        event = await events.get(context.actor, event_id)
        if event is None or event.status != "published":
            await answer_expired(update, t)
            return
        await query.answer()
        data = event_ics(
            event,
            t.locale,
            public_url=context.settings.public_url,
            bot_username=context.bot.username,
            tz=context.settings.tz,
            now=context.clock(),
        )
        assert update.effective_chat is not None
        await update.effective_chat.send_document(
            InputFile(data, filename=f"event-{event.id}.ics"),
            caption=_("🗓 Open this file to add the event to your calendar."),
        )
    elif action == "map":
        event = await events.get(context.actor, event_id)
        if event is None or event.latitude is None or event.longitude is None:
            await answer_expired(update, t)
            return
        await query.answer()
        assert update.effective_chat is not None
        await _send_pin(update, context, event)
    else:
        await answer_expired(update, t)


async def _send_pin(update: Update, context: BotContext, event: EventView) -> None:
    """The event's place as a venue: its name (else the event's title) and its address (else
    the coordinates); Telegram refuses a venue without either, so then a bare location. An
    event whose place was sent as a Telegram location has coordinates only. Plain text, so
    the title isn't HTML-escaped."""
    assert update.effective_chat is not None
    assert event.latitude is not None and event.longitude is not None
    version = event.version_for(context.t.locale)
    title = (event.place_name or "").strip() or (version.title.strip() if version else "")
    address = (event.address or "").strip() or f"{event.latitude:.5f}, {event.longitude:.5f}"
    if not title:
        await update.effective_chat.send_location(event.latitude, event.longitude)
        return
    await update.effective_chat.send_venue(
        latitude=event.latitude, longitude=event.longitude, title=title, address=address
    )


async def _tell(update: Update, text: str) -> None:
    """An answer to a tap (as an alert) or to a typed message (as a message)."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await show(update, text)


async def sign_up(
    update: Update,
    context: BotContext,
    event_id: int,
    adults: int,
    children: int,
    flags: int,
    *,
    waitlist: bool = False,
    note: str | None = None,
) -> None:
    """Sign the resident up (from Confirm on the check, a typed note's too)."""
    assert update.effective_user is not None
    t = context.t
    _ = t.gettext
    pending = context.pending
    # The note flow, if one is open, ends in the sign-up's own transaction: no sign-up with
    # the flow still open, no flow ended without the sign-up (ChatStateService.ending).
    within = (
        context.services.chat_state.ending(
            update.effective_user.id,
            SIGNUP_NOTE.name,
            tuple(SIGNUP_NOTE.steps),
            data=pending.data,
        )
        if pending is not None and pending.flow == SIGNUP_NOTE.name
        else None
    )
    try:
        result = await context.services.events.sign_up(
            event_id,
            update.effective_user.id,
            context.locale or context.i18n.default_locale,
            adults=adults,
            children=children,
            interpreter_locale=context.locale if flags & INTERPRETER else None,
            childcare=bool(flags & CHILDCARE),
            wheelchair=bool(flags & WHEELCHAIR),
            note=note,
            waitlist=waitlist,
            within=within,
        )
    except StepGone:
        # The note flow moved on meanwhile (a note typed anew, expired): nothing was stored.
        await answer_expired(update, t)
        return
    except EventFull as full:
        # Seats went while the resident checked: the same offer as before the party.
        if update.callback_query is not None:
            await update.callback_query.answer()
        text = _too_few_text(t, full.seats_left) if full.seats_left > 0 else _full_text(t)
        offer = _waiting_list_offer(t, EventButton("wl", event_id, adults, children, flags))
        await show(update, text, offer)
        return
    except AlreadySignedUp:
        # A second tap on Confirm, or an old one: said, and the code stays on the ticket only.
        await _end_note(update, context)
        already = _("You are already signed up for this event.")
        await _tell(update, already)
        await show(update, already, _back_to(t, event_id))
        return
    except InvalidParty:
        await _tell(update, _("Please choose between 1 and 10 people in all."))
        return
    except SignupClosed:
        await _tell(update, _("Sign-up for this event is closed."))
        return
    except EventError:
        await _tell(update, _("⚠️ This button is no longer valid. Please send /menu."))
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    signup = result.signup
    if signup.status == "waitlisted":
        text = _(
            "⏳ You are on the waiting list. We will tell you as soon as a place becomes free."
        )
    else:
        text = _("✅ Done! Your ticket is below: please show its code at the entrance.")
    # The organiser's fill alerts (50, 80, 100 %) were queued in the sign-up's transaction.
    await show(update, text, _back_to(t, event_id))
    # The ticket is a message of its own, below, that no later screen edits.
    event = await context.services.events.get(context.actor, event_id)
    if event is not None and update.effective_chat is not None:
        calendar = [[_b(_("🗓 Add to calendar"), EventButton("ics", event_id))]]
        await update.effective_chat.send_message(
            fit(signup_ticket(t, event, signup)), reply_markup=InlineKeyboardMarkup(calendar)
        )


async def note_input(update: Update, context: BotContext, _step: str, data: SignupNote) -> None:
    """The note typed after "Add a note" (or again at the check): it leads to the check,
    and only its Confirm signs up."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    if not message.text:
        await show(update, context.t.gettext("Please send text or a voice note."))
        return
    checked = replace(data, note=message.text[:500])
    await context.services.chat_state.expect(
        update.effective_user.id, SIGNUP_NOTE.at("check", checked)
    )
    await show_check(update, context, checked)


async def show_check(update: Update, context: BotContext, party: SignupNote) -> None:
    """ "Please check": the event, the party, needs and note, and whether it is a seat or the
    waiting list; Confirm signs up, Change goes back to the needs, Cancel stores nothing."""
    t = context.t
    _ = t.gettext
    event = await context.services.events.get(context.actor, party.id)
    if event is None or event.status != "published":
        await answer_expired(update, t)
        return
    left = event.seats_left
    waiting = left is not None and party.adults + party.children > left
    details = signup_details(t, event, party.adults, party.children, party.flags, party.note)
    confirm = EventButton("wl" if waiting else "ok", party.id, *_party(party))
    rows = [
        [_b(_("✅ Confirm sign-up"), confirm)],
        [
            _b(_("✏️ Change"), EventButton("nd", party.id, *_party(party))),
            _b(_("✖️ Cancel"), EventButton("stop", party.id)),
        ],
    ]
    text = _waiting_line(t, waiting) + _("Please check your sign-up:") + "\n\n" + details
    await show(update, text, InlineKeyboardMarkup(rows))


def _party(party: SignupNote) -> tuple[int, int, int]:
    return party.adults, party.children, party.flags


def _pending_note(context: BotContext, event_id: int) -> str | None:
    """The note typed for this event's sign-up, if the sign-up flow holds one."""
    pending = context.pending
    data = SIGNUP_NOTE.read(pending) if pending is not None else None
    return data.note if data is not None and data.id == event_id else None


async def _end_note(update: Update, context: BotContext) -> None:
    """The sign-up is done: its note flow, if one is open, ends (no write without one)."""
    pending, user = context.pending, update.effective_user
    if pending is not None and pending.flow == SIGNUP_NOTE.name and user is not None:
        await context.services.chat_state.clear(user.id)


async def _seats_left(context: BotContext, event_id: int) -> int | None:
    event = await context.services.events.get(context.actor, event_id)
    return event.seats_left if event is not None else None


def _full_text(t: Translator) -> str:
    return (
        t.gettext("🔴 Full: you can join the waiting list.")
        + "\n"
        + t.gettext(
            "Would you like to join the waiting list? We will tell you when places become free."
        )
    )


def _too_few_text(t: Translator, left: int) -> str:
    too_few = t.ngettext(
        "😕 Only {count} seat is left, not enough for your group.",
        "😕 Only {count} seats are left, not enough for your group.",
        left,
    ).format(count=t.format_number(left))
    question = t.gettext(
        "Would you like to join the waiting list? We will tell you when places become free."
    )
    return too_few + "\n" + question


def _waiting_line(t: Translator, waiting: bool) -> str:
    return (
        t.gettext("⏳ Not enough seats: this is for the waiting list.") + "\n\n" if waiting else ""
    )


def _waiting_list_offer(
    t: Translator, join: EventButton, *more: list[InlineKeyboardButton]
) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [_b(_("⏳ Join the waiting list"), join)],
            *more,
            [_b(_("↩️ Back"), EventButton("show", join.event_id))],
        ]
    )


def _back_to(t: Translator, event_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [_b(t.gettext("📅 Show the event"), EventButton("show", event_id))],
            [_b(t.gettext("📝 My sign-ups"), MenuButton("signups"))],
        ]
    )


async def _show_needs(
    update: Update, context: BotContext, event_id: int, adults: int, children: int, flags: int
) -> None:
    t = context.t
    _ = t.gettext
    rows = [
        [
            _b(
                ("✅ " if flags & bit else "") + needs_labels(t, bit)[0],
                EventButton("nd", event_id, adults, children, flags ^ bit),
            )
        ]
        for bit in (INTERPRETER, CHILDCARE, WHEELCHAIR)
    ]
    note = _pending_note(context, event_id)
    rows.append(
        [
            _b(
                _("📝 Change the note") if note else _("📝 Add a note"),
                EventButton("note", event_id, adults, children, flags),
            )
        ]
    )
    rows.append([_b(_("➡️ Continue"), EventButton("chk", event_id, adults, children, flags))])
    rows.append([_b(_("↩️ Back"), EventButton("show", event_id))])
    summary = party_text(t, adults, children)
    left = await _seats_left(context, event_id)
    text = _("Your group: {party}.\nDo you need anything? Tap what applies, then confirm.").format(
        party=summary
    )
    if note:
        text += "\n" + _("📝 Note: {note}").format(note=escape(t, note))
    waiting = left is not None and adults + children > left
    await show(update, _waiting_line(t, waiting) + text, InlineKeyboardMarkup(rows))
