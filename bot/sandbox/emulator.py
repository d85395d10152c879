"""An in-memory Telegram Bot API emulator speaking real HTTP.

The real bot runs against it unchanged through PTB's ``base_url``/``base_file_url``; tests and
the browser page (``/``) act as Telegram *users*. Everything lives in memory. The HTTP side never
crashes: unsupported methods and bad parameters get Telegram's error JSON.

Standalone: ``python -m aiohttp.web -H 127.0.0.1 -P 8080 bot.sandbox.emulator:app_factory``, then
point the bot at ``http://127.0.0.1:8080/bot`` (any token like ``123456:TEST``) and open
``http://127.0.0.1:8080/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import inspect
import itertools
import json
import logging
import math
import mimetypes
import re
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from bot.clock import Clock, system_clock

from .telegram_html import EntityParseError, detect_entities, parse_text, strip_text, utf16_len

__all__ = ["BotApiEmulator", "SandboxMessage", "SandboxServer"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
LANGUAGES = ("de", "tr", "ar", "uk", "el", "ro", "pl", "it", "fa", "ku", "ru", "en")

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
WEBHOOK_ATTEMPTS = 3

_TOKEN_RE = re.compile(r"([0-9]+):(\S+)")
_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANG_RE = re.compile(r"[a-z]{2}")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_MEDIA_KINDS = frozenset({"photo", "document", "voice"})
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_CONFLICT_POLLING = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class _Upload:
    filename: str | None
    data: bytes
    content_type: str | None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    mime_type: str
    file_name: str | None = None
    url: str | None = None


@dataclass
class _Bucket:
    rate: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        capacity = max(1.0, self.rate)
        self.tokens = min(capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


@dataclass
class SandboxMessage:
    """One message in a chat, as the emulator stores it (both directions)."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    kind: str = "text"
    extra: dict[str, Any] = field(default_factory=dict)
    edited: bool = False
    deleted: bool = False
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    sender_id: int | None = None
    edit_date: int | None = None
    reply_to_message_id: int | None = None

    def buttons(self) -> list[tuple[str, str]]:
        """``[(text, callback_data or url)]`` flattened from an inline keyboard."""
        if not self.reply_markup:
            return []
        result: list[tuple[str, str]] = []
        for row in self.reply_markup.get("inline_keyboard") or []:
            for button in row:
                value = ""
                for key in ("callback_data", "url", "switch_inline_query", "copy_text"):
                    if key in button:
                        raw = button[key]
                        value = raw.get("text", "") if isinstance(raw, dict) else str(raw)
                        break
                result.append((str(button.get("text", "")), value))
        return result

    def keyboard_buttons(self) -> list[str]:
        """Texts of a reply keyboard (``ReplyKeyboardMarkup``) sent with this message."""
        if not self.reply_markup:
            return []
        return [
            b if isinstance(b, str) else str(b.get("text", ""))
            for row in self.reply_markup.get("keyboard") or []
            for b in row
        ]

    def button_data(self, text: str) -> str:
        """The callback data of the inline button whose text contains ``text``."""
        for label, value in self.buttons():
            if text in label:
                return value
        raise KeyError(f"no button containing {text!r} in {self.buttons()!r}")


# ------------------------------------------------------------------------------------------
# parameter helpers


def _is_empty(value: Any) -> bool:
    return value is None or value == ""


def _get_int(params: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value: Any = params.get(name)
    if _is_empty(value):
        if required:
            raise _bad(f"{name} is empty")
        return None
    if isinstance(value, bool):
        raise _bad(f"invalid {name} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None


def _get_float(params: dict[str, Any], name: str) -> float:
    value: Any = params.get(name)
    if _is_empty(value):
        raise _bad(f"{name} is empty")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None
    if not math.isfinite(result):
        raise _bad(f"invalid {name} specified")
    return result


def _get_bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _get_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, (dict, list, _Upload)):
        raise _bad(f"invalid {name} specified")
    return str(value)


def _get_json(params: dict[str, Any], name: str, what: str | None = None) -> Any:
    value = params.get(name)
    if _is_empty(value):
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {what or name} JSON object") from None
    return value


def _image_size(data: bytes) -> tuple[int, int]:
    """Width/height of a PNG, GIF or JPEG (without decoding); 1x1 when unknown."""
    with contextlib.suppress(Exception):
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            w, h = struct.unpack(">II", data[16:24])
            return int(w), int(h)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return int(w), int(h)
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                    i += 2
                    continue
                length = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                    return int(w), int(h)
                i += 2 + length
    return 1, 1


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
)


def _sniff_mime(data: bytes) -> str | None:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"\x1aE\xdf\xa3":
        return "audio/webm"
    return None


def _describe(value: Any) -> Any:
    if isinstance(value, _Upload):
        return {"upload": value.filename, "size": len(value.data)}
    return value


# ------------------------------------------------------------------------------------------


class BotApiEmulator:
    """A local Telegram Bot API: state in memory, HTTP routes via :meth:`add_routes`."""

    def __init__(
        self,
        *,
        bot_username: str = "quartierbot_sandbox_bot",
        bot_first_name: str = "Quartierbot",
        clock: Clock = system_clock,
    ) -> None:
        self.bot_username = bot_username
        self._clock = clock  # message dates; the flood buckets run on the monotonic clock
        self.bot_first_name = bot_first_name
        self.bot_id = 0  # taken from the token of the first Bot API request
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.stats: dict[str, int] = {
            "calls": 0,
            "sent": 0,
            "edited": 0,
            "deleted": 0,
            "answered_400": 0,
            "answered_403": 0,
            "answered_429": 0,
            "updates": 0,
            "webhook_delivered": 0,
            "webhook_failed": 0,
        }
        self._users: dict[int, dict[str, Any]] = {}
        self._coordinators: set[int] = set()
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, list[SandboxMessage]] = {}
        self._message_counter: dict[int, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._user_ids = itertools.count(100_001)
        self._salt = secrets.token_hex(4)
        # updates
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        # callback queries
        self._query_counter = itertools.count(1)
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._callback_answers: dict[str, dict[str, Any]] = {}
        # bot settings
        self._commands: dict[tuple[str, int | None, int | None, str], list[dict[str, Any]]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        # webhook
        self._webhook_url: str | None = None
        self._webhook_secret: str | None = None
        self._webhook_info: dict[str, Any] = {}
        self._webhook_task: asyncio.Task[None] | None = None
        # failure injection
        self._blocked: set[int] = set()
        self._inject_429_count = 0
        self._inject_429_retry_after = 1
        self._flood_retry_after = 1
        self._global_bucket: _Bucket | None = None
        self._chat_rate: float | None = None
        self._chat_buckets: dict[int, _Bucket] = {}
        # change notification (getUpdates long poll, wait_until, page events)
        self._waiters: set[asyncio.Future[None]] = set()
        self._events: list[dict[str, Any]] = []
        self._event_seq = 0
        self._closing = False
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
        self._notify()
        await self._stop_webhook_task()

    # ======================================================================================
    # change notification

    def _notify(self) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for fut in list(self._waiters):
            if fut.done():
                continue
            loop = fut.get_loop()
            if loop is running:
                fut.set_result(None)
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_resolve, fut)

    async def _wait_change(self, timeout: float) -> None:  # noqa: ASYNC109
        if timeout <= 0:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)

    def _emit(self, kind: str, **data: Any) -> None:
        self._event_seq += 1
        self._events.append({"seq": self._event_seq, "type": kind, **data})
        if len(self._events) > 5000:
            del self._events[:1000]
        self._notify()

    # ======================================================================================
    # users (the test / page side)

    def add_user(
        self,
        first_name: str,
        language_code: str | None = "de",
        *,
        user_id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        is_coordinator: bool = False,
    ) -> dict[str, Any]:
        """Create (or update) a Telegram user with a private chat (chat id == user id)."""
        if not isinstance(first_name, str) or not first_name.strip():
            raise ValueError("first_name must be a non-empty string")
        if user_id is None:
            user_id = next(self._user_ids)
            while user_id in self._users:
                user_id = next(self._user_ids)
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            user["last_name"] = chat["last_name"] = last_name
        if username:
            user["username"] = chat["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        self._chats[user_id] = chat
        self._messages.setdefault(user_id, [])
        if is_coordinator:
            self._coordinators.add(user_id)
        else:
            self._coordinators.discard(user_id)
        self._emit("user", user=self._page_user(user))
        return dict(user)

    def users(self) -> list[dict[str, Any]]:
        return [dict(u) for u in self._users.values()]

    def is_coordinator(self, user_id: int) -> bool:
        return user_id in self._coordinators

    def coordinators(self) -> list[dict[str, Any]]:
        return [dict(self._users[uid]) for uid in self._users if uid in self._coordinators]

    def _user(self, user_id: int) -> dict[str, Any]:
        try:
            return self._users[int(user_id)]
        except (KeyError, TypeError, ValueError):
            raise KeyError(f"unknown sandbox user {user_id!r}; call add_user() first") from None

    def send_text(self, user_id: int, text: str) -> dict[str, Any]:
        """The user types ``text``; "/cmd args" gets a bot_command entity like in Telegram."""
        user = self._user(user_id)
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text must be a non-empty string")
        text, entities = strip_text(text, detect_entities(text))
        message = self._store_message(
            user["id"], from_bot=False, sender_id=user["id"], text=text, entities=entities
        )
        return self._deliver_user_message(message)

    def send_photo(self, user_id: int, data: bytes, caption: str | None = None) -> dict[str, Any]:
        user = self._user(user_id)
        stored = self._store_file(
            _Upload("photo.jpg", bytes(data), None), "photos", default_mime="image/jpeg"
        )
        extra = self._photo_extra(stored)
        caption_entities: list[dict[str, Any]] = []
        if caption:
            caption, caption_entities = strip_text(caption, detect_entities(caption))
        message = self._store_message(
            user["id"],
            from_bot=False,
            sender_id=user["id"],
            kind="photo",
            extra=extra,
            caption=caption or None,
            caption_entities=caption_entities,
        )
        return self._deliver_user_message(message)

    def send_voice(
        self, user_id: int, data: bytes, duration: int = 1, mime_type: str = "audio/ogg"
    ) -> dict[str, Any]:
        user = self._user(user_id)
        stored = self._store_file(
            _Upload("voice.ogg", bytes(data), mime_type), "voice", default_mime=mime_type
        )
        extra = self._file_extra(stored)
        extra["duration"] = int(duration)
        message = self._store_message(
            user["id"], from_bot=False, sender_id=user["id"], kind="voice", extra=extra
        )
        return self._deliver_user_message(message)

    def send_location(self, user_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        user = self._user(user_id)
        latitude, longitude = float(latitude), float(longitude)
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("latitude must be in [-90, 90] and longitude in [-180, 180]")
        message = self._store_message(
            user["id"],
            from_bot=False,
            sender_id=user["id"],
            kind="location",
            extra={"latitude": latitude, "longitude": longitude},
        )
        return self._deliver_user_message(message)

    def send_sticker(self, user_id: int, emoji: str = "👍") -> dict[str, Any]:
        user = self._user(user_id)
        n = next(self._file_counter)
        extra = {
            "file_id": f"CAACAgSandboxSticker{n}",
            "file_unique_id": f"AgSticker{n}",
            "emoji": emoji or "👍",
            "width": 512,
            "height": 512,
        }
        message = self._store_message(
            user["id"], from_bot=False, sender_id=user["id"], kind="sticker", extra=extra
        )
        return self._deliver_user_message(message)

    def press_button(self, user_id: int, message_id: int, callback_data: str) -> str:
        """The user presses an inline button; returns the callback_query id.

        The data doesn't have to be on the message (tests forge callback data on purpose).
        """
        user = self._user(user_id)
        chat_id = user["id"]
        message = self._find_message(chat_id, int(message_id))
        if message is not None and not message.deleted:
            message_dict = self._message_dict(message)
        else:  # Telegram sends an InaccessibleMessage
            message_dict = {"chat": dict(self._chats[chat_id]), "message_id": int(message_id)}
            message_dict["date"] = 0
        query_id = str(4_000_000_000_000_000 + next(self._query_counter))
        self._callback_queries[query_id] = {
            "user_id": user["id"],
            "chat_id": chat_id,
            "message_id": int(message_id),
            "data": callback_data,
        }
        query = {
            "id": query_id,
            "from": dict(user),
            "message": message_dict,
            "chat_instance": self._chat_instance(chat_id),
            "data": str(callback_data),
        }
        self._enqueue_update("callback_query", query)
        self._emit("press", chat_id=chat_id, message_id=int(message_id), data=callback_data)
        return query_id

    def _deliver_user_message(self, message: SandboxMessage) -> dict[str, Any]:
        payload = self._message_dict(message)
        self._enqueue_update("message", payload)
        return payload

    # ======================================================================================
    # observing

    def messages(self, chat_id: int) -> list[SandboxMessage]:
        """All messages of a chat, chronological, both directions (deleted ones flagged)."""
        return list(self._messages.get(int(chat_id), []))

    def bot_messages(self, chat_id: int) -> list[SandboxMessage]:
        return [m for m in self._messages.get(int(chat_id), []) if m.from_bot]

    def callback_answers(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self._callback_answers.items()}

    def pending_updates(self) -> list[dict[str, Any]]:
        return [dict(u) for u in self._updates]

    def my_commands(
        self, language_code: str = "", scope_type: str = "default"
    ) -> list[dict[str, Any]]:
        return list(self._commands.get((scope_type, None, None, language_code or ""), []))

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``condition()`` is true; re-checked after every Bot API call/change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self._timeout_message(condition, timeout))
            await self._wait_change(min(remaining, 0.5))

    async def wait_for_bot_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SandboxMessage]:
        """Wait until the bot has sent at least ``count`` messages to the chat in total."""

        def enough() -> bool:
            return len(self.bot_messages(chat_id)) >= count

        enough.__qualname__ = f"bot has sent >= {count} message(s) to chat {chat_id}"
        await self.wait_until(enough, timeout)
        return self.bot_messages(chat_id)

    def _timeout_message(self, condition: Callable[[], bool], timeout: float) -> str:
        name = getattr(condition, "__qualname__", repr(condition))
        code = getattr(condition, "__code__", None)
        if code is not None and "<lambda>" in name:
            name = f"lambda at {Path(code.co_filename).name}:{code.co_firstlineno}"
        recent = [
            f"{method}({_short(params)})"
            for method, params in self.calls[-8:]
            if method != "getUpdates"
        ]
        lines = [
            f"Timed out after {timeout}s waiting for: {name}",
            f"Bot API calls so far: {len(self.calls)}; recent non-getUpdates calls: "
            + ("; ".join(recent) if recent else "none"),
            f"Pending (unconfirmed) updates: {len(self._updates)}"
            + (f"; webhook {self._webhook_url}" if self._webhook_url else ""),
        ]
        if self._updates and not any(m == "getUpdates" for m, _ in self.calls[-50:]):
            lines.append("Hint: nobody is polling getUpdates - is the bot running?")
        for chat_id, msgs in self._messages.items():
            sent = [m for m in msgs if m.from_bot]
            if sent:
                lines.append(
                    f"Chat {chat_id}: bot sent {len(sent)} message(s), last: "
                    f"{_short(sent[-1].text or sent[-1].caption or sent[-1].kind)}"
                )
        return "\n".join(lines)

    # ======================================================================================
    # failure injection

    def set_flood_limits(
        self,
        *,
        global_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        retry_after: int = 1,
    ) -> None:
        """Enforce Telegram-like flood limits on send* calls (token buckets); None disables."""
        now = time.monotonic()
        self._global_bucket = (
            _Bucket(global_per_second, max(1.0, global_per_second), now)
            if global_per_second
            else None
        )
        self._chat_rate = per_chat_per_second or None
        self._chat_buckets.clear()
        self._flood_retry_after = int(retry_after)

    def inject_429(self, count: int = 1, retry_after: int = 1) -> None:
        """The next ``count`` send* calls are answered with 429."""
        self._inject_429_count = int(count)
        self._inject_429_retry_after = int(retry_after)

    def block_user(self, user_id: int, blocked: bool = True) -> None:
        """Sends to the user's chat answer 403 "Forbidden: bot was blocked by the user"."""
        if blocked:
            self._blocked.add(int(user_id))
        else:
            self._blocked.discard(int(user_id))

    def _gate_send(self, chat_id: int) -> None:
        """403 for blocked users, then injected / flood 429s. Consumes flood budget."""
        if chat_id in self._blocked:
            self.stats["answered_403"] += 1
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self._inject_429_count > 0:
            self._inject_429_count -= 1
            raise self._too_many(self._inject_429_retry_after)
        now = time.monotonic()
        buckets: list[_Bucket] = []
        if self._global_bucket is not None:
            buckets.append(self._global_bucket)
        if self._chat_rate:
            bucket = self._chat_buckets.get(chat_id)
            if bucket is None:
                bucket = _Bucket(self._chat_rate, max(1.0, self._chat_rate), now)
                self._chat_buckets[chat_id] = bucket
            buckets.append(bucket)
        for bucket in buckets:
            bucket.refill(now)
        if any(b.tokens < 1.0 for b in buckets):
            raise self._too_many(self._flood_retry_after)
        for bucket in buckets:
            bucket.tokens -= 1.0

    def _too_many(self, retry_after: int) -> ApiError:
        self.stats["answered_429"] += 1
        return ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    # ======================================================================================
    # storage helpers

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _chat_instance(self, chat_id: int) -> str:
        digest = hashlib.sha256(f"{self._salt}:{chat_id}".encode()).hexdigest()
        return str(int(digest[:15], 16))

    def _find_message(self, chat_id: int, message_id: int) -> SandboxMessage | None:
        for message in self._messages.get(chat_id, []):
            if message.message_id == message_id:
                return message
        return None

    def _store_message(self, chat_id: int, *, from_bot: bool, **fields: Any) -> SandboxMessage:
        number = self._message_counter.get(chat_id, 0) + 1
        self._message_counter[chat_id] = number
        message = SandboxMessage(
            message_id=number,
            chat_id=chat_id,
            from_bot=from_bot,
            date=int(self._clock().timestamp()),
            **fields,
        )
        self._messages.setdefault(chat_id, []).append(message)
        self._emit("message", chat_id=chat_id, message=self._page_message(message))
        return message

    def _store_file(self, upload: _Upload, folder: str, default_mime: str) -> _StoredFile:
        n = next(self._file_counter)
        mime = upload.content_type or ""
        if not mime or mime == "application/octet-stream":
            guessed = _sniff_mime(upload.data) or mimetypes.guess_type(upload.filename or "")[0]
            mime = guessed or default_mime
        ext = mimetypes.guess_extension(mime) or ".bin"
        if mime in ("audio/ogg", "audio/opus"):
            ext = ".oga"
        elif mime == "image/jpeg":
            ext = ".jpg"
        file_id = f"BQACAgSandbox{n}{secrets.token_hex(6)}"
        stored = _StoredFile(
            file_id=file_id,
            file_unique_id=f"AgADSbx{n}",
            data=upload.data,
            file_path=f"{folder}/file_{n}{ext}",
            mime_type=mime,
            file_name=upload.filename,
        )
        self._files[file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _file_extra(self, stored: _StoredFile) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "mime_type": stored.mime_type,
        }
        if stored.file_name:
            extra["file_name"] = stored.file_name
        if stored.url:
            extra["url"] = stored.url
        return extra

    def _photo_extra(self, stored: _StoredFile) -> dict[str, Any]:
        extra = self._file_extra(stored)
        extra["width"], extra["height"] = _image_size(stored.data)
        return extra

    def _enqueue_update(self, kind: str, payload: dict[str, Any]) -> None:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self.stats["updates"] += 1
        if self._webhook_url:
            self._ensure_webhook_task()
        self._notify()

    # ======================================================================================
    # Telegram object shapes

    def _message_dict(self, m: SandboxMessage, *, nested: bool = False) -> dict[str, Any]:
        chat = dict(self._chats.get(m.chat_id) or {"id": m.chat_id, "type": "private"})
        sender = self._bot_user() if m.from_bot else dict(self._users.get(m.sender_id or 0, {}))
        d: dict[str, Any] = {"message_id": m.message_id, "from": sender, "chat": chat}
        d["date"] = m.date
        if m.edit_date:
            d["edit_date"] = m.edit_date
        if "forward_origin" in m.extra:
            d["forward_origin"] = m.extra["forward_origin"]
        if m.reply_to_message_id and not nested:
            replied = self._find_message(m.chat_id, m.reply_to_message_id)
            if replied is not None and not replied.deleted:
                d["reply_to_message"] = self._message_dict(replied, nested=True)
        if m.text is not None:
            d["text"] = m.text
            if m.entities:
                d["entities"] = m.entities
        x = m.extra
        file_fields: dict[str, Any] = {
            k: x[k] for k in ("file_id", "file_unique_id", "file_size") if k in x
        }
        if m.kind == "photo":
            d["photo"] = [{**file_fields, "width": x.get("width", 1), "height": x.get("height", 1)}]
        elif m.kind == "document":
            doc = dict(file_fields)
            for key in ("file_name", "mime_type"):
                if key in x:
                    doc[key] = x[key]
            d["document"] = doc
        elif m.kind == "voice":
            voice = {**file_fields, "duration": x.get("duration", 1)}
            if "mime_type" in x:
                voice["mime_type"] = x["mime_type"]
            d["voice"] = voice
        elif m.kind == "sticker":
            d["sticker"] = {
                **file_fields,
                "type": "regular",
                "width": x.get("width", 512),
                "height": x.get("height", 512),
                "is_animated": False,
                "is_video": False,
                "emoji": x.get("emoji", "👍"),
            }
        elif m.kind in ("location", "venue"):
            location = {"latitude": x["latitude"], "longitude": x["longitude"]}
            d["location"] = location
            if m.kind == "venue":
                d["venue"] = {"location": location, "title": x["title"], "address": x["address"]}
        if m.caption is not None:
            d["caption"] = m.caption
            if m.caption_entities:
                d["caption_entities"] = m.caption_entities
        if m.reply_markup and "inline_keyboard" in m.reply_markup:
            d["reply_markup"] = m.reply_markup
        return d

    # ======================================================================================
    # Bot API HTTP handler

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info.get("token", "")
        method = request.match_info.get("method", "")
        match = _TOKEN_RE.fullmatch(token)
        if match is None:
            return _api_error_response(ApiError(401, "Unauthorized"))
        with contextlib.suppress(ValueError):
            self.bot_id = int(match.group(1))
        entry = self._methods.get(method.lower())
        name = entry[0] if entry else method
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

    # ======================================================================================
    # validation helpers

    def _chat_id(self, params: dict[str, Any], name: str = "chat_id") -> int:
        value: Any = params.get(name)
        if _is_empty(value):
            raise _bad(f"{name} is empty")
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        if chat_id not in self._chats:
            raise _bad("chat not found")
        return chat_id

    def _formatted(
        self, params: dict[str, Any], text_key: str, entities_key: str
    ) -> tuple[str, list[dict[str, Any]]]:
        text = _get_str(params, text_key) or ""
        parse_mode = _get_str(params, "parse_mode")
        raw_entities = _get_json(params, entities_key)
        try:
            if raw_entities:
                if not isinstance(raw_entities, list) or not all(
                    isinstance(e, dict) for e in raw_entities
                ):
                    raise _bad(f"can't parse {entities_key} JSON object")
                entities = [dict(e) for e in raw_entities]
                for e in entities:
                    if not isinstance(e.get("offset"), int) or not isinstance(e.get("length"), int):
                        raise _bad("can't parse entities: entity offset/length must be integers")
            else:
                text, entities = parse_text(text, parse_mode)
        except EntityParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        except ValueError as exc:  # unsupported parse_mode
            raise _bad(str(exc)) from None
        return strip_text(text, entities)

    def _message_text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text, entities = self._formatted(params, "text", "entities")
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return text, entities

    def _caption(self, params: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
        if _is_empty(params.get("caption")):
            return None, []
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if utf16_len(caption) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        return caption or None, entities

    def _reply_markup(self, params: dict[str, Any], *, inline_only: bool = False) -> Any:
        markup = _get_json(params, "reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "inline_keyboard" must be an Array of Arrays')
            for row in rows:
                for button in row:
                    _check_inline_button(button)
        elif inline_only:
            raise _bad("inline keyboard expected")
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "keyboard" must be an Array of Arrays')
            for row in rows:
                for button in row:
                    text = button if isinstance(button, str) else (button or {}).get("text")
                    if not isinstance(text, str) or not text:
                        raise _bad("keyboard button text is empty")
        elif not ("remove_keyboard" in markup or "force_reply" in markup):
            raise _bad("can't parse reply keyboard markup JSON object")
        return markup

    def _reply_to(self, params: dict[str, Any], chat_id: int) -> int | None:
        reply_id = _get_int(params, "reply_to_message_id")
        parameters = _get_json(params, "reply_parameters")
        if isinstance(parameters, dict) and parameters.get("message_id") is not None:
            try:
                reply_id = int(parameters["message_id"])
            except (TypeError, ValueError):
                raise _bad("invalid reply_parameters specified") from None
            allow = bool(parameters.get("allow_sending_without_reply"))
        else:
            allow = _get_bool(params, "allow_sending_without_reply")
        if reply_id is None:
            return None
        target = self._find_message(chat_id, reply_id)
        if target is None or target.deleted:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return reply_id

    def _editable(self, params: dict[str, Any]) -> SandboxMessage:
        if _is_empty(params.get("chat_id")) and not _is_empty(params.get("inline_message_id")):
            raise _bad("MESSAGE_ID_INVALID")
        chat_id = self._chat_id(params)
        message_id = _get_int(params, "message_id", required=True)
        assert message_id is not None
        message = self._find_message(chat_id, message_id)
        if message is None or message.deleted:
            raise _bad("message to edit not found")
        if not message.from_bot:
            raise _bad("message can't be edited")
        return message

    def _send(self, chat_id: int, **fields: Any) -> dict[str, Any]:
        message = self._store_message(chat_id, from_bot=True, sender_id=self.bot_id, **fields)
        self.stats["sent"] += 1
        return self._message_dict(message)

    def _media(self, params: dict[str, Any], key: str, folder: str, mime: str) -> _StoredFile:
        value = params.get(key)
        if isinstance(value, _Upload):
            return self._store_file(value, folder, default_mime=mime)
        if _is_empty(value) or not isinstance(value, str):
            raise _bad(f"there is no {key} in the request")
        if value in self._files:
            return self._files[value]
        if value.startswith(("http://", "https://")):
            stored = self._store_file(_Upload(value.rsplit("/", 1)[-1], b"", None), folder, mime)
            stored.url = value
            return stored
        raise _bad("wrong file identifier/HTTP URL specified")

    def _edited(self, message: SandboxMessage) -> dict[str, Any]:
        message.edited = True
        message.edit_date = int(self._clock().timestamp())
        self.stats["edited"] += 1
        self._emit("edit", chat_id=message.chat_id, message=self._page_message(message))
        return self._message_dict(message)

    # ======================================================================================
    # Bot API methods

    def _api_true(self, params: dict[str, Any]) -> bool:
        return True

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

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

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        text, entities = self._message_text(params)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(params, chat_id)
        self._gate_send(chat_id)
        return self._send(
            chat_id, text=text, entities=entities, reply_markup=markup, reply_to_message_id=reply_to
        )

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        if message.kind != "text":
            raise _bad("there is no text in the message to edit")
        text, entities = self._message_text(params)
        markup = self._reply_markup(params, inline_only=True)
        if text == message.text and entities == message.entities and markup == _inline(message):
            raise _bad(_NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        return self._edited(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        markup = self._reply_markup(params, inline_only=True)
        if markup == _inline(message):
            raise _bad(_NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message)

    def _api_editMessageCaption(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        if message.kind not in _MEDIA_KINDS:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._caption(params)
        markup = self._reply_markup(params, inline_only=True)
        if (
            caption == message.caption
            and entities == message.caption_entities
            and markup == _inline(message)
        ):
            raise _bad(_NOT_MODIFIED)
        message.caption, message.caption_entities, message.reply_markup = caption, entities, markup
        return self._edited(message)

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = _get_str(params, "callback_query_id")
        if not query_id:
            raise _bad("callback_query_id is empty")
        query = self._callback_queries.get(query_id)
        if query is None or query_id in self._callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = _get_str(params, "text")
        if text is not None and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        answer: dict[str, Any] = {"callback_query_id": query_id}
        if text is not None:
            answer["text"] = text
        answer["show_alert"] = _get_bool(params, "show_alert")
        for key in ("url", "cache_time"):
            if not _is_empty(params.get(key)):
                answer[key] = params[key]
        self._callback_answers[query_id] = answer
        self._emit(
            "callback_answer",
            chat_id=query["chat_id"],
            message_id=query["message_id"],
            text=answer.get("text"),
            show_alert=answer["show_alert"],
        )
        return True

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        message_id = _get_int(params, "message_id", required=True)
        assert message_id is not None
        message = self._find_message(chat_id, message_id)
        if message is None or message.deleted:
            raise _bad("message to delete not found")
        self._delete(message)
        return True

    def _api_deleteMessages(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        ids = _get_json(params, "message_ids")
        if not isinstance(ids, list) or not ids:
            raise _bad("message_ids is empty")
        for message_id in ids:
            with contextlib.suppress(TypeError, ValueError):
                message = self._find_message(chat_id, int(message_id))
                if message is not None and not message.deleted:
                    self._delete(message)
        return True

    def _delete(self, message: SandboxMessage) -> None:
        message.deleted = True
        self.stats["deleted"] += 1
        self._emit("delete", chat_id=message.chat_id, message_id=message.message_id)

    def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        action = _get_str(params, "action")
        if not action:
            raise _bad("action is empty")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        if chat_id in self._blocked:
            self.stats["answered_403"] += 1
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        self._emit("chat_action", chat_id=chat_id, action=action)
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, int | None, int | None, str]:
        scope = _get_json(params, "scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise _bad("can't parse BotCommandScope JSON object")
        language = _get_str(params, "language_code") or ""
        if language and not _LANG_RE.fullmatch(language):
            raise _bad("invalid language code specified")
        chat_id = scope.get("chat_id")
        user_id = scope.get("user_id")
        try:
            return (
                str(scope["type"]),
                int(chat_id) if chat_id is not None else None,
                int(user_id) if user_id is not None else None,
                language,
            )
        except (TypeError, ValueError):
            raise _bad("can't parse BotCommandScope JSON object") from None

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = _get_json(params, "commands")
        if commands is None:
            commands = []
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        key = self._commands_key(params)
        clean: list[dict[str, Any]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand JSON object")
            command = str(item.get("command", "")).lstrip("/")
            description = str(item.get("description", ""))
            if not _COMMAND_NAME_RE.fullmatch(command):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": command, "description": description})
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        return True

    def _api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(c) for c in self._commands.get(self._commands_key(params), [])]

    def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _send_media(
        self, params: dict[str, Any], kind: str, folder: str, mime: str
    ) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        caption, caption_entities = self._caption(params)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(params, chat_id)
        if _is_empty(params.get(kind)):
            raise _bad(f"there is no {kind} in the request")
        self._gate_send(chat_id)
        stored = self._media(params, kind, folder, mime)
        extra = self._photo_extra(stored) if kind == "photo" else self._file_extra(stored)
        if kind == "voice":
            extra["duration"] = _get_int(params, "duration") or 1
        return self._send(
            chat_id,
            kind=kind,
            extra=extra,
            caption=caption,
            caption_entities=caption_entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "photo", "photos", "image/jpeg")

    def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "document", "documents", "application/octet-stream")

    def _api_sendVoice(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(params, "voice", "voice", "audio/ogg")

    def _api_sendSticker(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        markup = self._reply_markup(params)
        if _is_empty(params.get("sticker")):
            raise _bad("there is no sticker in the request")
        self._gate_send(chat_id)
        stored = self._media(params, "sticker", "stickers", "image/webp")
        extra = self._file_extra(stored)
        extra.update({"emoji": _get_str(params, "emoji") or "👍", "width": 512, "height": 512})
        return self._send(chat_id, kind="sticker", extra=extra, reply_markup=markup)

    def _location(self, params: dict[str, Any]) -> dict[str, Any]:
        latitude = _get_float(params, "latitude")
        longitude = _get_float(params, "longitude")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise _bad("wrong location specified")
        return {"latitude": latitude, "longitude": longitude}

    def _api_sendLocation(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        extra = self._location(params)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(params, chat_id)
        self._gate_send(chat_id)
        return self._send(
            chat_id, kind="location", extra=extra, reply_markup=markup, reply_to_message_id=reply_to
        )

    def _api_sendVenue(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        extra = self._location(params)
        title = _get_str(params, "title") or ""
        address = _get_str(params, "address") or ""
        if not title.strip():
            raise _bad("venue title is empty")
        if not address.strip():
            raise _bad("venue address is empty")
        extra.update({"title": title, "address": address})
        markup = self._reply_markup(params)
        reply_to = self._reply_to(params, chat_id)
        self._gate_send(chat_id)
        return self._send(
            chat_id, kind="venue", extra=extra, reply_markup=markup, reply_to_message_id=reply_to
        )

    def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = _get_str(params, "file_id")
        if not file_id:
            raise _bad("file_id is empty")
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _copy_source(self, params: dict[str, Any]) -> tuple[int, SandboxMessage]:
        chat_id = self._chat_id(params)
        from_chat = self._chat_id(params, "from_chat_id")
        message_id = _get_int(params, "message_id", required=True)
        assert message_id is not None
        source = self._find_message(from_chat, message_id)
        if source is None or source.deleted:
            raise _bad("message to copy not found")
        return chat_id, source

    def _api_copyMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, source = self._copy_source(params)
        caption, caption_entities = source.caption, list(source.caption_entities)
        if "caption" in params:
            caption, caption_entities = self._caption(params)
        markup = self._reply_markup(params)
        self._gate_send(chat_id)
        sent = self._send(
            chat_id,
            kind=source.kind,
            text=source.text,
            entities=list(source.entities),
            caption=caption,
            caption_entities=caption_entities,
            extra={k: v for k, v in source.extra.items() if k != "forward_origin"},
            reply_markup=markup,
        )
        return {"message_id": sent["message_id"]}

    def _api_forwardMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, source = self._copy_source(params)
        self._gate_send(chat_id)
        origin_user = (
            self._bot_user() if source.from_bot else self._users.get(source.sender_id or 0)
        )
        extra = dict(source.extra)
        extra["forward_origin"] = {"type": "user", "sender_user": origin_user, "date": source.date}
        return self._send(
            chat_id,
            kind=source.kind,
            text=source.text,
            entities=list(source.entities),
            caption=source.caption,
            caption_entities=list(source.caption_entities),
            extra=extra,
        )

    def _api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = dict(self._chats[self._chat_id(params)])
        chat.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return chat

    def _api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        self._chat_id(params)
        user_id = _get_int(params, "user_id", required=True)
        if user_id == self.bot_id:
            return {"status": "member", "user": self._bot_user()}
        if user_id not in self._users:
            raise _bad("user not found")
        return {"status": "member", "user": dict(self._users[user_id])}

    def _set_bot_text(self, params: dict[str, Any], key: str) -> bool:
        language = _get_str(params, "language_code") or ""
        value = _get_str(params, key) or ""
        if value:
            self._bot_texts[(key, language)] = value
        else:
            self._bot_texts.pop((key, language), None)
        return True

    def _get_bot_text(self, params: dict[str, Any], key: str) -> dict[str, Any]:
        language = _get_str(params, "language_code") or ""
        return {key: self._bot_texts.get((key, language), "")}

    def _api_setMyDescription(self, params: dict[str, Any]) -> bool:
        return self._set_bot_text(params, "description")

    def _api_getMyDescription(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_bot_text(params, "description")

    def _api_setMyShortDescription(self, params: dict[str, Any]) -> bool:
        return self._set_bot_text(params, "short_description")

    def _api_getMyShortDescription(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_bot_text(params, "short_description")

    def _api_setMyName(self, params: dict[str, Any]) -> bool:
        return self._set_bot_text(params, "name")

    def _api_getMyName(self, params: dict[str, Any]) -> dict[str, Any]:
        result = self._get_bot_text(params, "name")
        return {"name": result["name"] or self.bot_first_name}

    def _api_setChatMenuButton(self, params: dict[str, Any]) -> bool:
        chat_id = _get_int(params, "chat_id")
        button = _get_json(params, "menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise _bad("can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    def _api_getChatMenuButton(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _get_int(params, "chat_id")
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return dict(button or {"type": "commands"})

    def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    def _api_logOut(self, params: dict[str, Any]) -> bool:
        return True

    # ======================================================================================
    # webhook delivery

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
        error = ""
        delivered = False
        for attempt in range(WEBHOOK_ATTEMPTS):
            try:
                async with session.post(url, data=json.dumps(update), headers=headers) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        delivered = True
                        break
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"Connection failed: {type(exc).__name__}: {exc}"
            if self._webhook_url != url or self._closing:
                return
            await asyncio.sleep(0.1 * (attempt + 1))
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

    # ======================================================================================
    # the browser page and its JSON API

    def _page_user(self, user: dict[str, Any]) -> dict[str, Any]:
        return {**user, "is_coordinator": user["id"] in self._coordinators}

    def _page_message(self, message: SandboxMessage) -> dict[str, Any]:
        data = dataclasses.asdict(message)
        file_id = message.extra.get("file_id")
        if file_id and file_id in self._files:
            data["file_url"] = f"/sandbox/api/files/{file_id}"
        return data

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


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _inline(message: SandboxMessage) -> dict[str, Any] | None:
    markup = message.reply_markup
    return markup if markup and "inline_keyboard" in markup else None


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad("can't parse inline keyboard button: Text must be a String")
    actions = [
        k
        for k in (
            "callback_data",
            "url",
            "web_app",
            "login_url",
            "switch_inline_query",
            "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat",
            "copy_text",
            "callback_game",
            "pay",
        )
        if k in button
    ]
    if not actions:
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+$", url):
            raise _bad("BUTTON_URL_INVALID")


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _api_error_response(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.code)


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


def app_factory(argv: list[str] | None = None) -> web.Application:
    """A fresh emulator's app, for ``python -m aiohttp.web bot.sandbox.emulator:app_factory``."""
    return BotApiEmulator().create_app()


class SandboxServer:
    """Runs an emulator's app on a real port; usable as an async context manager."""

    def __init__(self, emulator: BotApiEmulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(self.emulator.create_app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
