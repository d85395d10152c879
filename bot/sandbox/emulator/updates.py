"""The updates queue and how the bot receives it: ``getUpdates`` long polling or a webhook.

Users' messages and button presses become updates here (:meth:`UpdateQueue._enqueue_update`);
they stay pending until the bot confirms them with a later ``getUpdates`` offset, or until the
webhook delivery loop has POSTed them (or given up after ``WEBHOOK_ATTEMPTS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import secrets
from collections.abc import Sequence
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from .models import ApiError, _bad
from .params import _get_bool, _get_int, _get_json, _get_str
from .state import EmulatorState

log = logging.getLogger(__name__)

WEBHOOK_ATTEMPTS = 3

_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_CONFLICT_POLLING = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


class UpdateQueue(EmulatorState):
    """Pending updates, ``getUpdates``, ``setWebhook``/``deleteWebhook`` and webhook delivery."""

    def _init_part(self) -> None:
        super()._init_part()
        # updates
        self._updates: list[dict[str, Any]] = []
        # Like Telegram's, ids don't start at 1: a bot remembers the ids it handled (in its
        # database, bot/services/updates.py), and a restarted sandbox must not reuse them.
        self._next_update_id = 1 + secrets.randbelow(1 << 30)
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        # webhook
        self._webhook_url: str | None = None
        self._webhook_secret: str | None = None
        self._webhook_info: dict[str, Any] = {}
        self._webhook_task: asyncio.Task[None] | None = None
        # replicas behind one address (deliver_webhooks_to)
        self._replica_urls: list[str] = []
        self._replica_repeat = 0.0
        self._replica_random = random.Random(0)
        self._replica_turn = 0
        self.stats["webhook_repeated"] = 0  # extra copies sent to the other replicas

    # ======================================================================================
    # the queue

    def pending_updates(self) -> list[dict[str, Any]]:
        return [dict(u) for u in self._updates]

    def _enqueue_update(self, kind: str, payload: dict[str, Any]) -> None:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self.stats["updates"] += 1
        if self._webhook_url:
            self._ensure_webhook_task()
        self._notify()

    # ======================================================================================
    # getUpdates (long polling)

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook_url:
            raise ApiError(409, _CONFLICT_WEBHOOK)
        offset = _get_int(params, "offset")
        limit = max(1, min(100, _get_int(params, "limit") or 100))
        timeout = max(0, min(50, _get_int(params, "timeout") or 0))
        allowed = _get_json(params, "allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if offset is not None:
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # a newer getUpdates terminates an older long poll (409)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._webhook_url:
                raise ApiError(409, _CONFLICT_WEBHOOK)
            pending = [u for u in self._updates if self._allowed(u)][:limit]
            remaining = deadline - loop.time()
            if pending or remaining <= 0 or self._closing:
                return pending
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT_POLLING)
            await self._wait_change(remaining)

    def _allowed(self, update: dict[str, Any]) -> bool:
        if not self._allowed_updates:
            return True
        return any(key in update for key in self._allowed_updates)

    # ======================================================================================
    # webhook

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = _get_str(params, "url") or ""
        if _get_bool(params, "drop_pending_updates"):
            self._updates.clear()
        allowed = _get_json(params, "allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if not url:
            self._webhook_url = None
            return True
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = _get_str(params, "secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("bad webhook: secret token contains unallowed characters")
        self._webhook_url = url
        self._webhook_secret = secret or None
        self._webhook_info = {"max_connections": _get_int(params, "max_connections") or 40}
        self._poll_generation += 1
        self._ensure_webhook_task()
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        if _get_bool(params, "drop_pending_updates"):
            self._updates.clear()
        self._webhook_url = None
        self._webhook_secret = None
        await self._stop_webhook_task()
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook_url:
            info["max_connections"] = self._webhook_info.get("max_connections", 40)
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
            for key in ("last_error_date", "last_error_message"):
                if key in self._webhook_info:
                    info[key] = self._webhook_info[key]
        return info

    def deliver_webhooks_to(
        self, urls: Sequence[str], *, repeat: float = 1.0, seed: int = 0
    ) -> None:
        """A test option: replicas of the bot, each at its own address. Each update is POSTed
        to one of ``urls`` in turn and, with probability ``repeat``, to every other one as well
        at the same moment (the same update twice: a retrying Telegram, a careless balancer).
        Delivery still waits for ``setWebhook``; the URL given there is then not used (each
        replica sets its own). No URLs: back to the one set by ``setWebhook``."""
        if not 0 <= repeat <= 1:
            raise ValueError("repeat is a probability")
        self._replica_urls = list(urls)
        self._replica_repeat = repeat
        self._replica_random = random.Random(seed)
        self._replica_turn = 0

    def _webhook_targets(self, url: str) -> list[str]:
        if not self._replica_urls:
            return [url]
        urls = self._replica_urls
        first = urls[self._replica_turn % len(urls)]
        self._replica_turn += 1
        if self._replica_random.random() < self._replica_repeat:
            self.stats["webhook_repeated"] += len(urls) - 1
            return [first] + [other for other in urls if other != first]
        return [first]

    def _ensure_webhook_task(self) -> None:
        if self._webhook_task is not None and not self._webhook_task.done():
            self._notify()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (sync caller): delivery starts with the next Bot API call
        self._webhook_task = loop.create_task(self._webhook_loop())

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is None or task.done():
            return
        if task is asyncio.current_task():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _webhook_loop(self) -> None:
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while self._webhook_url and not self._closing:
                if not self._updates:
                    await self._wait_change(30)
                    continue
                try:
                    await self._deliver_one(session, self._updates[0])
                except asyncio.CancelledError:
                    raise
                except Exception:  # never let the delivery loop die
                    log.exception("sandbox: webhook delivery failed")
                    await asyncio.sleep(0.2)

    async def _deliver_one(self, session: ClientSession, update: dict[str, Any]) -> None:
        url, secret = self._webhook_url, self._webhook_secret
        assert url is not None
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = json.dumps(update)
        targets = self._webhook_targets(url)
        outcomes = await asyncio.gather(
            *(self._post_update(session, url, target, body, headers) for target in targets)
        )
        if self._webhook_url != url or self._closing:
            return
        delivered = any(ok for ok, _ in outcomes)
        error = next((error for ok, error in outcomes if not ok), "")
        if self._updates and self._updates[0] is update:
            self._updates.pop(0)
        if delivered:
            self.stats["webhook_delivered"] += 1
        else:
            self.stats["webhook_failed"] += 1
            self._webhook_info["last_error_date"] = int(self._clock().timestamp())
            self._webhook_info["last_error_message"] = error
            log.warning("sandbox: dropped update %s: %s", update.get("update_id"), error)
        self._notify()

    async def _post_update(
        self,
        session: ClientSession,
        webhook_url: str,
        target: str,
        body: str,
        headers: dict[str, str],
    ) -> tuple[bool, str]:
        """POST one update to ``target``, tried up to ``WEBHOOK_ATTEMPTS`` times: (delivered,
        the last error)."""
        error = ""
        for attempt in range(WEBHOOK_ATTEMPTS):
            try:
                async with session.post(target, data=body, headers=headers) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        return True, ""
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"Connection failed: {type(exc).__name__}: {exc}"
            if self._webhook_url != webhook_url or self._closing:
                break
            await asyncio.sleep(0.1 * (attempt + 1))
        return False, error
