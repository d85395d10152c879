"""/roles: the team by role, invitation links, revoking a role (asked first); /audit: the
audit log for admins, a page at a time. The rules are RoleService's (bot/services/roles.py);
these screens only show what it allows."""

from __future__ import annotations

import contextlib

from telegram import BotCommandScopeChat, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.buttons import AuditButton, RoleButton
from bot.context import BotContext
from bot.i18n import Translator
from bot.services.permissions import NotAllowed
from bot.services.roles import Role, StaffMember
from handlers.deeplinks import invitation_link
from handlers.keyboards import button as _b
from handlers.render import answer_expired, escape, refuse, show
from handlers.shared.roles import audit_action, audit_subject, role_name

ROLE_HEADINGS = (Role.ADMIN, Role.COORDINATOR, Role.PARTNER, Role.TRANSLATOR)


def _heading(t: Translator, role: Role) -> str:
    headings = {
        Role.ADMIN: t.pgettext("roles heading", "Admins"),
        Role.COORDINATOR: t.pgettext("roles heading", "Coordinators"),
        Role.PARTNER: t.pgettext("roles heading", "Partner organisations"),
        Role.TRANSLATOR: t.pgettext("roles heading", "Volunteer translators"),
    }
    return headings[role]


def _invite_label(t: Translator, role: Role) -> str:
    _ = t.gettext
    labels = {
        Role.ADMIN: _("➕ Invite an admin"),
        Role.COORDINATOR: _("➕ Invite a coordinator"),
        Role.PARTNER: _("➕ Invite a partner organisation"),
        Role.TRANSLATOR: _("➕ Invite a translator"),
    }
    return labels[role]


def _who(t: Translator, name: str | None, telegram_id: int | None) -> str:
    if name:
        return escape(t, name)
    if telegram_id is None:
        # Translators: in the audit log, an action nobody took by hand (the bot itself)
        return t.gettext("the bot")
    return t.isolate(f"ID {telegram_id}")


def _member_line(t: Translator, member: StaffMember) -> str:
    line = "• " + _who(t, member.first_name, member.telegram_id)
    if member.role == Role.TRANSLATOR and member.locale:
        line += f" ({t.language_in_mine(member.locale)})"
    if member.from_settings:
        # Translators: an admin named in the bot's settings (ADMIN_IDS), not in the bot
        line += " · " + t.gettext("set in the settings")
    return line


async def _staff_screen(update: Update, context: BotContext, notice: str | None = None) -> None:
    t = context.t
    _ = t.gettext
    members = await context.services.roles.staff(context.actor)
    parts = [notice] if notice else []
    parts.append(_("👥 <b>The team</b>"))
    for role in ROLE_HEADINGS:
        holders = [m for m in members if m.role == role]
        lines = [_member_line(t, m) for m in holders] or [_("• nobody yet")]
        parts.append(f"<b>{_heading(t, role)}</b>\n" + "\n".join(lines))
    rows = [
        [_b(_invite_label(t, role), RoleButton("inv", role.value))]
        for role in context.services.roles.invitable(context.actor)
    ]
    for member in members:
        if member.revocable:
            # Translators: a button that takes a role away from someone: "✖️ Ayşe: translator"
            label = _("✖️ {name}: {role}").format(
                name=member.first_name or member.telegram_id,
                role=role_name(t, member.role),
            )
            rows.append([_b(label, RoleButton("rvk", member.role.value, member.telegram_id))])
    await show(update, "\n\n".join(parts), InlineKeyboardMarkup(rows) if rows else None)


def _role(button: RoleButton) -> Role:
    assert button.role is not None  # every action but "list" names one
    return Role(button.role)


async def roles_command(update: Update, context: BotContext) -> None:
    if not context.actor.is_staff:
        await show(update, context.t.gettext("💡 Only coordinators can do this."))
        return
    await _staff_screen(update, context)


async def role_button(update: Update, context: BotContext, button: RoleButton) -> None:
    query = update.callback_query
    assert query is not None
    t = context.t
    _ = t.gettext
    try:
        if button.action == "list":
            await query.answer()
            await _staff_screen(update, context)
        elif button.action == "inv":
            await _invite(update, context, _role(button))
        elif button.action == "rvk":
            await _ask_revoke(update, context, button)
        else:
            await _revoke(update, context, button)
    except NotAllowed:
        await refuse(update, _("💡 Only coordinators can do this."))


async def _invite(update: Update, context: BotContext, role: Role) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    t = context.t
    _ = t.gettext
    made = await context.services.roles.invite(context.actor, role)
    await query.answer()
    link = invitation_link(context.bot.username, made.code)
    text = _(
        "🔗 An invitation as <b>{role}</b>:\n{link}\n\n"
        "It works once, until {expires}. Send it only to the person you mean."
    ).format(
        role=role_name(t, role),
        link=t.isolate(link),
        expires=t.format_datetime(made.expires_at, "short"),
    )
    await chat.send_message(text, disable_web_page_preview=True)


async def _person(context: BotContext, telegram_id: int, role: Role) -> StaffMember | None:
    members = await context.services.roles.staff(context.actor)
    return next((m for m in members if m.telegram_id == telegram_id and m.role == role), None)


async def _ask_revoke(update: Update, context: BotContext, button: RoleButton) -> None:
    query = update.callback_query
    assert query is not None and button.telegram_id is not None
    t = context.t
    _ = t.gettext
    role = _role(button)
    member = await _person(context, button.telegram_id, role)
    if member is None or not member.revocable:
        await answer_expired(update, t)
        return
    await query.answer()
    text = _("Take the role <b>{role}</b> away from {name}? It counts at once.").format(
        role=role_name(t, role), name=_who(t, member.first_name, member.telegram_id)
    )
    keyboard = InlineKeyboardMarkup(
        [
            [_b(_("✖️ Yes, revoke"), RoleButton("rvy", role.value, member.telegram_id))],
            [_b(_("↩️ Back"), RoleButton("list"))],
        ]
    )
    await show(update, text, keyboard)


async def _revoke(update: Update, context: BotContext, button: RoleButton) -> None:
    query = update.callback_query
    assert query is not None and button.telegram_id is not None
    t = context.t
    _ = t.gettext
    role = _role(button)
    member = await _person(context, button.telegram_id, role)
    removed = await context.services.roles.revoke(context.actor, button.telegram_id, role)
    await query.answer()
    name = _who(t, member.first_name if member else None, button.telegram_id)
    if removed:
        notice = _("✅ {name} no longer has the role {role}.").format(
            name=name, role=role_name(t, role)
        )
        await _reset_menu(context, button.telegram_id)
    else:
        notice = _("{name} did not have the role {role} (any more).").format(
            name=name, role=role_name(t, role)
        )
    await _staff_screen(update, context, notice)


async def _reset_menu(context: BotContext, telegram_id: int) -> None:
    """Someone who is no longer staff loses the staff command menu (their chat's own)."""
    actor = await context.services.residents.actor(telegram_id)
    if actor.is_staff:
        return
    # Someone who never started the bot has no menu to take away.
    with contextlib.suppress(TelegramError):
        await context.bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id))


# --- /audit ------------------------------------------------------------------------------


async def audit_command(update: Update, context: BotContext) -> None:
    await _audit_screen(update, context, None)


async def audit_button(update: Update, context: BotContext, button: AuditButton) -> None:
    query = update.callback_query
    assert query is not None
    await _audit_screen(update, context, button.before)


async def _audit_screen(update: Update, context: BotContext, before: int | None) -> None:
    t = context.t
    _ = t.gettext
    try:
        page = await context.services.roles.audit(context.actor, before=before)
    except NotAllowed:
        await refuse(update, _("🔒 Only admins can read the audit log."))
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    lines = [_("📜 <b>Audit log</b>, newest first")]
    if not page.entries:
        lines.append(_("Nothing recorded yet."))
    for item in page.entries:
        lines.append(
            f"{t.format_datetime(item.at, 'short')} · "
            f"<b>{_who(t, item.actor_name, item.actor_telegram_id)}</b> "
            f"{audit_action(t, item)} · {audit_subject(t, item)}"
        )
    keyboard = None
    if page.older is not None:
        keyboard = InlineKeyboardMarkup([[_b(_("⏪ Older entries"), AuditButton(page.older))]])
    await show(update, "\n".join(lines), keyboard)
