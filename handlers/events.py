"""Events for residents: browse, details, sign up with companions and needs, waiting list,
cancel, "my sign-ups", calendar file and map pin.

The list, the details and "my sign-ups" are drawn by ``handlers/shared/events.py``, since a
deep link and the main menu open them too; the buttons on them are answered here."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, InputFile, Update

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
from bot.rendering import event_title, registration_code
from bot.services.events import (
    AlreadySignedUp,
    EventError,
    EventFull,
    InvalidParty,
    SignupClosed,
)
from handlers.flow_data import SignupNote
from handlers.flows import SIGNUP_NOTE, take_step
from handlers.keyboards import button as _b
from handlers.render import answer_expired, for_residents, show
from handlers.shared.events import list_events, party_text, show_event, signup_status_text

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
    elif action == "join":
        await query.answer()
        buttons = [_b(t.format_number(n), EventButton("ad", event_id, n)) for n in range(1, 7)]
        await show(
            update,
            _("👥 How many adults are coming, including you?"),
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
    elif action in ("ch", "nd"):
        await query.answer()
        await _show_needs(update, context, event_id, adults, children, flags)
    elif action in ("ok", "wl"):
        await sign_up(update, context, event_id, adults, children, flags, waitlist=action == "wl")
    elif action == "note":
        await query.answer()
        step = SIGNUP_NOTE.at("note", SignupNote(event_id, adults, children, flags))
        await context.services.chat_state.expect(user_id, step)
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
        await update.effective_chat.send_venue(
            latitude=event.latitude,
            longitude=event.longitude,
            title=event.place_name or event_title(t, event, isolated=False),
            address=event.address or "",
        )
    else:
        await answer_expired(update, t)


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
    """Sign the resident up (from the confirm button, or after they typed a note)."""
    assert update.effective_user is not None
    t = context.t
    _ = t.gettext
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
        )
    except EventFull as full:
        if update.callback_query is not None:
            await update.callback_query.answer()
        offer = InlineKeyboardMarkup(
            [
                [
                    _b(
                        _("⏳ Join the waiting list"),
                        EventButton("wl", event_id, adults, children, flags),
                    )
                ],
                [_b(_("↩️ Back"), EventButton("show", event_id))],
            ]
        )
        too_few = t.ngettext(
            "😕 Only {count} seat is left, not enough for your group.",
            "😕 Only {count} seats are left, not enough for your group.",
            full.seats_left,
        ).format(count=t.format_number(full.seats_left))
        question = _(
            "Would you like to join the waiting list? We will tell you when places become free."
        )
        await show(update, too_few + "\n" + question, offer)
        return
    except AlreadySignedUp as already:
        await _tell(update, _("You are already signed up for this event."))
        await show(update, signup_status_text(t, already.signup), _back_to(t, event_id))
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
        text = _("✅ You are signed up! Please show this code at the entrance: {code}").format(
            code=registration_code(t, signup.code)
        )
    # The organiser's fill alerts (50, 80, 100 %) were queued in the sign-up's transaction.
    await show(update, text + "\n\n" + signup_status_text(t, signup), _back_to(t, event_id))


async def note_input(update: Update, context: BotContext, _step: str, _note: SignupNote) -> None:
    """The note typed after "Add a note": it completes the sign-up."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    # Claimed first: the note sent twice signs up once.
    party = await take_step(context, update.effective_user.id, SIGNUP_NOTE, "note")
    if party is None:
        return
    if not message.text:
        await show(update, context.t.gettext("Please send text or a voice note."))
        return
    await sign_up(
        update,
        context,
        party.id,
        party.adults,
        party.children,
        party.flags,
        note=message.text[:500],
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
    options = [
        (INTERPRETER, _("🗣 Interpreter for my language")),
        (CHILDCARE, _("🧸 Childcare")),
        (WHEELCHAIR, _("♿ Wheelchair access")),
    ]
    rows = [
        [
            _b(
                ("✅ " if flags & bit else "") + label,
                EventButton("nd", event_id, adults, children, flags ^ bit),
            )
        ]
        for bit, label in options
    ]
    rows.append([_b(_("📝 Add a note"), EventButton("note", event_id, adults, children, flags))])
    rows.append([_b(_("✅ Confirm sign-up"), EventButton("ok", event_id, adults, children, flags))])
    rows.append([_b(_("↩️ Back"), EventButton("show", event_id))])
    summary = party_text(t, adults, children)
    await show(
        update,
        _("Your group: {party}.\nDo you need anything? Tap what applies, then confirm.").format(
            party=summary
        ),
        InlineKeyboardMarkup(rows),
    )
