"""An in-memory Telegram Bot API emulator speaking real HTTP.

The real bot runs against it unchanged through PTB's ``base_url``/``base_file_url``; tests and
the browser page (``/``) act as Telegram *users*. Everything lives in memory. The HTTP side never
crashes: unsupported methods and bad parameters get Telegram's error JSON.

Standalone: ``python -m aiohttp.web -H 127.0.0.1 -P 8080 bot.sandbox.emulator:app_factory``, then
point the bot at ``http://127.0.0.1:8080/bot`` (any token like ``123456:TEST``) and open
``http://127.0.0.1:8080/``.

:class:`BotApiEmulator` (``core``) is composed of parts, one module each, all sharing one
:class:`~.state.EmulatorState`:

- ``state``: users, chats, messages, files, the call log and stats, change notification;
- ``updates``: the updates queue, ``getUpdates`` long polling, the webhook and its delivery;
- ``users``: the users' side for tests (``add_user``, ``send_*``, ``messages``, ``wait_until``);
- ``callbacks``: inline button presses and ``answerCallbackQuery``;
- ``messages``, ``media``, ``settings``: the Bot API methods (``_api_<method>``);
- ``faults``: flood limits, ``inject_429``, ``block_user``;
- ``network_faults``: outages (429 storms, 5xx, timeouts, dropped connections), ``network``;
- ``page``: the browser chat page and its JSON endpoints;
- ``server``: ``SandboxServer`` (a real port) and ``app_factory``.
"""

from .core import BotApiEmulator
from .models import ApiError, SandboxMessage
from .server import SandboxServer, app_factory

__all__ = ["ApiError", "BotApiEmulator", "SandboxMessage", "SandboxServer", "app_factory"]
