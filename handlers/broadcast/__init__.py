"""/broadcast: coordinators compose, preview, send, schedule and watch broadcasts.

Every step's state is the draft in the database plus, while we wait for typed input, a
``BroadcastStep`` (``flows.BROADCAST``, kept by ``ChatStateService``), so a replica restart or
a second replica changes nothing.

- ``actions``: ``/broadcast``, the composer's buttons (one action per ``BroadcastButton``).
- ``input``: the typed input a step waits for (text, voice, photo, times).
- ``screens``: the composer's other screens (audience, languages, preview, confirmation,
  weekday); the composer itself is ``handlers/shared/composer.py``, as other features open it.
- ``progress``: the progress message, its refresh by a job, and the final summary.
"""

from handlers.broadcast.actions import broadcast_button, broadcast_command
from handlers.broadcast.input import handle_input
from handlers.broadcast.progress import (
    finish_broadcast,
    progress_keyboard,
    progress_text,
    refresh_progress,
)
from handlers.broadcast.screens import send_payload
from handlers.shared.composer import composer_keyboard, composer_text, show_composer

__all__ = [
    "broadcast_button",
    "broadcast_command",
    "composer_keyboard",
    "composer_text",
    "finish_broadcast",
    "handle_input",
    "progress_keyboard",
    "progress_text",
    "refresh_progress",
    "send_payload",
    "show_composer",
]
