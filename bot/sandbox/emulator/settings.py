"""Bot API: the bot itself and its settings, chat lookups and the methods that only say yes.

``getMe``, ``getChat``/``getChatMember``, the command lists per scope and language, the bot's
descriptions and name, and the chat menu button.
"""

from __future__ import annotations

import re
from typing import Any

from .models import _bad
from .params import _get_int, _get_json, _get_str
from .state import EmulatorState

_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANG_RE = re.compile(r"[a-z]{2}")
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


class BotSettings(EmulatorState):
    """``getMe``, ``getChat``, ``getChatMember``, ``*MyCommands``, ``*MyDescription`` etc."""

    def _init_part(self) -> None:
        super()._init_part()
        self._commands: dict[tuple[str, int | None, int | None, str], list[dict[str, Any]]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}

    # ======================================================================================
    # observing

    def my_commands(
        self, language_code: str = "", scope_type: str = "default"
    ) -> list[dict[str, Any]]:
        return list(self._commands.get((scope_type, None, None, language_code or ""), []))

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
