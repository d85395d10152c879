"""``LibreTranslateClient``: drafts from a LibreTranslate server (self-hosted or a mirror).

Its HTTP API: ``GET /languages`` answers ``[{"code": "de", "name": "German", "targets": [...]}]``;
``POST /translate`` takes JSON ``{"q", "source", "target", "format": "text"|"html", "api_key"}``
and answers ``{"translatedText": "..."}``; errors are HTTP 400/403/429/500 with
``{"error": "..."}``. Codes are ISO 639 ones ("tr", "ar", "uk", "fa"); LibreTranslate has no
Kurmanji, so Kurdish waits for a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.translation.base import HttpTranslator, LanguageTable, ProviderError

#: Provider codes that name one of our locales under another code. "ku" is Kurmanji here
#: (ISO 639-1 "ku", ISO 639-3 "kmr"); Sorani ("ckb") is another language and never maps to it.
_ALIASES = {"kmr": "ku", "zh-hans": "zh"}


def libretranslate_locale(code: str, locales: Iterable[str]) -> str | None:
    """Our locale for a LibreTranslate code, or None for a language we don't offer."""
    lowered = code.strip().lower()
    known = set(locales)
    if lowered in known:
        return lowered
    alias = _ALIASES.get(lowered)
    return alias if alias in known else None


def parse_languages(answer: Any, locales: Iterable[str]) -> LanguageTable:
    """``GET /languages``'s answer in our terms; unknown codes are ignored."""
    if not isinstance(answer, list):
        raise ProviderError("/languages did not answer a list")
    locales = tuple(locales)
    codes: dict[str, str] = {}
    listed: dict[str, list[Any] | None] = {}
    for entry in answer:
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
            continue
        locale = libretranslate_locale(entry["code"], locales)
        # An exact code wins over an alias ("zh" over "zh-Hans").
        if locale is None or (locale in codes and codes[locale].lower() == locale):
            continue
        codes[locale] = entry["code"]
        targets = entry.get("targets")
        listed[locale] = targets if isinstance(targets, list) else None
    pairs: dict[str, frozenset[str]] = {}
    for locale, targets in listed.items():
        if targets is None:  # an older server without "targets": every listed language
            pairs[locale] = frozenset(codes)
            continue
        mapped = (libretranslate_locale(t, locales) for t in targets if isinstance(t, str))
        pairs[locale] = frozenset(t for t in mapped if t in codes)
    reachable = frozenset().union(*pairs.values()) if pairs else frozenset()
    return LanguageTable(
        sources=dict(codes),
        targets={locale: code for locale, code in codes.items() if locale in reachable},
        pairs=pairs,
    )


class LibreTranslateClient(HttpTranslator):
    name = "libretranslate"

    async def _fetch_languages(self) -> LanguageTable:
        return parse_languages(await self._request("GET", "/languages"), self._locales)

    async def _translate(self, text: str, source: str, target: str, *, html: bool) -> str:
        body: dict[str, str] = {
            "q": text,
            "source": source,
            "target": target,
            "format": "html" if html else "text",
        }
        if self._api_key:
            body["api_key"] = self._api_key
        answer = await self._request("POST", "/translate", json=body)
        translated = answer.get("translatedText") if isinstance(answer, dict) else None
        if not isinstance(translated, str) or not translated.strip():
            raise ProviderError("the answer has no translatedText")
        return translated

    @staticmethod
    def _error_message(answer: Any) -> str | None:
        if isinstance(answer, dict) and answer.get("error"):
            return str(answer["error"])
        return None
