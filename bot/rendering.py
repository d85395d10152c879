"""What residents receive from the outbox: broadcasts rendered per language as Bot API payloads.

The services decide *what* to send and to whom; this module decides how it looks in each
language (the version or the default, and the translated way to unsubscribe).
"""

from __future__ import annotations

from typing import Any

from bot.i18n import I18n
from bot.services.broadcasts import DIGEST, BroadcastView


class BroadcastRenderer:
    def __init__(self, i18n: I18n) -> None:
        self._i18n = i18n

    def __call__(self, broadcast: BroadcastView, locale: str) -> dict[str, Any]:
        t = self._i18n.translator(locale)
        _ = t.gettext
        version = broadcast.version_for(locale)
        own_voice = broadcast.versions.get(locale)
        if broadcast.kind == DIGEST:
            footer = _(
                "You get this weekly overview because you asked for it. Change it in /settings."
            )
        else:
            footer = _("No more news messages? Send /stop.")
        text = version.text if version and version.text else ""
        body = f"{text}\n\n<i>{footer}</i>" if text else f"<i>{footer}</i>"
        # A voice note recorded in the resident's own language comes first; a voice note can't
        # carry a photo, so the photo goes to everyone else.
        if own_voice is not None and own_voice.voice_file_id:
            return {
                "method": "sendVoice",
                "voice": own_voice.voice_file_id,
                "caption": body,
                "parse_mode": "HTML",
            }
        if broadcast.photo_file_id:
            return {
                "method": "sendPhoto",
                "photo": broadcast.photo_file_id,
                "caption": body,
                "parse_mode": "HTML",
            }
        if version is not None and version.voice_file_id and not version.text:
            return {
                "method": "sendVoice",
                "voice": version.voice_file_id,
                "caption": body,
                "parse_mode": "HTML",
            }
        return {"method": "sendMessage", "text": body, "parse_mode": "HTML"}
