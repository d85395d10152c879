"""Telegram-compatible text formatting: HTML / MarkdownV2 parsing into plain text + entities.

Mirrors what Telegram's servers do with ``parse_mode`` (modelled on tdlib's ``parse_html``):
the text comes back without markup, and the formatting as ``MessageEntity`` dicts whose offsets
and lengths count UTF-16 code units. Anything Telegram would reject raises
:class:`EntityParseError` with a message in Telegram's wording (the emulator prefixes it with
``Bad Request: can't parse entities: ``).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "EntityParseError",
    "detect_entities",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "parse_text",
    "strip_text",
    "utf16_len",
]

# tdlib's is_space
_SPACES = frozenset(" \t\r\n\v\f\0")

_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)

_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    """The text can't be parsed; ``str(exc)`` is Telegram's explanation."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram's offsets count)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    """Decode an HTML entity starting at ``text[i] == '&'``: (decoded, chars consumed) or None."""
    end = text.find(";", i + 1, i + 12)
    if end == -1:
        return None
    body = text[i + 1 : end]
    if body in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[body], end - i + 1
    code: int | None = None
    if re.fullmatch(r"#[0-9]{1,8}", body):
        code = int(body[1:])
    elif re.fullmatch(r"#[xX][0-9a-fA-F]{1,6}", body):
        code = int(body[2:], 16)
    if code is None or code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end - i + 1


class _Builder:
    """Accumulates plain text and tracks the UTF-16 position."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0  # UTF-16 units written so far

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.pos += utf16_len(s)

    def text(self) -> str:
        return "".join(self.parts)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)`` like the Bot API does."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, str, int]] = []  # (tag, argument, utf16 start)
    n = len(text)
    i = 0

    def err(msg: str) -> EntityParseError:
        return EntityParseError(msg)

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                out.add(decoded[0])
                i += decoded[1]
            else:
                out.add("&")
                i += 1
            continue
        if c != "<":
            # copy a run of ordinary characters at once
            j = i + 1
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
            continue

        begin = i
        if i + 1 < n and text[i + 1] == "/":
            # end tag
            if not stack:
                raise err(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            j = i + 2
            while j < n and text[j] not in _SPACES and text[j] != ">":
                j += 1
            end_name = text[i + 2 : j].lower()
            while j < n and text[j] in _SPACES:
                j += 1
            if j >= n or text[j] != ">":
                raise err(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            tag, argument, start = stack.pop()
            if end_name and end_name != tag:
                raise err(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            i = j + 1
            length = out.pos - start
            if length > 0:
                _close_entity(entities, tag, argument, start, length)
            continue

        # start tag
        j = i + 1
        while j < n and text[j] not in _SPACES and text[j] != ">":
            j += 1
        if j >= n:
            raise err(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[i + 1 : j].lower()
        if tag not in _SUPPORTED_TAGS:
            raise err(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        argument = ""
        while True:
            while j < n and text[j] in _SPACES:
                j += 1
            if j >= n:
                raise err(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
            if text[j] == ">":
                break
            attr_begin = j
            while j < n and text[j] not in _SPACES and text[j] not in "=>":
                j += 1
            attr = text[attr_begin:j].lower()
            if not attr:
                raise err(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{_byte_offset(text, attr_begin)}"
                )
            while j < n and text[j] in _SPACES:
                j += 1
            if j >= n or text[j] != "=":
                if tag == "blockquote" and attr == "expandable":
                    argument = "expandable"
                    continue
                raise err(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            j += 1
            while j < n and text[j] in _SPACES:
                j += 1
            if j >= n:
                raise err(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
            if text[j] in "'\"":
                quote = text[j]
                j += 1
                value_parts: list[str] = []
                while j < n and text[j] != quote:
                    if text[j] == "&":
                        decoded = _decode_entity(text, j)
                        if decoded is not None:
                            value_parts.append(decoded[0])
                            j += decoded[1]
                            continue
                    value_parts.append(text[j])
                    j += 1
                if j >= n:
                    raise err(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                j += 1
                value = "".join(value_parts)
            else:
                token_begin = j
                while j < n and ((text[j].isascii() and text[j].isalnum()) or text[j] in ".-"):
                    j += 1
                value = text[token_begin:j].lower()
                if j >= n or (text[j] not in _SPACES and text[j] != ">"):
                    raise err(
                        f"Unexpected end of name token at byte offset "
                        f"{_byte_offset(text, token_begin)}"
                    )
            if tag == "a" and attr == "href":
                argument = value
            elif tag == "code" and attr == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attr == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and attr == "emoji-id":
                argument = value
            elif tag == "blockquote" and attr == "expandable":
                argument = "expandable"
        if tag == "span" and argument != "spoiler":
            raise err(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        stack.append((tag, argument, out.pos))
        i = j + 1

    if stack:
        raise err(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text(), _sorted(entities)


def _close_entity(
    entities: list[dict[str, Any]], tag: str, argument: str, offset: int, length: int
) -> None:
    if tag in _SIMPLE_TYPES:
        entities.append({"type": _SIMPLE_TYPES[tag], "offset": offset, "length": length})
    elif tag == "a":
        if argument:
            entities.append(
                {"type": "text_link", "offset": offset, "length": length, "url": argument}
            )
    elif tag == "pre":
        entity: dict[str, Any] = {"type": "pre", "offset": offset, "length": length}
        # <pre><code class="language-x">...</code></pre> -> one pre entity with a language
        for k in range(len(entities) - 1, -1, -1):
            inner = entities[k]
            if inner["offset"] < offset:
                break
            if inner["type"] == "code" and inner["offset"] == offset and inner["length"] == length:
                del entities[k]
                if inner.get("language"):
                    entity["language"] = inner["language"]
                break
        entities.append(entity)
    elif tag == "blockquote":
        kind = "expandable_blockquote" if argument else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif tag == "tg-emoji" and argument:
        entities.append(
            {
                "type": "custom_emoji",
                "offset": offset,
                "length": length,
                "custom_emoji_id": argument,
            }
        )
    if tag == "code" and argument and entities and entities[-1]["type"] == "code":
        entities[-1]["language"] = argument  # kept only until an enclosing <pre> absorbs it


def _sorted(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


# --- MarkdownV2 ---------------------------------------------------------------------------

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_MARKERS = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """A reasonably faithful MarkdownV2 parser (bold, italic, underline, strikethrough,
    spoiler, code, pre, links, blockquotes) with Telegram's reserved-character errors."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, int]] = []  # (marker, utf16 start, byte offset)
    n = len(text)
    i = 0
    quote_start: int | None = None
    while i < n:
        c = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start and quote_start is not None and c != ">":
            _add_entity(entities, "blockquote", quote_start, out.pos - quote_start)
            quote_start = None
        if c == "\\":
            if i + 1 < n and 0 < ord(text[i + 1]) < 127:
                out.add(text[i + 1])
                i += 2
                continue
            raise EntityParseError(
                "Character '\\' is reserved and must be escaped with the preceding '\\'"
            )
        if c == ">" and at_line_start:
            if quote_start is None:
                quote_start = out.pos
            i += 1
            continue
        if c == "`":
            if text.startswith("```", i):
                end = text.find("```", i + 3)
                if end == -1:
                    raise EntityParseError(
                        f"Can't find end of Pre entity at byte offset {_byte_offset(text, i)}"
                    )
                body = text[i + 3 : end]
                language = ""
                if "\n" in body:
                    first, rest = body.split("\n", 1)
                    if first and " " not in first:
                        language, body = first, rest
                start = out.pos
                out.add(_unescape_code(body))
                if out.pos > start:
                    entity = {"type": "pre", "offset": start, "length": out.pos - start}
                    if language:
                        entity["language"] = language
                    entities.append(entity)
                i = end + 3
                continue
            end = i + 1
            while end < n and text[end] != "`":
                end += 2 if text[end] == "\\" else 1
            if end >= n:
                raise EntityParseError(
                    f"Can't find end of Code entity at byte offset {_byte_offset(text, i)}"
                )
            start = out.pos
            out.add(_unescape_code(text[i + 1 : end]))
            _add_entity(entities, "code", start, out.pos - start)
            i = end + 1
            continue
        if c == "[":
            stack.append(("[", out.pos, _byte_offset(text, i)))
            i += 1
            continue
        if c == "]" and stack and stack[-1][0] == "[":
            _, start, _ = stack.pop()
            if i + 1 >= n or text[i + 1] != "(":
                raise EntityParseError(
                    "Character ']' is reserved and must be escaped with the preceding '\\'"
                )
            end = i + 2
            url_parts: list[str] = []
            while end < n and text[end] != ")":
                if text[end] == "\\" and end + 1 < n:
                    end += 1
                url_parts.append(text[end])
                end += 1
            if end >= n:
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, i + 1)}"
                )
            url = "".join(url_parts)
            if out.pos > start and url:
                entities.append(
                    {"type": "text_link", "offset": start, "length": out.pos - start, "url": url}
                )
            i = end + 1
            continue
        marker = None
        if text.startswith("__", i):
            marker = "__"
        elif text.startswith("||", i):
            marker = "||"
        elif c in "*_~":
            marker = c
        if marker is not None:
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                _add_entity(entities, _MDV2_MARKERS[marker], start, out.pos - start)
            else:
                stack.append((marker, out.pos, _byte_offset(text, i)))
            i += len(marker)
            continue
        if c in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        out.add(c)
        i += 1
    if quote_start is not None:
        _add_entity(entities, "blockquote", quote_start, out.pos - quote_start)
    if stack:
        marker, _, byte_off = stack[-1]
        name = {"[": "TextUrl"}.get(marker, _MDV2_MARKERS.get(marker, marker).capitalize())
        raise EntityParseError(f"Can't find end of {name} entity at byte offset {byte_off}")
    return out.text(), _sorted(entities)


def _unescape_code(body: str) -> str:
    return re.sub(r"\\([`\\])", r"\1", body)


def _add_entity(entities: list[dict[str, Any]], kind: str, offset: int, length: int) -> None:
    if length > 0:
        entities.append({"type": kind, "offset": offset, "length": length})


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy ``Markdown`` mode: *bold*, _italic_, `code`, ```pre```, [text](url)."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c in "*_" or c == "`":
            fence = "```" if text.startswith("```", i) else c
            end = text.find(fence, i + len(fence))
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            start = out.pos
            out.add(text[i + len(fence) : end])
            kind = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[fence]
            _add_entity(entities, kind, start, out.pos - start)
            i = end + len(fence)
            continue
        if c == "[":
            m = re.match(r"\[([^\]]*)\]\(([^)]*)\)", text[i:])
            if m:
                start = out.pos
                out.add(m.group(1))
                if out.pos > start and m.group(2):
                    entities.append(
                        {
                            "type": "text_link",
                            "offset": start,
                            "length": out.pos - start,
                            "url": m.group(2),
                        }
                    )
                i += m.end()
                continue
        out.add(c)
        i += 1
    return out.text(), _sorted(entities)


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Dispatch on ``parse_mode`` (case-insensitive); ``None``/empty means plain text.

    Raises :class:`EntityParseError` for bad markup and :class:`ValueError` (message
    ``unsupported parse_mode``) for an unknown mode.
    """
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ValueError("unsupported parse_mode")


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim leading/trailing whitespace like Telegram does, keeping entities consistent."""
    stripped_left = text.lstrip()
    lead = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    fixed: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, int(entity["offset"]) - lead)
        end = min(total, int(entity["offset"]) + int(entity["length"]) - lead)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed


_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")
_URL_RE = re.compile(r"(?<![\w@])https?://[^\s<>\"']+")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}\b")
_HASHTAG_RE = re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities a Telegram client attaches to text a user types: bot_command, url, mention,
    hashtag (offsets in UTF-16)."""
    found: list[dict[str, Any]] = []
    for kind, regex in (
        ("bot_command", _COMMAND_RE),
        ("url", _URL_RE),
        ("mention", _MENTION_RE),
        ("hashtag", _HASHTAG_RE),
    ):
        for m in regex.finditer(text):
            value = m.group(0)
            if kind == "url":
                value = value.rstrip(".,;:!?)]}")
            if not value:
                continue
            found.append(
                {
                    "type": kind,
                    "offset": utf16_len(text[: m.start()]),
                    "length": utf16_len(value),
                }
            )
    # drop entities overlapping an earlier one (e.g. "/cmd" inside a URL)
    found.sort(key=lambda e: (e["offset"], -e["length"]))
    result: list[dict[str, Any]] = []
    end = -1
    for entity in found:
        if entity["offset"] >= end:
            result.append(entity)
            end = entity["offset"] + entity["length"]
    return result
