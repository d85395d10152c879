"""Broadcasts (``/dashboard/broadcasts``): the list (drafts, scheduled, being sent, sent, with
their progress and statistics per language), and composing: a text per language side by side,
the audience (everyone, or topics and languages) with the count per language the bot's composer
shows, sending now, scheduling, cancelling. Every step is the BroadcastService method the bot's
composer calls (handlers/broadcast/), with the same actor; saving recounts, without JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.services.broadcasts import BroadcastError, BroadcastView, Progress
from bot.services.delivery import DeliveryState
from bot.topics import TOPIC_LABELS
from bot.web.dashboard.pages import PREFIX, STAFF, Page, see_other, staff_page
from bot.web.events import SETTINGS

routes = web.RouteTableDef()

LISTED = 50
#: The audience filters the page offers (the bot's composer offers the same two).
FILTERS = ("locales", "topics")


def _counts(progress: Progress) -> list[dict[str, Any]]:
    """Per language: sent, failed or skipped, still to go."""
    rows = []
    for locale, states in sorted(progress.by_locale.items()):
        rows.append(
            {
                "locale": locale,
                "sent": states.get(DeliveryState.SENT, 0),
                "failed": states.get(DeliveryState.FAILED, 0)
                + states.get(DeliveryState.SKIPPED, 0),
                "waiting": states.get(DeliveryState.PENDING, 0)
                + states.get(DeliveryState.SENDING, 0),
            }
        )
    return rows


def _excerpt(page: Page, view: BroadcastView) -> str:
    version = view.version_for(page.t.locale)
    text = " ".join((version.text or "").split()) if version else ""
    return text if len(text) <= 80 else text[:79].rstrip() + "…"


@routes.get(f"{PREFIX}/broadcasts")
@staff_page("dashboard/broadcasts.html", allow=STAFF)
async def broadcasts(request: web.Request, page: Page) -> dict[str, Any]:
    service = page.services.broadcasts
    items = []
    for view in await service.listing(page.actor, limit=LISTED):
        progress = await service.progress(view.id) if view.status in ("sending", "done") else None
        items.append(
            {
                "broadcast": view,
                "excerpt": _excerpt(page, view),
                "progress": progress,
                "sent": progress.total(DeliveryState.SENT) if progress else 0,
                "total": progress.total() if progress else 0,
            }
        )
    return {"items": items}


@routes.post(f"{PREFIX}/broadcasts/new")
@staff_page("dashboard/broadcast.html", allow=STAFF)
async def new(request: web.Request, page: Page) -> web.StreamResponse:
    draft = await page.services.broadcasts.create_draft(page.actor)
    return see_other(f"{PREFIX}/broadcasts/{draft.id}")


async def _broadcast(page: Page, broadcast_id: int) -> BroadcastView:
    view = await page.services.broadcasts.get(page.actor, broadcast_id)
    if view is None:
        raise web.HTTPNotFound(text="no such broadcast")
    return view


@routes.get(f"{PREFIX}/broadcasts/{{broadcast_id:\\d+}}")
@staff_page("dashboard/broadcast.html", allow=STAFF)
async def broadcast(request: web.Request, page: Page) -> dict[str, Any]:
    service = page.services.broadcasts
    view = await _broadcast(page, int(request.match_info["broadcast_id"]))
    counts = await service.recipient_counts(view.audience)
    progress = await service.progress(view.id) if view.status in ("sending", "done") else None
    t = page.t
    topics = request.app[SETTINGS].topics
    return {
        "broadcast": view,
        "locales": service.locales,
        "topics": [(key, t.gettext(TOPIC_LABELS[key][1])) for key in topics if key in TOPIC_LABELS],
        "chosen": {key: set(view.audience.get(key, [])) for key in FILTERS},
        "counts": sorted(counts.items(), key=lambda item: (-item[1], item[0])),
        "counts_total": sum(counts.values()),
        "progress": _counts(progress) if progress else [],
        "timezone": str(service.tz),
        "error": request.query.get("error", ""),
    }


async def _save(page: Page, view: BroadcastView) -> BroadcastView:
    """The texts and the audience of the form, written as the composer writes them."""
    service = page.services.broadcasts
    for locale in service.locales:
        text = str(page.form.get(f"text_{locale}", "")).strip()
        if text:
            current = view.versions.get(locale)
            if current is None or current.text != text:
                view = await service.set_version(page.actor, view.id, locale, text=text)
        elif locale in view.versions:
            view = await service.remove_version(page.actor, view.id, locale)
    wanted = {key: set(map(str, page.form.getall(key, []))) for key in FILTERS}
    have = {key: set(view.audience.get(key, [])) for key in FILTERS}
    if wanted != have:
        if not any(wanted.values()):
            view = await service.clear_audience(page.actor, view.id)
        else:
            for key in FILTERS:
                for value in sorted(wanted[key] ^ have[key]):
                    view = await service.toggle_audience(page.actor, view.id, key, value)
    return view


def _back(broadcast_id: int, error: str = "") -> web.Response:
    suffix = f"?error={error}" if error else ""
    return see_other(f"{PREFIX}/broadcasts/{broadcast_id}{suffix}")


@routes.post(f"{PREFIX}/broadcasts/{{broadcast_id:\\d+}}/save")
@staff_page("dashboard/broadcast.html", allow=STAFF)
async def save(request: web.Request, page: Page) -> web.StreamResponse:
    view = await _broadcast(page, int(request.match_info["broadcast_id"]))
    try:
        await _save(page, view)
    except BroadcastError:
        return _back(view.id, "save")
    return _back(view.id)


@routes.post(f"{PREFIX}/broadcasts/{{broadcast_id:\\d+}}/send")
@staff_page("dashboard/broadcast.html", allow=STAFF)
async def send(request: web.Request, page: Page) -> web.StreamResponse:
    view = await _broadcast(page, int(request.match_info["broadcast_id"]))
    try:
        view = await _save(page, view)
        await page.services.broadcasts.send_now(page.actor, view.id)
    except BroadcastError:
        return _back(view.id, "send")
    return see_other(f"{PREFIX}/broadcasts")


@routes.post(f"{PREFIX}/broadcasts/{{broadcast_id:\\d+}}/schedule")
@staff_page("dashboard/broadcast.html", allow=STAFF)
async def schedule(request: web.Request, page: Page) -> web.StreamResponse:
    service = page.services.broadcasts
    view = await _broadcast(page, int(request.match_info["broadcast_id"]))
    try:
        at = datetime.fromisoformat(str(page.form.get("send_at", ""))).replace(tzinfo=service.tz)
    except ValueError:
        return _back(view.id, "when")
    try:
        view = await _save(page, view)
        await service.schedule_once(page.actor, view.id, at)
    except BroadcastError:
        return _back(view.id, "when")
    return see_other(f"{PREFIX}/broadcasts")


@routes.post(f"{PREFIX}/broadcasts/{{broadcast_id:\\d+}}/cancel")
@staff_page("dashboard/broadcast.html", allow=STAFF)
async def cancel(request: web.Request, page: Page) -> web.StreamResponse:
    """A draft is discarded; a scheduled or running one stops (its queued messages too)."""
    service = page.services.broadcasts
    view = await _broadcast(page, int(request.match_info["broadcast_id"]))
    if view.status == "draft":
        await service.discard(page.actor, view.id)
    else:
        await service.cancel(page.actor, view.id)
    return see_other(f"{PREFIX}/broadcasts")
