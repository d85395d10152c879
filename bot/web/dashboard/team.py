"""The team (``/dashboard/team``): everyone with a role (``RoleService.staff``), one-time
invitation links for each role the actor may grant (``RoleService.invitable``/``invite``, as
/roles in the bot), and revoking a role after a confirmation (``RoleService.revoke``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.services.roles import Role
from bot.web.dashboard.pages import PREFIX, STAFF, Page, see_other, staff_page
from bot.web.events import bot_username
from handlers.deeplinks import invitation_link
from handlers.shared.roles import role_name

routes = web.RouteTableDef()


def _role(value: object) -> Role | None:
    try:
        return Role(str(value))
    except ValueError:
        return None


async def _team(request: web.Request, page: Page) -> dict[str, Any]:
    roles = page.services.roles
    return {
        "members": await roles.staff(page.actor),
        "invitable": [(role, role_name(page.t, role)) for role in roles.invitable(page.actor)],
        "role_names": {role: role_name(page.t, role) for role in Role},
        "invitation": None,
        "link": None,
    }


@routes.get(f"{PREFIX}/team")
@staff_page("dashboard/team.html", allow=STAFF)
async def team(request: web.Request, page: Page) -> dict[str, Any]:
    return await _team(request, page)


@routes.post(f"{PREFIX}/team/invite")
@staff_page("dashboard/team.html", allow=STAFF)
async def invite(request: web.Request, page: Page) -> dict[str, Any]:
    """A new invitation, shown once on the page that answers the form (never in a URL)."""
    role = _role(page.form.get("role"))
    if role is None:
        raise web.HTTPBadRequest(text="unknown role")
    made = await page.services.roles.invite(page.actor, role)
    username = bot_username(request.app)
    found = await _team(request, page)
    found["invitation"] = made
    found["link"] = invitation_link(username, made.code) if username else None
    return found


@routes.get(f"{PREFIX}/team/revoke")
@staff_page("dashboard/team_revoke.html", allow=STAFF)
async def confirm_revoke(request: web.Request, page: Page) -> dict[str, Any]:
    role = _role(request.query.get("role"))
    try:
        telegram_id = int(request.query.get("telegram_id", ""))
    except ValueError:
        raise web.HTTPNotFound(text="no such person") from None
    members = await page.services.roles.staff(page.actor)
    member = next(
        (m for m in members if m.telegram_id == telegram_id and m.role == role and m.revocable),
        None,
    )
    if member is None or role is None:
        raise web.HTTPNotFound(text="no such role to revoke")
    return {"member": member, "role_label": role_name(page.t, role)}


@routes.post(f"{PREFIX}/team/revoke")
@staff_page("dashboard/team_revoke.html", allow=STAFF)
async def revoke(request: web.Request, page: Page) -> web.StreamResponse:
    role = _role(page.form.get("role"))
    try:
        telegram_id = int(str(page.form.get("telegram_id", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="no person") from None
    if role is None:
        raise web.HTTPBadRequest(text="unknown role")
    await page.services.roles.revoke(page.actor, telegram_id, role)
    return see_other(f"{PREFIX}/team")
