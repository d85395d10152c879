"""No crash in normal use (issue 12, point 8): what a new resident ran into, through the bot.

A map pin of an event whose place was given as a Telegram location, a stale "↩️ Back", a
closed project with long texts, a broadcast whose link has a quote in its URL, and the error
message in the resident's language."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.bidi import RLM
from bot.config import Settings
from bot.sandbox.telegram_html import parse_html, utf16_len
from bot.services.events import EventView
from handlers.render import MESSAGE_LIMIT, fit
from tests.conftest import ADMIN_ID, BotHarness, open_harness
from tests.support import updates
from tests.support.actors import STAFF
from tests.support.live import LiveBot, onboard, tr
from tests.support.recording import Call, RecordingRequest

SOMETHING_WRONG = "😕 Something went wrong on our side. Please try again in a moment."
ALREADY_SENT = "This broadcast was already sent, scheduled or discarded."


def broadcast_id_of(message_buttons: list[tuple[str, str]]) -> int:
    for _, data in message_buttons:
        if data.startswith("bc:"):
            return int(data.split(":")[2])
    raise AssertionError(f"no broadcast buttons in {message_buttons}")


async def _pinned_event(
    live_bot: LiveBot, *, place_name: str | None, address: str | None
) -> EventView:
    """Published, its place given as coordinates (as a Telegram location gives it)."""
    events = live_bot.runtime.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title="Kaffee & Kuchen")
    await events.set_version(STAFF, draft.id, "ar", title="قهوة وكعك")
    start = live_bot.runtime.clock() + timedelta(days=2)
    await events.update(
        STAFF,
        draft.id,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place_name=place_name,
        address=address,
        latitude=49.99,
        longitude=8.41,
    )
    return await events.publish(STAFF, draft.id)


async def _no_error_message(live_bot: LiveBot, user_id: int, locale: str) -> None:
    await asyncio.sleep(0.5)  # time for an error message, if one were coming
    wrong = tr(live_bot, locale, SOMETHING_WRONG)
    assert not any(wrong in (m.text or "") for m in live_bot.emulator.bot_messages(user_id))


# --- (1) the map pin ----------------------------------------------------------------------


async def test_the_map_pin_of_a_place_given_as_a_location_in_arabic(live_bot: LiveBot) -> None:
    only_coordinates = await _pinned_event(live_bot, place_name=None, address=None)
    named = await _pinned_event(live_bot, place_name="Innenhof", address="")
    omar = live_bot.resident("Omar", "ar", 8101)
    await onboard(omar, "ar")

    await omar.tap("menu:events")
    detail = await omar.tap(f"ev:show:{only_coordinates.id}")
    assert f"ev:map:{only_coordinates.id}" in [data for _, data in detail.buttons()]
    pin = await omar.tap(f"ev:map:{only_coordinates.id}")
    assert pin.kind == "venue"
    # The event's title in Arabic (not HTML-escaped), the coordinates as its address.
    assert pin.extra["title"] == "قهوة وكعك"
    assert pin.extra["address"] == "49.99000, 8.41000"
    assert (pin.extra["latitude"], pin.extra["longitude"]) == (49.99, 8.41)

    await omar.say(f"/start event_{named.id}")
    pin = await omar.tap(f"ev:map:{named.id}")
    assert (pin.kind, pin.extra["title"], pin.extra["address"]) == (
        "venue",
        "Innenhof",
        "49.99000, 8.41000",
    )
    await _no_error_message(live_bot, 8101, "ar")


async def test_the_map_pin_title_is_plain_text_in_german(live_bot: LiveBot) -> None:
    event = await _pinned_event(live_bot, place_name=None, address="Berliner Str. 1")
    jonas = live_bot.resident("Jonas", "de", 8102)
    await onboard(jonas, "de")
    await jonas.say(f"/start event_{event.id}")
    pin = await jonas.tap(f"ev:map:{event.id}")
    assert (pin.kind, pin.extra["title"], pin.extra["address"]) == (
        "venue",
        "Kaffee & Kuchen",
        "Berliner Str. 1",
    )


# --- (2) a stale button is answered once --------------------------------------------------


async def test_a_stale_back_in_a_sent_broadcast_answers_once_in_arabic(live_bot: LiveBot) -> None:
    coordinator = live_bot.resident("Koordination", "ar", ADMIN_ID)
    ayse = live_bot.resident("Ayşe", "tr", 8201)
    await onboard(coordinator, "ar")
    await onboard(ayse, "tr")
    number = broadcast_id_of((await coordinator.say("/broadcast")).buttons())
    prompt = await coordinator.tap(f"bc:text:{number}:de")
    assert f"bc:home:{number}" in [data for _, data in prompt.buttons()]
    await coordinator.say("مرحبا بالجيران")
    await coordinator.tap(f"bc:send:{number}")
    await coordinator.tap(f"bc:go:{number}")
    await live_bot.emulator.wait_until(lambda: len(live_bot.emulator.bot_messages(8201)) > 0)

    # The "↩️ Back" of the text prompt, tapped after the broadcast went out.
    answer = await coordinator.tap_forged(f"bc:home:{number}")
    assert answer["text"] == tr(live_bot, "ar", ALREADY_SENT)
    assert answer["show_alert"] is True
    await _no_error_message(live_bot, ADMIN_ID, "ar")


async def test_every_tap_is_answered_exactly_once(harness: BotHarness) -> None:
    """A plain acknowledgement waits for the end of the tap: an alert that follows is the
    answer; a second alert reaches the resident as a message."""
    ayse = updates.user(8202, "Ayşe", "tr")
    await harness.send(ayse, "/start")
    for data in ("lang:tr", "consent:yes:tr", "topics:done", "menu:events", "ev:show:999"):
        harness.request.clear()
        await harness.tap(ayse, data)
        assert len(harness.request.callback_answers()) == 1, data


# --- (3) long screens fit Telegram's limit -------------------------------------------------


async def test_a_closed_project_with_long_texts_opens_in_arabic_and_german(
    live_bot: LiveBot,
) -> None:
    groups = live_bot.runtime.services.groups
    description = ("نزرع معا في الفناء " * 200)[:3000]
    outcome = ("Wir haben zwölf Hochbeete gebaut & bepflanzt. " * 60)[:2000]
    group = await groups.create(
        STAFF, "project", name="Hochbeete im Hof", description=description, locale="de"
    )
    await groups.close(STAFF, group.id, outcome)
    omar = live_bot.resident("Omar", "ar", 8301)
    jonas = live_bot.resident("Jonas", "de", 8302)
    for resident, locale in [(omar, "ar"), (jonas, "de")]:
        await onboard(resident, locale)
        page = await resident.say(f"/start project_{group.id}")
        assert page.text is not None and "Hochbeete im Hof" in page.text
        assert utf16_len(page.text) <= MESSAGE_LIMIT
        # Both long parts are there, each cut with "…"; the end of the project is said.
        assert description[:100] in page.text and outcome[:100] in page.text
        assert page.text.count("…") >= 2
        assert tr(live_bot, locale, "🏁 This project has come to an end.") in page.text
        assert tr(live_bot, locale, "🤝 All projects and groups") in [t for t, _ in page.buttons()]
    assert omar.last.direction == "rtl"


def test_fit_cuts_long_html_without_breaking_it() -> None:
    isolated = "\u2068" + "ب" * 3000 + "\u2069"
    text = (
        "<b>Titel</b>\n"
        + '<a href="https://example.org/?a=1&amp;b=&quot;2&quot;">Link</a>\n'
        + f"<i>{isolated}</i>\n"
        + "<b>"
        + "Kaffee &amp; Kuchen &lt;3 " * 300
        + "</b>"
    )
    assert utf16_len(parse_html(text)[0]) > MESSAGE_LIMIT
    short = fit(text)
    visible, entities = parse_html(short)  # raises if the HTML were broken
    assert utf16_len(visible) <= MESSAGE_LIMIT
    assert visible.endswith("…\u2069") or visible.endswith("…")
    assert visible.count("\u2068") == visible.count("\u2069")
    assert {e["type"] for e in entities} >= {"bold", "italic", "text_link"}
    assert fit("<b>kurz</b>") == "<b>kurz</b>"
    emoji = "😀" * 3000  # two UTF-16 units each: Telegram counts those
    assert utf16_len(parse_html(fit(emoji))[0]) <= MESSAGE_LIMIT


# --- (4) a broadcast link whose URL has a quote ---------------------------------------------


async def test_a_broadcast_link_with_a_quote_reaches_an_arabic_resident(live_bot: LiveBot) -> None:
    url = 'https://example.org/anmeldung?name="Hoffest"&jahr=2026'
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    omar = live_bot.resident("Omar", "ar", 8401)
    await onboard(coordinator, "de")
    await onboard(omar, "ar")
    number = broadcast_id_of((await coordinator.say("/broadcast")).buttons())
    await coordinator.tap(f"bc:text:{number}:de")

    # The coordinator writes a message with a link behind a word, as Telegram's apps make it.
    emulator = live_bot.emulator
    before = len(emulator.bot_messages(ADMIN_ID))
    text = "Hoffest am Samstag: hier anmelden"
    message = emulator._store_message(
        ADMIN_ID,
        from_bot=False,
        sender_id=ADMIN_ID,
        text=text,
        entities=[
            {"type": "bold", "offset": 0, "length": 8},
            {"type": "text_link", "offset": 20, "length": 13, "url": url},
        ],
    )
    emulator._deliver_user_message(message)
    await emulator.wait_until(lambda: len(emulator.bot_messages(ADMIN_ID)) > before)

    await coordinator.tap(f"bc:send:{number}")
    await coordinator.tap(f"bc:go:{number}")
    await emulator.wait_until(
        lambda: any((m.text or "").startswith(RLM + text) for m in emulator.bot_messages(8401)),
        timeout=15,
    )
    received = next(m for m in emulator.bot_messages(8401) if (m.text or "").startswith(RLM))
    links = [e for e in received.entities if e["type"] == "text_link"]
    assert [link["url"] for link in links] == [url]
    assert received.text[links[0]["offset"] :][: links[0]["length"]] == "hier anmelden"
    assert any(e["type"] == "bold" for e in received.entities)
    await _no_error_message(live_bot, ADMIN_ID, "de")


# --- (5) the error message in the resident's language ----------------------------------------


class FailingRequest(RecordingRequest):
    """Telegram's side refuses one method, as it might any time (a file it can't take)."""

    failing: str = "sendDocument"

    async def do_request(
        self, url: str, method: str, request_data: Any = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        if url.rsplit("/", 1)[-1] == self.failing:
            params = dict(request_data.parameters) if request_data else {}
            self.calls.append(Call(self.failing, params))
            body = {"ok": False, "error_code": 400, "description": "Bad Request: file is broken"}
            return 400, json.dumps(body).encode()
        return await super().do_request(url, method, request_data, *args, **kwargs)


@pytest.fixture
async def failing_harness(settings: Settings) -> AsyncIterator[BotHarness]:
    async with open_harness(settings, request=FailingRequest()) as harness:
        yield harness


@pytest.mark.parametrize(("locale", "user_id"), [("ar", 8501), ("tr", 8502)])
async def test_something_went_wrong_is_said_in_the_residents_language(
    failing_harness: BotHarness, locale: str, user_id: int
) -> None:
    harness = failing_harness
    services = harness.application.bot_data.services
    draft = await services.events.create_draft(STAFF)
    await services.events.set_version(STAFF, draft.id, "de", title="Hoffest")
    start = services.clock() + timedelta(days=2)
    await services.events.update(
        STAFF, draft.id, starts_at=start, ends_at=start + timedelta(hours=1)
    )
    event = await services.events.publish(STAFF, draft.id)
    # Telegram's app says German; the resident chose their own language in the bot.
    resident = updates.user(user_id, "Omar", "de")
    await harness.send(resident, "/start")
    for data in (f"lang:{locale}", f"consent:yes:{locale}", "topics:done"):
        await harness.tap(resident, data)

    harness.request.clear()
    await harness.tap(resident, f"ev:ics:{event.id}")  # sending the file fails
    wrong = harness.application.bot_data.i18n.translator(locale).gettext(SOMETHING_WRONG)
    said = harness.request.last_message()
    assert said.method == "sendMessage" and wrong in said.text
    assert wrong != SOMETHING_WRONG
    german = harness.application.bot_data.i18n.translator("de").gettext(SOMETHING_WRONG)
    assert german not in said.text
    assert len(harness.request.callback_answers()) == 1  # the tap stops spinning, once
