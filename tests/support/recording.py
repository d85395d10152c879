"""A ``BaseRequest`` that records every Bot API call and answers like Telegram would, without
any network (the same idea as PTB's own ``tests/auxil/networking.py``)."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.request import BaseRequest, RequestData

BOT_ID = 123456
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Quartierbot",
    "username": "quartierbot_test_bot",
}
TOKEN = f"{BOT_ID}:TEST"


@dataclass
class Call:
    method: str
    params: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup")
        if not markup:
            return []
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [
            (button["text"], button.get("callback_data") or button.get("url", ""))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]


@dataclass
class RecordingRequest(BaseRequest):
    calls: list[Call] = field(default_factory=list)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append(Call(api_method, params))
        result = self._answer(api_method, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                **BOT_USER,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method in {"sendMessage", "editMessageText", "editMessageReplyMarkup"}:
            chat_id = int(params.get("chat_id", 0))
            message_id = params.get("message_id") or next(self._message_ids)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", "…"),
            }
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            return message
        if method == "getUpdates":
            return []
        if method == "getMyCommands":
            return []
        return True

    # --- what tests read -----------------------------------------------------------------

    def sent(self, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if method is None or c.method == method]

    def messages(self) -> list[Call]:
        """What a resident would see: new messages and edits, in order."""
        return [c for c in self.calls if c.method in {"sendMessage", "editMessageText"}]

    def last_message(self) -> Call:
        found = self.messages()
        assert found, f"the bot sent no message; calls: {[c.method for c in self.calls]}"
        return found[-1]

    def callback_answers(self) -> list[Call]:
        return self.sent("answerCallbackQuery")

    def clear(self) -> None:
        self.calls.clear()


def keyboard_of(markup: InlineKeyboardMarkup | None) -> list[tuple[str, str]]:
    if markup is None:
        return []
    return [(b.text, str(b.callback_data)) for row in markup.inline_keyboard for b in row]
