"""The group screens other features open too: the list of projects and groups (the main
menu), and a group's page (a deep link, an idea made a project)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.buttons import GroupButton, GroupEditButton, GroupListButton, MenuButton
from bot.context import BotContext
from bot.i18n import Translator
from bot.rendering import event_summary, group_name
from bot.services.groups import GroupView
from handlers.keyboards import button as _b
from handlers.keyboards import paging_row, topic_label
from handlers.render import answer_expired, escape, show
from handlers.shared.translations import missing_languages_line, translations_button

PAGE_SIZE = 3
#: On a group's page, so that it fits Telegram's 4,096 characters with its name, rhythm, help
#: tasks and meetings: longer descriptions and outcomes are cut with "…" (``render.clip``).
DESCRIPTION_ON_PAGE = 2200
OUTCOME_ON_PAGE = 1200


def kind_label(t: Translator, group: GroupView) -> str:
    # Translators: the kind of group: a project ends with an outcome, a working group goes on
    return t.gettext("🌱 Project") if group.kind == "project" else t.gettext("👥 Working group")


def members_text(t: Translator, count: int) -> str:
    return t.ngettext("{count} member", "{count} members", count).format(
        count=t.format_number(count)
    )


async def list_groups(
    update: Update, context: BotContext, offset: int = 0, topic: str = "all"
) -> None:
    t = context.t
    _ = t.gettext
    user = update.effective_user
    assert user is not None
    service = context.services.groups
    if topic == "mine":
        found = await service.my_groups(user.id)
        total = len(found)
        found = found[offset : offset + PAGE_SIZE]
        title = _("🤝 <b>My groups</b>")
    else:
        if topic != "all" and topic not in context.settings.topics:
            await answer_expired(update, t)
            return
        found, total = await service.browse(
            topic=None if topic == "all" else topic, offset=offset, limit=PAGE_SIZE
        )
        title = _("🤝 <b>Projects and groups</b>")
    blocks = [title]
    rows: list[list[InlineKeyboardButton]] = []
    for group in found:
        version = group.version_for(t.locale)
        about = f"{kind_label(t, group)} · {members_text(t, group.members)}"
        line = f"<b>{group_name(t, group)}</b>\n{about}"
        if version and version.rhythm:
            line += f"\n🗓 {escape(t, version.rhythm)}"
        blocks.append(line)
        label = t.mirror("➡️ ") + group_name(t, group, isolated=False)
        rows.append([_b(label, GroupButton("show", group.id))])
    if not found:
        blocks.append(
            _("You haven't joined a group yet.")
            if topic == "mine"
            else _("There are no groups here yet.")
        )
    rows += paging_row(t, offset, total, PAGE_SIZE, lambda at: GroupListButton(at, topic))
    if topic != "mine":
        rows.append([_b(_("🤝 My groups"), GroupListButton(0, "mine"))])
        rows.extend(
            [
                _b(
                    ("✅ " if key == topic else "") + topic_label(t, key),
                    GroupListButton(0, key),
                )
            ]
            for key in context.settings.topics
        )
    else:
        rows.append([_b(_("🤝 All projects and groups"), GroupListButton())])
    rows.append([_b(_("🏠 Main menu"), MenuButton("home"))])
    await show(update, "\n\n".join(blocks), InlineKeyboardMarkup(rows))


async def show_group(update: Update, context: BotContext, group_id: int) -> None:
    t = context.t
    _ = t.gettext
    user = update.effective_user
    assert user is not None
    service = context.services.groups
    group = await service.get(group_id)
    if group is None:
        await show(
            update,
            _("😕 This group doesn't exist (any more)."),
            InlineKeyboardMarkup([[_b(_("🤝 All projects and groups"), GroupListButton())]]),
        )
        return
    version = group.version_for(t.locale)
    member = await service.is_member(group.id, user.id)
    parts = [
        f"<b>{group_name(t, group)}</b>\n{kind_label(t, group)} · {members_text(t, group.members)}"
    ]
    if group.topic:
        parts[0] += f"\n{topic_label(t, group.topic)}"
    if version and version.description:
        parts.append(escape(t, version.description, DESCRIPTION_ON_PAGE))
    if version and version.rhythm:
        parts.append(f"🗓 {escape(t, version.rhythm)}")
    if group.status == "closed":
        parts.append(_("🏁 This project has come to an end."))
        if group.outcome:
            parts.append(escape(t, group.outcome, OUTCOME_ON_PAGE))
    rows: list[list[InlineKeyboardButton]] = []
    if group.slots:
        parts.append(_("🙋 <b>Help needed</b>"))
        for slot in group.slots:
            label = slot.label_for(t.locale, group.default_locale)
            filled = f"{t.format_number(slot.filled)}/{t.format_number(slot.capacity)}"
            parts.append(f"• {escape(t, label)}: {filled}")
            if group.status == "open":
                if await service.holds(slot.id, user.id):
                    rows.append(
                        [
                            _b(
                                # Translators: hands back a task you took ("✅ Water it · give up")
                                "✅ " + label + " · " + _("give up"),
                                GroupButton("unslot", group.id, slot.id),
                            )
                        ]
                    )
                elif slot.filled < slot.capacity:
                    rows.append([_b("🙋 " + label, GroupButton("slot", group.id, slot.id))])
    meetings = await service.next_meetings(group.id)
    if meetings:
        parts.append(_("📅 <b>Next meetings</b>"))
        parts.extend(event_summary(t, event) for event in meetings)
    if group.status == "open":
        rows.append(
            # Translators: leave the group (stop being a member)
            [_b(_("👋 Leave"), GroupButton("leave", group.id))]
            if member
            # Translators: become a member of the group
            else [_b(_("🤝 Join"), GroupButton("join", group.id))]
        )
    if await service.may_lead(context.actor, group.id):
        missing = await missing_languages_line(context, "group", group.id)
        if missing is not None:
            parts.append(missing)
        rows.append(
            [
                _b(_("👥 Members"), GroupButton("members", group.id)),
                _b(_("📣 Message members"), GroupButton("msg", group.id)),
            ]
        )
        if group.slots:
            rows.append([_b(_("📣 Message the helpers"), GroupButton("msgh", group.id))])
        if group.status == "open":
            # Name, description, rhythm, topic, help tasks; coordinators also the lead.
            rows.append([_b(_("✏️ Edit"), GroupEditButton("open", group.id))])
            rows.append(
                [
                    _b(_("📅 Plan a meeting"), GroupButton("meet", group.id)),
                    translations_button(context.t, "group", group.id),
                ]
            )
            rows.append(
                [
                    _b(_("➕ Add a help slot"), GroupButton("addslot", group.id)),
                    _b(_("🏁 Close with an outcome"), GroupButton("close", group.id)),
                ]
            )
    rows.append([_b(_("🤝 All projects and groups"), GroupListButton())])
    await show(update, "\n\n".join(parts), InlineKeyboardMarkup(rows))
