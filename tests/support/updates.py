"""Build the updates Telegram would send when a resident types or taps."""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Bot, Update

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def user(
    user_id: int = 1001, first_name: str = "Ayşe", language_code: str | None = "tr"
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        data["language_code"] = language_code
    return data


def _chat(sender: dict[str, Any]) -> dict[str, Any]:
    return {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}


def message(bot: Bot, sender: dict[str, Any], text: str | None = None, **extra: Any) -> Update:
    payload: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": _chat(sender),
        "from": sender,
        **extra,
    }
    if text is not None:
        payload["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            payload["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return Update.de_json({"update_id": next(_update_ids), "message": payload}, bot)


def sticker(bot: Bot, sender: dict[str, Any]) -> Update:
    return message(
        bot,
        sender,
        sticker={
            "file_id": "sticker-1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        },
    )


def callback(bot: Bot, sender: dict[str, Any], data: str, message_id: int = 999) -> Update:
    return Update.de_json(
        {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "from": sender,
                "chat_instance": f"ci-{sender['id']}",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": _chat(sender),
                    "from": {"id": 123456, "is_bot": True, "first_name": "Quartierbot"},
                    "text": "…",
                },
            },
        },
        bot,
    )
