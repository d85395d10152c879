"""Events outside the chat: .ics files that parse with time zones, the feed, the flyer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from bot.calendar import event_ics, feed_ics
from bot.services.events import EventService, EventVersionView, EventView
from bot.web.app import create_web_app
from storage.models import EventStatus
from tests.conftest import BotHarness, make_settings
from tests.support.actors import COORDINATOR
from tests.support.clock import TEST_START

BERLIN = ZoneInfo("Europe/Berlin")


def sample(event_id: int = 7, status: EventStatus = EventStatus.PUBLISHED) -> EventView:
    return EventView(
        id=event_id,
        status=status,
        created_by=1,
        organiser="Kita Sonne",
        default_locale="de",
        starts_at=datetime(2026, 7, 1, 16, 0, tzinfo=UTC),
        ends_at=datetime(2026, 7, 1, 18, 0, tzinfo=UTC),
        place_name="Stadtteiltreff",
        address="Hauptstraße 1",
        latitude=49.99,
        longitude=8.41,
        topics=("children",),
        capacity=20,
        signup_opens_at=None,
        signup_closes_at=None,
        publish_at=None,
        photo_file_id=None,
        reminder_hours=24,
        versions={
            "de": EventVersionView("de", "Sommerfest", "Mit Kuchen"),
            "tr": EventVersionView("tr", "Yaz şenliği", None),
        },
    )


def test_event_ics_parses_with_the_zone_and_falls_back_to_the_default_language() -> None:
    body = event_ics(
        sample(),
        "ar",
        public_url="https://quartier.example.org",
        bot_username="qbot",
        tz=BERLIN,
        now=TEST_START,
    )
    calendar = Calendar.from_ical(body)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    (vevent,) = calendar.walk("VEVENT")
    start = vevent.decoded("DTSTART")
    assert start == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert getattr(start.tzinfo, "key", str(start.tzinfo)) == "Europe/Berlin"
    assert vevent["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert str(vevent["SUMMARY"]) == "Sommerfest"  # no Arabic version: the default
    assert str(vevent["URL"]) == "https://t.me/qbot?start=event_7"
    assert str(vevent["UID"]) == "event-7@quartier.example.org"
    assert vevent.decoded("DTSTAMP") == TEST_START  # when this copy was made, from the clock
    assert "Stadtteiltreff" in str(vevent["LOCATION"])
    assert vevent.decoded("GEO") == (49.99, 8.41) or vevent["GEO"].latitude == 49.99


def test_feed_has_one_entry_per_event_in_the_language_and_marks_cancelled() -> None:
    events = [sample(1), sample(2, EventStatus.CANCELLED)]
    body = feed_ics(
        events, "tr", public_url=None, bot_username=None, tz=BERLIN, now=TEST_START, name="Viertel"
    )
    calendar = Calendar.from_ical(body)
    vevents = calendar.walk("VEVENT")
    assert [str(v["SUMMARY"]) for v in vevents] == ["Yaz şenliği", "Yaz şenliği"]
    assert [str(v["STATUS"]) for v in vevents] == ["CONFIRMED", "CANCELLED"]
    assert len({str(v["UID"]) for v in vevents}) == 2
    assert "URL" not in vevents[0]


@pytest.fixture
async def client(harness: BotHarness, tmp_path: Path) -> AsyncIterator[TestClient]:
    app = create_web_app(
        make_settings(tmp_path), harness.engine, harness.application, bot_username="quartier_bot"
    )
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def publish(events: EventService, title: str, *, publish: bool = True) -> EventView:
    draft = await events.create_draft(COORDINATOR)
    await events.set_version(
        COORDINATOR, draft.id, "de", title=title, description="Bring <Kuchen> mit"
    )
    await events.set_version(COORDINATOR, draft.id, "ar", title="مهرجان الحي")
    start = TEST_START + timedelta(days=3)  # the harness's clock starts there
    await events.update(
        COORDINATOR,
        draft.id,
        starts_at=start,
        place_name="Treff & Café",
        latitude=50.0,
        longitude=8.4,
    )
    return await events.publish(COORDINATOR, draft.id) if publish else draft


async def test_feed_event_ics_flyer_and_not_found(client: TestClient, harness: BotHarness) -> None:
    events = harness.application.bot_data.services.events
    event = await publish(events, "Fest <script>alert(1)</script>")
    draft = await publish(events, "Geheim", publish=False)

    response = await client.get("/calendar.ics?lang=ar")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(await response.read())
    summaries = [str(v["SUMMARY"]) for v in calendar.walk("VEVENT")]
    assert summaries == ["مهرجان الحي"]  # the draft is not in the feed
    unknown = Calendar.from_ical(await (await client.get("/calendar.ics?lang=xx")).read())
    assert [str(v["SUMMARY"]) for v in unknown.walk("VEVENT")] == ["Fest <script>alert(1)</script>"]

    response = await client.get(f"/events/{event.id}.ics?lang=de")
    assert response.status == 200
    (vevent,) = Calendar.from_ical(await response.read()).walk("VEVENT")
    assert vevent.decoded("DTSTART") == event.starts_at
    assert vevent["DTSTART"].params["TZID"] == "Europe/Berlin"

    response = await client.get(f"/events/{event.id}/flyer?lang=de&lang2=ar")
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert "<script>alert" not in page and "Fest &lt;script&gt;" in page
    assert "Bring &lt;Kuchen&gt; mit" in page and "Treff &amp; Café" in page
    assert "مهرجان الحي" in page and 'dir="rtl"' in page and 'lang="ar"' in page
    assert "<svg" in page and f"https://t.me/quartier_bot?start=event_{event.id}" in page
    assert "@media print" in page and "size: A4" in page
    # No Turkish version: the flyer stays German only, the text not printed twice.
    page = await (await client.get(f"/events/{event.id}/flyer?lang=de&lang2=tr")).text()
    assert page.count("Bring &lt;Kuchen&gt; mit") == 1 and 'lang="tr"' not in page

    for path in (
        f"/events/{draft.id}.ics",
        f"/events/{draft.id}/flyer",
        "/events/99999.ics",
        "/events/99999/flyer?lang=de",
    ):
        assert (await client.get(path)).status == 404, path
