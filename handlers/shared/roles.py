"""Roles in words, and ``/start invite_<code>``: accepting an invitation to a role.

/start (handlers/onboarding.py) opens an invitation here; /roles (handlers/roles.py) names the
roles with the same words.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import Translator
from bot.services.roles import AuditItem, InvitationRefused, Role


def role_name(t: Translator, role: Role | str) -> str:
    """A role's name, as in "Your new role: coordinator"."""
    names = {
        Role.ADMIN: t.pgettext("role", "admin"),
        Role.COORDINATOR: t.pgettext("role", "coordinator"),
        Role.PARTNER: t.pgettext("role", "partner organisation"),
        Role.TRANSLATOR: t.pgettext("role", "volunteer translator"),
    }
    return names[Role(role)]


def audit_action(t: Translator, item: AuditItem) -> str:
    """What an audit entry records, in words ("published an event"), for /audit and the
    dashboard's audit log alike."""
    _ = t.gettext
    labels = {
        "event.publish": _("published an event"),
        "event.schedule": _("scheduled an event's publication"),
        "event.cancel": _("cancelled an event"),
        "event.approve": _("approved a partner's event"),
        "event.reject": _("rejected a partner's event"),
        "broadcast.send": _("sent a broadcast"),
        "broadcast.schedule": _("scheduled a broadcast"),
        "broadcast.schedule_weekly": _("scheduled a weekly broadcast"),
        "broadcast.cancel": _("cancelled a broadcast"),
        "broadcast.retry": _("sent a broadcast's failed messages again"),
        "idea.publish": _("published an idea"),
        "idea.status": _("changed an idea's status"),
        "idea.merge": _("merged a duplicate idea"),
        "group.create": _("opened a project or group"),
        "group.close": _("closed a project or group"),
        "translation.approve": _("approved a translation"),
        "translation.reject": _("rejected a translation"),
        "translation.appoint": _("made someone a translator"),
        "role.invite": _("created an invitation"),
        "role.accept": _("accepted an invitation"),
        "role.revoke": _("revoked a role"),
    }
    what = labels.get(item.action, t.isolate(item.action))
    role = item.detail.get("role")
    if isinstance(role, str) and role in {r.value for r in Role}:
        what += f" ({role_name(t, role)})"
    return what


def audit_subject(t: Translator, item: AuditItem) -> str:
    """What the entry was about, in words ("event #12")."""
    _ = t.gettext
    kinds = {
        "event": _("event"),
        "broadcast": _("broadcast"),
        "idea": _("idea"),
        "group": _("group"),
        "translation": _("translation"),
        # Translators: in the audit log, the person an action was about: "person 12345"
        "resident": _("person"),
        "invitation": _("invitation"),
    }
    kind = kinds.get(item.subject_kind, item.subject_kind)
    return kind if item.subject_id is None else f"{kind} {t.isolate(f'#{item.subject_id}')}"


def _what_now(t: Translator, role: Role) -> str:
    _ = t.gettext
    if role == Role.ADMIN:
        return _("Send /help to see your commands; with /roles you invite others to the team.")
    if role == Role.COORDINATOR:
        return _("Send /help to see your commands.")
    if role == Role.PARTNER:
        return _("You can now propose events with /newevent; a coordinator approves them.")
    return _("You will get texts to translate into your language; see /translate.")


async def accept_invitation(update: Update, context: BotContext, code: str) -> None:
    """Use the invitation: a welcome naming the role, or why it grants nothing."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    _ = context.t.gettext
    try:
        accepted = await context.services.roles.accept(user.id, code)
    except InvitationRefused as refused:
        if refused.reason == "expired":
            text = _("⌛ This invitation has expired. Please ask for a new link.")
        elif refused.reason == "used":
            text = _(
                "🔒 This invitation has already been used: each link works only once. "
                "Please ask for a new one."
            )
        else:
            text = _("⚠️ This invitation link is not valid. Please ask for a new one.")
        await chat.send_message(text)
        return
    # The role counts at once: this update goes on with it.
    context.actor = await context.services.residents.actor(user.id)
    welcome = _("🎉 Welcome to the team! Your role: <b>{role}</b>.").format(
        role=role_name(context.t, accepted.role)
    )
    # /start goes on from here, and sets a staff member's command menu.
    await chat.send_message(welcome + "\n" + _what_now(context.t, accepted.role))
