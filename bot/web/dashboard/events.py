"""Events on the dashboard (issue 14): the list (upcoming and drafts, fill levels, status), one
form to create and edit an event with a title and description per language side by side, the
event's page (publish, announce, cancel, attendees, the .xlsx export, flyer and calendar
links).

Every action is an ``EventService`` call the bot's handlers make too (``handlers/newevent.py``):
``desk``, ``get``, ``create_draft``, ``update``, ``set_version``, ``publish``, ``announce``,
``cancel``, ``attendees``. The service's errors are only placed next to the field they concern.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.bidi import is_rtl_locale
from bot.config import Settings
from bot.i18n import Translator
from bot.rendering import topic_label
from bot.services.events import (
    CapacityTooLow,
    EndBeforeStart,
    EventError,
    EventView,
    InvalidTime,
    InvalidValue,
    MissingTitle,
    NotEditable,
    TextTooLong,
    WindowClosesFirst,
)
from bot.sheets import attendee_needs, attendee_workbook, signup_state
from bot.web.dashboard.pages import (
    PREFIX,
    STAFF,
    STAFF_OR_PARTNER,
    Page,
    act,
    see_other,
    staff_page,
)
from bot.web.events import SETTINGS

routes = web.RouteTableDef()

EVENT = r"{event_id:\d+}"
#: The form's fields besides the versions: (name, kind).
TIME_FIELDS = ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at")
TEXT_FIELDS = ("place_name", "address")
NUMBER_FIELDS = ("capacity", "reminder_hours")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _settings(page: Page) -> Settings:
    settings: Settings = page.request.app[SETTINGS]
    return settings


def _locales(page: Page) -> list[str]:
    """The configured languages, the default one first."""
    settings = _settings(page)
    return [settings.default_locale] + [
        loc for loc in settings.locales if loc != settings.default_locale
    ]


def _local_input(page: Page, value: datetime | None) -> str:
    """A moment as a datetime-local input's value, in the neighbourhood's time zone."""
    if value is None:
        return ""
    return value.astimezone(_settings(page).tz).strftime("%Y-%m-%dT%H:%M")


async def _event(page: Page, request: web.Request) -> EventView:
    event = await page.services.events.get(page.actor, int(request.match_info["event_id"]))
    if event is None:
        raise web.HTTPNotFound()
    return event


def _title(event: EventView, locale: str) -> str:
    version = event.version_for(locale)
    return version.title if version and version.title else "…"


def status_label(t: Translator, status: str) -> str:
    labels = {
        "draft": t.pgettext("event status", "Draft"),
        "proposed": t.pgettext("event status", "Waiting for approval"),
        "scheduled": t.pgettext("event status", "Scheduled"),
        "published": t.pgettext("event status", "Published"),
        "cancelled": t.pgettext("event status", "Cancelled"),
        "rejected": t.pgettext("event status", "Rejected"),
    }
    return labels.get(str(status), str(status))


def _percent(event: EventView) -> int | None:
    if not event.capacity:
        return None
    return min(100, round(100 * event.seats_taken / event.capacity))


# --- the list ------------------------------------------------------------------------------


@routes.get(f"{PREFIX}/events")
@staff_page("dashboard/events.html", allow=STAFF_OR_PARTNER)
async def events(request: web.Request, page: Page) -> dict[str, Any]:
    found = await page.services.events.desk(page.actor)
    return {
        "events": [
            {
                "event": event,
                "title": _title(event, page.t.locale),
                "status": status_label(page.t, event.status),
                "percent": _percent(event),
            }
            for event in found
        ],
    }


# --- the form ------------------------------------------------------------------------------


@dataclass
class Form:
    """What the form shows: the typed values (strings) and the errors per field."""

    values: dict[str, str]
    errors: dict[str, str]


def _values_of(page: Page, event: EventView | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if event is None:
        values |= {"capacity": "0", "reminder_hours": "24"}
        return values
    for key in TIME_FIELDS:
        values[key] = _local_input(page, getattr(event, key))
    values["place_name"] = event.place_name or ""
    values["address"] = event.address or ""
    values["capacity"] = str(event.capacity)
    values["reminder_hours"] = str(event.reminder_hours)
    values["topic"] = event.topics[0] if event.topics else ""
    for locale, version in event.versions.items():
        values[f"title_{locale}"] = version.title
        values[f"description_{locale}"] = version.description or ""
    return values


def _form_context(page: Page, event: EventView | None, form: Form, action: str) -> dict[str, Any]:
    t = page.t
    settings = _settings(page)
    return {
        "event": event,
        "action": action,
        "values": form.values,
        "errors": form.errors,
        "locales": [
            {
                "locale": locale,
                "name": t.language_in_mine(locale),
                "default": locale == settings.default_locale,
                "dir": "rtl" if is_rtl_locale(locale) else "ltr",
                "review": bool(
                    event and locale in event.versions and event.versions[locale].needs_review
                ),
            }
            for locale in _locales(page)
        ],
        "topics": [(key, topic_label(t, key)) for key in settings.topics],
        "tz": str(settings.tz),
    }


@routes.get(f"{PREFIX}/events/new")
@staff_page("dashboard/event_form.html", allow=STAFF_OR_PARTNER)
async def new_event(request: web.Request, page: Page) -> dict[str, Any]:
    return _form_context(page, None, Form(_values_of(page, None), {}), f"{PREFIX}/events/new")


@routes.get(f"{PREFIX}/events/{EVENT}/edit")
@staff_page("dashboard/event_form.html", allow=STAFF_OR_PARTNER)
async def edit_event(request: web.Request, page: Page) -> dict[str, Any]:
    event = await _event(page, request)
    return _form_context(
        page, event, Form(_values_of(page, event), {}), f"{PREFIX}/events/{event.id}/edit"
    )


def _typed(page: Page) -> dict[str, str]:
    return {
        key: value.strip() if isinstance(value, str) else ""
        for key, value in page.form.items()
        if key != "csrf"
    }


def _parse(page: Page, typed: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The form's event fields as the service takes them; what can't be read goes to
    ``errors``."""
    _ = page.t.gettext
    tz = _settings(page).tz
    fields: dict[str, Any] = {}
    for key in TIME_FIELDS:
        text = typed.get(key, "")
        if not text:
            fields[key] = None
            continue
        try:
            fields[key] = datetime.fromisoformat(text).replace(tzinfo=tz)
        except ValueError:
            errors[key] = _("Please enter a date and a time.")
    for key in TEXT_FIELDS:
        fields[key] = typed.get(key) or None
    for key in NUMBER_FIELDS:
        text = typed.get(key, "") or "0"
        if text.isdigit():
            fields[key] = int(text)
        else:
            errors[key] = _("Please enter a whole number, 0 or more.")
    topic = typed.get("topic", "")
    fields["topics"] = [topic] if topic in _settings(page).topics else []
    return fields


def _changed(event: EventView, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in fields.items()
        if (list(getattr(event, key)) if key == "topics" else getattr(event, key)) != value
    }


def _event_error(t: Translator, error: EventError, changed: dict[str, Any]) -> tuple[str, str]:
    """(the field, the message) for the service's refusal of a change."""
    _ = t.gettext
    if isinstance(error, EndBeforeStart):
        return "ends_at", _("The end must come after the start. Please choose a later time.")
    if isinstance(error, WindowClosesFirst):
        return "signup_closes_at", _(
            "Sign-up must close after it opens. Please choose a later time."
        )
    if isinstance(error, InvalidTime):
        field = "starts_at" if "starts_at" in changed else "signup_closes_at"
        return field, _("That time has already passed. Please choose a later one.")
    if isinstance(error, CapacityTooLow):
        return "capacity", t.ngettext(
            "👥 {count} seat is taken already; there can't be fewer seats. "
            "Whoever signed up keeps their seat.",
            "👥 {count} seats are taken already; there can't be fewer seats. "
            "Whoever signed up keeps their seat.",
            error.taken,
        ).format(count=t.format_number(error.taken))
    if isinstance(error, TextTooLong):
        field = "address" if error.limit == 300 and "address" in changed else "place_name"
        return field, _too_long(t, error.limit)
    if isinstance(error, InvalidValue):
        field = next((key for key in NUMBER_FIELDS if key in str(error)), "capacity")
        return field, _("That number is too large.")
    return "form", _("Please check what you sent and try again.")


def _too_long(t: Translator, limit: int) -> str:
    return t.gettext("That is too long: please use at most {limit} characters.").format(
        limit=t.format_number(limit)
    )


async def _save(page: Page, event: EventView, typed: dict[str, str]) -> tuple[EventView, Form]:
    """Write the form into ``event``: its fields in one ``update``, then each language's
    title and description with ``set_version`` (the default language first)."""
    services, actor, t = page.services, page.actor, page.t
    errors: dict[str, str] = {}
    fields = _parse(page, typed, errors)
    changed = _changed(event, {k: v for k, v in fields.items() if _field_ok(k, errors)})
    if changed:
        try:
            event = await services.events.update(actor, event.id, **changed)
        except EventError as error:
            field, message = _event_error(t, error, changed)
            errors[field] = message
    for locale in _locales(page):
        title = typed.get(f"title_{locale}", "")
        description = typed.get(f"description_{locale}", "")
        version = event.versions.get(locale)
        if version is None and not title and not description:
            continue  # a language left empty
        if version is not None and (title, description) == (
            version.title,
            version.description or "",
        ):
            continue
        try:
            event = await services.events.set_version(
                actor,
                event.id,
                locale,
                title=title,
                description=description if description or version else None,
            )
        except MissingTitle:
            errors[f"title_{locale}"] = t.gettext("Please write the title.")
        except TextTooLong as error:
            key = "title" if error.limit < 1000 else "description"
            errors[f"{key}_{locale}"] = _too_long(t, error.limit)
    return event, Form(typed, errors)


def _field_ok(key: str, errors: dict[str, str]) -> bool:
    return key not in errors


@routes.post(f"{PREFIX}/events/new")
@staff_page("dashboard/event_form.html", allow=STAFF_OR_PARTNER)
async def create_event(request: web.Request, page: Page) -> dict[str, Any] | web.StreamResponse:
    event = await page.services.events.create_draft(page.actor)
    event, form = await _save(page, event, _typed(page))
    if form.errors:  # the draft exists now: the form goes on as its edit form
        return _form_context(page, event, form, f"{PREFIX}/events/{event.id}/edit")
    return see_other(f"{PREFIX}/events/{event.id}")


@routes.post(f"{PREFIX}/events/{EVENT}/edit")
@staff_page("dashboard/event_form.html", allow=STAFF_OR_PARTNER)
async def save_event(request: web.Request, page: Page) -> dict[str, Any] | web.StreamResponse:
    event = await _event(page, request)
    try:
        event, form = await _save(page, event, _typed(page))
    except NotEditable:
        raise web.HTTPConflict() from None
    if form.errors:
        return _form_context(page, event, form, f"{PREFIX}/events/{event.id}/edit")
    return see_other(f"{PREFIX}/events/{event.id}")


# --- one event -----------------------------------------------------------------------------


def public_links(page: Page, event: EventView) -> list[tuple[str, str]]:
    """The flyer (the coordinator's language and the event's next one) and the .ics file,
    served by this same server (``bot/web/events.py``), as the bot's tools link them."""
    _ = page.t.gettext
    links: list[tuple[str, str]] = []
    if event.starts_at is None:
        return links
    if event.status == "published":
        mine = page.t.locale
        second = next((loc for loc in (event.default_locale, *event.versions) if loc != mine), None)
        query = urlencode({"lang": mine} | ({"lang2": second} if second else {}))
        links.append((_("Flyer to print"), f"/events/{event.id}/flyer?{query}"))
    if event.status in ("published", "cancelled"):
        # Translators: a link to the event's calendar file (.ics)
        links.append((_("Calendar file (.ics)"), f"/events/{event.id}.ics"))
    return links


@routes.get(f"{PREFIX}/events/{EVENT}")
@staff_page("dashboard/event.html", allow=STAFF_OR_PARTNER)
async def event_page(request: web.Request, page: Page) -> dict[str, Any]:
    event = await _event(page, request)
    t = page.t
    summary = await page.services.events.attendees(page.actor, event.id)

    def row(signup: Any) -> dict[str, Any]:
        return {
            "signup": signup,
            "language": t.language_in_mine(signup.locale),
            "needs": attendee_needs(t, signup, isolate=False),
            "state": signup_state(t, signup),
        }

    announce: dict[str, int] = {}
    if page.actor.is_staff and event.status == "published":
        announce["everyone"] = sum((await page.services.events.announce_counts({})).values())
        if event.topics:
            announce["topics"] = sum(
                (
                    await page.services.events.announce_counts({"topics": list(event.topics)})
                ).values()
            )
    return {
        "event": event,
        "title": _title(event, t.locale),
        "status": status_label(t, event.status),
        "percent": _percent(event),
        "versions": [
            (t.language_in_mine(locale), event.versions[locale])
            for locale in _locales(page)
            if locale in event.versions
        ],
        "summary": summary,
        "confirmed": [row(s) for s in summary.confirmed],
        "waitlisted": [row(s) for s in summary.waitlisted],
        "links": public_links(page, event),
        "announce": announce,
        "topics": [topic_label(t, key) for key in event.topics],
        "done": request.query.get("done", ""),
    }


@routes.get(f"{PREFIX}/events/{EVENT}/attendees.xlsx")
@staff_page("dashboard/event.html", allow=STAFF_OR_PARTNER)
async def export(request: web.Request, page: Page) -> web.StreamResponse:
    event_id = int(request.match_info["event_id"])
    data = attendee_workbook(page.t, await page.services.events.attendees(page.actor, event_id))
    return web.Response(
        body=data,
        content_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="event-{event_id}-attendees.xlsx"',
            "Cache-Control": "no-store",
        },
    )


def _refusals(event_id: int) -> list[tuple[type[Exception], str]]:
    """Where a refused action on an event's page goes: the page, saying why."""
    here = f"{PREFIX}/events/{event_id}?done="
    return [
        (MissingTitle, here + "no-title"),
        (InvalidTime, here + "no-start"),
        (EventError, here + "not-now"),
    ]


@routes.post(f"{PREFIX}/events/{EVENT}/publish")
@staff_page("dashboard/event.html", allow=STAFF)
async def publish(request: web.Request, page: Page) -> web.StreamResponse:
    event_id = int(request.match_info["event_id"])
    return await act(
        page.services.events.publish(page.actor, event_id),
        f"{PREFIX}/events/{event_id}?done=published",
        _refusals(event_id),
    )


@routes.post(f"{PREFIX}/events/{EVENT}/{{decision:approve|reject}}")
@staff_page("dashboard/event.html", allow=STAFF)
async def decide(request: web.Request, page: Page) -> web.StreamResponse:
    """A partner's proposal approved (published) or turned down, as the bot's ✅ / ❌ on a
    proposal: the partner hears the decision in their language, in the same commit."""
    event_id = int(request.match_info["event_id"])
    events = page.services.events
    action = (
        events.approve(page.actor, event_id)
        if request.match_info["decision"] == "approve"
        else events.reject(page.actor, event_id)
    )
    return await act(action, f"{PREFIX}/events/{event_id}?done=decided", _refusals(event_id))


@routes.post(f"{PREFIX}/events/{EVENT}/propose")
@staff_page("dashboard/event.html", allow=STAFF_OR_PARTNER)
async def propose(request: web.Request, page: Page) -> web.StreamResponse:
    """A partner organisation sends its event to the coordinators, as the bot's "📨 Send for
    approval" does (the service tells every coordinator once per proposed state)."""
    event_id = int(request.match_info["event_id"])
    return await act(
        page.services.events.propose(page.actor, event_id),
        f"{PREFIX}/events/{event_id}?done=proposed",
        _refusals(event_id),
    )


@routes.post(f"{PREFIX}/events/{EVENT}/announce")
@staff_page("dashboard/event.html", allow=STAFF)
async def announce(request: web.Request, page: Page) -> web.StreamResponse:
    event = await _event(page, request)
    audience = {"topics": list(event.topics)} if page.form.get("audience") == "topics" else {}
    return await act(
        page.services.events.announce(page.actor, event.id, audience),
        f"{PREFIX}/events/{event.id}?done=announced",
        _refusals(event.id),
    )


@routes.get(f"{PREFIX}/events/{EVENT}/cancel")
@staff_page("dashboard/event_cancel.html", allow=STAFF)
async def cancel_confirm(request: web.Request, page: Page) -> dict[str, Any]:
    event = await _event(page, request)
    return {"event": event, "title": _title(event, page.t.locale)}


@routes.post(f"{PREFIX}/events/{EVENT}/cancel")
@staff_page("dashboard/event_cancel.html", allow=STAFF)
async def cancel(request: web.Request, page: Page) -> web.StreamResponse:
    event_id = int(request.match_info["event_id"])
    return await act(
        page.services.events.cancel(page.actor, event_id),
        f"{PREFIX}/events/{event_id}?done=cancelled",
        _refusals(event_id),
    )
