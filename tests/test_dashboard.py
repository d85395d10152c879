"""The web dashboard's core (issue 14): the login page, the bot's one-time link (used once,
expired after 10 minutes), the session cookie, CSRF on every POST, a revoked role logged out at
once, the overview in German and Arabic, and bot/web/ querying nothing itself. Real SQLite,
aiohttp's test client; the /dashboard command through the sandbox."""

from __future__ import annotations

import ast
import asyncio
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from bot.app import build_i18n, build_services
from bot.i18n import I18n
from bot.services import Services
from bot.services.dashboard_auth import LoginRefused
from bot.services.permissions import Actor, NotAllowed
from bot.web.app import create_web_app
from bot.web.dashboard.pages import COOKIE, CSRF_FIELD
from storage import migrate
from storage.db import create_engine
from storage.models import Role
from tests.conftest import make_settings
from tests.support.actors import COORDINATOR
from tests.support.clock import TEST_START, FixedClock
from tests.support.libretranslate import LibreTranslateStandIn, fake_translation
from tests.support.live import LiveBot, onboard

WEB = Path(__file__).resolve().parent.parent / "bot" / "web"
STAFF_ID = 4711
PARTNER_ID = 4712
RESIDENT_ID = 4713


@dataclass
class Dashboard:
    client: TestClient
    services: Services
    clock: FixedClock
    i18n: I18n

    async def person(self, telegram_id: int, locale: str, role: Role | None) -> Actor:
        await self.services.residents.register(telegram_id, locale)
        if role is not None:
            await self.services.residents.grant_role(telegram_id, role)
        return await self.services.residents.actor(telegram_id)

    async def login(self, actor: Actor) -> str:
        """The bot's link opened and its button pressed: the session cookie's value."""
        token = await self.services.dashboard.issue_login(actor)
        response = await self.client.post(f"/dashboard/login/{token}", allow_redirects=False)
        assert response.status == 303
        return response.cookies[COOKIE].value

    async def get(self, path: str, session_id: str | None, **kwargs: object) -> tuple[int, str]:
        headers = {"Cookie": f"{COOKIE}={session_id}"} if session_id else {}
        response = await self.client.get(path, headers=headers, **kwargs)  # type: ignore[arg-type]
        return response.status, await response.text()

    def text(self, locale: str, msgid: str, context: str | None = None) -> str:
        t = self.i18n.translator(locale)
        return html.escape(t.pgettext(context, msgid) if context else t.gettext(msgid))


async def _dashboard(
    tmp_path: Path, public_url: str, **overrides: object
) -> AsyncIterator[Dashboard]:
    settings = make_settings(tmp_path, public_url=public_url, **overrides)
    engine = create_engine(settings.database_url)
    await migrate.upgrade(engine)
    clock = FixedClock(TEST_START)
    i18n = build_i18n(settings)
    services = build_services(settings, engine, i18n, clock=clock)
    app = create_web_app(settings, engine, None, services=services, i18n=i18n)
    try:
        async with TestClient(TestServer(app)) as client:
            # The cookie is sent by hand (``Dashboard.get``): a Secure one wouldn't go over the
            # test server's plain http.
            client.session.cookie_jar.clear()
            yield Dashboard(client, services, clock, i18n)
    finally:
        await services.translations.close()  # a machine translator's HTTP session, if any
        await engine.dispose()


@pytest.fixture
async def dashboard(tmp_path: Path) -> AsyncIterator[Dashboard]:
    async for found in _dashboard(tmp_path, "https://quartier.example.org"):
        yield found


@pytest.fixture
async def plain_dashboard(tmp_path: Path) -> AsyncIterator[Dashboard]:
    async for found in _dashboard(tmp_path, "http://192.168.1.5:8080"):
        yield found


def _session_cookie_header(response_headers: object) -> str:
    cookies = [v for k, v in response_headers.items() if k.lower() == "set-cookie"]  # type: ignore[attr-defined]
    (found,) = [c for c in cookies if c.startswith(f"{COOKIE}=")]
    return str(found)


async def test_without_a_session_every_page_leads_to_the_login_page_in_the_browsers_language(
    dashboard: Dashboard,
) -> None:
    for path in ("/dashboard", "/dashboard/"):
        response = await dashboard.client.get(
            path, headers={"Accept-Language": "xx, tr-TR;q=0.9, de;q=0.5"}
        )
        body = await response.text()
        assert response.status == 200 and response.url.path == "/dashboard/login", path
        assert '<html lang="tr" dir="ltr">' in body
        send = "Send /dashboard to the bot in Telegram. It answers with a link that logs you in"
        assert dashboard.text("tr", send + " here; the link works once, for 10 minutes.") in body
        assert 'action="/dashboard/logout"' not in body  # nobody to log out
    # No Accept-Language: the default language.
    status, body = await dashboard.get("/dashboard/", None)
    assert status == 200 and '<html lang="de" dir="ltr">' in body


async def test_a_login_link_works_once_sets_a_strict_cookie_and_expires_after_ten_minutes(
    dashboard: Dashboard,
) -> None:
    staff = await dashboard.person(STAFF_ID, "de", Role.COORDINATOR)
    token = await dashboard.services.dashboard.issue_login(staff)

    # Opening the link spends nothing (a preview or a scanner may fetch it): a button does.
    status, body = await dashboard.get(f"/dashboard/login/{token}", None)
    assert status == 200 and f'action="/dashboard/login/{token}"' in body
    first = await dashboard.client.post(f"/dashboard/login/{token}", allow_redirects=False)
    assert first.status == 303 and first.headers["Location"] == "/dashboard/"
    cookie = _session_cookie_header(first.headers)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "path"} <= attributes
    assert "samesite=lax" in cookie.lower() and "path=/dashboard" in cookie.lower()
    session_id = first.cookies[COOKIE].value
    status, body = await dashboard.get("/dashboard/", session_id)
    assert status == 200 and '<html lang="de" dir="ltr">' in body

    # The same link again, in another tab: refused.
    second = await dashboard.client.post(f"/dashboard/login/{token}", allow_redirects=False)
    assert second.status == 403 and COOKIE not in second.cookies
    assert dashboard.text("de", "This login link was used already: each link works once.") in (
        await second.text()
    )

    # Two tabs at the same moment with a fresh link: one session between them.
    token = await dashboard.services.dashboard.issue_login(staff)
    both = await asyncio.gather(
        *(
            dashboard.client.post(f"/dashboard/login/{token}", allow_redirects=False)
            for _ in range(2)
        )
    )
    assert sorted(response.status for response in both) == [303, 403]

    # A link ten minutes and a second old: expired.
    token = await dashboard.services.dashboard.issue_login(staff)
    dashboard.clock.advance(minutes=10, seconds=1)
    late = await dashboard.client.post(f"/dashboard/login/{token}", allow_redirects=False)
    assert late.status == 403
    assert dashboard.text("de", "This login link has expired: links work for 10 minutes.") in (
        await late.text()
    )
    # A forged token (a real nonce with a wrong signature, or garbage): not valid.
    nonce = token.partition(".")[0]
    for forged in (f"{nonce}.AAAA", "nothing"):
        with pytest.raises(LoginRefused) as refused:
            await dashboard.services.dashboard.redeem(forged, dashboard.clock())
        assert refused.value.reason == "unknown"


async def test_the_cookie_is_not_secure_without_https(plain_dashboard: Dashboard) -> None:
    staff = await plain_dashboard.person(STAFF_ID, "de", Role.COORDINATOR)
    token = await plain_dashboard.services.dashboard.issue_login(staff)
    response = await plain_dashboard.client.post(f"/dashboard/login/{token}", allow_redirects=False)
    cookie = _session_cookie_header(response.headers).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie


async def test_the_overview_speaks_the_staff_members_language_right_to_left_in_arabic(
    dashboard: Dashboard,
) -> None:
    for telegram_id, locale in ((1, "tr"), (2, "tr"), (3, "ar"), (4, "uk")):
        await dashboard.services.residents.register(telegram_id, locale)
    events = dashboard.services.events
    draft = await events.create_draft(COORDINATOR)
    await events.set_version(COORDINATOR, draft.id, "de", title="Sommerfest <b>")
    await events.set_version(COORDINATOR, draft.id, "ar", title="مهرجان الحي")
    await events.update(
        COORDINATOR, draft.id, starts_at=TEST_START + timedelta(days=3), capacity=12
    )
    await events.publish(COORDINATOR, draft.id)

    german = await dashboard.person(STAFF_ID, "de", Role.COORDINATOR)
    status, body = await dashboard.get("/dashboard/", await dashboard.login(german))
    assert status == 200
    assert '<html lang="de" dir="ltr">' in body
    assert dashboard.text("de", "Residents per language") in body
    assert "Sommerfest &lt;b&gt;" in body  # escaped, in the reader's language
    assert 'max="12" value="0"' in body  # the fill level
    assert dashboard.i18n.translator("de").language_in_mine("tr") in body
    assert re.search(r">\s*2\s*</td>", body)  # two Turkish residents, counted, never named
    assert f'name="{CSRF_FIELD}"' in body and 'action="/dashboard/logout"' in body
    for label in ("Overview", "Events", "Translations", "Audit log"):
        assert dashboard.text("de", label, "dashboard navigation") in body

    arabic = await dashboard.person(STAFF_ID + 1, "ar", Role.COORDINATOR)
    status, body = await dashboard.get("/dashboard/", await dashboard.login(arabic))
    assert status == 200
    assert '<html lang="ar" dir="rtl">' in body
    assert "مهرجان الحي" in body
    assert dashboard.text("ar", "Held for quiet hours") in body


async def test_a_partner_sees_the_events_but_not_the_coordinators_figures(
    dashboard: Dashboard,
) -> None:
    partner = await dashboard.person(PARTNER_ID, "de", Role.PARTNER)
    status, body = await dashboard.get("/dashboard/", await dashboard.login(partner))
    assert status == 200
    assert dashboard.text("de", "Upcoming events") in body
    assert dashboard.text("de", "Residents per language") not in body
    with pytest.raises(NotAllowed):
        await dashboard.services.residents.count_by_locale(partner)


async def test_a_post_needs_the_sessions_csrf_token(dashboard: Dashboard) -> None:
    staff = await dashboard.person(STAFF_ID, "de", Role.COORDINATOR)
    session_id = await dashboard.login(staff)
    cookie = {"Cookie": f"{COOKIE}={session_id}"}
    other = await dashboard.login(staff)  # another browser's session, its own token
    for form in (
        {},
        {CSRF_FIELD: ""},
        {CSRF_FIELD: "forged"},
        {CSRF_FIELD: dashboard.services.dashboard.csrf_token(other)},
    ):
        response = await dashboard.client.post(
            "/dashboard/logout", data=form, headers=cookie, allow_redirects=False
        )
        assert response.status == 403, form
        assert dashboard.text("de", "Not allowed") in await response.text()
    assert (await dashboard.get("/dashboard/", session_id))[0] == 200  # still logged in

    token = dashboard.services.dashboard.csrf_token(session_id)
    response = await dashboard.client.post(
        "/dashboard/logout", data={CSRF_FIELD: token}, headers=cookie, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/dashboard/login"
    response = await dashboard.client.get("/dashboard/", headers=cookie, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/dashboard/login"
    assert (await dashboard.get("/dashboard/", other))[0] == 200  # the other browser stays


async def test_a_revoked_role_is_logged_out_at_the_next_request(dashboard: Dashboard) -> None:
    staff = await dashboard.person(STAFF_ID, "de", Role.COORDINATOR)
    session_id = await dashboard.login(staff)
    assert (await dashboard.get("/dashboard/", session_id))[0] == 200

    await dashboard.services.residents.revoke_role(STAFF_ID, Role.COORDINATOR)
    response = await dashboard.client.get(
        "/dashboard/", headers={"Cookie": f"{COOKIE}={session_id}"}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/dashboard/login"
    # Ended, not just refused: the role given back doesn't bring the old session back.
    assert await dashboard.services.dashboard.active_sessions(STAFF_ID, dashboard.clock()) == 0
    await dashboard.services.residents.grant_role(STAFF_ID, Role.COORDINATOR)
    assert (await dashboard.get("/dashboard/", session_id, allow_redirects=False))[0] == 303


async def test_sessions_end_after_eight_idle_hours(dashboard: Dashboard) -> None:
    staff = await dashboard.person(STAFF_ID, "de", Role.COORDINATOR)
    session_id = await dashboard.login(staff)
    dashboard.clock.advance(hours=7, minutes=50)
    assert (await dashboard.get("/dashboard/", session_id))[0] == 200  # used: it lasts on
    dashboard.clock.advance(hours=7, minutes=50)
    assert (await dashboard.get("/dashboard/", session_id))[0] == 200
    dashboard.clock.advance(hours=8, minutes=1)
    status, _body = await dashboard.get("/dashboard/", session_id, allow_redirects=False)
    assert status == 303


async def test_a_resident_gets_no_login_link(dashboard: Dashboard) -> None:
    resident = await dashboard.person(RESIDENT_ID, "de", None)
    with pytest.raises(NotAllowed):
        await dashboard.services.dashboard.issue_login(resident)
    # A link made while they were a partner stops working once the role is gone.
    partner = await dashboard.person(PARTNER_ID, "de", Role.PARTNER)
    token = await dashboard.services.dashboard.issue_login(partner)
    await dashboard.services.residents.revoke_role(PARTNER_ID, Role.PARTNER)
    with pytest.raises(LoginRefused):
        await dashboard.services.dashboard.redeem(token, dashboard.clock())


def _database_imports(path: Path) -> set[str]:
    """ "sqlalchemy" and "storage.models", as far as this module imports them."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    found = {"sqlalchemy" for name in names if name.split(".")[0] == "sqlalchemy"}
    return found | {"storage.models" for name in names if name.startswith("storage.models")}


#: What bot/web/ imported of the database before the dashboard: /health's ``SELECT 1`` and
#: the flyer's event status enum. Nothing may join this list.
KNOWN = {"app.py": {"sqlalchemy"}, "events.py": {"storage.models"}}


def test_bot_web_imports_neither_sqlalchemy_nor_the_models() -> None:
    modules = sorted(WEB.rglob("*.py"))
    assert any(path.parent.name == "dashboard" for path in modules)
    for path in modules:
        name = str(path.relative_to(WEB))
        assert _database_imports(path) <= KNOWN.get(name, set()), name


async def test_the_dashboard_command_answers_with_a_login_link(live_bot: LiveBot) -> None:
    services = live_bot.runtime.services
    await services.residents.grant_role(STAFF_ID, Role.COORDINATOR)
    staff = live_bot.resident("Dilek", "de", STAFF_ID)
    await onboard(staff, "de")
    answer = await staff.say("/dashboard")
    settings = live_bot.runtime.settings
    base = f"http://{settings.http_host}:{settings.http_port}"
    found = re.search(re.escape(base) + r"/dashboard/login/(\S+)", answer.text)
    assert found is not None, answer.text
    token = found.group(1).rstrip("\u2069")
    assert URL(found.group(0)).path.startswith("/dashboard/login/")
    session_id = await services.dashboard.redeem(token, services.clock())
    actor = await services.dashboard.session_actor(session_id, services.clock())
    assert actor is not None and actor.telegram_id == STAFF_ID

    resident = live_bot.resident("Ali", "de", RESIDENT_ID)
    await onboard(resident, "de")
    refused = await resident.say("/dashboard")
    assert "/dashboard/login/" not in refused.text


async def test_an_ideas_page_shows_a_machine_translation_beside_the_original(
    tmp_path: Path,
) -> None:
    """With a translation provider (here the LibreTranslate stand-in, over HTTP), a Turkish
    idea reads in the coordinator's German beside the original, marked as the machine's; a
    German idea needs none."""
    async with LibreTranslateStandIn() as server:
        async for dashboard in _dashboard(
            tmp_path,
            "https://quartier.example.org",
            translation_provider="libretranslate",
            translation_url=server.url,
        ):
            coordinator = await dashboard.person(9101, "de", Role.COORDINATOR)
            session_id = await dashboard.login(coordinator)
            turkish = await dashboard.services.ideas.submit(
                9102, "tr", text="Parka bir bank", topic="children"
            )
            status, body = await dashboard.get(f"/dashboard/ideas/{turkish.id}", session_id)
            assert status == 200 and "Parka bir bank" in body
            assert html.escape(fake_translation("Parka bir bank", "de", "text")) in body
            assert dashboard.text("de", "machine translation, not reviewed") in body
            german = await dashboard.services.ideas.submit(
                9103, "de", text="Mehr Bänke im Park", topic="children"
            )
            status, body = await dashboard.get(f"/dashboard/ideas/{german.id}", session_id)
            assert status == 200 and "Mehr Bänke im Park" in body
            assert dashboard.text("de", "machine translation, not reviewed") not in body
            with pytest.raises(NotAllowed):  # a reading aid for coordinators only
                await dashboard.services.ideas.machine_translation(
                    await dashboard.person(9104, "tr", None), turkish.id, "tr"
                )
