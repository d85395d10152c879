"""Unit tests of the sandbox's Telegram HTML / MarkdownV2 entity parser."""

from __future__ import annotations

import pytest
from telegram import MessageEntity

from bot.sandbox.telegram_html import (
    EntityParseError,
    detect_entities,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    parse_text,
    strip_text,
    utf16_len,
)


def e(kind: str, offset: int, length: int, **extra: object) -> dict[str, object]:
    return {"type": kind, "offset": offset, "length": length, **extra}


def test_plain_text_passes_through() -> None:
    assert parse_html("Hello world") == ("Hello world", [])


@pytest.mark.parametrize(
    ("tag", "kind"),
    [
        ("b", "bold"),
        ("strong", "bold"),
        ("i", "italic"),
        ("em", "italic"),
        ("u", "underline"),
        ("ins", "underline"),
        ("s", "strikethrough"),
        ("strike", "strikethrough"),
        ("del", "strikethrough"),
        ("tg-spoiler", "spoiler"),
        ("code", "code"),
        ("pre", "pre"),
        ("blockquote", "blockquote"),
    ],
)
def test_simple_tags(tag: str, kind: str) -> None:
    assert parse_html(f"x <{tag}>yz</{tag}>!") == ("x yz!", [e(kind, 2, 2)])


def test_tags_are_case_insensitive_and_end_tag_name_may_be_omitted() -> None:
    assert parse_html("<B>bold</>") == ("bold", [e("bold", 0, 4)])


def test_span_spoiler_and_link() -> None:
    text, entities = parse_html(
        '<span class="tg-spoiler">s</span> <a href="https://example.org/?a=1&amp;b=2">link</a>'
    )
    assert text == "s link"
    assert entities == [
        e("spoiler", 0, 1),
        e("text_link", 2, 4, url="https://example.org/?a=1&b=2"),
    ]


def test_unquoted_attribute_and_single_quotes() -> None:
    assert parse_html("<a href='https://x.org'>x</a>")[1] == [
        e("text_link", 0, 1, url="https://x.org")
    ]
    assert parse_html("<span class=tg-spoiler>x</span>")[1] == [e("spoiler", 0, 1)]


def test_pre_with_language_merges_inner_code() -> None:
    text, entities = parse_html('<pre><code class="language-python">print(1)</code></pre>')
    assert text == "print(1)"
    assert entities == [e("pre", 0, 8, language="python")]


def test_code_language_outside_pre_is_dropped() -> None:
    assert parse_html('<code class="language-x">a</code>')[1] == [e("code", 0, 1)]


def test_expandable_blockquote_and_custom_emoji() -> None:
    assert parse_html("<blockquote expandable>q</blockquote>")[1] == [
        e("expandable_blockquote", 0, 1)
    ]
    assert parse_html('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>')[1] == [
        e("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286")
    ]


def test_nested_entities_sorted_by_offset_then_length() -> None:
    text, entities = parse_html("<b>bold <i>both</i></b>")
    assert text == "bold both"
    assert entities == [e("bold", 0, 9), e("italic", 5, 4)]


def test_html_entities_decoded() -> None:
    text, _ = parse_html("&lt;script&gt; &amp; &quot;q&quot; &#65;&#x1F600; &nbsp; & alone")
    assert text == '<script> & "q" A😀 &nbsp; & alone'


def test_empty_entities_dropped() -> None:
    assert parse_html("<b></b>x") == ("x", [])


def test_utf16_offsets_with_emoji_and_arabic() -> None:
    text, entities = parse_html("😀😀 <b>مرحبا</b> <i>👋🏽 hi</i>")
    assert text == "😀😀 مرحبا 👋🏽 hi"
    # each 😀 is 2 UTF-16 units; "مرحبا" is 5; 👋🏽 is 4
    assert entities == [e("bold", 5, 5), e("italic", 11, 7)]
    assert utf16_len("👋🏽 hi") == 7


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("Ayşe <br>", 'Unsupported start tag "br" at byte offset 6'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
        ("<a href>y</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
    ],
)
def test_invalid_markup_rejected_like_telegram(html: str, message: str) -> None:
    with pytest.raises(EntityParseError) as info:
        parse_html(html)
    assert str(info.value).startswith(message)


def test_escaped_user_text_is_fine() -> None:
    import html

    name = "<script>alert('x')</script> & Co"
    text, entities = parse_html(f"Hallo <b>{html.escape(name)}</b>!")
    assert text == f"Hallo {name}!"
    assert entities == [e("bold", 6, len(name))]


def test_strip_text_trims_and_shifts_entities() -> None:
    assert strip_text("  <x>  ", []) == ("<x>", [])
    assert strip_text("\n hi there \n", [e("bold", 2, 2), e("italic", 0, 12)]) == (
        "hi there",
        [e("bold", 0, 2), e("italic", 0, 8)],
    )


def test_markdown_v2() -> None:
    text, entities = parse_markdown_v2(
        "*bold* _it_ __u__ ~s~ ||sp|| `c` [link](https://x.org) 1\\.5"
    )
    assert text == "bold it u s sp c link 1.5"
    assert entities == [
        e("bold", 0, 4),
        e("italic", 5, 2),
        e("underline", 8, 1),
        e("strikethrough", 10, 1),
        e("spoiler", 12, 2),
        e("code", 15, 1),
        e("text_link", 17, 4, url="https://x.org"),
    ]
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("Hello.")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity"):
        parse_markdown_v2("*open")
    text, entities = parse_markdown_v2("```python\nprint(1)\n```")
    assert (text, entities) == ("print(1)\n", [e("pre", 0, 9, language="python")])


def test_legacy_markdown_and_dispatch() -> None:
    assert parse_markdown("*b* _i_ `c` [l](https://x.org)") == (
        "b i c l",
        [
            e("bold", 0, 1),
            e("italic", 2, 1),
            e("code", 4, 1),
            e("text_link", 6, 1, url="https://x.org"),
        ],
    )
    assert parse_text("<b>x</b>", "HTML") == ("x", [e("bold", 0, 1)])
    assert parse_text("<b>x</b>", None) == ("<b>x</b>", [])
    with pytest.raises(ValueError, match="unsupported parse_mode"):
        parse_text("x", "BBCode")


def test_detect_entities_in_user_text() -> None:
    entities = detect_entities("/start@quartierbot_sandbox_bot ref 🎉 see https://x.org/a. #tag")
    assert [x["type"] for x in entities] == ["bot_command", "url", "hashtag"]
    assert entities[0] == e("bot_command", 0, 30)
    assert entities[1]["offset"] == 42  # 🎉 counts as two UTF-16 units
    assert entities[1]["length"] == len("https://x.org/a")
    assert detect_entities("no /command here? /help") == [
        e("bot_command", 3, 8),
        e("bot_command", 18, 5),
    ]


def test_entities_deserialize_with_ptb() -> None:
    _, entities = parse_html(
        '<b>a</b><a href="https://x.org">b</a><pre><code class="language-py">c</code></pre>'
    )
    parsed = [MessageEntity.de_json(x, None) for x in entities]
    assert [p.type for p in parsed] == ["bold", "text_link", "pre"]
    assert parsed[2].language == "py"
