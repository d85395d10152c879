"""Which way Telegram's apps lay a message out: by its first strong character.

The apps give a whole message the direction of its first character of Unicode bidi class L, R
or AL, as UAX #9 rules P2 and P3 find it: characters between an isolate initiator (LRI, RLI,
FSI) and its matching PDI are skipped (a paragraph separator closes open isolates), neutrals
(emoji, digits, punctuation) don't count, and a message without a strong character runs left
to right. The page sets each bubble's ``dir`` from this, not from the browser's ``dir="auto"``,
which doesn't skip isolates. Written here on its own, from the rule, rather than taken from
the bot (``bot/bidi.py``), so that the sandbox checks the bot instead of agreeing with it.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

Direction = Literal["ltr", "rtl"]

_OPENS_ISOLATE = frozenset({"LRI", "RLI", "FSI"})


def message_direction(text: str | None) -> Direction:
    """``"rtl"`` when the plain text's first strong character outside isolates is R or AL."""
    depth = 0
    for char in text or "":
        kind = unicodedata.bidirectional(char)
        if kind in _OPENS_ISOLATE:
            depth += 1
        elif kind == "PDI":
            depth = max(0, depth - 1)
        elif kind == "B":
            depth = 0
        elif depth == 0 and kind in ("L", "R", "AL"):
            return "ltr" if kind == "L" else "rtl"
    return "ltr"
