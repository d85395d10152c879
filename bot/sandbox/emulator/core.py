"""``BotApiEmulator``: the parts put together, and the Bot API's HTTP side.

Requests to ``/bot<token>/<method>`` are parsed (query, form, multipart or JSON, with
``attach://`` uploads), logged in :attr:`~.state.EmulatorState.calls` and dispatched to the
``_api_<method>`` handler of whichever part implements it; an :class:`~.models.ApiError` becomes
Telegram's error JSON, anything else a 500, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .callbacks import Callbacks
from .faults import FaultInjection
from .media import MediaMethods
from .messages import MessageMethods
from .models import ApiError, _bad, _Upload
from .network_faults import NetworkFaults, drop
from .page import SandboxPage
from .settings import BotSettings
from .state import EmulatorState
from .updates import UpdateQueue
from .users import UserSide

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_TOKEN_RE = re.compile(r"([0-9]+):(\S+)")


class BotApiEmulator(
    SandboxPage,  # the browser page and its JSON API (page.py)
    Callbacks,  # inline button presses and answerCallbackQuery (callbacks.py)
    UserSide,  # users, what they send, observing chats (users.py)
    UpdateQueue,  # pending updates, getUpdates long polling, webhook delivery (updates.py)
    MediaMethods,  # sendPhoto/Document/Voice/Sticker, getFile (media.py)
    MessageMethods,  # sendMessage, edits, deletes, locations, copy/forward (messages.py)
    FaultInjection,  # flood limits, inject_429, block_user (faults.py)
    BotSettings,  # getMe, getChat, commands, descriptions, menu button (settings.py)
    EmulatorState,  # users, chats, messages, files, calls, stats, notification (state.py)
):
    """A local Telegram Bot API: state in memory, HTTP routes via :meth:`add_routes`."""

    def _init_part(self) -> None:
        super()._init_part()
        #: Outages switched on per test or benchmark (network_faults.py).
        self.network = NetworkFaults(self._clock)
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {}
        for name in [
            "getMe",
            "getUpdates",
            "setWebhook",
            "deleteWebhook",
            "getWebhookInfo",
            "sendMessage",
            "editMessageText",
            "editMessageReplyMarkup",
            "editMessageCaption",
            "answerCallbackQuery",
            "deleteMessage",
            "deleteMessages",
            "sendChatAction",
            "setMyCommands",
            "getMyCommands",
            "deleteMyCommands",
            "sendPhoto",
            "sendDocument",
            "sendVoice",
            "sendLocation",
            "sendVenue",
            "sendSticker",
            "getFile",
            "copyMessage",
            "forwardMessage",
            "getChat",
            "getChatMember",
            "setMyDescription",
            "getMyDescription",
            "setMyShortDescription",
            "getMyShortDescription",
            "setMyName",
            "getMyName",
            "setChatMenuButton",
            "getChatMenuButton",
            "close",
            "logOut",
        ]:
            self._methods[name.lower()] = (name, getattr(self, f"_api_{name}"))
        for name in [
            "setMyDefaultAdministratorRights",
            "pinChatMessage",
            "unpinChatMessage",
            "unpinAllChatMessages",
            "setMessageReaction",
        ]:
            self._methods[name.lower()] = (name, self._api_true)

    # ======================================================================================
    # HTTP wiring

    def add_routes(self, app: web.Application) -> None:
        """Bot API routes, the file route, the browser page, its JSON API and static files."""
        r = app.router
        r.add_get("/bot{token}/{method}", self._handle_api)
        r.add_post("/bot{token}/{method}", self._handle_api)
        r.add_get("/file/bot{token}/{file_path:.+}", self._handle_file_download)
        self._add_page_routes(r)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)

    def create_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        self.add_routes(app)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self._closing = False

    async def _on_shutdown(self, app: web.Application) -> None:
        self._closing = True
        self.network.release()
        self._notify()
        await self._stop_webhook_task()

    # ======================================================================================
    # Bot API HTTP handler

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info.get("token", "")
        method = request.match_info.get("method", "")
        match = _TOKEN_RE.fullmatch(token)
        if match is None:
            return _api_error_response(ApiError(401, "Unauthorized"))
        with contextlib.suppress(ValueError):
            self.bot_id = int(match.group(1))
        entry = self._methods.get(method.lower())
        name = entry[0] if entry else method
        fault = self.network.take(name)
        if fault is not None and fault.kind != "drop_after":
            return await self.network.answer(request, fault)
        params: dict[str, Any] = {}
        try:
            try:
                params = await self._parse_params(request)
            finally:
                self.calls.append((name, {k: _describe(v) for k, v in params.items()}))
                self.stats["calls"] += 1
            if entry is None:
                raise ApiError(404, "Not Found: method not found")
            result = entry[1](params)
            if inspect.isawaitable(result):
                result = await result
            response = web.json_response({"ok": True, "result": result})
        except ApiError as exc:
            if exc.code == 400:
                self.stats["answered_400"] += 1
            response = _api_error_response(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never crash on any input
            log.exception("sandbox: %s failed", name)
            response = _api_error_response(
                ApiError(500, f"Internal Server Error: {type(exc).__name__}: {exc}")
            )
        self._notify()
        if fault is not None:  # handled, and the answer lost
            drop(request)
        return response

    async def _parse_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.body_exists:
            return params
        ctype = request.content_type
        files: dict[str, _Upload] = {}
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge:
                raise ApiError(413, "Request Entity Too Large") from None
            except Exception:
                raise _bad("can't parse request body") from None
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = _Upload(value.filename, value.file.read(), value.content_type)
                else:
                    params[key] = value
        else:
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise _bad("can't parse JSON body") from None
                if not isinstance(body, dict):
                    raise _bad("JSON body must be an object")
                params.update(body)
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                upload = files.get(value[len("attach://") :])
                if upload is not None:
                    params[key] = upload
        for key, upload in files.items():
            params.setdefault(key, upload)
        return params

    async def _handle_file_download(self, request: web.Request) -> web.StreamResponse:
        if _TOKEN_RE.fullmatch(request.match_info.get("token", "")) is None:
            return _api_error_response(ApiError(401, "Unauthorized"))
        stored = self._files_by_path.get(request.match_info.get("file_path", ""))
        if stored is None:
            return _api_error_response(ApiError(404, "Not Found: file not found"))
        return web.Response(body=stored.data, content_type=stored.mime_type)


def _api_error_response(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.code)


def _describe(value: Any) -> Any:
    if isinstance(value, _Upload):
        return {"upload": value.filename, "size": len(value.data)}
    return value
