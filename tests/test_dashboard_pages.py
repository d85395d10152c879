"""The dashboard's pages for ideas, groups, broadcasts, the team and the audit log (issue 14):
every route refuses without a session, with the wrong role and (for a POST) without the
session's CSRF token; publishing an idea from the page puts it on the board; a broadcast written
on the page in German and Arabic reaches an Arabic resident in Arabic; an invitation made on the
team page works once in the bot; and the pages call the services the bot's handlers call.

Real SQLite; aiohttp's test client; the sandbox-backed runtime (``live_bot``) where the bot takes
part."""

from __future__ import annotations

import ast
import asyncio
import html
import inspect
import re
import typing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.bidi import RLM
from bot.services import Services
from bot.services.permissions import Actor
from bot.web.app import create_web_app
from bot.web.dashboard.pages import COOKIE, CSRF_FIELD
from storage.models import Role
from tests.conftest import ADMIN_ID
from tests.support.live import LiveBot, onboard
from tests.test_dashboard import PARTNER_ID, STAFF_ID, Dashboard, _dashboard
from tests.test_ideas_e2e import share

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "bot" / "web" / "dashboard"
HANDLERS = ROOT / "handlers"
ARABIC = re.compile(r"[\u0600-\u06FF]")

#: Every route of these pages: (method, path). Ids needn't exist: refusals come first.
GETS = (
    "/dashboard/ideas",
    "/dashboard/ideas?queue=closed",
    "/dashboard/ideas/1",
    "/dashboard/ideas/1/voice",
    "/dashboard/groups",
    "/dashboard/groups/1",
    "/dashboard/broadcasts",
    "/dashboard/broadcasts/1",
    "/dashboard/team",
    "/dashboard/team/revoke?telegram_id=1&role=partner",
    "/dashboard/audit",
)
POSTS = (
    "/dashboard/ideas/1/publish",
    "/dashboard/ideas/1/status",
    "/dashboard/ideas/1/keep",
    "/dashboard/ideas/1/hide",
    "/dashboard/groups/1/close",
    "/dashboard/broadcasts/new",
    "/dashboard/broadcasts/1/save",
    "/dashboard/broadcasts/1/send",
    "/dashboard/broadcasts/1/schedule",
    "/dashboard/broadcasts/1/cancel",
    "/dashboard/team/invite",
    "/dashboard/team/revoke",
)


@pytest.fixture
async def dashboard(tmp_path: Path) -> AsyncIterator[Dashboard]:
    async for found in _dashboard(tmp_path, "https://quartier.example.org"):
        yield found


def _cookie(session_id: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={session_id}"}


# --- refusals ----------------------------------------------------------------------------


async def test_every_new_route_sends_a_visitor_without_a_session_to_the_login(
    dashboard: Dashboard,
) -> None:
    for path in GETS:
        response = await dashboard.client.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"] == "/dashboard/login", path
    for path in POSTS:
        response = await dashboard.client.post(path, data={CSRF_FIELD: "x"}, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"] == "/dashboard/login", path


async def test_the_wrong_role_gets_403(dashboard: Dashboard) -> None:
    partner = await dashboard.person(PARTNER_ID, "de", Role.PARTNER)
    session_id = await dashboard.login(partner)
    token = dashboard.services.dashboard.csrf_token(session_id)
    for path in GETS:
        response = await dashboard.client.get(path, headers=_cookie(session_id))
        assert response.status == 403, path
        assert dashboard.text("de", "Not allowed") in await response.text()
    for path in POSTS:  # with a valid token: the role decides
        response = await dashboard.client.post(
            path, data={CSRF_FIELD: token, "role": "partner"}, headers=_cookie(session_id)
        )
        assert response.status == 403, path
    # The partner's own overview still opens: the session is fine, the pages are not theirs.
    assert (await dashboard.get("/dashboard/", session_id))[0] == 200

    # A coordinator reads ideas, but the audit log is for admins.
    coordinator = await dashboard.person(STAFF_ID, "de", Role.COORDINATOR)
    session_id = await dashboard.login(coordinator)
    assert (await dashboard.get("/dashboard/ideas", session_id))[0] == 200
    assert (await dashboard.get("/dashboard/audit", session_id))[0] == 403
    admin = await dashboard.person(STAFF_ID + 1, "de", Role.ADMIN)
    status, body = await dashboard.get("/dashboard/audit", await dashboard.login(admin))
    assert status == 200 and dashboard.text("de", "Audit log", "dashboard navigation") in body


async def test_every_post_needs_the_sessions_csrf_token(dashboard: Dashboard) -> None:
    admin = await dashboard.person(STAFF_ID, "de", Role.ADMIN)
    session_id = await dashboard.login(admin)
    other = await dashboard.login(admin)
    for path in POSTS:
        for form in (
            {},
            {CSRF_FIELD: ""},
            {CSRF_FIELD: "forged"},
            {CSRF_FIELD: dashboard.services.dashboard.csrf_token(other)},
        ):
            response = await dashboard.client.post(
                path, data={**form, "role": "partner"}, headers=_cookie(session_id)
            )
            assert response.status == 403, (path, form)
    # Nothing happened: no draft, no invitation.
    assert await dashboard.services.broadcasts.listing(admin) == []
    entries = (await dashboard.services.roles.audit(admin)).entries
    assert not [e for e in entries if e.action == "role.invite"]
    # With the token, the same form works.
    token = dashboard.services.dashboard.csrf_token(session_id)
    response = await dashboard.client.post(
        "/dashboard/broadcasts/new",
        data={CSRF_FIELD: token},
        headers=_cookie(session_id),
        allow_redirects=False,
    )
    assert response.status == 303
    assert re.fullmatch(r"/dashboard/broadcasts/\d+", response.headers["Location"])


async def test_a_group_page_lists_members_and_closes_with_an_outcome(
    dashboard: Dashboard,
) -> None:
    coordinator = await dashboard.person(STAFF_ID, "de", Role.COORDINATOR)
    groups = dashboard.services.groups
    group = await groups.create(
        coordinator, "project", name="Hochbeete im Hof", topic="environment"
    )
    await groups.add_slot(coordinator, group.id, "Erde holen", 2)
    await dashboard.services.residents.register(31, "ar")
    await dashboard.services.residents.seen(31, "Omar")  # as the bot does with each update
    await groups.join(group.id, 31)
    session_id = await dashboard.login(coordinator)

    status, body = await dashboard.get("/dashboard/groups", session_id)
    assert status == 200 and f'href="/dashboard/groups/{group.id}"' in body
    status, body = await dashboard.get(f"/dashboard/groups/{group.id}", session_id)
    assert status == 200
    assert "Omar" in body and dashboard.i18n.translator("de").language_in_mine("ar") in body
    assert "Erde holen" in body

    token = dashboard.services.dashboard.csrf_token(session_id)
    response = await dashboard.client.post(
        f"/dashboard/groups/{group.id}/close",
        data={CSRF_FIELD: token, "outcome": "Zwölf Hochbeete stehen."},
        headers=_cookie(session_id),
        allow_redirects=False,
    )
    assert response.status == 303
    closed = await groups.get(group.id)
    assert closed is not None and not closed.is_open and closed.outcome == "Zwölf Hochbeete stehen."


async def test_reported_ideas_are_kept_or_hidden_and_a_broadcast_is_scheduled_and_cancelled(
    dashboard: Dashboard,
) -> None:
    services = dashboard.services
    coordinator = await dashboard.person(STAFF_ID, "de", Role.COORDINATOR)
    await services.residents.register(41, "tr")
    idea = await services.ideas.submit(41, "tr", text="Bank im Park", topic="environment")
    await services.ideas.publish(coordinator, idea.id)
    for reporter in (42, 43, 44):
        await services.residents.register(reporter, "de")
        await services.ideas.report(idea.id, reporter)
    session_id = await dashboard.login(coordinator)
    token = services.dashboard.csrf_token(session_id)

    status, body = await dashboard.get("/dashboard/ideas", session_id)
    assert status == 200 and f'action="/dashboard/ideas/{idea.id}/keep"' in body
    response = await dashboard.client.post(
        f"/dashboard/ideas/{idea.id}/keep",
        data={CSRF_FIELD: token},
        headers=_cookie(session_id),
        allow_redirects=False,
    )
    assert response.status == 303
    board, _total = await services.ideas.board()
    assert [found.id for found in board] == [idea.id]
    response = await dashboard.client.post(
        f"/dashboard/ideas/{idea.id}/hide",
        data={CSRF_FIELD: token},
        headers=_cookie(session_id),
        allow_redirects=False,
    )
    assert response.status == 303
    assert (await services.ideas.board())[1] == 0
    for queue in ("new", "planned", "closed"):
        assert (await dashboard.get(f"/dashboard/ideas?queue={queue}", session_id))[0] == 200

    draft = await services.broadcasts.create_draft(coordinator)
    at = (dashboard.clock() + timedelta(days=2)).astimezone(services.broadcasts.tz)
    response = await dashboard.client.post(
        f"/dashboard/broadcasts/{draft.id}/schedule",
        data={CSRF_FIELD: token, "text_de": "Bald!", "send_at": at.strftime("%Y-%m-%dT%H:%M")},
        headers=_cookie(session_id),
        allow_redirects=False,
    )
    assert response.status == 303
    scheduled = await services.broadcasts.get(coordinator, draft.id)
    assert scheduled is not None and scheduled.status == "scheduled"
    status, body = await dashboard.get("/dashboard/broadcasts", session_id)
    assert status == 200 and dashboard.text("de", "Scheduled", "broadcast status") in body
    status, body = await dashboard.get(f"/dashboard/broadcasts/{draft.id}", session_id)
    assert status == 200 and "Bald!" in body
    response = await dashboard.client.post(
        f"/dashboard/broadcasts/{draft.id}/cancel",
        data={CSRF_FIELD: token},
        headers=_cookie(session_id),
        allow_redirects=False,
    )
    assert response.status == 303
    cancelled = await services.broadcasts.get(coordinator, draft.id)
    assert cancelled is not None and cancelled.status == "cancelled"


# --- with the bot: the sandbox-backed runtime --------------------------------------------


@dataclass
class Desk:
    """A staff member's browser on the live runtime's dashboard."""

    client: TestClient
    session_id: str
    csrf: str

    async def get(self, path: str) -> tuple[int, str]:
        response = await self.client.get(path, headers=_cookie(self.session_id))
        return response.status, await response.text()

    async def post(self, path: str, data: list[tuple[str, str]]) -> ClientResponse:
        return await self.client.post(
            path,
            data=[(CSRF_FIELD, self.csrf), *data],
            headers=_cookie(self.session_id),
            allow_redirects=False,
        )


@asynccontextmanager
async def desk(live_bot: LiveBot, actor: Actor) -> AsyncIterator[Desk]:
    runtime = live_bot.runtime
    assert runtime.application is not None and runtime.engine is not None
    app = create_web_app(
        runtime.settings,
        runtime.engine,
        runtime.application,
        bot_username=runtime.application.bot.username,
    )
    async with TestClient(TestServer(app)) as client:
        client.session.cookie_jar.clear()
        services = runtime.services
        token = await services.dashboard.issue_login(actor)
        response = await client.post(f"/dashboard/login/{token}", allow_redirects=False)
        assert response.status == 303
        session_id = response.cookies[COOKIE].value
        client.session.cookie_jar.clear()
        yield Desk(client, session_id, services.dashboard.csrf_token(session_id))


async def _coordinator(live_bot: LiveBot, telegram_id: int = STAFF_ID) -> Actor:
    services = live_bot.runtime.services
    await services.residents.grant_role(telegram_id, Role.COORDINATOR)
    await onboard(live_bot.resident("Dilek", "de", telegram_id), "de")
    return await services.residents.actor(telegram_id)


async def test_an_idea_published_on_the_page_is_on_the_board_and_its_voice_plays(
    live_bot: LiveBot,
) -> None:
    services = live_bot.runtime.services
    coordinator = await _coordinator(live_bot)
    omar = live_bot.resident("Omar", "ar", 702)
    await onboard(omar, "ar")
    await share(omar, text="مقاعد جديدة في الحديقة من فضلكم")
    lena = live_bot.resident("Lena", "de", 703)
    await onboard(lena, "de")
    await share(lena, voice=b"OggS fake voice note")

    async with desk(live_bot, coordinator) as browser:
        status, body = await browser.get("/dashboard/ideas")
        assert status == 200
        ids = [int(found) for found in re.findall(r'href="/dashboard/ideas/(\d+)"', body)]
        assert len(set(ids)) == 2
        text_id, voice_id = sorted(set(ids))
        status, body = await browser.get(f"/dashboard/ideas/{text_id}")
        assert status == 200 and "مقاعد جديدة في الحديقة من فضلكم" in body
        assert f'action="/dashboard/ideas/{text_id}/publish"' in body

        before = len(live_bot.emulator.bot_messages(702))
        response = await browser.post(f"/dashboard/ideas/{text_id}/publish", [])
        assert response.status == 303
        board, total = await services.ideas.board(limit=10)
        assert total == 1 and board[0].id == text_id
        # The author hears of it in Arabic, through the outbox.
        await live_bot.emulator.wait_until(
            lambda: len(live_bot.emulator.bot_messages(702)) > before, timeout=10
        )
        assert ARABIC.search(omar.last.text or "")
        # Twice is refused without harm: the page says nothing changed.
        again = await browser.post(f"/dashboard/ideas/{text_id}/publish", [])
        assert again.headers["Location"].endswith("?error=unchanged")

        # The voice note, fetched from Telegram (the sandbox) through the bot.
        status, body = await browser.get(f"/dashboard/ideas/{voice_id}")
        assert f'<audio controls preload="none" src="/dashboard/ideas/{voice_id}/voice">' in body
        response = await browser.client.get(
            f"/dashboard/ideas/{voice_id}/voice", headers=_cookie(browser.session_id)
        )
        assert response.status == 200 and response.content_type == "audio/ogg"
        assert await response.read() == b"OggS fake voice note"

        # Rejecting needs a reason; with one, it is off the inbox's first list.
        response = await browser.post(
            f"/dashboard/ideas/{voice_id}/status", [("status", "rejected")]
        )
        assert response.headers["Location"].endswith("?error=reason")
        response = await browser.post(
            f"/dashboard/ideas/{voice_id}/status", [("status", "rejected"), ("reason", "other")]
        )
        assert response.status == 303 and "error" not in response.headers["Location"]
        rejected = await services.ideas.get(coordinator, voice_id)
        assert rejected is not None and rejected.status == "rejected" and rejected.reason == "other"


async def test_a_broadcast_written_in_german_and_arabic_reaches_omar_in_arabic(
    live_bot: LiveBot,
) -> None:
    coordinator = await _coordinator(live_bot)
    omar = live_bot.resident("Omar", "ar", 702)
    jana = live_bot.resident("Jana", "de", 703)
    for resident, locale in ((omar, "ar"), (jana, "de")):
        await onboard(resident, locale)

    async with desk(live_bot, coordinator) as browser:
        response = await browser.post("/dashboard/broadcasts/new", [])
        assert response.status == 303
        page = response.headers["Location"]
        number = int(page.rsplit("/", 1)[1])
        status, body = await browser.get(page)
        assert status == 200
        assert 'name="text_de"' in body and 'name="text_ar"' in body

        texts = [("text_de", "Samstag ist Hoffest!"), ("text_ar", "السبت حفلة في الفناء!")]
        # Only Arabic readers: the count per language says one, in Arabic.
        response = await browser.post(f"{page}/save", [*texts, ("locales", "ar")])
        assert response.status == 303
        status, body = await browser.get(page)
        assert re.search(r"<td>[^<]+</td><td class=\"num\">1</td>", body)
        view = await live_bot.runtime.services.broadcasts.get(coordinator, number)
        assert view is not None and dict(view.audience) == {"locales": ["ar"]}

        # Everyone, sent now.
        response = await browser.post(f"{page}/send", texts)
        assert response.status == 303 and response.headers["Location"] == "/dashboard/broadcasts"

        def arrived() -> bool:
            o = live_bot.emulator.bot_messages(702)[-1].text or ""
            j = live_bot.emulator.bot_messages(703)[-1].text or ""
            # (An Arabic text needs no right-to-left mark in front, a German one would.)
            return o.lstrip(RLM).startswith("السبت حفلة في الفناء!") and j.startswith(
                "Samstag ist Hoffest!"
            )

        await live_bot.emulator.wait_until(arrived, timeout=15)
        assert not any("Samstag" in (m.text or "") for m in live_bot.emulator.bot_messages(702))

        status, body = await browser.get("/dashboard/broadcasts")
        assert status == 200 and f'href="/dashboard/broadcasts/{number}"' in body
        # Sent: no more editing, no second sending.
        again = await browser.post(f"{page}/send", texts)
        assert again.headers["Location"].endswith("?error=send")


async def test_an_invitation_made_on_the_team_page_works_once_in_the_bot(
    live_bot: LiveBot,
) -> None:
    services = live_bot.runtime.services
    await onboard(live_bot.resident("Admin", "de", ADMIN_ID), "de")
    admin = await services.residents.actor(ADMIN_ID)
    async with desk(live_bot, admin) as browser:
        status, body = await browser.get("/dashboard/team")
        assert status == 200 and 'value="coordinator"' in body
        response = await browser.post("/dashboard/team/invite", [("role", "coordinator")])
        assert response.status == 200
        found = re.search(r"\?start=invite_([A-Za-z0-9_-]+)", await response.text())
        assert found is not None
        code = found.group(1)

        jana = live_bot.resident("Jana", "de", 801)
        live_bot.emulator.send_text(jana.user_id, f"/start invite_{code}")
        for _ in range(100):
            if (await services.residents.actor(801)).is_staff:
                break
            await asyncio.sleep(0.1)
        assert Role.COORDINATOR in (await services.residents.actor(801)).roles

        # A second person with the same link: nothing.
        lena = live_bot.resident("Lena", "de", 802)
        await lena.say(f"/start invite_{code}")
        assert not (await services.residents.actor(802)).is_staff

        # Revoking asks first, then takes the role away.
        status, body = await browser.get("/dashboard/team/revoke?telegram_id=801&role=coordinator")
        assert status == 200 and 'action="/dashboard/team/revoke"' in body
        response = await browser.post(
            "/dashboard/team/revoke", [("telegram_id", "801"), ("role", "coordinator")]
        )
        assert response.status == 303
        assert not (await services.residents.actor(801)).is_staff

        status, body = await browser.get("/dashboard/audit")
        # In the admin's words, as the bot's /audit says it.
        t = live_bot.runtime.application.bot_data.i18n.translator("de")
        assert status == 200 and "role.invite" not in body
        assert html.escape(t.gettext("created an invitation")) in body
        assert html.escape(t.gettext("revoked a role")) in body


# --- the same service methods as the bot ----------------------------------------------------


def _service_of(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """``X`` for ``….services.X`` / ``services.X``, or for a name bound to one."""
    if isinstance(node, ast.Attribute):
        owner = node.value
        if isinstance(owner, ast.Attribute) and owner.attr == "services":
            return node.attr
        if isinstance(owner, ast.Name) and owner.id == "services":
            return node.attr
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    return None


def service_calls(source: str) -> set[tuple[str, str]]:
    """Every ``(service, method)`` called in ``source``, through ``….services.X.m(`` or a
    local name bound to ``….services.X`` first."""
    found: set[tuple[str, str]] = set()
    tree = ast.parse(source)
    for scope in ast.walk(tree):
        if not isinstance(scope, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        aliases: dict[str, str] = {}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                service = _service_of(node.value, {})
                if isinstance(target, ast.Name) and service:
                    aliases[target.id] = service
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                service = _service_of(node.func.value, aliases)
                if service:
                    found.add((service, node.func.attr))
    return found


def _calls_in(folder: Path) -> set[tuple[str, str]]:
    return set().union(
        *(service_calls(path.read_text(encoding="utf-8")) for path in folder.rglob("*.py"))
    )


#: Signs that a method writes: a transaction, the outbox, the audit log, a row changed.
WRITES = re.compile(
    r"\.begin\(|in_transaction|_retrying|self\._edit\(|\bupdate\(|\binsert|\bdelete\(|"
    r"session\.add|\.enqueue\(|\.record\("
)


def _is_read(service: str, method: str) -> bool:
    classes = typing.get_type_hints(Services)
    function = getattr(classes[service], method)
    return WRITES.search(inspect.getsource(function)) is None


def test_the_walker_sees_calls_through_aliases_and_would_catch_an_own_rule() -> None:
    snippet = (
        "async def page(request, page):\n"
        "    ideas = page.services.ideas\n"
        "    await ideas.publish(page.actor, 1)\n"
        "    await page.services.broadcasts.send_now(page.actor, 2)\n"
        "    services = page.services\n"
        "    await services.roles.invite(page.actor, 'partner')\n"
    )
    assert service_calls(snippet) == {
        ("ideas", "publish"),
        ("broadcasts", "send_now"),
        ("roles", "invite"),
    }
    assert _is_read("ideas", "inbox") and not _is_read("ideas", "publish")


def test_the_dashboard_calls_the_service_methods_the_bot_calls() -> None:
    """Every service method a page calls is one a handler calls too, or a plain read; the
    dashboard's login machinery (``services.dashboard``) is its own and has no bot twin."""
    handlers = _calls_in(HANDLERS)
    pages = {call for call in _calls_in(DASHBOARD) if call[0] != "dashboard"}
    classes = typing.get_type_hints(Services)
    for service, method in sorted(pages):
        assert service in classes and callable(getattr(classes[service], method, None)), (
            f"services.{service}.{method} does not exist"
        )
    # The writes these pages make are exactly what the bot's buttons do.
    for call in (
        ("ideas", "publish"),
        ("ideas", "set_status"),
        ("ideas", "keep_reported"),
        ("ideas", "hide_reported"),
        ("groups", "close"),
        ("broadcasts", "create_draft"),
        ("broadcasts", "set_version"),
        ("broadcasts", "toggle_audience"),
        ("broadcasts", "send_now"),
        ("broadcasts", "schedule_once"),
        ("broadcasts", "cancel"),
        ("roles", "invite"),
        ("roles", "revoke"),
    ):
        assert call in pages, call
        assert call in handlers, call
    own = sorted(call for call in pages - handlers if not _is_read(*call))
    assert own == [], f"the dashboard writes through methods no handler calls: {own}"
