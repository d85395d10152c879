"""Deep links: ``/start event_42`` and friends, parsed into something a handler can route."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.buttons import DEEP_LINK

_PAYLOAD = re.compile(DEEP_LINK)
#: ``/start invite_<code>``: an invitation to a role (the code is ``secrets.token_urlsafe``;
#: Telegram allows 64 characters of A-Z, a-z, 0-9, _ and - in a start payload).
_INVITATION = re.compile(r"invite_([A-Za-z0-9_-]{16,57})")


@dataclass(frozen=True)
class DeepLink:
    kind: str  # event, project, group, idea
    target_id: int

    @property
    def payload(self) -> str:
        return f"{self.kind}_{self.target_id}"


def parse_deep_link(payload: str | None) -> DeepLink | None:
    """The link behind a ``/start`` payload, or None for anything we don't know."""
    if not payload or not _PAYLOAD.fullmatch(payload):
        return None
    kind, _, number = payload.partition("_")
    return DeepLink(kind, int(number))


def parse_invitation(payload: str | None) -> str | None:
    """The invitation code behind ``/start invite_<code>``, or None."""
    found = _INVITATION.fullmatch(payload) if payload else None
    return found.group(1) if found else None


def invitation_link(bot_username: str, code: str) -> str:
    """The link that opens the bot with the invitation."""
    return f"https://t.me/{bot_username}?start=invite_{code}"
