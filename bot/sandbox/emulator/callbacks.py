"""Callback queries: a user presses an inline button, the bot answers ``answerCallbackQuery``."""

from __future__ import annotations

import hashlib
import itertools
import secrets
from typing import Any

from .models import _bad
from .params import _get_bool, _get_str, _is_empty
from .updates import UpdateQueue


class Callbacks(UpdateQueue):
    """Pressed buttons (``press_button``) and their answers (``callback_answers``)."""

    def _init_part(self) -> None:
        super()._init_part()
        self._salt = secrets.token_hex(4)
        self._query_counter = itertools.count(1)
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._callback_answers: dict[str, dict[str, Any]] = {}

    # ======================================================================================
    # the user's side

    def _chat_instance(self, chat_id: int) -> str:
        digest = hashlib.sha256(f"{self._salt}:{chat_id}".encode()).hexdigest()
        return str(int(digest[:15], 16))

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

    def callback_answers(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self._callback_answers.items()}

    # ======================================================================================
    # the bot's side

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
