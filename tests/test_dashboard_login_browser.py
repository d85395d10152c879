"""The dashboard's login in a real headless chromium (issue 14's acceptance): a coordinator
sends /dashboard in the sandbox, opens the bot's link in the browser, logs in with the keyboard
(Tab to the button, Enter), lands on the overview in German, logs out with the header's form,
and the same link, opened again, is refused. An Arabic coordinator's overview runs right to
left. The bot's whole HTTP app is served on a real port (tests/support/browser.py)."""

from __future__ import annotations

import re

from playwright.async_api import Page

from storage.models import Role
from tests.support.browser import LiveSite
from tests.support.live import onboard

GERMAN_ID = 5101
ARABIC_ID = 5102


def t(site: LiveSite, locale: str, msgid: str, context: str | None = None) -> str:
    """A dashboard text as the running bot translates it for ``locale``."""
    application = site.bot.runtime.application
    assert application is not None
    translator = application.bot_data.i18n.translator(locale)
    return str(translator.pgettext(context, msgid) if context else translator.gettext(msgid))


async def login_link(site: LiveSite, telegram_id: int, name: str, locale: str) -> str:
    """A coordinator onboarded in the sandbox sends /dashboard: the link in the answer."""
    services = site.bot.runtime.services
    assert services is not None
    await services.residents.grant_role(telegram_id, Role.COORDINATOR)
    person = site.bot.resident(name, locale, telegram_id)
    await onboard(person, locale)
    answer = await person.say("/dashboard")
    assert answer.text is not None
    found = re.search(re.escape(site.base_url) + r"/dashboard/login/[^\s\u2069]+", answer.text)
    assert found is not None, f"no login link to {site.base_url} in {answer.text!r}"
    return found.group(0)


async def focused(page: Page) -> str:
    """What has the keyboard focus: its tag and text."""
    return str(
        await page.evaluate(
            "() => `${document.activeElement.tagName}:${document.activeElement.textContent.trim()}`"
        )
    )


async def test_a_coordinator_logs_in_with_the_bots_link_and_out_and_the_link_works_once(
    live_site: LiveSite, browser_page: Page
) -> None:
    page = browser_page
    link = await login_link(live_site, GERMAN_ID, "Dilek", "de")

    response = await page.goto(link)
    assert response is not None and response.status == 200
    assert await page.locator("html").get_attribute("lang") == "de"
    log_in = t(live_site, "de", "Log in")
    # The keyboard alone: Tab moves past the skip link to the button, Enter presses it.
    for _ in range(5):
        await page.keyboard.press("Tab")
        if await focused(page) == f"BUTTON:{log_in}":
            break
    else:
        raise AssertionError(
            f"Tab never reached the {log_in!r} button; focus: {await focused(page)}"
        )
    async with page.expect_navigation():
        await page.keyboard.press("Enter")

    assert page.url == live_site.url("/dashboard/")
    assert await page.locator("html").get_attribute("lang") == "de"
    assert await page.locator("html").get_attribute("dir") == "ltr"
    overview = t(live_site, "de", "Overview", "dashboard navigation")
    assert (await page.locator("h1").inner_text()).strip() == overview
    residents = t(live_site, "de", "Residents per language")
    assert await page.get_by_role("heading", name=residents, exact=True).count() == 1
    # The session lives in an HttpOnly cookie, out of the page's scripts' reach.
    cookies = await page.context.cookies()
    assert [c["httpOnly"] for c in cookies if c["name"] == "quartierbot_dashboard"] == [True]
    assert "quartierbot_dashboard" not in await page.evaluate("() => document.cookie")

    # Log out with the header's form: back at the login page, the overview locked.
    async with page.expect_navigation():
        await page.get_by_role("button", name=t(live_site, "de", "Log out")).click()
    assert page.url == live_site.url("/dashboard/login")
    await page.goto(live_site.url("/dashboard/"))
    assert page.url == live_site.url("/dashboard/login")
    assert await page.get_by_role("button", name=t(live_site, "de", "Log out")).count() == 0

    # The same link again: opening it spends nothing, its button is refused.
    await page.goto(link)
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.get_by_role("button", name=log_in).click()
    assert (await posted.value).status == 403
    used = t(live_site, "de", "This login link was used already: each link works once.")
    assert (await page.get_by_role("alert").inner_text()).strip() == used
    assert page.url == link  # no redirect to the overview
    await page.goto(live_site.url("/dashboard/"))
    assert page.url == live_site.url("/dashboard/login")


async def test_an_arabic_coordinators_overview_runs_right_to_left(
    live_site: LiveSite, browser_page: Page
) -> None:
    page = browser_page
    link = await login_link(live_site, ARABIC_ID, "Omar", "ar")
    await page.goto(link)
    async with page.expect_navigation():
        # The login page speaks the browser's language (German first), the overview the
        # coordinator's.
        await page.get_by_role("button", name=t(live_site, "de", "Log in")).click()

    assert page.url == live_site.url("/dashboard/")
    assert await page.locator("html").get_attribute("lang") == "ar"
    assert await page.locator("html").get_attribute("dir") == "rtl"
    overview = t(live_site, "ar", "Overview", "dashboard navigation")
    assert (await page.locator("h1").inner_text()).strip() == overview
    # The layout follows: the page's own text starts at the right edge.
    direction = await page.evaluate(
        "() => getComputedStyle(document.querySelector('h1')).direction"
    )
    assert direction == "rtl"
