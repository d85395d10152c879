"""Ideas (``/dashboard/ideas``): the moderation queue, an idea's page (its text, the original
voice note playable, its status), status changes (a change tells the author in their language,
as the bot's buttons do), publish, reject with a reason, and the ideas hidden after residents'
reports with keep / hide. Every action is the IdeaService method the bot's moderation buttons
call (handlers/ideas.py), with the same actor."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from bot.rendering import IDEA_REASON_LABELS, IDEA_STATUS_LABELS
from bot.services.ideas import REJECT_REASONS, IdeaError, IdeaStatus, IdeaView
from bot.web.dashboard.pages import PREFIX, STAFF, Page, act, see_other, staff_page
from bot.web.events import APPLICATION

routes = web.RouteTableDef()

#: The statuses a coordinator sets by hand, in the order offered (as the bot's card).
SETTABLE = (
    IdeaStatus.UNDER_REVIEW,
    IdeaStatus.PLANNED,
    IdeaStatus.IN_PROGRESS,
    IdeaStatus.DONE,
    IdeaStatus.NOT_POSSIBLE,
    IdeaStatus.REJECTED,
)
#: These need one of ``REJECT_REASONS``.
NEEDS_REASON = (IdeaStatus.NOT_POSSIBLE, IdeaStatus.REJECTED)
#: The queue's filters: what ``inbox`` is asked for.
QUEUES: dict[str, tuple[IdeaStatus, ...] | None] = {
    "new": None,  # received and under review (the service's default)
    "planned": (IdeaStatus.PLANNED, IdeaStatus.IN_PROGRESS),
    "closed": (IdeaStatus.DONE, IdeaStatus.NOT_POSSIBLE, IdeaStatus.REJECTED, IdeaStatus.MERGED),
}
QUEUE_SIZE = 50


def _labels(page: Page) -> dict[str, Any]:
    t = page.t
    return {
        "status_labels": {key: t.gettext(msgid) for key, msgid in IDEA_STATUS_LABELS.items()},
        "reason_labels": {key: t.gettext(msgid) for key, msgid in IDEA_REASON_LABELS.items()},
    }


@routes.get(f"{PREFIX}/ideas")
@staff_page("dashboard/ideas.html", allow=STAFF)
async def ideas(request: web.Request, page: Page) -> dict[str, Any]:
    queue = request.query.get("queue", "new")
    if queue not in QUEUES:
        queue = "new"
    ideas = page.services.ideas
    return {
        "queue": queue,
        "queues": list(QUEUES),
        "ideas": await ideas.inbox(page.actor, statuses=QUEUES[queue], limit=QUEUE_SIZE),
        "reported": await ideas.reported(page.actor),
        **_labels(page),
    }


async def _idea(page: Page, idea_id: int) -> IdeaView:
    idea = await page.services.ideas.get(page.actor, idea_id)
    if idea is None:
        raise web.HTTPNotFound(text="no such idea")
    return idea


@routes.get(f"{PREFIX}/ideas/{{idea_id:\\d+}}")
@staff_page("dashboard/idea.html", allow=STAFF)
async def idea(request: web.Request, page: Page) -> dict[str, Any]:
    found = await _idea(page, int(request.match_info["idea_id"]))
    translated = await page.services.ideas.machine_translation(page.actor, found.id, page.t.locale)
    return {
        "idea": found,
        "translation": translated,
        "settable": [status for status in SETTABLE if status != found.status],
        "needs_reason": NEEDS_REASON,
        "reasons": REJECT_REASONS,
        "error": request.query.get("error", ""),
        **_labels(page),
    }


@routes.get(f"{PREFIX}/ideas/{{idea_id:\\d+}}/voice")
@staff_page("dashboard/idea.html", allow=STAFF)
async def voice(request: web.Request, page: Page) -> web.StreamResponse:
    """The idea's original voice note, fetched from Telegram through the bot (getFile)."""
    found = await _idea(page, int(request.match_info["idea_id"]))
    bot = getattr(request.app[APPLICATION], "bot", None)
    if not found.voice_file_id or bot is None:
        raise web.HTTPNotFound(text="no voice note")
    telegram_file = await bot.get_file(found.voice_file_id)
    body = bytes(await telegram_file.download_as_bytearray())
    return web.Response(
        body=body,
        content_type="audio/ogg",
        headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"},
    )


def _here(idea_id: int) -> str:
    return f"{PREFIX}/ideas/{idea_id}"


async def _act(action: Awaitable[object], idea_id: int, done: str) -> web.Response:
    """An idea's form: to ``done``, or back to its page saying it didn't change."""
    return await act(action, done, [(IdeaError, _here(idea_id) + "?error=unchanged")])


@routes.post(f"{PREFIX}/ideas/{{idea_id:\\d+}}/publish")
@staff_page("dashboard/idea.html", allow=STAFF)
async def publish(request: web.Request, page: Page) -> web.StreamResponse:
    idea_id = int(request.match_info["idea_id"])
    return await _act(page.services.ideas.publish(page.actor, idea_id), idea_id, _here(idea_id))


@routes.post(f"{PREFIX}/ideas/{{idea_id:\\d+}}/status")
@staff_page("dashboard/idea.html", allow=STAFF)
async def status(request: web.Request, page: Page) -> web.StreamResponse:
    """A new status (a rejection with its reason); the author hears it in their language."""
    idea_id = int(request.match_info["idea_id"])
    wanted = str(page.form.get("status", ""))
    reason = str(page.form.get("reason", "")) or None
    if wanted not in {str(s) for s in SETTABLE}:
        return see_other(_here(idea_id) + "?error=unchanged")
    status = IdeaStatus(wanted)
    if status in NEEDS_REASON and reason not in REJECT_REASONS:
        return see_other(_here(idea_id) + "?error=reason")
    reason = reason if status in NEEDS_REASON else None
    return await _act(
        page.services.ideas.set_status(page.actor, idea_id, status, reason=reason),
        idea_id,
        _here(idea_id),
    )


@routes.post(f"{PREFIX}/ideas/{{idea_id:\\d+}}/keep")
@staff_page("dashboard/idea.html", allow=STAFF)
async def keep(request: web.Request, page: Page) -> web.StreamResponse:
    """A reported idea stays public: back on the board, its reports cleared."""
    idea_id = int(request.match_info["idea_id"])
    return await _act(
        page.services.ideas.keep_reported(page.actor, idea_id), idea_id, f"{PREFIX}/ideas"
    )


@routes.post(f"{PREFIX}/ideas/{{idea_id:\\d+}}/hide")
@staff_page("dashboard/idea.html", allow=STAFF)
async def hide(request: web.Request, page: Page) -> web.StreamResponse:
    """A reported (or any public) idea goes off the board for good."""
    idea_id = int(request.match_info["idea_id"])
    return await _act(
        page.services.ideas.hide_reported(page.actor, idea_id), idea_id, f"{PREFIX}/ideas"
    )
