"""Logs at DEBUG hold neither the bot's secrets nor what residents wrote (issue 13, point 7).

The real bot runs against the sandbox with LOG_LEVEL's most talkative level on every logger;
everything its handlers write is scanned for a recognisable token, webhook secret, resident's
text and name.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.logging_setup import protect_logs
from bot.runtime import Runtime
from bot.sandbox.emulator import BotApiEmulator, SandboxServer
from bot.web.app import SECRET_HEADER, create_web_app
from storage.db import create_engine
from tests.conftest import BotHarness, make_settings, webhook_settings
from tests.support import updates
from tests.support.clock import RunningClock
from tests.support.live import LiveBot, LiveResident, onboard, tr
from tests.test_ideas_e2e import share

TOKEN_HALF = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TOKEN = f"777001:{TOKEN_HALF}"
SECRET = "Webhook-Secret_4711-Quartier"
TEXT = "Rollstuhl Zimmer 12 Geheimnis"
NAME = "Wilhelmine-Zederbaum"
#: What must never be in a log line.
FORBIDDEN = (TOKEN, TOKEN_HALF, SECRET, TEXT, "Geheimnis", NAME)


class Captured:
    """Everything the root logger's handlers write: our own one with the bot's format, and
    pytest's (caplog), both as the bot protects them at start."""

    def __init__(self, stream: io.StringIO, caplog: pytest.LogCaptureFixture) -> None:
        self._stream = stream
        self._caplog = caplog

    @property
    def lines(self) -> str:
        """What our handler wrote, as `quartierbot run` writes it to stderr."""
        return self._stream.getvalue()

    @property
    def records(self) -> list[logging.LogRecord]:
        return self._caplog.records

    def text(self) -> str:
        records = "\n".join(
            f"{r.getMessage()}\n{r.exc_text or ''}\n{r.stack_info or ''}"
            for r in self._caplog.records
        )
        return f"{self._stream.getvalue()}\n{self._caplog.text}\n{records}"

    def assert_clean(self) -> None:
        written = self.text()
        for forbidden in FORBIDDEN:
            assert forbidden not in written, f"{forbidden!r} was logged"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[Captured]:
    """LOG_LEVEL=DEBUG for every logger, with a handler like `quartierbot run` configures."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        yield Captured(stream, caplog)
    finally:
        root.removeHandler(handler)


MALFORMED = [
    b"{not json",
    b"\xff\xfe\x00 not even text",
    b"[1, 2, 3]",
    b'"just a string"',
    b"null",
    b'{"update_id": "7"}',
    b'{"update_id": true}',
    json.dumps({"update_id": 7, "message": TEXT}).encode(),
    json.dumps({"update_id": 8, "message": {"text": TEXT}}).encode(),
    json.dumps({"update_id": 9, "callback_query": {"id": "1", "data": TEXT}}).encode(),
    json.dumps(
        {
            "update_id": 10,
            "message": {"message_id": 1, "date": 10**20, "chat": {"id": 1, "type": "private"}},
            "text": TEXT,
        }
    ).encode(),
    b"[" * 100_000,
]


async def test_the_bot_at_debug_logs_no_secret_and_no_residents_words(
    tmp_path: Path, debug_logs: Captured
) -> None:
    emulator = BotApiEmulator()
    async with SandboxServer(emulator) as server:
        settings = webhook_settings(
            tmp_path, server.base_url, SECRET, telegram_bot_token=TOKEN, log_level="DEBUG"
        )
        hook = str(settings.webhook_url)
        async with Runtime(settings, clock=RunningClock()) as runtime:
            # Every update below reaches the bot through the webhook route.
            resident = LiveResident(emulator, 901)
            emulator.add_user(NAME, "de", user_id=901)
            await onboard(resident, "de")
            await resident.say(TEXT)  # text the bot doesn't understand where it is
            await share(resident, text=TEXT)  # and an idea, stored and shown back
            assert runtime.engine is not None
            async with runtime.engine.connect() as connection:
                stored = await connection.scalar(text("SELECT text FROM ideas"))
            assert stored == TEXT  # the bot had the text in hand, in the database too
            async with ClientSession() as http:
                for body in MALFORMED:
                    answer = await http.post(hook, data=body, headers={SECRET_HEADER: SECRET})
                    assert answer.status == 400, body[:40]
                wrong = await http.post(hook, data=b"{}", headers={SECRET_HEADER: "guess"})
                assert wrong.status == 403
    written = debug_logs.text()
    # The scan means something: PTB's debug lines and ours were there, and so were the 400s.
    assert "Processing update" in written and "(callback_query)" in written
    assert "Calling Bot API endpoint `setWebhook`" in written
    assert debug_logs.lines.count("answered 400 to a malformed update") == len(MALFORMED)
    debug_logs.assert_clean()


async def test_a_database_error_is_logged_without_its_parameters(
    debug_logs: Captured, live_bot: LiveBot
) -> None:
    # debug_logs first: its handler is there when the bot starts, as `quartierbot run`'s is.
    runtime = live_bot.runtime
    assert runtime.engine is not None
    async with runtime.engine.begin() as connection:
        # A fault in the database itself, not in our code: every new idea is refused.
        await connection.execute(
            text(
                "CREATE TRIGGER refuse_ideas BEFORE INSERT ON ideas "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        )
    resident = live_bot.resident(NAME, "de", 902)
    await onboard(resident, "de")
    await share(resident, text=TEXT)
    sorry = "😕 Something went wrong on our side. Please try again in a moment."
    assert resident.last.text == tr(live_bot, "de", sorry)
    errors = [r for r in debug_logs.records if r.getMessage().startswith("error while handling")]
    assert len(errors) == 1
    assert errors[0].getMessage().endswith("(callback_query)")
    traceback = errors[0].exc_text or ""
    assert "IntegrityError" in traceback and "INSERT INTO ideas" in traceback
    assert "SQL parameters hidden" in traceback
    debug_logs.assert_clean()


async def test_a_constraint_violation_is_logged_without_the_row(
    debug_logs: Captured, database_url: str, tmp_path: Path
) -> None:
    """On both databases: SQLAlchemy hides the parameters, and PostgreSQL's own detail line,
    which quotes the failing row, is withheld."""
    protect_logs(make_settings(tmp_path))  # as Runtime.start does
    engine = create_engine(database_url)
    log = logging.getLogger("tests.test_logs")
    try:
        for statement in (
            "INSERT INTO notes (body, who) VALUES (:text, 'a'), (:text, 'b')",  # unique
            "INSERT INTO notes (body, who) VALUES (:text, NULL)",  # not null
        ):
            with pytest.raises(IntegrityError) as raised:
                async with engine.begin() as connection:
                    await connection.execute(
                        text(
                            "CREATE TEMPORARY TABLE IF NOT EXISTS notes "
                            "(body TEXT UNIQUE, who TEXT NOT NULL)"
                        )
                    )
                    await connection.execute(text(statement), {"text": TEXT})
            log.error("the database refused", exc_info=raised.value)
    finally:
        await engine.dispose()
    refusals = [r for r in debug_logs.records if r.getMessage() == "the database refused"]
    assert len(refusals) == 2
    assert all("SQL parameters hidden" in (r.exc_text or "") for r in refusals)
    if database_url.startswith("postgresql"):
        assert all("DETAIL:  <withheld>" in (r.exc_text or "") for r in refusals)
    debug_logs.assert_clean()


# --- the webhook route on its own -------------------------------------------------------


@pytest.fixture
async def client(harness: BotHarness, tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = make_settings(
        tmp_path, webhook_url="https://bot.example.org/tg/hook", webhook_secret=SECRET
    )
    app = create_web_app(settings, harness.engine, harness.application)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.mark.parametrize("body", MALFORMED, ids=lambda body: body[:24].decode("latin-1"))
async def test_a_malformed_update_gets_400_and_its_body_is_not_logged(
    client: TestClient, harness: BotHarness, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await client.post("/tg/hook", data=body, headers={SECRET_HEADER: SECRET})
    assert answer.status == 400
    assert harness.application.update_queue.empty()
    (warning,) = [r for r in caplog.records if r.name == "bot.web.app"]
    assert "malformed update" in warning.getMessage()
    assert f"{len(body)} bytes" in warning.getMessage()
    assert TEXT not in caplog.text and "Geheimnis" not in caplog.text


async def test_the_right_secret_with_a_real_update_is_still_accepted(
    client: TestClient, harness: BotHarness
) -> None:
    update = updates.message(harness.bot, updates.user(), TEXT).to_dict()
    wrong = await client.post("/tg/hook", json=update, headers={SECRET_HEADER: "guess"})
    assert wrong.status == 403
    assert harness.application.update_queue.empty()
    answer = await client.post("/tg/hook", json=update, headers={SECRET_HEADER: SECRET})
    assert answer.status == 200
    assert harness.application.update_queue.get_nowait().message.text == TEXT
