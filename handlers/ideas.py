"""Ideas: residents share them (text, voice or photo), coordinators moderate and answer, and
neighbours support them on the idea board. The author always hears what became of their idea,
in their language; an anonymous author stays unknown to coordinators."""

from __future__ import annotations

import html
from dataclasses import replace

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.buttons import (
    IdeaBoardButton,
    IdeaButton,
    IdeaModerationButton,
    IdeaOrder,
    IdeaReportButton,
    IdeaSupportButton,
    IdeaVoiceButton,
    MenuButton,
)
from bot.context import BotContext
from bot.i18n import Translator
from bot.rendering import (
    IDEA_REASON_LABELS,
    idea_card_buttons,
    idea_card_text,
    idea_excerpt,
    idea_media,
    idea_status,
)
from bot.services.ideas import (
    REJECT_REASONS,
    EmptyIdea,
    IdeaError,
    IdeaStatus,
    IdeaTooLong,
    IdeaView,
    InvalidChange,
    TooManyIdeas,
)
from bot.services.moderation import CannotBan
from handlers.flow_data import IdeaDraft, IdeaMerge
from handlers.flows import IDEA, IDEA_MERGE, take_step
from handlers.keyboards import button as _b
from handlers.keyboards import from_payload, paging_row, topic_label
from handlers.render import answer_expired, for_residents, show
from handlers.shared.composer import show_composer
from handlers.shared.groups import show_group
from handlers.shared.ideas import ideas_home

PAGE_SIZE = 3


def _cancel_row(t: Translator) -> list[InlineKeyboardButton]:
    # Translators: stops writing an idea; nothing is saved
    return [_b(t.gettext("✖️ Cancel"), IdeaButton("cancel"))]


def _limit_text(t: Translator, error: IdeaError) -> str:
    _ = t.gettext
    if isinstance(error, TooManyIdeas):
        return _(
            "You have already sent {count} ideas today. Thank you! Please try again tomorrow."
        ).format(count=t.format_number(error.limit))
    if isinstance(error, IdeaTooLong):
        return _("That is too long: please keep your idea under {limit} characters.").format(
            limit=t.format_number(error.limit)
        )
    return _("Please send your idea as text, a voice message or a photo.")


# --- the board ---------------------------------------------------------------------------


async def board(
    update: Update,
    context: BotContext,
    offset: int = 0,
    order: IdeaOrder = "supported",
    topic: str | None = None,
) -> None:
    t = context.t
    _ = t.gettext
    if topic is not None and topic not in context.settings.topics:
        await answer_expired(update, t)
        return
    user = update.effective_user
    ideas, total = await context.services.ideas.board(
        topic=topic,
        order=order,
        offset=offset,
        limit=PAGE_SIZE,
        reader=user.id if user is not None else None,
    )
    blocks = [_("📋 <b>Idea board</b>")]
    rows: list[list[InlineKeyboardButton]] = []
    for idea in ideas:
        supporting = idea.supported
        count = t.ngettext("{count} supporter", "{count} supporters", idea.supporters).format(
            count=t.format_number(idea.supporters)
        )
        about = f"{t.language(idea.locale)} · {idea_status(t, idea)} · {count}"
        blocks.append(f"{idea_excerpt(t, idea)}\n{about}")
        # Translators: a toggle under an idea, then its supporters: "👍 Support (5)"
        label = _("💚 You support this") if supporting else _("👍 Support")
        buttons = [_b(f"{label} ({t.format_number(idea.supporters)})", IdeaSupportButton(idea.id))]
        if idea.voice_file_id:
            # Translators: plays the idea's voice message
            buttons.append(_b(_("▶️ Listen"), IdeaVoiceButton(idea.id)))
        if user is None or idea.author_id != user.id:
            # Translators: under a public idea: tells the coordinators it is hurtful or spam
            buttons.append(_b(_("🚩 Report"), IdeaReportButton(idea.id)))
        rows.append(buttons)
    if not ideas:
        blocks.append(_("No ideas here yet. Be the first to share one!"))
    rows += paging_row(t, offset, total, PAGE_SIZE, lambda at: IdeaBoardButton(at, order, topic))
    other: IdeaOrder = "newest" if order == "supported" else "supported"
    rows.append(
        [
            _b(
                _("🆕 Newest first") if other == "newest" else _("👍 Most supported first"),
                IdeaBoardButton(0, other, topic),
            )
        ]
    )
    rows.extend(
        [
            _b(
                ("✅ " if key == topic else "") + topic_label(t, key),
                IdeaBoardButton(0, order, key),
            )
        ]
        for key in context.settings.topics
    )
    rows.append(
        [
            _b(_("✍️ Share an idea"), IdeaButton("new")),
            _b(_("🏠 Main menu"), MenuButton("home")),
        ]
    )
    await show(update, "\n\n".join(blocks), InlineKeyboardMarkup(rows))


@for_residents
async def board_button(update: Update, context: BotContext, button: IdeaBoardButton) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await board(update, context, button.offset, button.order, button.topic)


@for_residents
async def listen_button(update: Update, context: BotContext, button: IdeaVoiceButton) -> None:
    query = update.callback_query
    assert query is not None
    idea = await context.services.ideas.get(context.actor, button.idea_id)
    if idea is None or not idea.published or not idea.voice_file_id:
        await answer_expired(update, context.t)
        return
    await query.answer()
    assert update.effective_chat is not None
    await update.effective_chat.send_voice(idea.voice_file_id)


@for_residents
async def support_button(update: Update, context: BotContext, button: IdeaSupportButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    ideas = context.services.ideas
    try:
        supporting, _count = await ideas.toggle_support(button.idea_id, update.effective_user.id)
    except InvalidChange:
        await query.answer(
            _("You can't support your own idea, but thank you for sharing it!"), show_alert=True
        )
        return
    except IdeaError:
        await answer_expired(update, t)
        return
    await query.answer(
        _("💚 Thank you for your support!") if supporting else _("Your support is withdrawn.")
    )
    await board(update, context)


@for_residents
async def report_button(update: Update, context: BotContext, button: IdeaReportButton) -> None:
    """A resident reports a public idea; a double tap, or a fourth report, changes nothing."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = context.t.gettext
    try:
        await context.services.ideas.report(button.idea_id, update.effective_user.id)
    except InvalidChange:
        await query.answer(_("This is your own idea."), show_alert=True)
        return
    except IdeaError:  # not public (any more), or hidden after reports already
        await query.answer(
            _("🚩 Thank you. The neighbourhood office will look at this idea."), show_alert=True
        )
        return
    await query.answer(
        _("🚩 Thank you. The neighbourhood office will look at this idea."), show_alert=True
    )
    await board(update, context)


# --- sharing an idea ---------------------------------------------------------------------


@for_residents
async def idea_button(update: Update, context: BotContext, button: IdeaButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    step = button.step
    user_id = update.effective_user.id
    state = context.services.chat_state
    if step == "board":
        await query.answer()
        await board(update, context)
        return
    if step == "new":
        try:
            await context.services.ideas.check_limits(user_id, None)
        except IdeaError as error:
            await query.answer(_limit_text(t, error), show_alert=True)
            return
        await query.answer()
        await state.expect(user_id, IDEA.at("content", IdeaDraft()))
        await show(
            update,
            _(
                "💡 Tell us your idea: write it, send a voice message, "
                "or a photo with a caption.\nSend /cancel to stop."
            ),
            InlineKeyboardMarkup([_cancel_row(t)]),
        )
        return
    if step == "cancel":
        await state.clear(user_id)
        await query.answer()
        await show(update, _("✖️ Cancelled. Nothing was saved."))
        return
    # Each button belongs to one step: claiming it makes a double tap, or a button from a
    # finished idea, act at most once.
    valid = step != "topic" or button.topic is None or button.topic in context.settings.topics
    wanted = {"topic": "topic", "place": "place", "anon": "anon", "send": "confirm"}.get(step)
    draft = await take_step(context, user_id, IDEA, wanted) if valid and wanted else None
    if draft is None:  # an old button from a finished, cancelled or expired idea
        await answer_expired(update, t)
        return
    await query.answer()
    if step == "topic":
        await _ask_place(update, context, replace(draft, topic=button.topic))
    elif step == "place":
        await _ask_anonymous(update, context, draft)
    elif step == "anon":
        await _summary(update, context, replace(draft, anonymous=bool(button.anonymous)))
    else:
        await _submit(update, context, draft)


async def _ask_place(update: Update, context: BotContext, draft: IdeaDraft) -> None:
    assert update.effective_user is not None
    _ = context.t.gettext
    await context.services.chat_state.expect(update.effective_user.id, IDEA.at("place", draft))
    await show(
        update,
        _("📍 Where is it about? Send a location, type a place, or skip."),
        InlineKeyboardMarkup([[_b(_("⏭ Skip"), IdeaButton("place"))], _cancel_row(context.t)]),
    )


async def _ask_anonymous(update: Update, context: BotContext, draft: IdeaDraft) -> None:
    assert update.effective_user is not None
    _ = context.t.gettext
    await context.services.chat_state.expect(update.effective_user.id, IDEA.at("anon", draft))
    await show(
        update,
        _("👤 May the neighbourhood office see that the idea is from you?"),
        InlineKeyboardMarkup(
            [
                [_b(_("👤 Yes, with my name"), IdeaButton("anon", anonymous=False))],
                [_b(_("🕶 No, anonymously"), IdeaButton("anon", anonymous=True))],
                _cancel_row(context.t),
            ]
        ),
    )


async def _summary(update: Update, context: BotContext, draft: IdeaDraft) -> None:
    assert update.effective_user is not None
    t = context.t
    _ = t.gettext
    await context.services.chat_state.expect(update.effective_user.id, IDEA.at("confirm", draft))
    lines = [_("💡 <b>Your idea</b>")]
    if draft.text:
        lines.append(f"<i>{t.isolate(_escape(draft.text[:300]))}</i>")
    if draft.voice:
        lines.append(_("🎤 (voice message)"))
    if draft.photo:
        lines.append(_("🖼 (photo)"))
    if draft.topic:
        lines.append(_("Topic: {topic}").format(topic=topic_label(t, draft.topic)))
    if draft.place:
        lines.append(_("Place: {place}").format(place=t.isolate(_escape(draft.place))))
    elif draft.latitude is not None:
        lines.append(_("Place: {place}").format(place=t.isolate("📍")))
    lines.append(_("Sent anonymously") if draft.anonymous else _("Sent with your name"))
    rows = [[_b(_("✅ Send the idea"), IdeaButton("send"))], _cancel_row(t)]
    similar = await context.services.ideas.similar(draft.text) if draft.text else []
    if similar:
        lines.append("")
        lines.append(_("Neighbours have had similar ideas. You can support one instead:"))
        for idea in similar:
            lines.append(f"• {idea_excerpt(t, idea, 100)}")
            rows.insert(
                -1,
                [
                    _b(
                        # Translators: under a similar idea, then its supporters: "(5)"
                        _("👍 Support this one") + f" ({t.format_number(idea.supporters)})",
                        IdeaSupportButton(idea.id),
                    )
                ],
            )
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows))


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


async def _submit(update: Update, context: BotContext, draft: IdeaDraft) -> None:
    user = update.effective_user
    assert user is not None
    t = context.t
    _ = t.gettext
    try:
        await context.services.ideas.submit(
            user.id,
            context.locale or context.i18n.default_locale,
            text=draft.text,
            voice_file_id=draft.voice,
            photo_file_id=draft.photo,
            topic=draft.topic,
            place_text=draft.place,
            latitude=draft.latitude,
            longitude=draft.longitude,
            anonymous=bool(draft.anonymous),
            author_name=user.first_name,
        )
    except IdeaError as error:  # the flow's step was claimed: it is over either way
        await show(update, _limit_text(t, error))
        return
    await show(
        update,
        _(
            "🙏 Thank you! Your idea has reached the neighbourhood office. "
            "We will tell you what becomes of it."
        ),
        InlineKeyboardMarkup([[_b(_("🏠 Main menu"), MenuButton("home"))]]),
    )


async def handle_input(update: Update, context: BotContext, step: str, draft: IdeaDraft) -> None:
    """What a resident sends while sharing an idea."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    t = context.t
    _ = t.gettext
    if step == "content":
        text = message.text or message.caption
        if message.voice is not None:
            draft = replace(draft, voice=message.voice.file_id)
        elif message.photo:
            draft = replace(draft, photo=message.photo[-1].file_id)
        elif not message.text:
            await message.reply_text(
                _("Please send your idea as text, a voice message or a photo.")
            )
            return
        if text:
            draft = replace(draft, text=text)
        try:
            await context.services.ideas.check_limits(user.id, draft.text)
            if not (draft.text or draft.voice or draft.photo):
                raise EmptyIdea("")
        except IdeaError as error:
            await message.reply_text(_limit_text(t, error))
            return
        await context.services.chat_state.expect(user.id, IDEA.at("topic", draft))
        rows = [
            [_b(topic_label(t, key), IdeaButton("topic", topic=key))]
            for key in context.settings.topics
        ]
        rows.append([_b(_("⏭ Skip"), IdeaButton("topic"))])
        rows.append(_cancel_row(t))
        await show(update, _("🏷 Which topic fits best?"), InlineKeyboardMarkup(rows))
    elif step == "place":
        if message.location is not None:
            draft = replace(
                draft,
                latitude=message.location.latitude,
                longitude=message.location.longitude,
            )
        elif message.text:
            draft = replace(draft, place=message.text[:200])
        else:
            await message.reply_text(
                _("📍 Where is it about? Send a location, type a place, or skip.")
            )
            return
        await _ask_anonymous(update, context, draft)
    else:
        await message.reply_text(_("Please use the buttons above, or send /cancel."))


async def cancel_command(update: Update, context: BotContext) -> None:
    """/cancel stops whatever multi-step flow is open, saving nothing."""
    user = update.effective_user
    assert user is not None
    await context.services.chat_state.clear(user.id)
    await show(update, context.t.gettext("✖️ Cancelled. Nothing was saved."))


# --- coordinators --------------------------------------------------------------------------


def moderation_keyboard(t: Translator, idea: IdeaView) -> InlineKeyboardMarkup:
    return from_payload(idea_card_buttons(t, idea))


async def ideas_command(update: Update, context: BotContext) -> None:
    """/ideas: coordinators see the ideas waiting for them."""
    user = update.effective_user
    assert user is not None
    t = context.t
    _ = t.gettext
    if not context.actor.is_staff:
        await ideas_home(update, context)
        return
    inbox = await context.services.ideas.inbox(context.actor)
    if not inbox:
        await show(update, _("💡 No new ideas are waiting."))
        return
    assert update.effective_chat is not None
    for idea in inbox[:10]:
        await _send_card(update.effective_chat, t, idea)


async def _send_card(chat: Chat, t: Translator, idea: IdeaView) -> None:
    """An idea as the outbox brings a new one: its voice, photo and location, then the card
    (with its author's first name unless it is anonymous)."""
    for part in idea_media(t, idea):
        if part["method"] == "sendVoice":
            await chat.send_voice(part["voice"], caption=part["caption"])
        elif part["method"] == "sendPhoto":
            await chat.send_photo(part["photo"], caption=part["caption"])
        else:
            await chat.send_location(latitude=part["latitude"], longitude=part["longitude"])
    await chat.send_message(idea_card_text(t, idea), reply_markup=moderation_keyboard(t, idea))


async def moderation_button(
    update: Update, context: BotContext, button: IdeaModerationButton
) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    if not context.actor.is_staff:
        await query.answer(_("💡 Only coordinators can do this."), show_alert=True)
        return
    action, idea_id, status = button.action, button.idea_id, button.status
    ideas = context.services.ideas
    try:
        if action == "pub":
            idea = await ideas.publish(context.actor, idea_id)
        elif action == "st" and status is not None:
            idea = await ideas.set_status(context.actor, idea_id, IdeaStatus(status))
        elif action == "why" and status is not None:
            await query.answer()
            rows = [
                [
                    _b(
                        _(IDEA_REASON_LABELS[reason]),
                        IdeaModerationButton("rs", idea_id, status, reason),
                    )
                ]
                for reason in REJECT_REASONS
            ]
            await show(
                update, _("Why? The author is told in their language."), InlineKeyboardMarkup(rows)
            )
            return
        elif action == "rs" and status is not None:
            idea = await ideas.set_status(
                context.actor, idea_id, IdeaStatus(status), reason=button.reason
            )
        elif action == "msg":
            # The broadcast composer, with this idea's supporters as the audience.
            draft = await context.services.broadcasts.create_draft(
                context.actor, audience={"idea_supporters": [idea_id]}
            )
            await query.answer()
            await show_composer(update, context, draft)
            return
        elif action == "proj":
            group = await context.services.groups.from_idea(context.actor, idea_id)
            await query.answer(
                _("🌱 The project is created; the author and the supporters are invited."),
                show_alert=True,
            )
            await show_group(update, context, group.id)
            return
        elif action in ("keep", "hide"):
            if action == "keep":
                idea = await ideas.keep_reported(context.actor, idea_id)
                done = _("✅ The idea is back on the idea board; its reports are cleared.")
            else:
                idea = await ideas.hide_reported(context.actor, idea_id)
                done = _("🙈 The idea is off the idea board for good.")
            await query.answer(done, show_alert=True)
            await show(update, idea_card_text(t, idea), moderation_keyboard(t, idea))
            return
        elif action in ("ban", "banok", "unban"):
            await _ban_author(update, context, action, idea_id)
            return
        elif action == "merge":
            await query.answer()
            await context.services.chat_state.expect(
                update.effective_user.id, IDEA_MERGE.at("merge", IdeaMerge(idea_id))
            )
            await show(update, _("🔗 Send the number of the idea to join it with."))
            return
        else:
            await answer_expired(update, t)
            return
    except InvalidChange:
        await query.answer(_("That is already its status."), show_alert=True)
        return
    except IdeaError:
        await answer_expired(update, t)
        return
    await query.answer(_("Done. The author is told in their language."))
    await show(update, idea_card_text(t, idea), moderation_keyboard(t, idea))


async def _ban_author(update: Update, context: BotContext, action: str, idea_id: int) -> None:
    """From an idea's card: ask, then ban its author (anonymous or not, without showing who);
    the answer offers to lift the ban again."""
    query = update.callback_query
    assert query is not None
    _ = context.t.gettext
    if action == "ban":
        await query.answer()
        await show(
            update,
            _(
                "⛔ Ban the author of this idea? They can't use the bot and get no news "
                "until a coordinator lifts the ban."
            ),
            InlineKeyboardMarkup(
                [[_b(_("⛔ Yes, ban the author"), IdeaModerationButton("banok", idea_id))]]
            ),
        )
        return
    moderation = context.services.moderation
    try:
        if action == "banok":
            result = await moderation.ban_author(context.actor, idea_id)
            text = (
                _("⛔ The author is banned.")
                if result.changed
                else _("The author is banned already.")
            )
            rows = [[_b(_("✅ Lift the ban"), IdeaModerationButton("unban", idea_id))]]
        else:
            result = await moderation.unban_author(context.actor, idea_id)
            text = (
                _("✅ The author can use the bot again.")
                if result.changed
                else _("The author is not banned.")
            )
            rows = []
    except CannotBan:
        await query.answer(
            _("This author can't be banned (a coordinator, or their data is deleted)."),
            show_alert=True,
        )
        return
    await show(update, text, InlineKeyboardMarkup(rows) if rows else None)


async def moderation_input(
    update: Update, context: BotContext, _step: str, merge: IdeaMerge
) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    t = context.t
    _ = t.gettext
    await context.services.chat_state.clear(user.id)
    if not context.actor.is_staff:
        return
    text = (message.text or "").strip().lstrip("#")
    if not text.isdigit():
        await message.reply_text(_("Please send the number of an idea, for example 12."))
        return
    try:
        idea = await context.services.ideas.merge(context.actor, merge.id, int(text))
    except IdeaError:
        await message.reply_text(_("These two ideas can't be joined. Please check the number."))
        return
    await message.reply_text(idea_card_text(t, idea), reply_markup=moderation_keyboard(t, idea))
