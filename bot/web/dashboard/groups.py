"""Projects and groups (``/dashboard/groups``): the open ones, a group's page with its members
(first name and language, as ``GroupService.members`` gives them to its lead and the
coordinators), its help tasks and closing it with an outcome (every member hears it in their
language). The calls are the ones the bot's group screens make (handlers/groups.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.services.groups import GroupError, GroupView
from bot.web.dashboard.pages import PREFIX, STAFF, Page, see_other, staff_page

routes = web.RouteTableDef()

#: Groups listed on one page.
PAGE_SIZE = 25


def _name(page: Page, group: GroupView) -> str:
    version = group.version_for(page.t.locale)
    return version.name if version and version.name else "…"


@routes.get(f"{PREFIX}/groups")
@staff_page("dashboard/groups.html", allow=STAFF)
async def groups(request: web.Request, page: Page) -> dict[str, Any]:
    try:
        offset = max(0, int(request.query.get("offset", "0")))
    except ValueError:
        offset = 0
    found, total = await page.services.groups.browse(offset=offset, limit=PAGE_SIZE)
    return {
        "groups": [{"group": group, "name": _name(page, group)} for group in found],
        "total": total,
        "offset": offset,
        "page_size": PAGE_SIZE,
    }


@routes.get(f"{PREFIX}/groups/{{group_id:\\d+}}")
@staff_page("dashboard/group.html", allow=STAFF)
async def group(request: web.Request, page: Page) -> dict[str, Any]:
    group_id = int(request.match_info["group_id"])
    found = await page.services.groups.get(group_id)
    if found is None:
        raise web.HTTPNotFound(text="no such group")
    version = found.version_for(page.t.locale)
    return {
        "group": found,
        "name": _name(page, found),
        "version": version,
        "members": await page.services.groups.members(page.actor, group_id),
        "slots": [
            {"slot": slot, "label": slot.label_for(page.t.locale, found.default_locale)}
            for slot in found.slots
        ],
        "error": request.query.get("error", ""),
    }


@routes.post(f"{PREFIX}/groups/{{group_id:\\d+}}/close")
@staff_page("dashboard/group.html", allow=STAFF)
async def close(request: web.Request, page: Page) -> web.StreamResponse:
    group_id = int(request.match_info["group_id"])
    outcome = str(page.form.get("outcome", ""))
    try:
        await page.services.groups.close(page.actor, group_id, outcome)
    except GroupError:
        return see_other(f"{PREFIX}/groups/{group_id}?error=close")
    return see_other(f"{PREFIX}/groups/{group_id}")
