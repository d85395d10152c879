"""The dashboard's acceptance test in a real headless Chromium (issue 14): a coordinator sends
/dashboard to the bot in the sandbox and opens the link; in the browser they create an event
with a German and a Turkish title, publish it, and a Turkish resident finds it in Turkish in the
bot; a volunteer translates it into Arabic in the bot, the coordinator approves the translation
in the browser, and an Arabic resident gets the Arabic title in their event list.

The bot runs for real (``Runtime`` against the sandbox) with its HTTP server on a real port
(tests/support/browser.py's ``live_site``); Playwright drives Debian's /usr/bin/chromium."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.async_api import Page

from bot.buttons import TaskButton
from storage.models import Role
from tests.support.browser import LiveSite
from tests.support.live import LiveResident, onboard

COORDINATOR_ID = 6001
TURKISH_ID = 6002
ARABIC_ID = 6003

TITLE_DE = "Flohmarkt im Hof"
TEXT_DE = "Alle bringen mit, was sie nicht mehr brauchen."
TITLE_TR = "Avluda bit pazarı"
TITLE_AR = "سوق المستعمل في الفناء"
TEXT_AR = "يحضر الجميع ما لم يعودوا بحاجة إليه."


async def _newest_with(site: LiveSite, resident: LiveResident, text: str) -> str:
    emulator = site.bot.emulator
    await emulator.wait_until(
        lambda: any(text in (m.text or "") for m in emulator.bot_messages(resident.user_id))
    )
    found = [m for m in emulator.bot_messages(resident.user_id) if text in (m.text or "")]
    return found[-1].text or ""


async def _submit(page: Page, selector: str) -> None:
    async with page.expect_navigation():
        await page.click(selector)


async def test_a_coordinator_runs_an_event_and_its_translation_from_the_browser(
    live_site: LiveSite, browser_page: Page
) -> None:
    bot, page = live_site.bot, browser_page
    services = bot.runtime.services
    settings = bot.runtime.settings

    # The bot's one-time link, opened in the browser, its button pressed.
    await services.residents.grant_role(COORDINATOR_ID, Role.COORDINATOR)
    coordinator = bot.resident("Dilek", "de", COORDINATOR_ID)
    await onboard(coordinator, "de")
    answer = await coordinator.say("/dashboard")
    found = re.search(r"https?://[^\s\u2069]+/dashboard/login/[^\s\u2069]+", answer.text or "")
    assert found is not None, answer.text
    await page.goto(found.group(0))
    await _submit(page, "main form button[type=submit]")
    assert page.url == live_site.url("/dashboard/")
    assert await page.get_attribute("html", "lang") == "de"

    # A new event with a German and a Turkish title, from the navigation.
    await _submit(page, 'nav a[href="/dashboard/events"]')
    await _submit(page, 'a[href="/dashboard/events/new"]')
    start = (services.clock() + timedelta(days=4)).astimezone(settings.tz)
    await page.fill("#title_de", TITLE_DE)
    await page.fill("#description_de", TEXT_DE)
    await page.fill("#title_tr", TITLE_TR)
    await page.fill("#starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#ends_at", (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#place_name", "Innenhof")
    await page.fill("#capacity", "30")
    await _submit(page, "form.event-form button[type=submit]")
    event_id = int(page.url.rsplit("/", 1)[1])
    assert TITLE_DE in await page.inner_text("h1")
    await _submit(page, f'form[action="/dashboard/events/{event_id}/publish"] button')
    assert page.url.endswith("?done=published")

    # A Turkish resident finds it in Turkish in the bot.
    emre = bot.resident("Emre", "tr", TURKISH_ID)
    await onboard(emre, "tr")
    await emre.say("/events")
    listing = await _newest_with(live_site, emre, TITLE_TR)
    assert TITLE_DE not in listing

    # The coordinator asks the volunteer translators from the translations page.
    layla = bot.resident("Layla", "ar", ARABIC_ID)
    await onboard(layla, "ar")
    await services.residents.grant_role(ARABIC_ID, Role.TRANSLATOR)
    await _submit(page, 'nav a[href="/dashboard/translations"]')
    await _submit(page, f'tr:has(a[href="/dashboard/events/{event_id}"]) form button')
    assert page.url.endswith("?done=requested")

    # Layla gets the task in the bot and translates title and description.
    await _newest_with(live_site, layla, TITLE_DE)
    (task,) = await services.translations.open_tasks(await services.residents.actor(ARABIC_ID))
    await layla.tap(TaskButton("do", task.id).pack())
    await layla.say(TITLE_AR)
    await layla.say(TEXT_AR)

    # The coordinator approves it in the browser: source and draft side by side.
    await page.goto(live_site.url("/dashboard/translations"))
    await _submit(page, f'a[href="/dashboard/translations/{task.id}"]')
    assert await page.input_value("#field_title") == TITLE_AR
    assert await page.get_attribute("#field_title", "dir") == "rtl"
    assert TITLE_DE in await page.inner_text("table.side-by-side")
    await _submit(page, f'form[action="/dashboard/translations/{task.id}/approve"] button')
    assert page.url.endswith("?done=approved")

    # The Arabic resident gets the Arabic title in their event list.
    await layla.say("/events")
    assert TITLE_AR in await _newest_with(live_site, layla, TITLE_AR)
