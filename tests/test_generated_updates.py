"""Generated traffic (hypothesis): 2,000 updates from residents of six languages, commands,
free text, taps on the buttons they were shown and forged callback data, fed through the bot.

Nothing may end in the error handler ("something went wrong"), and no message to a resident
may carry a sentence of another language's catalog: every word the bot writes itself comes
in the reader's language (the harness has no coordinator-written content, so there is no
fallback text to allow for).
"""

from __future__ import annotations

import html
import logging
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import BotHarness
from tests.support import updates

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
USERS = [
    (2101, "Ayşe", "tr"),
    (2102, "Layla", "ar"),
    (2103, "Olena", "uk"),
    (2104, "Reza", "fa"),
    (2105, "Jonas", "de"),
    (2106, "Ana", "ro"),
]
COMMANDS = [
    *("/start", "/menu", "/help", "/events", "/ideas", "/groups", "/settings", "/language"),
    *("/privacy", "/stop", "/cancel", "/translate", "/newevent", "/broadcast", "/newgroup"),
]
EXAMPLES, STEPS = 10, 200  # 2,000 updates in all
_TAG = re.compile(r"<[^>]+>")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_MARKS = re.compile("[\u200e\u200f\u2066-\u2069]")
_PICKED = re.compile(r"(?:lang|consent:(?:yes|no)):([a-z_]+)")


def _plain(text: str) -> str:
    return _MARKS.sub("", html.unescape(_TAG.sub("", text)))


def _catalog_texts(locale: str) -> list[str]:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    texts = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        texts += [s for s in strings if s]
    return texts


@cache
def _locales() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in LOCALES_DIR.iterdir() if (p / "LC_MESSAGES").is_dir()))


@cache
def _segments(locale: str) -> frozenset[str]:
    """The catalog's sentences and phrases (placeholders cut out), at least 12 characters."""
    found = set()
    for text in _catalog_texts(locale):
        for part in _PLACEHOLDER.split(_plain(text)):
            for line in part.splitlines():
                line = line.strip(" .,:;!?…-–—()\"'«»")
                if len(line) >= 12:
                    found.add(line)
    return frozenset(found)


@cache
def _foreign(locale: str) -> re.Pattern[str] | None:
    """Phrases other catalogs have and this one doesn't: their presence means a message
    was (partly) written in another language."""
    own = " \n ".join(_plain(t) for t in _catalog_texts(locale))
    others: set[str] = set()
    for other in _locales():
        if other != locale:
            others |= {s for s in _segments(other) if s not in own}
    if not others:
        return None
    return re.compile("|".join(re.escape(s) for s in sorted(others, key=len, reverse=True)))


step = st.one_of(
    st.tuples(st.integers(0, len(USERS) - 1), st.just("command"), st.sampled_from(COMMANDS)),
    st.tuples(st.integers(0, len(USERS) - 1), st.just("text"), st.text(max_size=200)),
    st.tuples(st.integers(0, len(USERS) - 1), st.just("tap"), st.integers(0, 40)),
    st.tuples(st.integers(0, len(USERS) - 1), st.just("tap"), st.integers(0, 40)),
    st.tuples(
        st.integers(0, len(USERS) - 1),
        st.just("forged"),
        st.one_of(
            st.text(max_size=70),
            st.from_regex(r"(ev|evc|eva|grp|idea|idm|bc|tl|tt|tv|set|menu):[a-z0-9:_-]{0,40}"),
        ),
    ),
)


def _buttons_for(harness: BotHarness, chat_id: int) -> list[str]:
    """The callback data on the newest message to ``chat_id`` that has buttons."""
    for call in reversed(harness.request.calls):
        if str(call.params.get("chat_id")) == str(chat_id) and call.buttons:
            return [data for _label, data in call.buttons if not data.startswith("http")]
    return []


async def _locale_of(harness: BotHarness, user_id: int, telegram_code: str) -> str:
    rows = await harness.resident_rows(user_id)
    return str(rows[0].locale) if rows else telegram_code


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    # A failing run names the update and the message; shrinking 200 steps of a live bot takes
    # longer than it helps.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(step, min_size=STEPS, max_size=STEPS))
async def test_generated_traffic_breaks_nothing_and_speaks_the_readers_language(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, sequence: list[tuple[int, str, Any]]
) -> None:
    caplog.set_level(logging.ERROR)
    for index, kind, value in sequence:
        user_id, name, code = USERS[index]
        sender = updates.user(user_id, name, code)
        before = len(harness.request.calls)
        # The language this reader was using: an answer that ends it (switching languages,
        # deleting one's data) may still come in it.
        was = await _locale_of(harness, user_id, code)
        tapped: str | None = None
        if kind in ("command", "text"):
            await harness.send(sender, value)
        elif kind == "tap":
            shown = _buttons_for(harness, user_id)
            if not shown:
                continue
            tapped = shown[value % len(shown)]
            await harness.tap(sender, tapped)
        else:
            await harness.tap(sender, value)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, f"{kind} {value!r} by {code}: {errors[0].getMessage()}"
        # A language picked in the picker (or with the consent that follows it) is the one the
        # answer comes in, stored or not (declining stores nothing).
        picked = _PICKED.match(tapped or "")
        locale = picked.group(1) if picked else await _locale_of(harness, user_id, code)
        readable = {locale, was}
        for call in harness.request.calls[before:]:
            text = call.params.get("text") or call.params.get("caption")
            to_them = call.method == "answerCallbackQuery" or str(
                call.params.get("chat_id")
            ) == str(user_id)
            if text is None or not to_them:
                continue
            plain = _plain(str(text))
            found = [_foreign(loc).search(plain) for loc in readable if _foreign(loc)]
            if found and all(found):
                phrase = found[0].group(0)  # type: ignore[union-attr]
                raise AssertionError(
                    f"{kind} {value!r}: a {locale} reader got {phrase!r}: {text!r}"
                )
