"""``DeepLClient``: drafts from DeepL's API (Free: api-free.deepl.com, Pro: api.deepl.com).

Its HTTP API: every request carries ``Authorization: DeepL-Auth-Key <key>``;
``GET /v2/languages?type=target`` (and ``type=source``) answers
``[{"language": "EN-GB", "name": "English (British)", "supports_formality": false}]``;
``POST /v2/translate`` takes JSON ``{"text": [...], "source_lang", "target_lang",
"tag_handling": "html"}`` and answers ``{"translations": [{"detected_source_language",
"text"}]}``; errors are HTTP 400/403/404/413/429/456 (quota)/5xx with ``{"message": "..."}``.
Codes are upper case; some targets come as variants ("EN-GB", "PT-PT", "ZH-HANS").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.translation.base import HttpTranslator, LanguageTable, ProviderError

#: For a locale DeepL offers in several variants, the one we draft in, best first. A locale
#: not named here maps only to DeepL's plain code ("TR" for "tr"); other variants are ignored.
_PREFERRED = {
    "en": ("EN-GB", "EN-US", "EN"),
    "pt": ("PT-PT", "PT-BR", "PT"),
    "zh": ("ZH-HANS", "ZH"),
    "es": ("ES", "ES-419"),
}
#: DeepL codes for our locales under another name. Never "CKB" (Sorani) for "ku" (Kurmanji).
_ALIASES = {"KMR": "ku"}


def deepl_codes(listed: Iterable[str], locales: Iterable[str]) -> dict[str, str]:
    """Our locales -> the DeepL code to use for each, from the codes DeepL lists."""
    available = {code.strip().upper() for code in listed}
    chosen: dict[str, str] = {}
    for locale in locales:
        candidates = _PREFERRED.get(locale, (locale.upper(),))
        candidates += tuple(code for code, alias in _ALIASES.items() if alias == locale)
        for code in candidates:
            if code in available:
                chosen[locale] = code
                break
    return chosen


def _listed_codes(answer: Any) -> list[str]:
    if not isinstance(answer, list):
        raise ProviderError("/v2/languages did not answer a list")
    return [
        entry["language"]
        for entry in answer
        if isinstance(entry, dict) and isinstance(entry.get("language"), str)
    ]


class DeepLClient(HttpTranslator):
    name = "deepl"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"DeepL-Auth-Key {self._api_key}"} if self._api_key else {}

    async def _fetch_languages(self) -> LanguageTable:
        targets = _listed_codes(
            await self._request("GET", "/v2/languages", params={"type": "target"})
        )
        sources = _listed_codes(
            await self._request("GET", "/v2/languages", params={"type": "source"})
        )
        return LanguageTable(
            sources=deepl_codes(sources, self._locales),
            targets=deepl_codes(targets, self._locales),
        )

    async def _translate(self, text: str, source: str, target: str, *, html: bool) -> str:
        body: dict[str, Any] = {"text": [text], "source_lang": source, "target_lang": target}
        if html:
            body["tag_handling"] = "html"
        answer = await self._request("POST", "/v2/translate", json=body)
        translations = answer.get("translations") if isinstance(answer, dict) else None
        first = translations[0] if isinstance(translations, list) and translations else None
        translated = first.get("text") if isinstance(first, dict) else None
        if not isinstance(translated, str) or not translated.strip():
            raise ProviderError("the answer has no translations")
        return translated

    @staticmethod
    def _error_message(answer: Any) -> str | None:
        if isinstance(answer, dict) and answer.get("message") and "translations" not in answer:
            return str(answer["message"])
        return None
