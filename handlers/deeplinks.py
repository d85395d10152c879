"""Deep links: ``/start event_42`` and friends, parsed into something a handler can route."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.buttons import DEEP_LINK

_PAYLOAD = re.compile(DEEP_LINK)


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
