"""Translations on the dashboard (issue 14): per subject (events, groups, broadcasts) and
language what is missing, waiting for a translator, or submitted and to review; a task's page
with the source and the volunteer's or the machine's draft side by side, approve (with
corrections per field) and reject.

The calls are ``TranslationService``'s, as the bot's ``handlers/translations.py`` makes them:
``languages``, ``request``, ``waiting``, ``unassigned``, ``get``, ``approve``, ``reject``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.bidi import is_rtl_locale
from bot.i18n import Translator
from bot.services.permissions import NotAllowed
from bot.services.translations import FIELDS, TaskView, TranslationError
from bot.web.dashboard.overview import TAG
from bot.web.dashboard.pages import PREFIX, STAFF, Page, act, staff_page

routes = web.RouteTableDef()

TASK = r"{task_id:\d+}"
#: How many open projects and groups the page looks at.
GROUPS_SHOWN = 50


def subject_label(t: Translator, subject: str) -> str:
    return {
        "event": t.pgettext("translation subject", "Event"),
        "group": t.pgettext("translation subject", "Project or group"),
        "broadcast": t.pgettext("translation subject", "Broadcast"),
    }.get(subject, subject)


def field_label(t: Translator, field: str) -> str:
    _ = t.gettext
    return {
        "title": _("Title"),
        "name": _("Name"),
        "description": _("Description"),
        "rhythm": _("When it meets"),
        "text": _("Text"),
    }.get(field, field)


def state_label(t: Translator, state: str) -> str:
    return {
        # Translators: a language's state of an event's or group's text
        "done": t.pgettext("translation state", "Translated"),
        "review": t.pgettext("translation state", "To check again"),
        "waiting": t.pgettext("translation state", "Waiting for a translation"),
        "missing": t.pgettext("translation state", "Missing"),
    }.get(state, state)


def _task_row(t: Translator, task: TaskView) -> dict[str, Any]:
    return {
        "task": task,
        "subject": subject_label(t, task.subject),
        "language": t.language_in_mine(task.locale),
        "deadline": t.format_datetime(task.deadline, "short"),
    }


async def _subjects(page: Page) -> list[tuple[str, int, str]]:
    """(subject, id, title) of what may still need translating: the events being worked on,
    the open projects and groups, the broadcasts not yet sent."""
    services, locale = page.services, page.t.locale
    found: list[tuple[str, int, str]] = []
    for event in await services.events.desk(page.actor):
        shown = event.version_for(locale)
        found.append(("event", event.id, shown.title if shown else "…"))
    groups, _total = await services.groups.browse(limit=GROUPS_SHOWN)
    for group in groups:
        named = group.version_for(locale)
        found.append(("group", group.id, named.name if named and named.name else "…"))
    for broadcast in await services.broadcasts.upcoming():
        message = broadcast.version_for(locale)
        text = " ".join(TAG.sub(" ", (message.text if message else None) or "").split())[:60]
        found.append(("broadcast", broadcast.id, text or "…"))
    return found


@routes.get(f"{PREFIX}/translations")
@staff_page("dashboard/translations.html", allow=STAFF)
async def translations(request: web.Request, page: Page) -> dict[str, Any]:
    t, services = page.t, page.services
    rows = []
    for subject, subject_id, title in await _subjects(page):
        try:
            states = await services.translations.languages(page.actor, subject, subject_id)
        except (TranslationError, NotAllowed):
            continue
        gaps = [s for s in states if s.state != "done"]
        if not gaps:
            continue
        rows.append(
            {
                "subject": subject,
                "subject_id": subject_id,
                "kind": subject_label(t, subject),
                "title": title,
                "states": [
                    (t.language_in_mine(s.locale), s.state, state_label(t, s.state), s.task_id)
                    for s in gaps
                ],
                "requestable": any(s.state in ("missing", "review") for s in gaps),
            }
        )
    return {
        "submitted": [
            _task_row(t, task) for task in await services.translations.waiting(page.actor)
        ],
        "unassigned": [
            _task_row(t, task) for task in await services.translations.unassigned(page.actor)
        ],
        "subjects": rows,
        "done": request.query.get("done", ""),
    }


@routes.post(f"{PREFIX}/translations/request")
@staff_page("dashboard/translations.html", allow=STAFF)
async def request_translations(request: web.Request, page: Page) -> web.StreamResponse:
    subject = str(page.form.get("subject", ""))
    subject_id = str(page.form.get("subject_id", ""))
    if subject not in FIELDS or not subject_id.isdigit():
        raise web.HTTPBadRequest()
    return await act(
        page.services.translations.request(page.actor, subject, int(subject_id)),
        f"{PREFIX}/translations?done=requested",
        [(TranslationError, f"{PREFIX}/translations?done=nothing")],
    )


@routes.get(f"{PREFIX}/translations/{TASK}")
@staff_page("dashboard/translation.html", allow=STAFF)
async def task_page(request: web.Request, page: Page) -> dict[str, Any]:
    try:
        task = await page.services.translations.get(page.actor, int(request.match_info["task_id"]))
    except TranslationError:
        raise web.HTTPNotFound() from None
    t = page.t
    return {
        **_task_row(t, task),
        "source_language": t.language_in_mine(task.source_locale),
        "source_dir": "rtl" if is_rtl_locale(task.source_locale) else "ltr",
        "target_dir": "rtl" if is_rtl_locale(task.locale) else "ltr",
        "fields": [
            {
                "name": name,
                "label": field_label(t, name),
                "source": task.source.get(name, ""),
                "draft": (task.result or {}).get(name, ""),
            }
            for name in FIELDS.get(task.subject, ())
            if task.source.get(name) or (task.result or {}).get(name)
        ],
        "decidable": task.status == "submitted",
        "error": request.query.get("error", ""),
    }


@routes.post(f"{PREFIX}/translations/{TASK}/approve")
@staff_page("dashboard/translation.html", allow=STAFF)
async def approve(request: web.Request, page: Page) -> web.StreamResponse:
    task_id = int(request.match_info["task_id"])
    translations = page.services.translations
    try:
        task = await translations.get(page.actor, task_id)
    except TranslationError:
        raise web.HTTPNotFound() from None
    result = task.result or {}
    edits: dict[str, str] = {}
    for name in FIELDS.get(task.subject, ()):
        typed = page.form.get(f"field_{name}")
        if isinstance(typed, str) and typed.strip() and typed.strip() != result.get(name, ""):
            edits[name] = typed.strip()
    return await act(
        translations.approve(page.actor, task_id, edits or None),
        f"{PREFIX}/translations?done=approved",
        [(TranslationError, f"{PREFIX}/translations/{task_id}?error=approve")],
    )


@routes.post(f"{PREFIX}/translations/{TASK}/reject")
@staff_page("dashboard/translation.html", allow=STAFF)
async def reject(request: web.Request, page: Page) -> web.StreamResponse:
    task_id = int(request.match_info["task_id"])
    return await act(
        page.services.translations.reject(page.actor, task_id),
        f"{PREFIX}/translations?done=rejected",
        [(TranslationError, f"{PREFIX}/translations/{task_id}?error=reject")],
    )
