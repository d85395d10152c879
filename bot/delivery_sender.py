"""``TelegramSender``: the delivery engine's way to the Bot API.

A lean aiohttp client that posts JSON to ``{TELEGRAM_API_URL}{token}/{method}`` and maps the
answers to the engine's errors. It deliberately bypasses PTB: the engine does the rate limiting
(PTB's ``AIORateLimiter`` would limit twice and retry on its own), and building PTB ``Message``
objects from every answer costs several times the CPU of the whole send (see
``bench/README.md`` for the measurement).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from bot.config import Settings
from bot.services.delivery import (
    DeliveryError,
    PermanentFailure,
    RateLimited,
    RecipientGone,
    TransientFailure,
    UnconfirmedSend,
)

# A 400 that means the chat is gone for good, not that the message was wrong.
_GONE_DESCRIPTIONS = (
    "chat not found",
    "user is deactivated",
    "user not found",
    "peer_id_invalid",
    "bot was blocked",
    "bot was kicked",
)

_JSON = {"Content-Type": "application/json"}


def classify(status: int, answer: dict[str, Any]) -> DeliveryError:
    """The engine's error for a Bot API answer with ``ok: false``."""
    code = int(answer.get("error_code") or status)
    description = str(answer.get("description") or f"HTTP {status}")
    parameters = answer.get("parameters") or {}
    if code == 429 or "retry_after" in parameters:
        return RateLimited(float(parameters.get("retry_after") or 1))
    if code == 403:
        return RecipientGone(description)
    if code == 400:
        lowered = description.lower()
        if any(part in lowered for part in _GONE_DESCRIPTIONS):
            return RecipientGone(description)
        return PermanentFailure(description)
    # 5xx, and 401/404 (a wrong token or URL is an operator's mistake: retried with backoff,
    # so fixing the setting and restarting loses nothing).
    return TransientFailure(f"{code} {description}")


class TelegramSender:
    """Implements ``bot.services.delivery.Sender`` over one keep-alive connection pool."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        allow_paid_broadcast: bool = False,
        connections: int = 100,
        timeout: float = 30.0,
    ) -> None:
        self._base = f"{api_url}{token}/"
        self._allow_paid_broadcast = allow_paid_broadcast
        self._connections = connections
        # A connect timeout of its own, so that a hanging connect is told apart from a lost
        # answer (UnconfirmedSend).
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 10.0))
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, connections: int = 100) -> TelegramSender:
        if not settings.token:
            raise ValueError("a bot token is needed to send")
        return cls(
            settings.telegram_api_url,
            settings.token,
            allow_paid_broadcast=settings.paid_broadcasts,
            connections=connections,
        )

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300),
                timeout=self._timeout,
                # Less per-request work: no cookies to store, no User-Agent to add.
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, chat_id: int, payload: dict[str, Any]) -> int:
        body = dict(payload)
        method = body.pop("method", "sendMessage")
        body["chat_id"] = chat_id
        if self._allow_paid_broadcast:
            body["allow_paid_broadcast"] = True
        try:
            async with self._client().post(
                self._base + method, data=json.dumps(body), headers=_JSON
            ) as response:
                status = response.status
                raw = await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # No connection, so no request: certainly not delivered.
            raise TransientFailure(f"{type(exc).__name__}: {exc}") from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # The request may have been read and the message sent before the answer was lost;
            # the engine re-sends such a row at most once.
            raise UnconfirmedSend(f"{type(exc).__name__}: {exc}") from None
        except asyncio.CancelledError:
            raise
        try:
            answer = json.loads(raw)
        except ValueError:
            raise TransientFailure(f"HTTP {status}: not a Bot API answer") from None
        if answer.get("ok"):
            return int(answer["result"]["message_id"])
        raise classify(status, answer)
