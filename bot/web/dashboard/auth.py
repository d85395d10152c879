"""Logging in and out. The login link from the bot's /dashboard opens a page with one button:
the link is used up by that button's POST, not by opening it, so a link preview or a scanner
that fetches it can't spend it. The POST carries no CSRF token (there is no session yet); the
token in the URL is the secret."""

from __future__ import annotations

from aiohttp import web

from bot.services import Services
from bot.services.dashboard_auth import LoginRefused
from bot.web.dashboard.pages import (
    LOGIN_PATH,
    PREFIX,
    STAFF_OR_PARTNER,
    Page,
    clear_session_cookie,
    render,
    see_other,
    set_session_cookie,
    staff_page,
    translator_for_request,
)
from bot.web.events import SERVICES

routes = web.RouteTableDef()


@routes.get(f"{PREFIX}/login")
async def login_help(request: web.Request) -> web.Response:
    """How to log in: send /dashboard to the bot."""
    return render(request, "dashboard/login.html", translator_for_request(request), {})


@routes.get(PREFIX + "/login/{token}")
async def login_confirm(request: web.Request) -> web.Response:
    t = translator_for_request(request)
    return render(
        request, "dashboard/login_confirm.html", t, {"token": request.match_info["token"]}
    )


@routes.post(PREFIX + "/login/{token}")
async def login(request: web.Request) -> web.StreamResponse:
    services: Services = request.app[SERVICES]
    try:
        session_id = await services.dashboard.redeem(request.match_info["token"], services.clock())
    except LoginRefused as refused:
        t = translator_for_request(request)
        return render(request, "dashboard/login.html", t, {"refused": refused.reason}, status=403)
    response = see_other(f"{PREFIX}/")
    set_session_cookie(request, response, session_id)
    return response


@routes.post(f"{PREFIX}/logout")
@staff_page("dashboard/login.html", allow=STAFF_OR_PARTNER)
async def logout(request: web.Request, page: Page) -> web.StreamResponse:
    await page.services.dashboard.logout(page.session_id)
    response = see_other(LOGIN_PATH)
    clear_session_cookie(request, response)
    return response
