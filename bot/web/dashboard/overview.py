"""The overview (``/dashboard/``): residents per language, upcoming events with their fill
levels, open ideas, translation tasks, scheduled and running broadcasts, the outbox's health
and the messages held for quiet hours. Everything comes from the services; residents appear
only as counts. Partners see the upcoming events only (everything else is coordinators')."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.services.broadcasts import Version
from bot.services.events.views import REMINDER_KIND, EventVersionView
from bot.services.translations import TaskStatus
from bot.web.dashboard.pages import PREFIX, STAFF_OR_PARTNER, Page, staff_page

routes = web.RouteTableDef()

#: Upcoming events shown.
EVENTS_SHOWN = 10
#: Telegram HTML in a broadcast's text, dropped from its excerpt (the page escapes the rest).
TAG = re.compile(r"<[^>]*>")
#: Failed deliveries are counted over this long.
FAILED_WINDOW = timedelta(days=7)


@routes.get(f"{PREFIX}/")
@staff_page("dashboard/overview.html", allow=STAFF_OR_PARTNER)
async def overview(request: web.Request, page: Page) -> dict[str, Any]:
    services, actor = page.services, page.actor
    events, events_total = await services.events.upcoming(limit=EVENTS_SHOWN)
    found: dict[str, Any] = {
        "events": [
            {
                "event": event,
                "title": _title(event.version_for(page.t.locale)),
                "percent": (
                    min(100, round(100 * event.seats_taken / event.capacity))
                    if event.capacity
                    else None
                ),
            }
            for event in events
        ],
        "events_total": events_total,
    }
    if not actor.is_staff:
        return found
    residents = await services.residents.count_by_locale(actor)
    tasks = await services.translations.task_counts(actor)
    found |= {
        "residents": sorted(residents.items(), key=lambda item: (-item[1], item[0])),
        "residents_total": sum(residents.values()),
        "ideas_open": await services.ideas.inbox_count(actor),
        "tasks": [
            (locale, counts.get(TaskStatus.OPEN, 0), counts.get(TaskStatus.SUBMITTED, 0))
            for locale, counts in sorted(tasks.items())
        ],
        "broadcasts": [
            {"broadcast": broadcast, "excerpt": _excerpt(broadcast.version_for(page.t.locale))}
            for broadcast in await services.broadcasts.upcoming()
        ],
        "health": await services.delivery.health(
            failed_since=page.now - FAILED_WINDOW, scheduled_kinds=(REMINDER_KIND,)
        ),
    }
    return found


def _title(version: EventVersionView | None) -> str:
    return version.title if version and version.title else "…"


def _excerpt(version: Version | None, limit: int = 80) -> str:
    text = " ".join(TAG.sub(" ", version.text or "").split()) if version else ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
