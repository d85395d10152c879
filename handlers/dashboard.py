"""/dashboard: a one-time link that logs a coordinator or partner into the web dashboard
(bot/web/dashboard/). The rules are DashboardAuth's (bot/services/dashboard_auth.py)."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services.dashboard_auth import LOGIN_VALIDITY
from bot.services.permissions import NotAllowed
from handlers.render import show


def dashboard_base(context: BotContext) -> str:
    """Where the dashboard is reached: ``PUBLIC_URL``, else this server's own address."""
    settings = context.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{settings.http_host}:{settings.http_port}"


async def dashboard_command(update: Update, context: BotContext) -> None:
    t = context.t
    _ = t.gettext
    chat = update.effective_chat
    assert chat is not None
    try:
        token = await context.services.dashboard.issue_login(context.actor)
    except NotAllowed:
        await show(update, _("💡 The dashboard is for coordinators and partner organisations."))
        return
    link = f"{dashboard_base(context)}/dashboard/login/{token}"
    minutes = int(LOGIN_VALIDITY.total_seconds() // 60)
    text = t.ngettext(
        "🖥 Your login link for the dashboard:\n{link}\n\n"
        "It works once, for {minutes} minute. Don't pass it on: it logs in as you.",
        "🖥 Your login link for the dashboard:\n{link}\n\n"
        "It works once, for {minutes} minutes. Don't pass it on: it logs in as you.",
        minutes,
    ).format(link=t.isolate(link), minutes=t.format_number(minutes))
    # No preview: nothing may fetch the link before the person opens it.
    await chat.send_message(text, disable_web_page_preview=True)
