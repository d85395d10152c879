"""Bot API: sending photos, documents, voice and stickers, and ``getFile``.

Uploads, known ``file_id``s and HTTP URLs are accepted like in Telegram; the bytes are kept in
the emulator's file store (:meth:`~.state.EmulatorState._store_file`) and served under
``/file/bot<token>/<file_path>``.
"""

from __future__ import annotations

from typing import Any

from .messages import MessageMethods
from .models import _bad, _StoredFile, _Upload
from .params import _get_int, _get_str, _is_empty


class MediaMethods(MessageMethods):
    """``sendPhoto``, ``sendDocument``, ``sendVoice``, ``sendSticker`` and ``getFile``."""

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
