"""The Telegram users' side, for tests and the page: users, what they send, what they see.

Button presses are in :mod:`.callbacks`, next to the bot's answer to them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..telegram_html import detect_entities, strip_text
from .models import SandboxMessage, _Upload
from .updates import UpdateQueue


class UserSide(UpdateQueue):
    """``add_user``, ``send_*`` (each becomes an update), ``messages`` and ``wait_until``."""

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


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
