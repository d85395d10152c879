"""A local stand-in for DeepL's API (v2), speaking its real HTTP API.

Every request needs ``Authorization: DeepL-Auth-Key <api_key>`` (else 403). ``GET
/v2/languages?type=target|source`` answers ``[{"language", "name", "supports_formality"}]``
(targets in DeepL's variants, "EN-GB", "PT-PT"; no Persian, no Kurdish); ``POST /v2/translate``
takes JSON or a form with ``text`` (a list), ``source_lang``, ``target_lang`` and
``tag_handling`` and answers ``{"translations": [{"detected_source_language", "text"}]}``;
errors carry ``{"message": "..."}`` (400, 403, 429, 456 "Quota exceeded", 500). The translation
is deterministic: ``"[TR] Hallo"``, with ``tag_handling=html`` only between tags.

Faults and recorded requests: ``tests/support/standin.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import web

from tests.support.libretranslate import fake_translation
from tests.support.standin import Fault, Recorded, StandIn

__all__ = ["SOURCES", "TARGETS", "DeepLStandIn", "Fault", "Recorded"]

TARGETS: tuple[tuple[str, str], ...] = (
    ("AR", "Arabic"),
    ("BG", "Bulgarian"),
    ("DE", "German"),
    ("EL", "Greek"),
    ("EN-GB", "English (British)"),
    ("EN-US", "English (American)"),
    ("ES", "Spanish"),
    ("FR", "French"),
    ("IT", "Italian"),
    ("PL", "Polish"),
    ("PT-BR", "Portuguese (Brazilian)"),
    ("PT-PT", "Portuguese (European)"),
    ("RO", "Romanian"),
    ("RU", "Russian"),
    ("TR", "Turkish"),
    ("UK", "Ukrainian"),
    ("ZH-HANS", "Chinese (simplified)"),
    ("ZH-HANT", "Chinese (traditional)"),
)
SOURCES: tuple[tuple[str, str], ...] = (
    ("AR", "Arabic"),
    ("BG", "Bulgarian"),
    ("DE", "German"),
    ("EL", "Greek"),
    ("EN", "English"),
    ("ES", "Spanish"),
    ("FR", "French"),
    ("IT", "Italian"),
    ("PL", "Polish"),
    ("PT", "Portuguese"),
    ("RO", "Romanian"),
    ("RU", "Russian"),
    ("TR", "Turkish"),
    ("UK", "Ukrainian"),
    ("ZH", "Chinese"),
)
_FORMALITY = {"DE", "ES", "FR", "IT", "PL", "PT-BR", "PT-PT", "RU"}


@dataclass
class DeepLStandIn(StandIn):
    api_key: str | None = "stand-in-key:fx"
    targets: tuple[tuple[str, str], ...] = TARGETS
    sources: tuple[tuple[str, str], ...] = SOURCES

    _FAULTS: ClassVar[dict[Fault, tuple[int, str]]] = {
        Fault.ERROR: (500, "Internal server error"),
        Fault.SLOW_DOWN: (429, "Too many requests"),
        Fault.QUOTA: (456, "Quota exceeded"),
        Fault.BANNED: (403, "Forbidden"),
    }

    def fail(
        self,
        fault: Fault,
        *,
        path: str = "/v2/translate",
        times: int | None = 1,
        message: str | None = None,
    ) -> None:
        super().fail(fault, path=path, times=times, message=message)

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/v2/languages", self._languages)
        app.router.add_post("/v2/translate", self._translate)

    def _error(self, status: int, message: str) -> web.Response:
        return web.json_response({"message": message}, status=status)

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"DeepL-Auth-Key {self.api_key}"

    async def _languages(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        if not self._authorised(request):
            return self._error(403, "Forbidden")
        failed = await self._inject(request)
        if failed is not None:
            return failed
        kind = request.query.get("type", "source")
        if kind == "target":
            return web.json_response(
                [
                    {"language": code, "name": name, "supports_formality": code in _FORMALITY}
                    for code, name in self.targets
                ]
            )
        if kind == "source":
            return web.json_response([{"language": c, "name": n} for c, n in self.sources])
        return self._error(400, "Value for 'type' not supported.")

    async def _translate(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        if not self._authorised(request):
            return self._error(403, "Forbidden")
        failed = await self._inject(request)
        if failed is not None:
            return failed
        values: dict[str, Any]
        if isinstance(body, dict) and request.content_type == "application/json":
            values = body
        else:
            form = await request.post()
            values = {key: form.get(key) for key in form}
            values["text"] = form.getall("text", [])
        texts = values.get("text")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return self._error(400, "Parameter 'text' not specified.")
        target = str(values.get("target_lang") or "").upper()
        if target not in {code for code, _ in self.targets}:
            return self._error(400, "Value for 'target_lang' not supported.")
        source = values.get("source_lang")
        if source is not None and str(source).upper() not in {c for c, _ in self.sources}:
            return self._error(400, "Value for 'source_lang' not supported.")
        tags = values.get("tag_handling")
        if tags not in (None, "html", "xml"):
            return self._error(400, "Value for 'tag_handling' not supported.")
        text_format = "html" if tags == "html" else "text"
        detected = str(source or "DE").upper()
        return web.json_response(
            {
                "translations": [
                    {
                        "detected_source_language": detected,
                        "text": fake_translation(text, target, text_format, unescape=False),
                    }
                    for text in texts
                ]
            }
        )
