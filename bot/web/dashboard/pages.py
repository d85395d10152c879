"""What every dashboard page shares: the session cookie, the actor, the translator, the CSRF
check, the layout's navigation, and ``staff_page``, the decorator a page's handler wears.

A page handler receives the request and a ``Page`` (who is acting, in which language, the
services, the parsed form of a POST) and returns the template's context (a dict) or a response
of its own (a redirect after a POST). ``staff_page`` does the rest, in this order:

1. no valid session cookie: a GET is redirected to the login page, a POST too (303);
2. the actor (read fresh, so a revoked role logs out at once) fails ``allow``: the 403 page;
3. a POST whose ``csrf`` field isn't the session's token: the 403 page;
4. the handler runs; a ``NotAllowed`` from a service is the 403 page as well.

The rules stay the services': ``allow`` only keeps people away from pages that can't show
them anything, and every service method a page calls checks the actor again.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from bot.i18n import I18n, Translator
from bot.services import Services
from bot.services.dashboard_auth import MAX_AGE, may_use_dashboard
from bot.services.permissions import Actor, NotAllowed
from bot.web.events import I18N, SERVICES, SETTINGS

__all__ = [
    "COOKIE",
    "LOGIN_PATH",
    "PREFIX",
    "STAFF",
    "STAFF_OR_PARTNER",
    "Page",
    "navigation",
    "render",
    "see_other",
    "staff_page",
    "translator_for_request",
]

PREFIX = "/dashboard"
LOGIN_PATH = f"{PREFIX}/login"
COOKIE = "quartierbot_dashboard"
#: The name of the route that serves bot/web/static/.
STATIC_ROUTE = "dashboard-static"
#: The hidden field every form carries.
CSRF_FIELD = "csrf"

#: Who may open a page: ``staff_page(..., allow=STAFF)`` (the default), or partners too.
STAFF: Callable[[Actor], bool] = lambda actor: actor.is_staff  # noqa: E731
STAFF_OR_PARTNER: Callable[[Actor], bool] = may_use_dashboard


@dataclass(frozen=True)
class Page:
    """Everything a page handler needs; services decide with ``actor``."""

    request: web.Request
    actor: Actor
    t: Translator
    services: Services
    session_id: str
    csrf_token: str
    #: The instant of this request, from the services' clock.
    now: datetime
    #: The submitted form of a POST (its CSRF token already checked); empty for a GET.
    form: MultiDictProxy[str | bytes | bytearray | web.FileField]


Handler = Callable[[web.Request, Page], Awaitable[Mapping[str, Any] | web.StreamResponse]]


def navigation(t: Translator) -> list[tuple[str, str]]:
    """The header's links, (path, label), in the order shown."""
    p = t.pgettext
    return [
        (f"{PREFIX}/", p("dashboard navigation", "Overview")),
        (f"{PREFIX}/events", p("dashboard navigation", "Events")),
        (f"{PREFIX}/translations", p("dashboard navigation", "Translations")),
        (f"{PREFIX}/ideas", p("dashboard navigation", "Ideas")),
        (f"{PREFIX}/groups", p("dashboard navigation", "Groups")),
        (f"{PREFIX}/broadcasts", p("dashboard navigation", "Broadcasts")),
        (f"{PREFIX}/team", p("dashboard navigation", "Team")),
        (f"{PREFIX}/audit", p("dashboard navigation", "Audit log")),
    ]


def translator_for_request(request: web.Request) -> Translator:
    """Before login: the best match of the browser's Accept-Language among our locales, else
    the default language."""
    i18n: I18n = request.app[I18N]
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _semicolon, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            wanted.append((-quality, index, tag))
    for _q, _i, tag in sorted(wanted):
        found = i18n.match(tag)
        if found:
            return i18n.translator(found)
    return i18n.translator(i18n.default_locale)


def render(
    request: web.Request,
    template: str,
    t: Translator,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    page: Page | None = None,
) -> web.Response:
    """A template in ``t``'s language, inside the layout (with the navigation and the logout
    form when someone is logged in)."""
    base: dict[str, Any] = {
        "t": t,
        "lang": t.language_tag,
        "dir": "rtl" if t.rtl else "ltr",
        "path": request.path,
        "prefix": PREFIX,
        "stylesheet": str(request.app.router[STATIC_ROUTE].url_for(filename="dashboard.css")),
        "actor": page.actor if page else None,
        "csrf_field": CSRF_FIELD,
        "csrf_token": page.csrf_token if page else "",
        "nav": navigation(t) if page else [],
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def see_other(location: str) -> web.Response:
    """The answer to a POST that worked (and to a page without a session): go to ``location``."""
    return web.Response(status=303, headers={"Location": location})


async def act(
    action: Awaitable[object],
    done: str,
    refused: Sequence[tuple[type[Exception], str]],
) -> web.Response:
    """A form's service call, answered POST/redirect/GET: to ``done`` when it worked, or to
    the location of the first refusal the service's error is an instance of (list the more
    specific errors first); any other error propagates (as in the bot, the last resort)."""
    try:
        await action
    except tuple(kind for kind, _ in refused) as error:
        return see_other(next(where for kind, where in refused if isinstance(error, kind)))
    return see_other(done)


def forbidden(request: web.Request, t: Translator, page: Page | None = None) -> web.Response:
    return render(request, "dashboard/forbidden.html", t, {}, status=403, page=page)


def secure_cookie(request: web.Request) -> bool:
    return (request.app[SETTINGS].public_url or "").lower().startswith("https://")


def set_session_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        session_id,
        path=PREFIX,
        max_age=int(MAX_AGE.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=secure_cookie(request),
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=PREFIX, secure=secure_cookie(request), samesite="Lax")


async def page_for(request: web.Request) -> Page | None:
    """The logged-in person's ``Page``, or None without a live session."""
    services: Services = request.app[SERVICES]
    session_id = request.cookies.get(COOKIE, "")
    now = services.clock()
    actor = await services.dashboard.session_actor(session_id, now) if session_id else None
    if actor is None or actor.telegram_id is None:
        return None
    profile = await services.residents.get(actor.telegram_id)
    t = request.app[I18N].translator(profile.locale if profile else None)
    return Page(
        request=request,
        actor=actor,
        t=t,
        services=services,
        session_id=session_id,
        csrf_token=services.dashboard.csrf_token(session_id),
        now=now,
        form=MultiDictProxy(MultiDict()),
    )


def staff_page(
    template: str, *, allow: Callable[[Actor], bool] = STAFF
) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Wrap a page handler: session, role, CSRF, then render ``template`` with what the
    handler returns (see the module's docstring)."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(handler)
        async def page_handler(request: web.Request) -> web.StreamResponse:
            page = await page_for(request)
            if page is None:
                response = see_other(LOGIN_PATH)
                if COOKIE in request.cookies:
                    clear_session_cookie(request, response)
                return response
            if not allow(page.actor):
                return forbidden(request, page.t, page)
            if request.method == "POST":
                form = await request.post()
                token = form.get(CSRF_FIELD)
                if not isinstance(token, str) or not page.services.dashboard.csrf_ok(
                    page.session_id, token
                ):
                    return forbidden(request, page.t, page)
                page = replace(page, form=form)
            try:
                result = await handler(request, page)
            except NotAllowed:
                return forbidden(request, page.t, page)
            if isinstance(result, web.StreamResponse):
                return result
            return render(request, template, page.t, result, page=page)

        return page_handler

    return wrap
