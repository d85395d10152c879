"""What the translation providers' stand-ins share: a real port, recorded requests, faults.

A stand-in is an aiohttp app on 127.0.0.1 (port 0: the system picks one). ``fail(fault,
path=..., times=...)`` makes the next requests to a path fail; ``requests`` records every
request (method, path, query, headers, body) in the order they arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Self

from aiohttp import web


class Fault(StrEnum):
    ERROR = "error"  # 500 with the provider's error JSON
    SLOW_DOWN = "slow_down"  # 429, the provider's rate limit
    BANNED = "banned"  # 403 with the provider's error JSON
    QUOTA = "quota"  # DeepL's 456 "Quota exceeded" (LibreTranslate: its 429)
    SLOW = "slow"  # answers only after ``delay`` seconds
    DROP = "drop"  # closes the connection without answering
    NOT_JSON = "not_json"  # 502 with an HTML page, as a proxy in front would


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class _Pending:
    fault: Fault
    times: int | None  # None: until ``heal()``
    message: str | None = None


@dataclass
class StandIn:
    """``async with Subclass() as server``: ``server.url`` is its base URL."""

    #: When set, the provider's key check applies (see each stand-in).
    api_key: str | None = None
    #: How long ``Fault.SLOW`` waits before answering (stop() releases it at once).
    delay: float = 5.0
    requests: list[Recorded] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    _faults: dict[str, _Pending] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _release: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def fail(
        self, fault: Fault, *, path: str, times: int | None = 1, message: str | None = None
    ) -> None:
        """The next ``times`` requests to ``path`` fail with ``fault`` (None: all of them).

        ``message`` replaces the error JSON's usual text (a server may quote anything there).
        """
        self._faults[path] = _Pending(Fault(fault), times, message)

    def heal(self) -> None:
        self._faults.clear()

    def requests_to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # -- for the stand-ins ----------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _error(self, status: int, message: str) -> web.Response:
        raise NotImplementedError

    #: The status and message each fault answers with.
    _FAULTS: ClassVar[dict[Fault, tuple[int, str]]] = {}

    # -- serving --------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        self._routes(app)
        self._release = asyncio.Event()
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._release is not None:
            self._release.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _record(self, request: web.Request) -> Any:
        body: Any = None
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    body = await request.text()
            else:
                body = {key: value for key, value in (await request.post()).items()}
        self.requests.append(
            Recorded(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        return body

    async def _inject(self, request: web.Request) -> web.StreamResponse | None:
        """The fault's answer for this request, or None to answer normally."""
        pending = self._faults.get(request.path)
        if pending is None:
            return None
        if pending.times is not None:
            pending.times -= 1
            if pending.times <= 0:
                del self._faults[request.path]
        fault = pending.fault
        if fault in self._FAULTS:
            status, message = self._FAULTS[fault]
            return self._error(status, pending.message or message)
        if fault is Fault.NOT_JSON:
            return web.Response(
                status=502, text="<html><body>Bad Gateway</body></html>", content_type="text/html"
            )
        if fault is Fault.DROP:
            assert request.transport is not None
            request.transport.abort()
            return web.Response()  # never written: the connection is gone
        assert self._release is not None
        # Fault.SLOW: then answer normally (to nobody, if the client gave up).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), self.delay)
        return None
