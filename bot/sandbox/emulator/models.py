"""What the emulator stores and answers with: Bot API errors, messages, uploads and files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .direction import Direction, message_direction


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

    @property
    def direction(self) -> Direction:
        """How Telegram's apps lay it out: by its first strong character (``direction.py``)."""
        return message_direction(self.text if self.text is not None else self.caption)

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
