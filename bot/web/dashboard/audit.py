"""The audit log (``/dashboard/audit``), for admins: ``RoleService.audit``, newest first, a page
at a time (``?before=<id>`` pages on to older entries, as the bot's "Older entries" button)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.services.permissions import Actor
from bot.web.dashboard.pages import PREFIX, Page, staff_page
from handlers.shared.roles import audit_action, audit_subject

routes = web.RouteTableDef()


def admins(actor: Actor) -> bool:
    return actor.is_admin


@routes.get(f"{PREFIX}/audit")
@staff_page("dashboard/audit.html", allow=admins)
async def audit(request: web.Request, page: Page) -> dict[str, Any]:
    try:
        before: int | None = int(request.query["before"])
    except (KeyError, ValueError):
        before = None
    found = await page.services.roles.audit(page.actor, before=before)
    # The same words as the bot's /audit, in the admin's language.
    rows = [
        (item, audit_action(page.t, item), audit_subject(page.t, item)) for item in found.entries
    ]
    return {"entries": rows, "older": found.older, "before": before}
