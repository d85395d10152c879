"""Machine drafts (issue 11, point 3): the clients against local stand-ins of the real APIs.

Every failure is a missing draft (None) and one warning line without the key or the text; the
flow goes on. With no provider set, nothing is built and nothing connects anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import DEFAULT_DEEPL_URL, DEFAULT_LOCALES, ConfigError, Settings, load_settings
from bot.translation import (
    DeepLClient,
    LibreTranslateClient,
    MachineTranslator,
    build_machine_translator,
    deepl_codes,
    libretranslate_locale,
)
from bot.translation.libretranslate import parse_languages
from tests.support.clock import TEST_START, FixedClock
from tests.support.deepl import DeepLStandIn
from tests.support.libretranslate import LANGUAGES, Fault, LibreTranslateStandIn

# -- a socket audit hook: which connections this process opens to the ports a test watches --
#
# Audit hooks are process-wide and can't be removed, so one is installed when this module is
# imported; it does nothing unless a test has put a port into ``_WATCHED`` and only records
# ``socket.connect`` events to those ports. asyncio (and so aiohttp) connects through
# ``socket.connect`` on a non-blocking socket, which raises the event before any byte moves.
_WATCHED: set[int] = set()
_CONNECTS: list[tuple[str, int]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect" or not _WATCHED:
        return
    address = args[1] if len(args) > 1 else None
    if isinstance(address, tuple) and len(address) >= 2 and address[1] in _WATCHED:
        _CONNECTS.append((str(address[0]), int(address[1])))


sys.addaudithook(_audit)

#: What LibreTranslate can draft of our locales: not Kurdish (it has none), and not simple
#: German (``de_simple``: a provider's German is not Einfache Sprache).
LIBRE_DRAFTS = frozenset({"de", "tr", "ar", "uk", "el", "ro", "pl", "it", "fa", "ru", "en"})
#: What DeepL can draft of them: neither Persian nor Kurdish either.
DEEPL_DRAFTS = LIBRE_DRAFTS - {"fa"}
SECRET = "k3y-that-must-never-be-logged"
TIMEOUT = 0.5


def _settings(**overrides: Any) -> Settings:
    return load_settings(_env_file=None, **overrides)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.translation" and r.levelno == logging.WARNING
    ]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TEST_START)


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateStandIn]:
    async with LibreTranslateStandIn() as server:
        yield server


@pytest.fixture
async def libre_client(
    libre: LibreTranslateStandIn, clock: FixedClock
) -> AsyncIterator[LibreTranslateClient]:
    client = LibreTranslateClient(
        libre.url, None, clock=clock, locales=DEFAULT_LOCALES, timeout=TIMEOUT
    )
    yield client
    await client.close()


@pytest.fixture
async def deepl() -> AsyncIterator[DeepLStandIn]:
    async with DeepLStandIn(api_key=SECRET) as server:
        yield server


@pytest.fixture
async def deepl_client(deepl: DeepLStandIn, clock: FixedClock) -> AsyncIterator[DeepLClient]:
    client = DeepLClient(deepl.url, SECRET, clock=clock, locales=DEFAULT_LOCALES, timeout=TIMEOUT)
    yield client
    await client.close()


# -- LibreTranslate: languages --------------------------------------------------------------


async def test_libretranslate_languages_are_our_locales_without_kurdish(
    libre: LibreTranslateStandIn, libre_client: LibreTranslateClient
) -> None:
    assert isinstance(libre_client, MachineTranslator)
    assert await libre_client.languages() == LIBRE_DRAFTS
    (request,) = libre.requests
    assert (request.method, request.path) == ("GET", "/languages")


async def test_the_language_list_is_cached_until_the_clock_moves_on(
    libre: LibreTranslateStandIn, libre_client: LibreTranslateClient, clock: FixedClock
) -> None:
    assert await asyncio.gather(*(libre_client.languages() for _ in range(5))) == [LIBRE_DRAFTS] * 5
    await libre_client.translate("Hallo", "de", "tr")
    clock.advance(hours=5)
    await libre_client.languages()
    assert len(libre.requests_to("/languages")) == 1  # concurrent callers shared one fetch
    clock.advance(hours=2)
    await libre_client.languages()
    assert len(libre.requests_to("/languages")) == 2


async def test_a_failed_language_list_is_retried_after_a_minute_not_on_every_call(
    libre: LibreTranslateStandIn,
    libre_client: LibreTranslateClient,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    libre.fail(Fault.ERROR, path="/languages")
    assert await libre_client.languages() == frozenset()
    assert await libre_client.translate("Hallo", "de", "tr") is None  # can't know: no draft
    clock.advance(seconds=30)
    assert await libre_client.languages() == frozenset()
    assert len(libre.requests_to("/languages")) == 1
    assert not libre.requests_to("/translate")
    clock.advance(seconds=31)
    assert await libre_client.languages() == LIBRE_DRAFTS
    assert await libre_client.translate("Hallo", "de", "tr") == "[tr] Hallo"
    assert _warnings(caplog)[0].startswith("machine translation (libretranslate) languages failed")


def test_provider_codes_are_mapped_carefully() -> None:
    locales = (*DEFAULT_LOCALES, "zh")
    assert libretranslate_locale("TR", locales) == "tr"
    assert libretranslate_locale("kmr", locales) == "ku"  # Kurmanji under its ISO 639-3 code
    assert libretranslate_locale("ckb", locales) is None  # Sorani is not our Kurdish
    assert libretranslate_locale("zh-Hans", locales) == "zh"
    assert libretranslate_locale("zh-Hant", locales) is None
    assert libretranslate_locale("pt-BR", locales) is None
    assert libretranslate_locale("xx", locales) is None
    table = parse_languages(
        [
            {"code": "de", "name": "German", "targets": ["de", "tr", "xx", "ckb"]},
            {"code": "tr", "name": "Turkish", "targets": ["de"]},
            {"code": "ckb", "name": "Kurdish (Sorani)", "targets": ["de"]},
            {"code": 7},
            "garbage",
        ],
        locales,
    )
    assert dict(table.sources) == {"de": "de", "tr": "tr"}
    assert dict(table.targets) == {"de": "de", "tr": "tr"}
    assert table.can("de", "tr") and table.can("tr", "de") and not table.can("de", "ku")

    listed = ["AR", "EN-US", "EN-GB", "PT-BR", "PT-PT", "ZH-HANT", "CKB", "UK", "TR", "XX-YY"]
    assert deepl_codes(listed, (*DEFAULT_LOCALES, "pt", "zh")) == {
        "ar": "AR",
        "en": "EN-GB",
        "pt": "PT-PT",
        "uk": "UK",
        "tr": "TR",
    }
    assert deepl_codes(["EN-US", "KMR", "ckb"], DEFAULT_LOCALES) == {"en": "EN-US", "ku": "KMR"}


async def test_a_server_that_lists_kurmanji_as_kmr_gets_kurdish_drafts(clock: FixedClock) -> None:
    async with LibreTranslateStandIn(languages=(*LANGUAGES, ("kmr", "Kurmanji"))) as server:
        client = LibreTranslateClient(server.url, None, clock=clock, locales=DEFAULT_LOCALES)
        try:
            assert await client.languages() == LIBRE_DRAFTS | {"ku"}
            assert await client.translate("Hallo", "de", "ku") == "[kmr] Hallo"
        finally:
            await client.close()
    assert server.requests_to("/translate")[0].body["target"] == "kmr"


# -- LibreTranslate: drafts -----------------------------------------------------------------


async def test_a_text_draft(
    libre: LibreTranslateStandIn, libre_client: LibreTranslateClient
) -> None:
    assert await libre_client.translate("Hoffest am Samstag", "de", "tr") == (
        "[tr] Hoffest am Samstag"
    )
    (request,) = libre.requests_to("/translate")
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.body == {
        "q": "Hoffest am Samstag",
        "source": "de",
        "target": "tr",
        "format": "text",
    }


async def test_an_html_draft_keeps_the_tags(
    libre: LibreTranslateStandIn, libre_client: LibreTranslateClient
) -> None:
    draft = await libre_client.translate("<b>Hoffest</b> am Samstag", "de", "ar", html=True)
    assert draft == "<b>[ar] Hoffest</b> [ar] am Samstag"
    assert libre.requests_to("/translate")[0].body["format"] == "html"


async def test_kurdish_waits_for_a_person_and_nothing_is_sent_for_it(
    libre: LibreTranslateStandIn,
    libre_client: LibreTranslateClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await libre_client.translate("Hallo", "de", "ku") is None
    assert await libre_client.translate("Hallo", "ku", "de") is None
    assert not libre.requests_to("/translate")
    assert len(_warnings(caplog)) == 2
    assert "no such pair" in _warnings(caplog)[0]


async def test_simple_german_is_drafted_from_but_never_into(
    libre: LibreTranslateStandIn, libre_client: LibreTranslateClient
) -> None:
    assert "de_simple" in DEFAULT_LOCALES and "de_simple" not in await libre_client.languages()
    assert await libre_client.translate("Wir feiern im Hof.", "de_simple", "tr") == (
        "[tr] Wir feiern im Hof."
    )
    assert libre.requests_to("/translate")[0].body["source"] == "de"
    assert await libre_client.translate("Wir feiern im Hof.", "de", "de_simple") is None
    assert len(libre.requests_to("/translate")) == 1


async def test_nothing_to_draft_sends_nothing(
    libre: LibreTranslateStandIn,
    libre_client: LibreTranslateClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await libre_client.translate("  \n", "de", "tr") is None
    assert await libre_client.translate("Hallo", "de", "de") is None
    assert not libre.requests
    assert not _warnings(caplog)


@pytest.mark.parametrize(
    ("fault", "logged"),
    [
        (Fault.ERROR, "HTTP 500: Cannot translate text"),
        (Fault.SLOW_DOWN, "HTTP 429: Slowdown"),
        (Fault.BANNED, "HTTP 403: Too many request limits violations"),
        (Fault.NOT_JSON, "HTTP 502 (not JSON)"),
        (Fault.DROP, "ServerDisconnectedError"),
        (Fault.SLOW, f"no answer within {TIMEOUT:g} s"),
    ],
)
async def test_a_failure_is_a_missing_draft_and_one_line_and_the_flow_goes_on(
    libre: LibreTranslateStandIn,
    libre_client: LibreTranslateClient,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    logged: str,
) -> None:
    await libre_client.languages()
    libre.fail(fault)
    started = time.monotonic()
    assert await libre_client.translate("Hoffest am Samstag", "de", "tr") is None
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + 1.0  # the slow answer took 5 s: the timeout was honoured
    if fault is Fault.SLOW:
        assert elapsed >= TIMEOUT * 0.9
    (line,) = _warnings(caplog)
    assert line.startswith("machine translation (libretranslate) translate de->tr failed: ")
    assert logged in line and "\n" not in line
    assert "Hoffest" not in line
    # The next draft works: one failure disables nothing.
    assert await libre_client.translate("Hoffest am Samstag", "de", "tr") == (
        "[tr] Hoffest am Samstag"
    )


async def test_a_refused_connection_is_a_missing_draft(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LibreTranslateClient(
        f"http://127.0.0.1:{port}", SECRET, clock=clock, locales=DEFAULT_LOCALES, timeout=TIMEOUT
    )
    try:
        started = time.monotonic()
        assert await client.languages() == frozenset()
        assert await client.translate("Hallo", "de", "tr") is None
        assert time.monotonic() - started < TIMEOUT + 1.0
    finally:
        await client.close()
    lines = _warnings(caplog)
    assert len(lines) == 2
    assert "ClientConnectorError" in lines[0] and "no such pair" in lines[1]


async def test_the_api_key_is_sent_and_never_logged(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with LibreTranslateStandIn(api_key=SECRET) as server:
        right = LibreTranslateClient(server.url, SECRET, clock=clock, locales=DEFAULT_LOCALES)
        wrong = LibreTranslateClient(server.url, "not-it", clock=clock, locales=DEFAULT_LOCALES)
        none = LibreTranslateClient(server.url, None, clock=clock, locales=DEFAULT_LOCALES)
        try:
            assert await right.translate("Hallo", "de", "tr") == "[tr] Hallo"
            assert server.requests_to("/translate")[-1].body["api_key"] == SECRET
            assert await wrong.translate("Hallo", "de", "tr") is None
            assert await none.translate("Hallo", "de", "tr") is None
            # A server's error text may quote anything, the key and the text included.
            server.fail(Fault.ERROR, message=f"Cannot translate Geheimtext with {SECRET}")
            assert await right.translate("Geheimtext", "de", "tr") is None
        finally:
            for client in (right, wrong, none):
                await client.close()
    lines = _warnings(caplog)
    assert "HTTP 403: Invalid API key" in lines[0]
    assert "HTTP 400: Please contact the server operator" in lines[1]
    assert "HTTP 500: Cannot translate *** with ***" in lines[2]
    assert SECRET not in caplog.text and "Geheimtext" not in caplog.text


async def test_close_ends_the_session_and_the_client_can_be_used_again(
    libre_client: LibreTranslateClient,
) -> None:
    await libre_client.close()  # nothing opened yet: fine
    assert await libre_client.translate("Hallo", "de", "tr") == "[tr] Hallo"
    await libre_client.close()
    await libre_client.close()
    assert await libre_client.translate("Tschüss", "de", "uk") == "[uk] Tschüss"


# -- DeepL ----------------------------------------------------------------------------------


async def test_deepl_languages_and_a_draft(deepl: DeepLStandIn, deepl_client: DeepLClient) -> None:
    assert isinstance(deepl_client, MachineTranslator)
    assert await deepl_client.languages() == DEEPL_DRAFTS
    languages = deepl.requests_to("/v2/languages")
    assert sorted(r.query["type"] for r in languages) == ["source", "target"]
    assert all(r.headers["Authorization"] == f"DeepL-Auth-Key {SECRET}" for r in deepl.requests)

    assert await deepl_client.translate("Hoffest", "de", "en") == "[EN-GB] Hoffest"
    draft = await deepl_client.translate("<i>Hof</i>fest", "de", "uk", html=True)
    assert draft == "<i>[UK] Hof</i>[UK] fest"
    plain, marked = (r.body for r in deepl.requests_to("/v2/translate"))
    assert plain == {"text": ["Hoffest"], "source_lang": "DE", "target_lang": "EN-GB"}
    assert marked["tag_handling"] == "html"
    assert await deepl_client.translate("Hoffest", "de", "fa") is None  # no Persian at DeepL
    assert await deepl_client.translate("Hoffest", "de", "ku") is None
    assert len(deepl.requests_to("/v2/translate")) == 2


@pytest.mark.parametrize(
    ("fault", "logged"),
    [
        (Fault.QUOTA, "HTTP 456: Quota exceeded"),
        (Fault.SLOW_DOWN, "HTTP 429: Too many requests"),
        (Fault.ERROR, "HTTP 500: Internal server error"),
        (Fault.DROP, "ServerDisconnectedError"),
        (Fault.SLOW, "no answer within"),
    ],
)
async def test_deepl_failures_are_missing_drafts(
    deepl: DeepLStandIn,
    deepl_client: DeepLClient,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    logged: str,
) -> None:
    await deepl_client.languages()
    deepl.fail(fault)
    started = time.monotonic()
    assert await deepl_client.translate("Hoffest", "de", "tr") is None
    assert time.monotonic() - started < TIMEOUT + 1.0
    (line,) = _warnings(caplog)
    assert line.startswith("machine translation (deepl) translate de->tr failed: ")
    assert logged in line
    assert await deepl_client.translate("Hoffest", "de", "tr") == "[TR] Hoffest"


async def test_deepl_with_a_wrong_key_drafts_nothing_and_logs_no_key(
    deepl: DeepLStandIn, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = DeepLClient(deepl.url, SECRET + "x", clock=clock, locales=DEFAULT_LOCALES)
    try:
        assert await client.languages() == frozenset()
        assert await client.translate("Hoffest", "de", "tr") is None
    finally:
        await client.close()
    assert "HTTP 403: Forbidden" in _warnings(caplog)[0]
    assert SECRET not in caplog.text


# -- settings and construction --------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "mentions"),
    [
        ({"translation_provider": "google"}, "TRANSLATION_PROVIDER: unknown provider 'google'"),
        ({"translation_provider": "libretranslate"}, "TRANSLATION_URL is needed"),
        ({"translation_provider": "deepl"}, "TRANSLATION_API_KEY is needed"),
        ({"translation_url": "libretranslate.example"}, "TRANSLATION_URL: must start with"),
        ({"translation_timeout": 0}, "TRANSLATION_TIMEOUT"),
    ],
)
def test_wrong_translation_settings_are_one_clear_line(
    values: dict[str, Any], mentions: str
) -> None:
    with pytest.raises(ConfigError) as error:
        _settings(**values)
    message = str(error.value)
    assert mentions in message and "\n" not in message


def test_translation_settings() -> None:
    default = _settings()
    assert default.translation_provider == "off" and default.translation_timeout == 10
    for off in ("", " OFF ", "off"):
        assert _settings(translation_provider=off, translation_url="").translation_provider == (
            "off"
        )
    libre = _settings(
        translation_provider=" LibreTranslate ",
        translation_url="https://libretranslate.example/",
        translation_api_key=SECRET,
    )
    assert libre.translation_provider == "libretranslate"
    assert libre.translation_endpoint == "https://libretranslate.example"
    assert libre.translation_key == SECRET
    assert SECRET not in repr(libre) and SECRET not in str(libre)
    deepl = _settings(translation_provider="deepl", translation_api_key=SECRET)
    assert deepl.translation_endpoint == DEFAULT_DEEPL_URL == "https://api-free.deepl.com"


def test_the_factory_builds_the_configured_client(clock: FixedClock) -> None:
    assert build_machine_translator(_settings(), clock) is None
    libre = build_machine_translator(
        _settings(translation_provider="libretranslate", translation_url="http://127.0.0.1:9"),
        clock,
    )
    assert isinstance(libre, LibreTranslateClient) and libre.name == "libretranslate"
    deepl = build_machine_translator(
        _settings(translation_provider="deepl", translation_api_key=SECRET), clock
    )
    assert isinstance(deepl, DeepLClient) and deepl.name == "deepl"


async def test_with_no_provider_nothing_is_built_and_nothing_connects(
    libre: LibreTranslateStandIn, clock: FixedClock
) -> None:
    """Off means off: no client, no connection, not even to ask for the language list.

    How this can fail: the module's audit hook records every ``socket.connect`` this process
    makes to the stand-in's port (asyncio and aiohttp connect through ``socket.connect``, so
    no client library can slip past it), and the stand-in records every request it gets. The
    first half proves the detector works: with the provider on, asking for the languages is
    seen by both. The second half builds from the same settings with the provider off (the URL
    and key still set, pointing at the same stand-in) and uses what it got the way a caller
    would; were anything built, or built lazily, that talks to the provider, the hook would see
    the connect.
    """
    common = {"translation_url": libre.url, "translation_api_key": SECRET}
    _WATCHED.add(libre.port)
    try:
        on = build_machine_translator(
            _settings(translation_provider="libretranslate", **common), clock
        )
        assert on is not None
        try:
            assert await on.languages() == LIBRE_DRAFTS
        finally:
            await on.close()
        assert ("127.0.0.1", libre.port) in _CONNECTS and libre.requests
        _CONNECTS.clear()
        libre.requests.clear()

        for off in ("off", "", "OFF"):
            translator = build_machine_translator(
                _settings(translation_provider=off, **common), clock
            )
            assert translator is None
        await asyncio.sleep(0.05)  # time for anything started in the background to connect
        assert _CONNECTS == [] and libre.requests == []
    finally:
        _WATCHED.discard(libre.port)


def test_quartierbot_refuses_an_unknown_provider_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TRANSLATION_"))}
    env.update(
        TELEGRAM_BOT_TOKEN="1:x",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        TRANSLATION_PROVIDER="google",
        TRANSLATION_API_KEY=SECRET,
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "TRANSLATION_PROVIDER" in result.stderr and "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout
