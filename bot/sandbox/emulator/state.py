"""The emulated Telegram's world in memory: the bot, users, chats, messages and files.

:class:`EmulatorState` is the base of every part of :class:`~.core.BotApiEmulator`: it owns the
shared stores, the log of Bot API calls and the counters, and the change notification that wakes
long polls (``getUpdates``, the page's events, ``wait_until``). The parts that add their own
state (updates and webhook, callback queries, flood limits, bot settings) set it up in their
``_init_part``, which ``__init__`` calls once the shared stores exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import mimetypes
import secrets
import struct
from typing import Any

from bot.clock import Clock, system_clock

from .models import SandboxMessage, _bad, _StoredFile, _Upload
from .params import _is_empty


class EmulatorState:
    """Users, chats, messages and files, the call log and stats, and change notification."""

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
        # change notification (getUpdates long poll, wait_until, page events)
        self._waiters: set[asyncio.Future[None]] = set()
        self._events: list[dict[str, Any]] = []
        self._event_seq = 0
        self._closing = False
        self._init_part()

    def _init_part(self) -> None:
        """Where each part (a subclass) sets up the state it owns; call ``super()._init_part()``."""

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
    # lookups

    def _user(self, user_id: int) -> dict[str, Any]:
        try:
            return self._users[int(user_id)]
        except (KeyError, TypeError, ValueError):
            raise KeyError(f"unknown sandbox user {user_id!r}; call add_user() first") from None

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

    def _find_message(self, chat_id: int, message_id: int) -> SandboxMessage | None:
        for message in self._messages.get(chat_id, []):
            if message.message_id == message_id:
                return message
        return None

    # ======================================================================================
    # storage helpers

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

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
    # what the page's event log carries

    def _page_user(self, user: dict[str, Any]) -> dict[str, Any]:
        return {**user, "is_coordinator": user["id"] in self._coordinators}

    def _page_message(self, message: SandboxMessage) -> dict[str, Any]:
        data = dataclasses.asdict(message)
        data["dir"] = message.direction  # the page lays the bubble out by it
        file_id = message.extra.get("file_id")
        if file_id and file_id in self._files:
            data["file_url"] = f"/sandbox/api/files/{file_id}"
        return data


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


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
