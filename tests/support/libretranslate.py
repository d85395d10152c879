"""A local stand-in for a LibreTranslate server, speaking its real HTTP API.

``GET /languages`` answers ``[{"code", "name", "targets"}]`` (without Kurdish, like
LibreTranslate itself); ``POST /translate`` takes JSON or a form with ``q``, ``source``,
``target``, ``format`` and ``api_key`` and answers ``{"translatedText": ...}``; errors are the
statuses and ``{"error": "..."}`` bodies LibreTranslate's Flask app writes (400 for a missing
parameter, an unsupported language or format, a text over the limit and a missing key, 403 for
a wrong key, 429, 500). The translation is deterministic: ``"[tr] Hallo"``; with
``format=html`` only the text between tags is translated (``"<b>[tr] Hallo</b>"``), so a test
sees which format was asked for. Like the real server it HTML-unescapes every result, in both
formats (``&amp;`` comes back as ``&``): a caller that sends a draft as Telegram HTML has to
escape or check it again.

Faults and recorded requests: ``tests/support/standin.py``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import web

from tests.support.standin import Fault, Recorded, StandIn

__all__ = ["LANGUAGES", "Fault", "LibreTranslateStandIn", "Recorded", "fake_translation"]

#: Code and English name, shaped like libretranslate.com's list; no "ku" (nor "kmr").
LANGUAGES: tuple[tuple[str, str], ...] = (
    ("en", "English"),
    ("ar", "Arabic"),
    ("zh-Hans", "Chinese"),
    ("fr", "French"),
    ("de", "German"),
    ("el", "Greek"),
    ("it", "Italian"),
    ("fa", "Persian"),
    ("pl", "Polish"),
    ("pt", "Portuguese"),
    ("pt-BR", "Portuguese (Brazil)"),
    ("ro", "Romanian"),
    ("ru", "Russian"),
    ("es", "Spanish"),
    ("tr", "Turkish"),
    ("uk", "Ukrainian"),
)


@dataclass
class LibreTranslateStandIn(StandIn):
    """With ``api_key`` set, /translate needs it: missing -> 400, wrong -> 403."""

    languages: tuple[tuple[str, str], ...] = LANGUAGES
    #: LibreTranslate's character limit per request (-1: none).
    char_limit: int = 5000

    _FAULTS: ClassVar[dict[Fault, tuple[int, str]]] = {
        Fault.ERROR: (500, "Cannot translate text: argostranslate model crashed"),
        Fault.SLOW_DOWN: (429, "Slowdown: 20 per 1 minute"),
        Fault.QUOTA: (429, "Slowdown: 100 per 1 day"),
        Fault.BANNED: (403, "Too many request limits violations"),
    }

    def fail(
        self,
        fault: Fault,
        *,
        path: str = "/translate",
        times: int | None = 1,
        message: str | None = None,
    ) -> None:
        super().fail(fault, path=path, times=times, message=message)

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/languages", self._languages)
        app.router.add_post("/translate", self._translate)

    def _error(self, status: int, message: str) -> web.Response:
        return web.json_response({"error": message}, status=status)

    async def _languages(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        failed = await self._inject(request)
        if failed is not None:
            return failed
        codes = [code for code, _ in self.languages]
        return web.json_response(
            [{"code": code, "name": name, "targets": codes} for code, name in self.languages]
        )

    async def _translate(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        if request.content_type == "application/json" and not isinstance(body, dict):
            return self._error(400, "Invalid JSON format")
        values: dict[str, Any] = body if isinstance(body, dict) else {}
        if self.api_key is not None:
            given = values.get("api_key")
            if given and given != self.api_key:
                return self._error(403, "Invalid API key")
            if not given:
                return self._error(400, "Please contact the server operator to get an API key")
        failed = await self._inject(request)
        if failed is not None:
            return failed
        for name in ("q", "source", "target"):
            if not values.get(name):
                return self._error(400, f"Invalid request: missing {name} parameter")
        q, source, target = values["q"], values["source"], values["target"]
        if not isinstance(q, str):
            return self._error(400, "Invalid request: this stand-in takes one text")
        if 0 <= self.char_limit < len(q):
            return self._error(
                400, f"Invalid request: request ({len(q)}) exceeds text limit ({self.char_limit})"
            )
        codes = {code for code, _ in self.languages}
        for code in (source, target):
            if code not in codes:
                return self._error(400, f"{code} is not supported")
        text_format = values.get("format") or "text"
        if text_format not in ("text", "html"):
            return self._error(400, f"{text_format} format is not supported")
        return web.json_response({"translatedText": fake_translation(q, target, text_format)})


_TAG = re.compile(r"(<[^>]*>)")


def fake_translation(
    q: str, target: str, text_format: str = "text", *, unescape: bool = True
) -> str:
    """``"[tr] Hallo"``; for HTML each text run between tags: ``"<b>[tr] Hallo</b>"``.

    Unescaped afterwards, as LibreTranslate's ``/translate`` does (``html.unescape``).
    """
    finish = html.unescape if unescape else str
    if text_format != "html":
        return finish(f"[{target}] {q}")
    parts = _TAG.split(q)
    for index, part in enumerate(parts):
        if index % 2 == 0 and part.strip():
            lead = part[: len(part) - len(part.lstrip())]
            parts[index] = f"{lead}[{target}] {part.lstrip()}"
    return finish("".join(parts))
