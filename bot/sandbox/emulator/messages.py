"""Bot API: sending, editing and deleting messages, with Telegram's checks on what is sent.

Text and captions go through :mod:`bot.sandbox.telegram_html` (``parse_mode``/entities) and
Telegram's length limits; keyboards and reply targets are validated like the real API does.
Media sends are in :mod:`.media`.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from ..telegram_html import EntityParseError, parse_text, strip_text, utf16_len
from .faults import FaultInjection
from .models import SandboxMessage, _bad
from .params import _get_bool, _get_float, _get_int, _get_json, _get_str, _is_empty

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

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
_MEDIA_KINDS = frozenset({"photo", "document", "voice"})
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


class MessageMethods(FaultInjection):
    """``sendMessage``, ``edit*``, ``deleteMessage(s)``, locations, venues, copy and forward."""

    # ======================================================================================
    # validation helpers

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

    def _edited(self, message: SandboxMessage) -> dict[str, Any]:
        message.edited = True
        message.edit_date = int(self._clock().timestamp())
        self.stats["edited"] += 1
        self._emit("edit", chat_id=message.chat_id, message=self._page_message(message))
        return self._message_dict(message)

    # ======================================================================================
    # Bot API methods

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
        self._check_not_blocked(chat_id)
        self._emit("chat_action", chat_id=chat_id, action=action)
        return True

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
