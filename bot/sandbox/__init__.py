"""Local Telegram Bot API emulator and browser chat page (no token, no internet needed).

``BotApiEmulator`` keeps a fake Telegram in memory and serves the Bot API over HTTP, so the real
bot runs against it through PTB's ``base_url``; ``SandboxServer`` runs it on a local port.
"""

from .emulator import BotApiEmulator, SandboxMessage, SandboxServer

__all__ = ["BotApiEmulator", "SandboxMessage", "SandboxServer"]
