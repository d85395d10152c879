"""Projects and working groups: browse, join and leave, take a help slot, "my groups"; leads
and coordinators see members, write to them (through the broadcast composer) and close a
project with an outcome; coordinators create groups and turn ideas into projects.

The list and a group's page are drawn by ``handlers/shared/groups.py``, since the main menu,
a deep link and an idea made a project open them too; their buttons are answered here."""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineKeyboardMarkup, Update

from bot.buttons import GroupButton, GroupListButton, GroupNewButton
from bot.context import BotContext
from bot.rendering import group_name
from bot.services.groups import GroupError, GroupView, InvalidChange, SlotFull
from bot.services.permissions import NotAllowed
from handlers.flow_data import GroupDraft
from handlers.flows import GROUP, take_step
from handlers.keyboards import button as _b
from handlers.keyboards import topic_label
from handlers.render import answer_expired, escape, for_residents, show
from handlers.shared.composer import show_composer
from handlers.shared.groups import list_groups, members_text, show_group
from handlers.shared.newevent import start_new_event


@for_residents
async def list_button(update: Update, context: BotContext, button: GroupListButton) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await list_groups(update, context, button.offset, button.scope)


@for_residents
async def group_button(update: Update, context: BotContext, button: GroupButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    action, group_id, slot_id = button.action, button.group_id, button.slot_id
    service = context.services.groups
    user_id = update.effective_user.id
    group = await service.get(group_id)
    if group is None:
        await answer_expired(update, t)
        return
    leads = await service.may_lead(context.actor, group_id)
    try:
        if action == "show":
            await query.answer()
        elif action == "join":
            await service.join(group_id, user_id)
            await query.answer(_("🤝 Welcome! You are now a member."))
        elif action == "leave":
            await service.leave(group_id, user_id)
            await query.answer(
                _("👋 You have left. You will get no more messages from this group.")
            )
        elif slot_id is not None and any(s.id == slot_id for s in group.slots):
            if action == "slot":
                await service.take_slot(slot_id, user_id)
                await query.answer(_("🙋 Thank you for helping!"))
            else:
                await service.release_slot(slot_id, user_id)
                await query.answer(_("Saved"))
        elif action in ("members", "msg", "msgh", "close", "addslot", "meet"):
            if not leads:
                await query.answer(
                    _("🤝 Only the group's lead and coordinators can do this."), show_alert=True
                )
                return
            await query.answer()
            await _lead_action(update, context, group, action)
            return
        else:
            await answer_expired(update, t)
            return
    except SlotFull:
        await query.answer(
            _("😕 Sorry, this task has just been taken by enough people."), show_alert=True
        )
    except InvalidChange:
        await query.answer(_("🏁 This project has come to an end."), show_alert=True)
    except GroupError:
        await answer_expired(update, t)
        return
    await show_group(update, context, group_id)


async def _lead_action(update: Update, context: BotContext, group: GroupView, action: str) -> None:
    t = context.t
    _ = t.gettext
    user = update.effective_user
    assert user is not None
    if action == "members":
        members = await context.services.groups.members(context.actor, group.id)
        lines = [f"<b>{group_name(t, group)}</b>", members_text(t, len(members))]
        lines += [
            "• "
            + (escape(t, member.first_name) if member.first_name else "—")
            + " · "
            + t.language(member.locale)
            for member in members[:80]
        ]
        await show(
            update,
            "\n".join(lines),
            InlineKeyboardMarkup([[_b(_("↩️ Back"), GroupButton("show", group.id))]]),
        )
    elif action in ("msg", "msgh"):
        # The broadcast composer, with this group's members (or helpers) as the audience.
        key = "group_members" if action == "msg" else "slot_holders"
        draft = await context.services.broadcasts.create_draft(
            context.actor, audience={key: [group.id]}
        )
        await show_composer(update, context, draft)
    elif action == "meet":
        await start_new_event(update, context, group_id=group.id)
    elif action == "close":
        await context.services.chat_state.expect(
            user.id, GROUP.at("outcome", GroupDraft(id=group.id))
        )
        await show(
            update,
            _("🏁 What came out of it? Write a few sentences for the members."),
            InlineKeyboardMarkup([[_b(_("↩️ Back"), GroupButton("show", group.id))]]),
        )
    elif action == "addslot":
        await context.services.chat_state.expect(
            user.id, GROUP.at("slot_label", GroupDraft(id=group.id))
        )
        await show(
            update,
            _("➕ What help is needed? For example: water the plants."),
            InlineKeyboardMarkup([[_b(_("↩️ Back"), GroupButton("show", group.id))]]),
        )


# --- creating groups (coordinators) -------------------------------------------------------


async def newgroup_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    _ = context.t.gettext
    if not context.actor.is_staff:  # the words; GroupService.create decides
        await show(update, _("🤝 Only coordinators can create projects and groups."))
        return
    await show(
        update,
        _("🤝 What would you like to start?"),
        InlineKeyboardMarkup(
            [
                [_b(_("🌱 Project"), GroupNewButton("kind", kind="project"))],
                [_b(_("👥 Working group"), GroupNewButton("kind", kind="group"))],
            ]
        ),
    )


async def new_button(update: Update, context: BotContext, button: GroupNewButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    user_id = update.effective_user.id
    if not context.actor.is_staff:
        await context.services.chat_state.clear(user_id)
        await query.answer(
            _("🤝 Only coordinators can create projects and groups."), show_alert=True
        )
        return
    step, topic = button.step, button.topic
    state = context.services.chat_state
    if step == "kind":
        await query.answer()
        await state.expect(user_id, GROUP.at("name", GroupDraft(kind=button.kind)))
        await show(update, _("✏️ What is it called?"))
        return
    # The later buttons belong to one step of the open flow: claimed, they act once.
    wanted = {
        "topic": "topic" if topic is None or topic in context.settings.topics else None,
        "skip": "rhythm",
    }.get(step)
    draft = await take_step(context, user_id, GROUP, wanted) if wanted else None
    if draft is None:
        await answer_expired(update, t)
        return
    await query.answer()
    if step == "topic":
        await state.expect(user_id, GROUP.at("rhythm", replace(draft, topic=topic)))
        await show(
            update,
            _("🗓 When do you meet? For example: every Tuesday at 17:00."),
            InlineKeyboardMarkup([[_b(_("⏭ Skip"), GroupNewButton("skip"))]]),
        )
    else:
        await _create(update, context, draft)


async def _create(update: Update, context: BotContext, draft: GroupDraft) -> None:
    user = update.effective_user
    # GROUP requires both at the steps that create the group
    assert user is not None and draft.kind is not None and draft.name is not None
    try:
        group = await context.services.groups.create(
            context.actor,
            draft.kind,
            name=draft.name,
            description=draft.description or None,
            rhythm=draft.rhythm or None,
            topic=draft.topic or None,
            lead_id=user.id,
            locale=context.locale,
        )
    except NotAllowed:  # e.g. the coordinator role was revoked while the flow ran
        await show(
            update, context.t.gettext("🤝 Only coordinators can create projects and groups.")
        )
        return
    await show_group(update, context, group.id)


async def handle_input(update: Update, context: BotContext, step: str, draft: GroupDraft) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    t = context.t
    _ = t.gettext
    text = (message.text or "").strip()
    state = context.services.chat_state
    if not text:
        await message.reply_text(_("Please send it as text."))
        return
    try:
        if step == "name":
            await state.expect(user.id, GROUP.at("description", replace(draft, name=text)))
            await show(update, _("📝 Describe it in a few sentences."))
        elif step == "description":
            rows = [
                [_b(topic_label(t, key), GroupNewButton("topic", topic=key))]
                for key in context.settings.topics
            ]
            rows.append([_b(_("⏭ Skip"), GroupNewButton("topic"))])
            await state.expect(user.id, GROUP.at("topic", replace(draft, description=text)))
            await show(update, _("🏷 Which topic fits best?"), InlineKeyboardMarkup(rows))
        elif step == "rhythm":
            # Claimed first: the same text sent twice, or with "Skip", creates one group.
            if await take_step(context, user.id, GROUP, "rhythm") is None:
                return
            await _create(update, context, replace(draft, rhythm=text))
        elif step in ("outcome", "slot_label", "slot_capacity"):
            group_id = draft.id
            assert group_id is not None  # GROUP requires it at these steps
            if not await context.services.groups.may_lead(context.actor, group_id):
                await state.clear(user.id)
                await message.reply_text(
                    _("🤝 Only the group's lead and coordinators can do this.")
                )
                return
            if step == "outcome":
                await context.services.groups.close(context.actor, group_id, text)
                await state.clear(user.id)
                await message.reply_text(_("🏁 Closed. Every member is told in their language."))
            elif step == "slot_label":
                await state.expect(user.id, GROUP.at("slot_capacity", replace(draft, label=text)))
                await message.reply_text(_("🔢 How many people are needed for it?"))
            else:
                if not text.isdigit():
                    await message.reply_text(_("Please send a number, for example 3."))
                    return
                assert draft.label is not None  # required at "slot_capacity"
                await context.services.groups.add_slot(
                    context.actor, group_id, draft.label, int(text), locale=context.locale
                )
                await state.clear(user.id)
                await show_group(update, context, group_id)
        else:
            await state.clear(user.id)
    except GroupError:
        await message.reply_text(_("Please check what you sent and try again."))
