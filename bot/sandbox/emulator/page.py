"""The browser chat page (``/``) and the JSON endpoints it uses (``/sandbox/api/...``).

The page acts as Telegram users through the same calls tests use (``add_user``, ``send_*``,
``press_button``) and follows the chats through the emulator's event log (long-polled
``/sandbox/api/events``). Its HTML, JS and CSS are package data in ``bot/sandbox/static``.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from .callbacks import Callbacks
from .users import UserSide

STATIC_DIR = Path(__file__).parent.with_name("static")
LANGUAGES = ("de", "tr", "ar", "uk", "el", "ro", "pl", "it", "fa", "ku", "ru", "en")


class SandboxPage(Callbacks, UserSide):
    """The page's routes: ``/``, ``/sandbox/api/*`` and ``/sandbox/static/``."""

    def _add_page_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/", self._page_index)
        r.add_get("/sandbox/api/state", self._page_state)
        r.add_get("/sandbox/api/users", self._page_users)
        r.add_post("/sandbox/api/users", self._page_add_user)
        r.add_get("/sandbox/api/chats/{user_id}/messages", self._page_messages)
        r.add_post("/sandbox/api/chats/{user_id}/send", self._page_send)
        r.add_post("/sandbox/api/chats/{user_id}/press", self._page_press)
        r.add_get("/sandbox/api/files/{file_id}", self._page_file)
        r.add_get("/sandbox/api/events", self._page_events)
        r.add_get("/sandbox/api/calls", self._page_calls)
        r.add_static("/sandbox/static/", STATIC_DIR)

    def _bot_info(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "webhook_url": self._webhook_url,
        }

    async def _page_index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def _page_state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "bot": self._bot_info(),
                "users": [self._page_user(u) for u in self._users.values()],
                "languages": list(LANGUAGES),
                "last_event": self._event_seq,
                "stats": dict(self.stats),
            }
        )

    async def _page_users(self, request: web.Request) -> web.Response:
        return web.json_response([self._page_user(u) for u in self._users.values()])

    async def _page_add_user(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        first_name = body.get("first_name")
        if not isinstance(first_name, str) or not first_name.strip():
            return _page_error(400, "first_name is required")
        language = body.get("language_code") or "de"
        if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]+)?", language):
            return _page_error(400, "language_code must be a language code like 'de'")
        user = self.add_user(
            first_name.strip()[:64],
            language,
            last_name=(str(body["last_name"])[:64] if body.get("last_name") else None),
            is_coordinator=bool(body.get("is_coordinator")),
        )
        return web.json_response(self._page_user(user), status=201)

    def _page_chat_user(self, request: web.Request) -> int:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise web.HTTPNotFound(
                text='{"error": "unknown user"}', content_type="application/json"
            ) from None
        if user_id not in self._users:
            raise web.HTTPNotFound(
                text='{"error": "unknown user"}', content_type="application/json"
            )
        return user_id

    async def _page_messages(self, request: web.Request) -> web.Response:
        user_id = self._page_chat_user(request)
        return web.json_response([self._page_message(m) for m in self.messages(user_id)])

    async def _page_send(self, request: web.Request) -> web.Response:
        user_id = self._page_chat_user(request)
        try:
            if request.content_type == "multipart/form-data":
                form = await request.post()
                photo, voice = form.get("photo"), form.get("voice")
                caption = form.get("caption")
                if isinstance(photo, web.FileField):
                    result = self.send_photo(
                        user_id, photo.file.read(), str(caption) if caption else None
                    )
                elif isinstance(voice, web.FileField):
                    duration = form.get("duration")
                    result = self.send_voice(
                        user_id,
                        voice.file.read(),
                        duration=max(1, int(float(str(duration or 1)))),
                        mime_type=voice.content_type or "audio/ogg",
                    )
                else:
                    return _page_error(400, "send a 'photo' or 'voice' file")
            else:
                body = await _json_body(request)
                if body.get("sticker"):
                    emoji = body["sticker"] if isinstance(body["sticker"], str) else "👍"
                    result = self.send_sticker(user_id, emoji)
                elif "latitude" in body or "longitude" in body:
                    result = self.send_location(
                        user_id, float(body["latitude"]), float(body["longitude"])
                    )
                elif isinstance(body.get("text"), str):
                    result = self.send_text(user_id, body["text"])
                else:
                    return _page_error(400, "nothing to send")
        except web.HTTPException:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            return _page_error(400, str(exc))
        return web.json_response(result)

    async def _page_press(self, request: web.Request) -> web.Response:
        user_id = self._page_chat_user(request)
        body = await _json_body(request)
        try:
            message_id = int(body["message_id"])
            data = str(body["data"])
        except (KeyError, TypeError, ValueError):
            return _page_error(400, "message_id and data are required")
        return web.json_response(
            {"callback_query_id": self.press_button(user_id, message_id, data)}
        )

    async def _page_file(self, request: web.Request) -> web.Response:
        stored = self._files.get(request.match_info["file_id"])
        if stored is None:
            return _page_error(404, "file not found")
        return web.Response(
            body=stored.data,
            content_type=stored.mime_type,
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    async def _page_events(self, request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("after", "0"))
            timeout = max(0.0, min(30.0, float(request.query.get("timeout", "25"))))
        except ValueError:
            return _page_error(400, "after and timeout must be numbers")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            events = [e for e in self._events if e["seq"] > after]
            remaining = deadline - loop.time()
            if events or remaining <= 0 or self._closing:
                return web.json_response({"events": events, "last": self._event_seq})
            await self._wait_change(remaining)

    async def _page_calls(self, request: web.Request) -> web.Response:
        calls = [
            {"method": method, "params": params}
            for method, params in self.calls[-200:]
            if method != "getUpdates"
        ]
        return web.json_response(calls, dumps=lambda o: json.dumps(o, default=str))


def _page_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "invalid JSON"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "JSON object expected"}', content_type="application/json"
        )
    return body
