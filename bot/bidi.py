"""Which way a message runs, by the rule Telegram's apps lay it out with.

A Telegram client gives a whole message the direction of its first strong character (Unicode
bidi class L, R or AL), found as UAX #9 rules P2 and P3 find a paragraph's: characters between
an isolate initiator (LRI, RLI, FSI) and its matching PDI are skipped, and neutral characters
(emoji, digits, punctuation, spaces) don't count. So an Arabic /help that begins with "ℹ️"
(U+2139 is a letter, class L) runs left to right, and one that begins with an isolated date
has no strong character at all. ``direct`` puts a RIGHT-TO-LEFT MARK (class R) in front of a
message for a right-to-left reader unless it already begins right to left. Pure text: the
services (the outbox) and the PTB hook (``bot.telegram_bidi``) both use it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from babel import UnknownLocaleError

from bot.locales import babel_locale

RLM = "\u200f"
LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
ISOLATE_INITIATORS = frozenset((LRI, RLI, FSI))
STRONG = frozenset(("L", "R", "AL"))
RIGHT_TO_LEFT = frozenset(("R", "AL"))

# Telegram's HTML: markup is not text (entities are decoded after the tags are gone).
_TAG = re.compile(r"<[^>]*>")


@lru_cache(maxsize=64)
def is_rtl_locale(locale: str) -> bool:
    """Whether a locale's script runs right to left (ar and fa here), from CLDR via babel."""
    try:
        return babel_locale(locale).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError, TypeError):
        return False


def visible_text(text: str) -> str:
    """What a reader sees of Telegram HTML: without the tags, entities decoded."""
    return html.unescape(_TAG.sub("", text))


def first_strong(text: str, *, is_html: bool = False) -> str | None:
    """The bidi class ("L", "R" or "AL") of the first strong character outside isolates,
    None when there is none (UAX #9 P2). An isolate without its PDI runs to the end of its
    paragraph; a paragraph separator closes every open isolate."""
    if is_html:
        text = visible_text(text)
    depth = 0
    for char in text:
        if char in ISOLATE_INITIATORS:
            depth += 1
            continue
        kind = unicodedata.bidirectional(char)
        if char == PDI:
            depth = max(0, depth - 1)
        elif kind == "B":
            depth = 0
        elif depth == 0 and kind in STRONG:
            return kind
    return None


def begins_rtl(text: str, *, is_html: bool = False) -> bool:
    """Whether ``text`` is laid out right to left (P3: its first strong character is R/AL)."""
    return first_strong(text, is_html=is_html) in RIGHT_TO_LEFT


def direct(text: str, *, is_html: bool = False) -> str:
    """``text`` made to begin right to left: an RLM in front, unless it already does.
    Idempotent (the mark itself is strong R); empty text stays empty."""
    if not text or begins_rtl(text, is_html=is_html):
        return text
    return RLM + text


def direct_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A Bot API request or outbox payload whose ``text`` and ``caption`` begin right to left
    (HTML when its ``parse_mode`` says so); everything else is copied unchanged."""
    result = dict(fields)
    is_html = str(fields.get("parse_mode") or "").upper() == "HTML"
    for key in ("text", "caption"):
        value = result.get(key)
        if isinstance(value, str):
            result[key] = direct(value, is_html=is_html)
    return result


def direct_payload(payload: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """An outbox payload as a reader of ``locale`` receives it (RTL locales: see ``direct``)."""
    return direct_fields(payload) if is_rtl_locale(locale) else dict(payload)
