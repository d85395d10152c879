"""Projects and working groups: browse, join and leave, take a help slot, "my groups"; leads
and coordinators see members, write to them (through the broadcast composer), edit the group
(name, description, meeting rhythm, topic, help tasks; coordinators also its lead) and close a
project with an outcome; coordinators create groups and turn ideas into projects.

The list and a group's page are drawn by ``handlers/shared/groups.py``, since the main menu,
a deep link and an idea made a project open them too; their buttons are answered here."""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineKeyboardMarkup, Update

from bot.buttons import GroupButton, GroupEditButton, GroupListButton, GroupNewButton
from bot.context import BotContext
from bot.i18n import Translator, language_name
from bot.rendering import group_name, translation_field
from bot.services.groups import (
    MAX_SLOT_CAPACITY,
    CapacityBelowHolders,
    GroupError,
    GroupView,
    InvalidChange,
    SlotFull,
    SlotView,
    TextTooLong,
)
from bot.services.permissions import NotAllowed
from bot.topics import TOPIC_LABELS
from handlers.flow_data import GroupDraft
from handlers.flows import GROUP, GROUP_EDIT_STEPS, GROUP_SLOT_EDIT_STEPS, take_step
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
    if step in GROUP_EDIT_STEPS | GROUP_SLOT_EDIT_STEPS:
        await _edit_input(update, context, step, draft, text)
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


# --- editing a group (its lead, coordinators) ---------------------------------------------

#: The edit screen's typed fields: the button's action, the flow's step, the version field.
_TEXT_EDITS = {
    "name": ("edit_name", "name"),
    "desc": ("edit_description", "description"),
    "rhythm": ("edit_rhythm", "rhythm"),
}
#: The members a coordinator may choose a new lead among, on one screen.
LEAD_CHOICES = 40
DESCRIPTION_ON_EDIT = 300


def _only_leads(t: Translator) -> str:
    return t.gettext("🤝 Only the group's lead and coordinators can do this.")


def _saved(t: Translator, *, told: bool = False) -> str:
    if told:
        return t.gettext("✅ Saved. Everyone concerned is told in their language.")
    return "✅ " + t.gettext("Saved")


@for_residents
async def edit_button(update: Update, context: BotContext, button: GroupEditButton) -> None:
    """The edit screen and its buttons; every change is checked again by the service."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    service = context.services.groups
    group = await service.get(button.group_id)
    slot = None
    if group is not None and button.slot_id is not None:
        slot = next((s for s in group.slots if s.id == button.slot_id), None)
    if group is None or (button.slot_id is not None and slot is None):
        await answer_expired(update, t)  # e.g. a task removed a moment ago
        return
    if not await service.may_lead(context.actor, group.id):
        await query.answer(_only_leads(t), show_alert=True)
        return
    if not group.is_open:
        await query.answer(_("🏁 This project has come to an end."), show_alert=True)
        return
    action = button.action
    staff_only = action in ("leads", "lead", "me")
    if staff_only and not context.actor.is_staff:  # the words; GroupService.set_lead decides
        await query.answer(
            _("🤝 Only coordinators can hand a group to a new lead."), show_alert=True
        )
        return
    try:
        if action == "open":
            await query.answer()
            await show_edit(update, context, group.id)
        elif action in _TEXT_EDITS:
            await query.answer()
            await _ask_text(update, context, group, action)
        elif action == "topics":
            await query.answer()
            await _topic_picker(update, context, group)
        elif action == "topic":
            if button.topic is not None and button.topic not in context.settings.topics:
                await answer_expired(update, t)
                return
            await service.update(context.actor, group.id, topic=button.topic)
            await query.answer(_("Saved"))
            await show_edit(update, context, group.id, _saved(t))
        elif action == "leads":
            await query.answer()
            await _lead_picker(update, context, group)
        elif action in ("lead", "me"):
            new_lead = update.effective_user.id if action == "me" else button.telegram_id
            assert new_lead is not None  # GroupEditButton carries it for "lead"
            await service.set_lead(context.actor, group.id, new_lead)
            await query.answer(_("Saved"))
            await show_edit(update, context, group.id, _saved(t, told=True))
        elif slot is not None and action == "slot":
            await query.answer()
            await _slot_screen(update, context, group, slot)
        elif slot is not None and action in ("label", "cap"):
            await query.answer()
            await _ask_slot_text(update, context, group, slot, action)
        elif slot is not None and action == "rm":
            await query.answer()
            await _confirm_removal(update, context, group, slot)
        elif slot is not None and action == "rmok":
            await service.remove_slot(context.actor, slot.id)
            await query.answer(_("Saved"))
            await show_edit(update, context, group.id, _saved(t, told=True))
        else:
            await answer_expired(update, t)
    except NotAllowed:
        await query.answer(_only_leads(t), show_alert=True)
    except InvalidChange:  # closed a moment ago
        await query.answer(_("🏁 This project has come to an end."), show_alert=True)
    except GroupError:  # a task removed or a member gone a moment ago
        await answer_expired(update, t)


async def show_edit(
    update: Update, context: BotContext, group_id: int, note: str | None = None
) -> None:
    """What can change, one button each; ``note`` confirms the change just made."""
    t = context.t
    _ = t.gettext
    group = await context.services.groups.get(group_id)
    if group is None:
        await show_group(update, context, group_id)  # says it is gone
        return
    # The edit screen writes the group's own language; 🌐 Translations writes the others.
    version = group.versions.get(group.default_locale) or group.version_for(t.locale)
    lines = [note] if note else []
    lines.append(f"✏️ <b>{group_name(t, group)}</b>\n{_('What would you like to change?')}")
    details = []
    if version is not None:
        details.append(f"<b>{translation_field(t, 'name')}</b>: {escape(t, version.name)}")
        if version.description:
            details.append(
                f"<b>{translation_field(t, 'description')}</b>: "
                + escape(t, version.description, DESCRIPTION_ON_EDIT)
            )
        if version.rhythm:
            details.append(f"<b>{translation_field(t, 'rhythm')}</b>: {escape(t, version.rhythm)}")
    details.append(_("Topic: {topic}").format(topic=_topic_name(t, group.topic)))
    if group.lead_id is not None:
        lead = await context.services.residents.get(group.lead_id)
        person = escape(t, lead.first_name) if lead and lead.first_name else "—"
        # Translators: who leads a project or working group; {person} is a first name
        details.append(_("👤 Lead: {person}").format(person=person))
    lines.append("\n".join(details))
    rows = [
        [
            _b("✏️ " + translation_field(t, "name"), GroupEditButton("name", group.id)),
            _b("📝 " + translation_field(t, "description"), GroupEditButton("desc", group.id)),
        ],
        [
            _b("🗓 " + translation_field(t, "rhythm"), GroupEditButton("rhythm", group.id)),
            # Translators: a button: choose the topic of a project or working group
            _b(_("🏷 Topic"), GroupEditButton("topics", group.id)),
        ],
    ]
    if context.actor.is_staff:
        rows.append([_b(_("👤 Change the lead"), GroupEditButton("leads", group.id))])
    if group.slots:
        lines.append(_("🙋 <b>Help needed</b>"))
    for slot in group.slots:
        label = slot.label_for(group.default_locale, group.default_locale)
        filled = f"{t.format_number(slot.filled)}/{t.format_number(slot.capacity)}"
        rows.append([_b(f"🙋 {label} · {filled}", GroupEditButton("slot", group.id, slot.id))])
    rows.append([_b(_("↩️ Back"), GroupButton("show", group.id))])
    await show(update, "\n\n".join(lines), InlineKeyboardMarkup(rows))


def _topic_name(t: Translator, topic: str | None) -> str:
    return topic_label(t, topic) if topic in TOPIC_LABELS and topic is not None else "—"


def _back_to_edit(t: Translator, group: GroupView) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_b(t.gettext("↩️ Back"), GroupEditButton("open", group.id))]])


async def _ask_text(update: Update, context: BotContext, group: GroupView, action: str) -> None:
    t = context.t
    _ = t.gettext
    user = update.effective_user
    assert user is not None
    step, field = _TEXT_EDITS[action]
    prompts = {
        "name": _("✏️ Send the new name."),
        "description": _("📝 Send the new description."),
        "rhythm": _("🗓 When do you meet now? For example: every Tuesday at 17:00."),
    }
    version = group.versions.get(group.default_locale)
    current = getattr(version, field, None) if version is not None else None
    text = prompts[field]
    if current:
        text += f"\n\n<i>{escape(t, current, DESCRIPTION_ON_EDIT)}</i>"
    await context.services.chat_state.expect(user.id, GROUP.at(step, GroupDraft(id=group.id)))
    await show(update, text, _back_to_edit(t, group))


async def _topic_picker(update: Update, context: BotContext, group: GroupView) -> None:
    t = context.t
    _ = t.gettext
    rows = [
        [
            _b(
                ("✅ " if key == group.topic else "") + topic_label(t, key),
                GroupEditButton("topic", group.id, topic=key),
            )
        ]
        for key in context.settings.topics
    ]
    rows.append(
        [
            _b(
                ("✅ " if group.topic is None else "") + _("No topic"),
                GroupEditButton("topic", group.id),
            )
        ]
    )
    rows.append([_b(_("↩️ Back"), GroupEditButton("open", group.id))])
    await show(update, _("🏷 Which topic fits best?"), InlineKeyboardMarkup(rows))


async def _lead_picker(update: Update, context: BotContext, group: GroupView) -> None:
    t = context.t
    _ = t.gettext
    user = update.effective_user
    assert user is not None
    members = await context.services.groups.members(context.actor, group.id)
    text = _("👤 Who should lead {name}? They and the current lead are told.").format(
        name=f"<b>{group_name(t, group)}</b>"
    )
    if not members:
        text += "\n\n" + _("Nobody has joined yet.")
    rows = []
    for member in members[:LEAD_CHOICES]:
        mark = "✅ " if member.telegram_id == group.lead_id else ""
        label = f"{mark}{member.first_name or '—'} · {language_name(member.locale)}"
        rows.append([_b(label, GroupEditButton("lead", group.id, telegram_id=member.telegram_id))])
    if group.lead_id != user.id:
        # Translators: a button: the coordinator makes themselves the group's lead
        rows.append([_b(_("🙋 Me"), GroupEditButton("me", group.id))])
    rows.append([_b(_("↩️ Back"), GroupEditButton("open", group.id))])
    await show(update, text, InlineKeyboardMarkup(rows))


async def _slot_screen(
    update: Update, context: BotContext, group: GroupView, slot: SlotView
) -> None:
    t = context.t
    _ = t.gettext
    label = slot.label_for(group.default_locale, group.default_locale)
    filled = f"{t.format_number(slot.filled)}/{t.format_number(slot.capacity)}"
    rows = [
        [
            # Translators: a button: give a help task a new name
            _b(_("✏️ Rename"), GroupEditButton("label", group.id, slot.id)),
            # Translators: a button: change how many people a help task needs
            _b(_("🔢 Number of people"), GroupEditButton("cap", group.id, slot.id)),
        ],
        [_b(_("🗑 Remove the task"), GroupEditButton("rm", group.id, slot.id))],
        [_b(_("↩️ Back"), GroupEditButton("open", group.id))],
    ]
    await show(update, f"🙋 <b>{escape(t, label)}</b>: {filled}", InlineKeyboardMarkup(rows))


async def _ask_slot_text(
    update: Update, context: BotContext, group: GroupView, slot: SlotView, action: str
) -> None:
    t = context.t
    _ = t.gettext
    user = update.effective_user
    assert user is not None
    label = slot.label_for(group.default_locale, group.default_locale)
    if action == "label":
        step, text = "edit_label", _("✏️ Send the help task's new name.")
        text += f"\n\n<i>{escape(t, label)}</i>"
    else:
        step, text = "edit_capacity", _("🔢 How many people are needed for it?")
        text += f"\n\n<i>{escape(t, label)}</i>: {t.format_number(slot.capacity)}"
    await context.services.chat_state.expect(
        user.id, GROUP.at(step, GroupDraft(id=group.id, slot=slot.id))
    )
    back = InlineKeyboardMarkup([[_b(_("↩️ Back"), GroupEditButton("slot", group.id, slot.id))]])
    await show(update, text, back)


async def _confirm_removal(
    update: Update, context: BotContext, group: GroupView, slot: SlotView
) -> None:
    t = context.t
    _ = t.gettext
    label = slot.label_for(group.default_locale, group.default_locale)
    text = _("🗑 Remove the help task {task}? The people who took it are told.").format(
        task=f"<b>{escape(t, label)}</b>"
    )
    rows = [
        [_b(_("🗑 Yes, remove it"), GroupEditButton("rmok", group.id, slot.id))],
        [_b(_("↩️ Back"), GroupEditButton("slot", group.id, slot.id))],
    ]
    await show(update, text, InlineKeyboardMarkup(rows))


async def _edit_input(
    update: Update, context: BotContext, step: str, draft: GroupDraft, text: str
) -> None:
    """Text typed for one of the edit screen's fields; bad input is answered, changes
    nothing, and the step waits for a better one."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    t = context.t
    _ = t.gettext
    group_id = draft.id
    assert group_id is not None  # GROUP requires it at the edit steps
    service = context.services.groups
    capacity = None
    if step == "edit_capacity":
        capacity = int(text) if text.isdecimal() else None
        if capacity is None or not 1 <= capacity <= MAX_SLOT_CAPACITY:
            await message.reply_text(
                _("Please send a number from 1 to {max}.").format(
                    max=t.format_number(MAX_SLOT_CAPACITY)
                )
            )
            return
    # Claimed first: the same text sent twice changes (and tells) once.
    if await take_step(context, user.id, GROUP, step, data_id=group_id) is None:
        return
    told = step in ("edit_name", "edit_rhythm", "edit_label")
    try:
        if step in ("edit_name", "edit_description", "edit_rhythm"):
            group = await service.get(group_id)
            if group is None:
                raise InvalidChange(f"group {group_id} is gone")
            field = step.removeprefix("edit_")
            await service.set_version(
                context.actor, group_id, group.default_locale, **{field: text}
            )
        elif step == "edit_label":
            assert draft.slot is not None  # required at this step
            group = await service.get(group_id)
            if group is None:
                raise InvalidChange(f"group {group_id} is gone")
            await service.set_slot_label(context.actor, draft.slot, group.default_locale, text)
        else:
            assert draft.slot is not None
            await service.update_slot(context.actor, draft.slot, capacity=capacity)
    except TextTooLong as exc:
        await context.services.chat_state.expect(user.id, GROUP.at(step, draft))
        await message.reply_text(
            _("That is too long: please use at most {limit} characters.").format(
                limit=t.format_number(exc.limit)
            )
        )
        return
    except CapacityBelowHolders as exc:
        await context.services.chat_state.expect(user.id, GROUP.at(step, draft))
        await message.reply_text(
            t.ngettext(
                "{count} person already does this task, so it can't need fewer.",
                "{count} people already do this task, so it can't need fewer.",
                exc.holders,
            ).format(count=t.format_number(exc.holders))
        )
        return
    except NotAllowed:
        await message.reply_text(_only_leads(t))
        return
    except InvalidChange:
        await message.reply_text(_("🏁 This project has come to an end."))
        return
    except GroupError:  # the task was removed meanwhile
        await message.reply_text(_("Please check what you sent and try again."))
        return
    await show_edit(update, context, group_id, _saved(t, told=told))
