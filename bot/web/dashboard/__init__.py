"""The coordinators' web dashboard (issue 14): server-rendered pages (aiohttp-jinja2) on the
bot's own HTTP server under ``/dashboard/``, calling the same services as the bot.

- ``pages``: what every page shares (``staff_page``, ``Page``, the navigation, rendering);
- ``auth``: the login page, the one-time link from the bot's /dashboard, logout;
- ``overview``: ``/dashboard/``;
- one module per further page, each with a ``routes`` table, listed in ``PAGES``.

Templates are in ``bot/web/templates/dashboard/``, the stylesheet in ``bot/web/static/``.
Nothing here queries the database: a test checks that ``bot/web/`` imports no SQLAlchemy and
no ``storage.models``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.web.dashboard import audit, auth, broadcasts, groups, ideas, overview, team
from bot.web.dashboard import events as events_pages
from bot.web.dashboard import translations as translation_pages
from bot.web.dashboard.pages import PREFIX, STATIC_ROUTE

__all__ = ["PAGES", "setup_dashboard"]

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES = WEB_DIR / "templates"
STATIC = WEB_DIR / "static"

#: The modules whose ``routes`` (a ``web.RouteTableDef``) make up the dashboard.
PAGES: tuple[ModuleType, ...] = (
    auth,
    overview,
    events_pages,
    translation_pages,
    ideas,
    groups,
    broadcasts,
    team,
    audit,
)


@jinja2.pass_context
def _gettext(context: Any, message: str) -> str:
    return str(context["t"].gettext(message))


@jinja2.pass_context
def _ngettext(context: Any, singular: str, plural: str, count: int) -> str:
    return str(context["t"].ngettext(singular, plural, count))


@jinja2.pass_context
def _pgettext(context: Any, message_context: str, message: str) -> str:
    return str(context["t"].pgettext(message_context, message))


@jinja2.pass_context
def _npgettext(context: Any, message_context: str, singular: str, plural: str, count: int) -> str:
    # Our Translator has no npgettext; the context is kept for the catalogs only.
    return str(context["t"].ngettext(singular, plural, count))


def environment(app: web.Application) -> jinja2.Environment:
    """Jinja2 with autoescaping and the i18n extension: ``{{ _("…") }}``, ``{% trans %}``,
    ``ngettext``/``pgettext`` speak the ``t`` (a ``Translator``) of the page's context."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    return env


def setup_dashboard(app: web.Application) -> None:
    """Mount the dashboard on ``app`` (which holds the SETTINGS, SERVICES and I18N keys)."""
    environment(app)
    for module in PAGES:
        app.router.add_routes(module.routes)
    app.router.add_get(PREFIX, _to_overview)
    app.router.add_static(f"{PREFIX}/static", STATIC, name=STATIC_ROUTE, append_version=True)


async def _to_overview(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect(f"{PREFIX}/")
