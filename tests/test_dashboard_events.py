"""The dashboard's events and translations pages (issue 14): every route refuses without a
session, the wrong role and a missing or wrong CSRF token; an event made in the form with a
German and a Turkish title, published, reaches a Turkish resident's list in Turkish; bad input
comes back next to its field with what was typed; the attendees, the export, cancelling; a
volunteer's Arabic translation approved on its page becomes the event's Arabic version.
Real SQLite, aiohttp's test client (fixtures of tests/test_dashboard.py)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from openpyxl import load_workbook

from bot.services.permissions import Actor
from bot.services.translations import TaskStatus
from bot.web.dashboard.pages import COOKIE, CSRF_FIELD
from bot.web.events import SETTINGS
from storage.models import Role
from tests.support.clock import TEST_START
from tests.test_dashboard import PARTNER_ID, STAFF_ID, Dashboard, _dashboard

TURKISH_ID = 5001
ARABIC_ID = 5002
TRANSLATOR_ID = 5003
OTHER_PARTNER_ID = 5004


@pytest.fixture
async def dashboard(tmp_path: Path) -> AsyncIterator[Dashboard]:
    async for found in _dashboard(tmp_path, "https://quartier.example.org"):
        yield found


def _local(dashboard: Dashboard, moment: datetime) -> str:
    """``moment`` as a browser's datetime-local field sends it: local time, no zone."""
    zone = dashboard.client.server.app[SETTINGS].tz
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


class Desk:
    """A logged-in staff member's browser: GETs and POSTs with the session and its token."""

    def __init__(self, dashboard: Dashboard, session_id: str) -> None:
        self.dashboard = dashboard
        self.session_id = session_id
        self.token = dashboard.services.dashboard.csrf_token(session_id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={self.session_id}"}

    async def get(self, path: str) -> tuple[int, str]:
        response = await self.dashboard.client.get(
            path, headers=self.headers, allow_redirects=False
        )
        return response.status, (await response.read()).decode("utf-8", "replace")

    async def post(
        self, path: str, form: dict[str, str] | None = None, *, csrf: str | None = None
    ) -> tuple[int, str, str]:
        """(status, Location, body)."""
        data = {CSRF_FIELD: self.token if csrf is None else csrf, **(form or {})}
        if csrf == "":
            data.pop(CSRF_FIELD)
        response = await self.dashboard.client.post(
            path, data=data, headers=self.headers, allow_redirects=False
        )
        return response.status, response.headers.get("Location", ""), await response.text()


async def _desk(dashboard: Dashboard, telegram_id: int, role: Role, locale: str = "de") -> Desk:
    actor = await dashboard.person(telegram_id, locale, role)
    return Desk(dashboard, await dashboard.login(actor))


def _event_form(dashboard: Dashboard, **values: str) -> dict[str, str]:
    start = TEST_START + timedelta(days=3)
    return {
        "title_de": "Nachbarschaftsfest",
        "description_de": "Mit Musik und Kuchen.",
        "starts_at": _local(dashboard, start),
        "ends_at": _local(dashboard, start + timedelta(hours=3)),
        "place_name": "Hof der Schule",
        "address": "Lindenstraße 5",
        "capacity": "20",
        "reminder_hours": "24",
        "topic": "",
        **values,
    }


async def _make_event(desk: Desk, **values: str) -> int:
    status, location, body = await desk.post(
        "/dashboard/events/new", _event_form(desk.dashboard, **values)
    )
    assert status == 303, body
    found = re.fullmatch(r"/dashboard/events/(\d+)", location)
    assert found, location
    return int(found.group(1))


ROUTES_GET = (
    "/dashboard/events",
    "/dashboard/events/new",
    "/dashboard/events/{id}",
    "/dashboard/events/{id}/edit",
    "/dashboard/events/{id}/cancel",
    "/dashboard/events/{id}/attendees.xlsx",
    "/dashboard/translations",
    "/dashboard/translations/{task}",
)
ROUTES_POST = (
    "/dashboard/events/new",
    "/dashboard/events/{id}/edit",
    "/dashboard/events/{id}/publish",
    "/dashboard/events/{id}/propose",
    "/dashboard/events/{id}/approve",
    "/dashboard/events/{id}/reject",
    "/dashboard/events/{id}/announce",
    "/dashboard/events/{id}/cancel",
    "/dashboard/translations/request",
    "/dashboard/translations/{task}/approve",
    "/dashboard/translations/{task}/reject",
)


async def _event_and_task(dashboard: Dashboard, desk: Desk) -> tuple[int, int]:
    event_id = await _make_event(desk)
    staff = await dashboard.services.residents.actor(STAFF_ID)
    (task, *_rest) = await dashboard.services.translations.request(staff, "event", event_id, ["ar"])
    return event_id, task.id


async def test_every_route_needs_a_session_and_every_post_its_csrf_token(
    dashboard: Dashboard,
) -> None:
    desk = await _desk(dashboard, STAFF_ID, Role.COORDINATOR)
    event_id, task_id = await _event_and_task(dashboard, desk)
    for route in ROUTES_GET + ROUTES_POST:
        path = route.format(id=event_id, task=task_id)
        for method in (dashboard.client.get, dashboard.client.post):
            if route not in (ROUTES_GET if method == dashboard.client.get else ROUTES_POST):
                continue
            response = await method(path, allow_redirects=False)
            assert response.status == 303, path
            assert response.headers["Location"] == "/dashboard/login", path
    for route in ROUTES_GET:
        path = route.format(id=event_id, task=task_id)
        status, _body = await desk.get(path)
        assert status == 200, path
    other = await dashboard.login(await dashboard.services.residents.actor(STAFF_ID))
    for route in ROUTES_POST:
        path = route.format(id=event_id, task=task_id)
        for csrf in ("", "forged", dashboard.services.dashboard.csrf_token(other)):
            status, _location, body = await desk.post(path, {"subject": "event"}, csrf=csrf)
            assert status == 403, (path, csrf)
            assert dashboard.text("de", "Not allowed") in body
    # Nothing happened: the event is still a draft, the task still open.
    event = await dashboard.services.events.get(
        await dashboard.services.residents.actor(STAFF_ID), event_id
    )
    assert event is not None and event.status == "draft"


async def test_a_partner_is_refused_where_the_services_refuse(dashboard: Dashboard) -> None:
    staff_desk = await _desk(dashboard, STAFF_ID, Role.COORDINATOR)
    staff_event, task_id = await _event_and_task(dashboard, staff_desk)
    assert (await staff_desk.post(f"/dashboard/events/{staff_event}/publish"))[0] == 303

    partner = await _desk(dashboard, PARTNER_ID, Role.PARTNER)
    # Its own event: a proposal it may write, not publish, announce or cancel.
    own = await _make_event(partner, title_de="Lesecafé")
    status, body = await partner.get(f"/dashboard/events/{own}")
    assert status == 200 and "Lesecafé" in body
    assert dashboard.text("de", "Waiting for approval", "event status") in body
    for action in ("publish", "announce", "cancel"):
        assert (await partner.post(f"/dashboard/events/{own}/{action}"))[0] == 403, action
    # ... but send it for approval, as in the bot: the coordinator hears of it, once.
    assert dashboard.text("de", "📨 Send for approval") in body

    async def queued() -> int:
        return sum(d.due + d.waiting for d in await dashboard.services.delivery.depth())

    counts = [await queued()]
    for _ in range(2):  # a double click tells once
        status, location, _body = await partner.post(f"/dashboard/events/{own}/propose")
        assert (status, location) == (303, f"/dashboard/events/{own}?done=proposed")
        counts.append(await queued())
    # Each coordinator and admin once (the coordinator here and the settings' admin).
    assert counts[1] - counts[0] == 2 and counts[2] == counts[1]
    # Another partner doesn't see the proposal at all.
    other = await _desk(dashboard, OTHER_PARTNER_ID, Role.PARTNER)
    assert (await other.get(f"/dashboard/events/{own}"))[0] == 404
    # The partner can't decide on it; a coordinator approves it from the desk, and the
    # partner hears it (one message more).
    assert (await partner.post(f"/dashboard/events/{own}/approve"))[0] == 403
    status, body = await staff_desk.get(f"/dashboard/events/{own}")
    assert f'action="/dashboard/events/{own}/approve"' in body
    status, location, _body = await staff_desk.post(f"/dashboard/events/{own}/approve")
    assert (status, location) == (303, f"/dashboard/events/{own}?done=decided")
    assert await queued() == counts[2] + 1
    staff = await dashboard.services.residents.actor(STAFF_ID)
    decided = await dashboard.services.events.get(staff, own)
    assert decided is not None and decided.status == "published"
    assert (await partner.get(f"/dashboard/events/{own}/cancel"))[0] == 403
    # The coordinators' event: public, but its sign-ups aren't the partner's.
    assert (await partner.get(f"/dashboard/events/{staff_event}"))[0] == 403
    assert (await partner.get(f"/dashboard/events/{staff_event}/attendees.xlsx"))[0] == 403
    status, _loc, _body = await partner.post(
        f"/dashboard/events/{staff_event}/edit", _event_form(dashboard, title_de="Gekapert")
    )
    assert status == 403
    # Only its own events in the list.
    status, body = await partner.get("/dashboard/events")
    assert status == 200 and "Lesecafé" in body and "Nachbarschaftsfest" not in body
    # Published now: public, but its sign-ups are the first partner's and the coordinators'.
    assert (await other.get(f"/dashboard/events/{own}"))[0] == 403
    _status, body = await other.get("/dashboard/events")
    assert "Lesecafé" not in body
    # Translations are the coordinators'.
    assert (await partner.get("/dashboard/translations"))[0] == 403
    assert (await partner.get(f"/dashboard/translations/{task_id}"))[0] == 403
    assert (await partner.post(f"/dashboard/translations/{task_id}/approve"))[0] == 403


async def test_an_event_made_in_the_form_reaches_a_turkish_resident_in_turkish(
    dashboard: Dashboard,
) -> None:
    desk = await _desk(dashboard, STAFF_ID, Role.COORDINATOR)
    status, body = await desk.get("/dashboard/events/new")
    assert status == 200
    # A column per language, the default one first, each field labelled.
    columns = re.findall(r'<div class="language" lang="([a-z_]+)"', body)
    assert columns[0] == "de" and {"tr", "ar", "uk"} <= set(columns)
    for field in ("title_tr", "description_ar", "starts_at", "capacity", "signup_closes_at"):
        assert f'<label for="{field}">' in body and f'id="{field}"' in body
    assert f'name="{CSRF_FIELD}"' in body

    event_id = await _make_event(
        desk, title_tr="Mahalle şenliği", description_tr="Müzik ve pasta ile."
    )
    status, body = await desk.get(f"/dashboard/events/{event_id}")
    assert status == 200 and "Mahalle şenliği" in body
    assert dashboard.text("de", "Draft", "event status") in body
    status, location, _body = await desk.post(f"/dashboard/events/{event_id}/publish")
    assert (status, location) == (303, f"/dashboard/events/{event_id}?done=published")

    # What the bot shows a Turkish resident (handlers/shared/events.py: upcoming).
    await dashboard.services.residents.register(TURKISH_ID, "tr")
    found, total = await dashboard.services.events.upcoming(limit=3)
    assert total == 1
    version = found[0].version_for("tr")
    assert version is not None and version.title == "Mahalle şenliği"
    assert version.description == "Müzik ve pasta ile."
    assert found[0].capacity == 20 and found[0].place_name == "Hof der Schule"

    # Announced to everyone: the Turkish resident's message is queued.
    status, location, _body = await desk.post(
        f"/dashboard/events/{event_id}/announce", {"audience": "everyone"}
    )
    assert location.endswith("?done=announced")
    status, body = await desk.get("/dashboard/events")
    assert "Nachbarschaftsfest" in body and 'max="20" value="0"' in body
    # Flyer and calendar links on the event's page, served by this server.
    status, body = await desk.get(f"/dashboard/events/{event_id}")
    assert f'href="/events/{event_id}.ics"' in body
    assert f"/events/{event_id}/flyer?lang=de" in body
    assert (await dashboard.client.get(f"/events/{event_id}.ics")).status == 200


async def test_bad_input_comes_back_next_to_its_field_with_what_was_typed(
    dashboard: Dashboard,
) -> None:
    desk = await _desk(dashboard, STAFF_ID, Role.COORDINATOR)
    event_id = await _make_event(desk)
    past = _local(dashboard, TEST_START - timedelta(days=1))
    status, _loc, body = await desk.post(
        f"/dashboard/events/{event_id}/edit",
        _event_form(
            dashboard,
            starts_at=past,
            ends_at="",
            title_tr="x" * 201,
            place_name="Neuer Ort",
        ),
    )
    assert status == 200
    passed = dashboard.text("de", "That time has already passed. Please choose a later one.")
    assert re.search(r'id="starts_at"[^>]*aria-invalid="true"', body)
    assert f'<p class="field-error" id="starts_at-error">{passed}</p>' in body
    assert 'id="title_tr-error"' in body
    assert f'value="{past}"' in body and "x" * 201 in body  # kept as typed
    assert 'value="Neuer Ort"' in body

    # Seats below those taken.
    event = await dashboard.services.events.get(
        await dashboard.services.residents.actor(STAFF_ID), event_id
    )
    assert event is not None
    await desk.post(f"/dashboard/events/{event_id}/publish")
    await dashboard.services.residents.register(TURKISH_ID, "tr")
    await dashboard.services.events.sign_up(event_id, TURKISH_ID, "tr", adults=2, children=1)
    status, _loc, body = await desk.post(
        f"/dashboard/events/{event_id}/edit", _event_form(dashboard, capacity="2")
    )
    assert status == 200 and 'id="capacity-error"' in body
    t = dashboard.i18n.translator("de")
    taken = t.ngettext(
        "👥 {count} seat is taken already; there can't be fewer seats. "
        "Whoever signed up keeps their seat.",
        "👥 {count} seats are taken already; there can't be fewer seats. "
        "Whoever signed up keeps their seat.",
        3,
    ).format(count="3")
    assert str(escape(taken)) in body and 'value="2"' in body
    # Not a number.
    status, _loc, body = await desk.post(
        f"/dashboard/events/{event_id}/edit", _event_form(dashboard, reminder_hours="soon")
    )
    assert status == 200 and 'id="reminder_hours-error"' in body and 'value="soon"' in body
    after = await dashboard.services.events.get(
        await dashboard.services.residents.actor(STAFF_ID), event_id
    )
    assert after is not None and after.capacity == 20 and after.reminder_hours == 24


async def test_attendees_export_and_cancelling_after_a_confirmation(dashboard: Dashboard) -> None:
    desk = await _desk(dashboard, STAFF_ID, Role.COORDINATOR)
    event_id = await _make_event(desk)
    await desk.post(f"/dashboard/events/{event_id}/publish")
    await dashboard.services.residents.register(TURKISH_ID, "tr")
    await dashboard.services.residents.seen(TURKISH_ID, "Ayşe")
    await dashboard.services.events.sign_up(
        event_id, TURKISH_ID, "tr", adults=1, children=2, childcare=True
    )
    status, body = await desk.get(f"/dashboard/events/{event_id}")
    assert status == 200 and "Ayşe" in body
    assert dashboard.i18n.translator("de").language_in_mine("tr") in body
    assert str(escape(dashboard.i18n.translator("de").gettext("🧸 Childcare"))) in body

    response = await dashboard.client.get(
        f"/dashboard/events/{event_id}/attendees.xlsx", headers=desk.headers
    )
    assert response.status == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(await response.read())).active
    assert sheet is not None
    assert any("Ayşe" in str(cell.value) for row in sheet.iter_rows() for cell in row)

    status, body = await desk.get(f"/dashboard/events/{event_id}/cancel")
    assert status == 200 and f'action="/dashboard/events/{event_id}/cancel"' in body
    event = await dashboard.services.events.get(
        await dashboard.services.residents.actor(STAFF_ID), event_id
    )
    assert event is not None and event.status == "published"  # the GET changed nothing
    status, location, _body = await desk.post(f"/dashboard/events/{event_id}/cancel")
    assert location.endswith("?done=cancelled")
    event = await dashboard.services.events.get(
        await dashboard.services.residents.actor(STAFF_ID), event_id
    )
    assert event is not None and event.status == "cancelled"


async def test_a_volunteers_arabic_translation_approved_on_its_page(dashboard: Dashboard) -> None:
    desk = await _desk(dashboard, STAFF_ID, Role.COORDINATOR)
    event_id = await _make_event(desk)
    await desk.post(f"/dashboard/events/{event_id}/publish")

    # Missing languages on the translations page; asking the translators makes the tasks.
    status, body = await desk.get("/dashboard/translations")
    assert status == 200 and "Nachbarschaftsfest" in body
    assert dashboard.text("de", "Missing", "translation state") in body
    status, location, _body = await desk.post(
        "/dashboard/translations/request", {"subject": "event", "subject_id": str(event_id)}
    )
    assert location == "/dashboard/translations?done=requested"

    # A volunteer translates into Arabic, as /translate in the bot does.
    await dashboard.services.residents.register(TRANSLATOR_ID, "ar")
    await dashboard.services.residents.grant_role(TRANSLATOR_ID, Role.TRANSLATOR)
    volunteer: Actor = await dashboard.services.residents.actor(TRANSLATOR_ID)
    (task,) = await dashboard.services.translations.open_tasks(volunteer)
    await dashboard.services.translations.submit(
        volunteer, task.id, {"title": "حفلة الجيران", "description": "مع موسيقى"}
    )

    status, body = await desk.get("/dashboard/translations")
    assert f'href="/dashboard/translations/{task.id}"' in body
    status, body = await desk.get(f"/dashboard/translations/{task.id}")
    assert status == 200
    assert "Nachbarschaftsfest" in body and "حفلة الجيران" in body  # side by side
    assert 'dir="rtl"' in body and '<label for="field_title"' in body
    status, location, _body = await desk.post(
        f"/dashboard/translations/{task.id}/approve",
        {"field_title": "حفلة الجيران", "field_description": "مع موسيقى وكعك"},
    )
    assert location == "/dashboard/translations?done=approved"

    await dashboard.services.residents.register(ARABIC_ID, "ar")
    found, _total = await dashboard.services.events.upcoming(limit=3)
    version = found[0].version_for("ar")
    assert version is not None and version.locale == "ar"
    assert (version.title, version.description) == ("حفلة الجيران", "مع موسيقى وكعك")
    decided = await dashboard.services.translations.get(
        await dashboard.services.residents.actor(STAFF_ID), task.id
    )
    assert decided.status == TaskStatus.APPROVED
    # Decided: a second approval changes nothing and says so.
    status, location, _body = await desk.post(f"/dashboard/translations/{task.id}/approve")
    assert location.endswith("?error=approve")


async def test_a_draft_rejected_on_its_page_opens_again(dashboard: Dashboard) -> None:
    desk = await _desk(dashboard, STAFF_ID, Role.COORDINATOR)
    event_id = await _make_event(desk)
    staff = await dashboard.services.residents.actor(STAFF_ID)
    (task,) = await dashboard.services.translations.request(staff, "event", event_id, ["uk"])
    await dashboard.services.residents.register(TRANSLATOR_ID, "uk")
    await dashboard.services.residents.grant_role(TRANSLATOR_ID, Role.TRANSLATOR)
    volunteer = await dashboard.services.residents.actor(TRANSLATOR_ID)
    await dashboard.services.translations.submit(volunteer, task.id, {"title": "Свято"})
    _status, location, _body = await desk.post(f"/dashboard/translations/{task.id}/reject")
    assert location == "/dashboard/translations?done=rejected"
    again = await dashboard.services.translations.get(staff, task.id)
    assert again.status == TaskStatus.OPEN
    event = await dashboard.services.events.get(staff, event_id)
    assert event is not None and "uk" not in event.versions
