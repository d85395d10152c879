"""What every machine translator offers, and the HTTP plumbing the providers share.

A machine translation is only ever a *draft*: the caller marks it "machine translation, not
reviewed" and a person approves it before it goes out. So a provider that fails costs nothing
but the draft: every failure (timeout, refused connection, an HTTP error, the provider's error
JSON, a language it can't do) is one warning line and ``None``, never an exception, and the
flow goes on without the draft. The warning never carries the API key or the text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import aiohttp

from bot.clock import Clock
from bot.locales import VARIETIES

log = logging.getLogger("bot.translation")

#: How long a provider's language list is trusted, and how soon a failed fetch is retried.
LANGUAGES_TTL = timedelta(hours=6)
LANGUAGES_RETRY = timedelta(minutes=1)

#: At most this much of a provider's error message goes into the log.
_REASON_LIMIT = 160


@runtime_checkable
class MachineTranslator(Protocol):
    """A provider of machine drafts. Language codes are the project's locales ("de", "ku")."""

    name: str

    async def languages(self) -> frozenset[str]:
        """The locales it can translate into (from the provider's own list, cached)."""
        ...

    async def translate(
        self, text: str, source: str, target: str, *, html: bool = False
    ) -> str | None:
        """The draft, or None on any failure (logged as one warning line)."""
        ...

    async def close(self) -> None:
        """Closes the HTTP session; the client may be used again afterwards."""
        ...


class ProviderError(Exception):
    """One failed call; the message is safe to log (no key, no text, one line)."""


@dataclass(frozen=True)
class LanguageTable:
    """A provider's languages in the project's terms.

    ``sources`` and ``targets`` map a locale to the provider's code for it; ``pairs`` (when
    the provider tells) maps a source locale to the locales it can translate that into.
    """

    sources: Mapping[str, str] = field(default_factory=dict)
    targets: Mapping[str, str] = field(default_factory=dict)
    pairs: Mapping[str, frozenset[str]] | None = None

    def source_locale(self, locale: str) -> str | None:
        """The locale to translate ``locale`` from: itself, or a variety's language (text in
        simple German is German). A variety is never a target: a provider's German is not
        Einfache Sprache, so drafts for ``de_simple`` wait for a person."""
        for candidate in (locale, VARIETIES.get(locale)):
            if candidate is not None and candidate in self.sources:
                return candidate
        return None

    def can(self, source: str, target: str) -> bool:
        source_locale = self.source_locale(source)
        if target not in self.targets or source_locale is None:
            return False
        return self.pairs is None or target in self.pairs.get(source_locale, frozenset())


class HttpTranslator:
    """Session, timeout, language cache and failure handling for an HTTP provider.

    One ``aiohttp.ClientSession`` per client, opened on the first request (so building a
    client connects nowhere) and closed by ``close()``.
    """

    name = "http"

    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        clock: Clock,
        locales: Iterable[str],
        timeout: float = 10.0,
        languages_ttl: timedelta = LANGUAGES_TTL,
        languages_retry: timedelta = LANGUAGES_RETRY,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the provider's URL must start with http:// or https://")
        self._url = url.rstrip("/")
        self._api_key = api_key or None
        self._clock = clock
        self._locales = tuple(locales)
        self._timeout_seconds = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._languages_ttl = languages_ttl
        self._languages_retry = languages_retry
        self._session: aiohttp.ClientSession | None = None
        self._table: LanguageTable | None = None
        self._table_until: datetime | None = None
        self._table_lock = asyncio.Lock()

    # -- the protocol ---------------------------------------------------------------------

    async def languages(self) -> frozenset[str]:
        return frozenset((await self._languages()).targets)

    async def translate(
        self, text: str, source: str, target: str, *, html: bool = False
    ) -> str | None:
        if not text.strip() or source == target:
            return None  # nothing to draft
        what = f"translate {source}->{target}"
        table = await self._languages()
        source_locale = table.source_locale(source)
        if source_locale is None or not table.can(source, target):
            self._warn(what, "the provider offers no such pair", text)
            return None
        try:
            return await self._translate(
                text, table.sources[source_locale], table.targets[target], html=html
            )
        except ProviderError as exc:
            self._warn(what, str(exc), text)
            return None

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # -- for the providers ----------------------------------------------------------------

    async def _fetch_languages(self) -> LanguageTable:
        raise NotImplementedError

    async def _translate(self, text: str, source: str, target: str, *, html: bool) -> str:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        return {}

    @staticmethod
    def _error_message(answer: Any) -> str | None:
        """The provider's error text in an answer, if it is one."""
        return None

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of one request; ``ProviderError`` for anything else."""
        try:
            async with self._client().request(
                method, self._url + path, headers=self._headers(), **kwargs
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError:
            raise ProviderError(f"no answer within {self._timeout_seconds:g} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            # Neither the body (the text, LibreTranslate's key) nor headers (DeepL's key) are
            # in these messages; host and port are.
            raise ProviderError(f"{type(exc).__name__}: {exc}") from None
        try:
            answer: Any = json.loads(raw)
        except ValueError:
            answer = None
        message = self._error_message(answer)
        if status >= 400:
            detail = f": {message}" if message else ("" if answer is not None else " (not JSON)")
            raise ProviderError(f"HTTP {status}{detail}")
        if answer is None:
            raise ProviderError(f"HTTP {status}: the answer is not JSON")
        if message:
            raise ProviderError(f"HTTP {status}: {message}")
        return answer

    # -- internals ------------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    async def _languages(self) -> LanguageTable:
        if self._fresh():
            assert self._table is not None
            return self._table
        async with self._table_lock:  # concurrent callers wait for one fetch
            if self._fresh():
                assert self._table is not None
                return self._table
            try:
                table = await self._fetch_languages()
            except ProviderError as exc:
                self._warn("languages", str(exc))
                # Keep what we knew (or nothing) and ask again soon, not on every call.
                self._table = self._table or LanguageTable()
                self._table_until = self._clock() + self._languages_retry
            else:
                self._table = table
                self._table_until = self._clock() + self._languages_ttl
            return self._table

    def _fresh(self) -> bool:
        return self._table_until is not None and self._clock() < self._table_until

    def _warn(self, what: str, reason: str, text: str | None = None) -> None:
        # A provider's error may quote what it was sent; a very short text can't be told apart
        # from ordinary words, and says nothing anyway.
        for secret in (self._api_key, text if text and len(text) >= 4 else None):
            if secret:
                reason = reason.replace(secret, "***")
        reason = " ".join(reason.split())
        if len(reason) > _REASON_LIMIT:
            reason = reason[: _REASON_LIMIT - 1] + "…"
        log.warning("machine translation (%s) %s failed: %s", self.name, what, reason)
