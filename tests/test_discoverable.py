"""What staff and residents can find: /help and the command menus from one list, the flyer and
the calendar file from an event's Manage menu, language names in the reader's language, and
Settings → Topics → Done back in the settings (issue 12)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from bot.buttons import EventAdminButton, SettingsButton
from bot.config import Settings
from bot.i18n import FSI, PDI
from bot.web.app import create_web_app
from handlers.commands import resident_commands, staff_commands
from tests.conftest import ADMIN_ID, BotHarness, make_settings
from tests.support import updates
from tests.support.actors import STAFF
from tests.support.recording import Call

COORDINATOR = updates.user(ADMIN_ID, "Koordination", "de")
AYSE = updates.user(1001, "Ayşe", "tr")
OMAR = updates.user(1002, "Omar", "ar")
PUBLIC = "https://quartier.example.org"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, public_url=PUBLIC + "/")


def _t(harness: BotHarness, locale: str) -> Any:
    return harness.application.bot_data.i18n.translator(locale)


async def _onboard(harness: BotHarness, sender: dict[str, Any], locale: str) -> None:
    await harness.send(sender, "/start")
    await harness.tap(sender, f"lang:{locale}")
    await harness.tap(sender, f"consent:yes:{locale}")
    await harness.tap(sender, "topics:done")


def _scope(call: Call) -> dict[str, Any] | None:
    scope = call.params.get("scope")
    return json.loads(scope) if isinstance(scope, str) else scope


def _commands(call: Call) -> list[tuple[str, str]]:
    commands = call.params["commands"]
    if isinstance(commands, str):
        commands = json.loads(commands)
    return [(c["command"], c["description"]) for c in commands]


# --- /help and the command menus ---------------------------------------------------------


@pytest.mark.parametrize("locale", ["tr", "ar"])
async def test_staff_help_and_chat_menu_list_the_staff_commands(
    harness: BotHarness, locale: str
) -> None:
    await harness.application.bot_data.services.residents.register(ADMIN_ID, locale)
    harness.request.clear()
    await harness.send(COORDINATOR, "/help")
    t = _t(harness, locale)
    text = harness.request.last_message().text
    for name, description in staff_commands(t):
        assert f"{t.isolate('/' + name)} – {description}" in text
    for name in ("newevent", "newgroup", "proposals", "ideas", "broadcast", "translate"):
        assert t.isolate(f"/{name}") in text
    assert t.gettext("Create an event") in text
    # their chat's command menu, in their language (Telegram's chat scope has no language)
    (menu,) = harness.request.sent("setMyCommands")
    assert _scope(menu) == {"type": "chat", "chat_id": ADMIN_ID}
    assert menu.params.get("language_code") is None
    assert _commands(menu) == staff_commands(t)
    assert ("newevent", t.gettext("Create an event")) in _commands(menu)


async def test_staff_start_sets_the_menu_again_in_a_new_language(harness: BotHarness) -> None:
    await harness.application.bot_data.services.residents.register(ADMIN_ID, "de")
    await harness.send(COORDINATOR, "/start")
    (menu,) = harness.request.sent("setMyCommands")
    assert _commands(menu) == staff_commands(_t(harness, "de"))


async def test_startup_gives_known_staff_their_menu_in_their_language(
    harness: BotHarness,
) -> None:
    from bot.app import on_startup

    await harness.application.bot_data.services.residents.register(ADMIN_ID, "ar")
    await on_startup(harness.application)
    chats = [c for c in harness.request.sent("setMyCommands") if _scope(c) is not None]
    staff_menus = [c for c in chats if (_scope(c) or {}).get("type") == "chat"]
    assert [_scope(c) for c in staff_menus] == [{"type": "chat", "chat_id": ADMIN_ID}]
    assert _commands(staff_menus[0]) == staff_commands(_t(harness, "ar"))


@pytest.mark.parametrize(("sender", "locale"), [(AYSE, "tr"), (OMAR, "ar")])
async def test_resident_help_lists_every_resident_command_and_no_staff_one(
    harness: BotHarness, sender: dict[str, Any], locale: str
) -> None:
    await _onboard(harness, sender, locale)
    harness.request.clear()
    await harness.send(sender, "/help")
    t = _t(harness, locale)
    text = harness.request.last_message().text
    names = [name for name, _ in resident_commands(t)]
    assert names == [
        "start",
        "menu",
        "events",
        "ideas",
        "groups",
        "translate",
        "cancel",
        "language",
        "settings",
        "privacy",
        "mydata",
        "stop",
        "help",
    ]
    for name, description in resident_commands(t):
        assert f"{t.isolate('/' + name)} – {description}" in text
    assert t.gettext("Upcoming events") != "Upcoming events"  # really in their language
    for staff_only in ("/newevent", "/newgroup", "/proposals", "/broadcast"):
        assert staff_only not in text
    if locale == "ar":
        assert f"{FSI}/events{PDI}" in text
    assert harness.request.sent("setMyCommands") == []  # residents keep the language menus


# --- the flyer and the calendar file from Manage --------------------------------------------


@pytest.fixture
async def client(harness: BotHarness) -> AsyncIterator[TestClient]:
    app = create_web_app(
        harness.application.bot_data.settings,
        harness.engine,
        harness.application,
        bot_username="quartier_bot",
    )
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def _published_event(harness: BotHarness) -> int:
    events = harness.application.bot_data.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title="Hoffest")
    await events.set_version(STAFF, draft.id, "ar", title="مهرجان الحي")
    start = harness.application.bot_data.services.clock() + timedelta(days=3)
    await events.update(STAFF, draft.id, starts_at=start, place_name="Hof")
    return (await events.publish(STAFF, draft.id)).id


@pytest.mark.parametrize("locale", ["tr", "ar"])
async def test_manage_offers_the_flyer_and_the_calendar_file(
    harness: BotHarness, client: TestClient, locale: str
) -> None:
    await harness.application.bot_data.services.residents.register(ADMIN_ID, locale)
    event_id = await _published_event(harness)
    await harness.tap(COORDINATOR, EventAdminButton("menu", event_id).pack())
    t = _t(harness, locale)
    links = dict(harness.request.last_message().buttons)
    flyer = links[t.gettext("🖨 Flyer")]
    ics = links[t.gettext("🗓 Calendar file")]
    assert flyer.startswith(f"{PUBLIC}/events/{event_id}/flyer?")
    assert ics == f"{PUBLIC}/events/{event_id}.ics"
    query = parse_qs(urlsplit(flyer).query)
    assert query["lang"] == [locale] and query["lang2"] == ["de"]

    page = await client.get(urlsplit(flyer).path + "?" + urlsplit(flyer).query)
    assert page.status == 200
    body = await page.text()
    assert "Hoffest" in body
    if locale == "ar":
        assert "مهرجان الحي" in body
    calendar = await client.get(urlsplit(ics).path)
    assert calendar.status == 200
    assert calendar.headers["Content-Type"] == "text/calendar; charset=utf-8"
    summaries = [
        str(v["SUMMARY"]) for v in Calendar.from_ical(await calendar.read()).walk("VEVENT")
    ]
    assert summaries == ["Hoffest"]


async def test_a_draft_offers_no_flyer(harness: BotHarness) -> None:
    await harness.application.bot_data.services.residents.register(ADMIN_ID, "de")
    events = harness.application.bot_data.services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title="Entwurf")
    await events.update(
        STAFF, draft.id, starts_at=harness.application.bot_data.services.clock() + timedelta(days=3)
    )
    await harness.tap(COORDINATOR, EventAdminButton("menu", draft.id).pack())
    assert not any(url.startswith(PUBLIC) for _label, url in harness.request.last_message().buttons)


# --- language names in the reader's language ----------------------------------------------


@pytest.mark.parametrize(("locale", "arabic"), [("de", "Arabisch"), ("tr", "Arapça")])
async def test_the_composer_names_arabic_in_the_coordinators_language(
    harness: BotHarness, locale: str, arabic: str
) -> None:
    await harness.application.bot_data.services.residents.register(ADMIN_ID, locale)
    await harness.send(COORDINATOR, "/broadcast")
    composer = harness.request.last_message()
    text_button = next(data for _label, data in composer.buttons if data.startswith("bc:text:"))
    broadcast_id = int(text_button.split(":")[2])
    await harness.tap(COORDINATOR, f"bc:text:{broadcast_id}:ar")
    prompt = harness.request.last_message().text
    assert arabic in prompt and "العربية" not in prompt
    # the picker of languages still names each in itself
    await harness.send(COORDINATOR, "/language")
    picker = [label for label, _data in harness.request.last_message().buttons]
    assert any("العربية" in label for label in picker)


def test_language_in_mine_names_in_the_readers_language(harness: BotHarness) -> None:
    assert _t(harness, "de").language_in_mine("tr") == "Türkisch"
    assert _t(harness, "de_simple").language_in_mine("ar") == "Arabisch"
    assert _t(harness, "ar").language_in_mine("de") == f"{FSI}الألمانية{PDI}"
    assert _t(harness, "tr").language_in_mine("tr") == "Türkçe"
    assert _t(harness, "tr").language_in_mine("de_simple") == "Deutsch (einfach)"


# --- Settings → Topics → Done -------------------------------------------------------------


@pytest.mark.parametrize(("sender", "locale"), [(AYSE, "tr"), (OMAR, "ar")])
async def test_topics_from_settings_go_back_to_settings(
    harness: BotHarness, sender: dict[str, Any], locale: str
) -> None:
    await _onboard(harness, sender, locale)
    await harness.send(sender, "/settings")
    await harness.tap(sender, SettingsButton("topics").pack())
    buttons = [data for _label, data in harness.request.last_message().buttons]
    assert "topics:done:settings" in buttons
    topic = next(data for data in buttons if data.startswith("topic:"))
    assert topic.endswith(":settings")
    await harness.tap(sender, topic)  # the keyboard keeps its way back
    edited = harness.request.sent("editMessageReplyMarkup")[-1]
    assert "topics:done:settings" in [data for _label, data in edited.buttons]
    await harness.tap(sender, "topics:done:settings")
    t = _t(harness, locale)
    settings_screen = harness.request.last_message()
    assert settings_screen.text != t.gettext("🏠 <b>Main menu</b>\nWhat would you like to do?")
    assert SettingsButton("topics").pack() in [data for _label, data in settings_screen.buttons]


async def test_onboardings_topics_go_on_to_the_main_menu(harness: BotHarness) -> None:
    await _onboard(harness, AYSE, "tr")
    t = _t(harness, "tr")
    assert harness.request.last_message().text == t.gettext(
        "🏠 <b>Main menu</b>\nWhat would you like to do?"
    )
