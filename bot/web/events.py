"""Events outside the chat: the public iCal feed, one event's ``.ics``, a printable flyer.

Only published (and, in calendars, cancelled) events are shown; anything else is a 404, so a
draft's id can't be probed. Every text on the flyer is escaped.
"""

from __future__ import annotations

import html
from datetime import timedelta

import segno
from aiohttp import web

from bot.calendar import event_ics, event_link, feed_ics
from bot.config import Settings
from bot.i18n import I18n, Translator
from bot.services import Services
from bot.services.events import EventView
from bot.services.permissions import ANONYMOUS
from storage.models import EventStatus

SETTINGS = web.AppKey("settings", Settings)
APPLICATION = web.AppKey("application", object)  # the PTB Application (generic, so untyped)
SERVICES = web.AppKey("services", Services)
I18N = web.AppKey("i18n", I18n)
BOT_USERNAME = web.AppKey("bot_username", str)  # "" when unknown: then the bot's own is asked

FEED_PAST = timedelta(days=30)
FEED_FUTURE = timedelta(days=366)
ICS_TYPE = "text/calendar"


def bot_username(app: web.Application) -> str | None:
    """The bot's username: given at start, else the initialised PTB bot's."""
    if app[BOT_USERNAME]:
        return app[BOT_USERNAME]
    bot = getattr(app[APPLICATION], "bot", None)
    try:
        name = getattr(bot, "username", None)
    except RuntimeError:  # PTB: the bot is not initialised yet
        return None
    return str(name) if name else None


def _locale(request: web.Request, key: str = "lang") -> str:
    i18n = request.app[I18N]
    wanted = request.query.get(key, "")
    return wanted if wanted in i18n.locales else i18n.default_locale


async def _public_event(request: web.Request, *, cancelled_ok: bool) -> EventView:
    # The web is anonymous: only what everyone may see.
    event = await request.app[SERVICES].events.get(ANONYMOUS, int(request.match_info["event_id"]))
    allowed = {EventStatus.PUBLISHED} | ({EventStatus.CANCELLED} if cancelled_ok else set())
    if event is None or event.status not in allowed or event.starts_at is None:
        raise web.HTTPNotFound(text="no such event")
    return event


def _ics_response(body: bytes, filename: str | None = None) -> web.Response:
    headers = {"Cache-Control": "public, max-age=300"}
    if filename:
        headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return web.Response(body=body, content_type=ICS_TYPE, charset="utf-8", headers=headers)


async def events_feed(request: web.Request) -> web.Response:
    """``GET /calendar.ics?lang=xx``: published events of the last month and the coming year."""
    app = request.app
    settings = app[SETTINGS]
    now = app[SERVICES].clock()
    events = await app[SERVICES].events.published_between(
        now - FEED_PAST, now + FEED_FUTURE, include_cancelled=True
    )
    body = feed_ics(
        events,
        _locale(request),
        public_url=settings.public_url,
        bot_username=bot_username(app),
        tz=settings.tz,
        now=now,
        name=settings.neighbourhood_name,
    )
    return _ics_response(body)


async def event_calendar(request: web.Request) -> web.Response:
    """``GET /events/{id}.ics?lang=xx``: one event, for "add to calendar"."""
    event = await _public_event(request, cancelled_ok=True)
    settings = request.app[SETTINGS]
    body = event_ics(
        event,
        _locale(request),
        public_url=settings.public_url,
        bot_username=bot_username(request.app),
        tz=settings.tz,
        now=request.app[SERVICES].clock(),
    )
    return _ics_response(body, f"event-{event.id}.ics")


# --- the flyer ---------------------------------------------------------------------------

FLYER_CSS = """
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "DejaVu Sans", Arial, sans-serif; margin: 0; color: #111; }
main { max-width: 180mm; margin: 0 auto; padding: 10mm 0; }
.lang { border-bottom: 1px dashed #999; padding: 6mm 0; }
.lang:last-of-type { border-bottom: none; }
.lang-name { font-size: 10pt; text-transform: uppercase; letter-spacing: .08em; color: #555; }
h1 { font-size: 26pt; margin: 2mm 0 4mm; line-height: 1.15; }
.facts { font-size: 15pt; line-height: 1.6; margin: 0; padding: 0; list-style: none; }
.description { font-size: 12pt; line-height: 1.45; white-space: pre-line; }
.qr { display: flex; align-items: center; gap: 8mm; margin-top: 8mm; }
.qr svg { width: 55mm; height: 55mm; }
.qr .link { font-size: 12pt; word-break: break-all; }
.organiser { font-size: 11pt; color: #333; }
@media print {
  body { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .noprint { display: none; }
}
@media screen { main { padding: 10mm; } }
"""


def _flyer_section(event: EventView, t: Translator) -> str:
    e = html.escape
    version = event.version_for(t.locale)
    title = version.title if version else f"#{event.id}"
    description = (version.description or "") if version else ""
    if len(description) > 600:
        description = description[:600].rstrip() + "…"
    assert event.starts_at is not None
    when = t.format_date(event.starts_at, "full")
    time_range = t.format_time(event.starts_at)
    if event.ends_at:
        time_range = f"{time_range} – {t.format_time(event.ends_at)}"
    place = ", ".join(p for p in (event.place_name, event.address) if p)
    facts = [f"<li>📅 {e(when)}</li>", f"<li>🕒 {e(time_range)}</li>"]
    if place:
        facts.append(f"<li>📍 {e(t.isolate(place))}</li>")
    direction = "rtl" if t.rtl else "ltr"
    parts = [
        f'<section class="lang" lang="{e(t.language_tag)}" dir="{direction}">',
        f'<div class="lang-name">{e(t.language_name)}</div>',
        f"<h1>{e(title)}</h1>",
        f'<ul class="facts">{"".join(facts)}</ul>',
    ]
    if description:
        parts.append(f'<p class="description">{e(description)}</p>')
    signup = t.gettext("📱 Scan the code with your phone to sign up in Telegram.")
    parts.append(f'<p class="signup">{e(signup)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def flyer_html(
    event: EventView, translators: list[Translator], link: str | None, heading: str
) -> str:
    e = html.escape
    sections = "\n".join(_flyer_section(event, t) for t in translators)
    qr = ""
    if link:
        code = segno.make(link, error="m")
        svg = code.svg_inline(scale=4, border=2, title=link, omitsize=True)
        qr = (
            f'<div class="qr"><div class="code" role="img">{svg}</div>'
            f'<div class="link">📱 {e(link)}</div></div>'
        )
    organiser = f'<p class="organiser">{e(event.organiser)}</p>' if event.organiser else ""
    primary = translators[0]
    return (
        "<!doctype html>\n"
        f'<html lang="{e(primary.language_tag)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(heading)}</title><style>{FLYER_CSS}</style></head>"
        f"<body><main>{sections}{qr}{organiser}</main></body></html>"
    )


async def event_flyer(request: web.Request) -> web.Response:
    """``GET /events/{id}/flyer?lang=de&lang2=tr``: an A4 page to print, in two languages."""
    event = await _public_event(request, cancelled_ok=False)
    i18n = request.app[I18N]
    first = _locale(request, "lang")
    second = request.query.get("lang2", "")
    # A second language the event has no version in would print the same text twice.
    wanted = second in i18n.locales and second != first and second in event.versions
    locales = [first] + ([second] if wanted else [])
    translators = [i18n.translator(locale) for locale in locales]
    link = event_link(event.id, bot_username(request.app))
    version = event.version_for(first)
    heading = version.title if version else f"#{event.id}"
    body = flyer_html(event, translators, link, heading)
    return web.Response(text=body, content_type="text/html", charset="utf-8")


__all__: list[str] = [
    "APPLICATION",
    "BOT_USERNAME",
    "I18N",
    "SERVICES",
    "SETTINGS",
    "event_calendar",
    "event_flyer",
    "events_feed",
    "flyer_html",
]
