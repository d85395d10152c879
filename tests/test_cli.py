"""The command line explains itself and turns wrong settings into one clear line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from storage import migrate

SUBCOMMANDS = [
    ["run"],
    ["sandbox"],
    ["db"],
    ["db", "upgrade"],
    ["db", "downgrade"],
    ["db", "current"],
    ["admin"],
    ["admin", "add"],
    ["admin", "remove"],
    ["admin", "list"],
    ["i18n"],
    ["i18n", "check"],
    ["i18n", "extract"],
    ["i18n", "update"],
]


@pytest.mark.parametrize("words", [[], *SUBCOMMANDS], ids=lambda w: " ".join(w) or "top")
def test_every_command_has_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*words, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: quartierbot")
    assert len(out.splitlines()) >= 4


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_", "WEBHOOK_"))
    }
    env.update(extra)
    env.setdefault("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    return env


def _quartierbot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env there
        env=_clean_env(tmp_path, **env),
        timeout=60,
    )


def test_run_without_a_token_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _quartierbot(tmp_path, "run")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "mentions"),
    [
        ({"TIMEZONE": "Europe/Nowhere"}, "TIMEZONE"),
        ({"DEFAULT_LOCALE": "fr"}, "DEFAULT_LOCALE"),
        ({"HTTP_PORT": "eighty"}, "HTTP_PORT"),
        ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
        ({"TOPICS": "children,knitting"}, "knitting"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({"QUIET_HOURS": "21-8"}, "QUIET_HOURS"),
        ({"LOCALES": "de,de_simple,xx"}, "LOCALES: unknown language codes xx"),
    ],
)
def test_wrong_settings_exit_2_with_one_line(
    tmp_path: Path, env: dict[str, str], mentions: str
) -> None:
    result = _quartierbot(tmp_path, "run", TELEGRAM_BOT_TOKEN="1:x", **env)
    assert result.returncode == 2, result.stderr
    assert mentions in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("taken", ["page", "bot"])
def test_sandbox_on_a_taken_port_says_so_in_one_line_and_exits_2(
    tmp_path: Path, taken: str
) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        # The page on the taken port, or the page just before it (its bot server on port + 1).
        page = port if taken == "page" else port - 1
        result = _quartierbot(tmp_path, "sandbox", "--port", str(page))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"quartierbot: error: port {port} on 127.0.0.1 is in use; choose another, e.g. "
        f"`make demo PORT={port + 10}` or `quartierbot sandbox --port {port + 10}`"
    )


def test_webhook_without_secret_is_refused(tmp_path: Path) -> None:
    result = _quartierbot(
        tmp_path, "run", TELEGRAM_BOT_TOKEN="1:x", WEBHOOK_URL="https://example.org/hook"
    )
    assert result.returncode == 2 and "WEBHOOK_SECRET" in result.stderr


def test_unreachable_api_exits_2(tmp_path: Path) -> None:
    result = _quartierbot(
        tmp_path,
        "run",
        TELEGRAM_BOT_TOKEN="1:x",
        TELEGRAM_API_URL="http://127.0.0.1:9/bot",
        HTTP_PORT="0",
    )
    assert result.returncode == 2, result.stderr
    assert "cannot reach the Telegram Bot API" in result.stderr.splitlines()[-1]


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TIMEZONE=Not/AZone\n")
    result = _quartierbot(tmp_path, "run")
    assert result.returncode == 2 and "TIMEZONE" in result.stderr


def test_db_and_admin_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'admin.sqlite3'}")
    monkeypatch.setenv("ADMIN_IDS", "77")
    assert main(["db", "upgrade"]) == 0
    head = migrate.head_revision()
    assert f"revision {head} (code head: {head})" in capsys.readouterr().out
    assert main(["admin", "add", "555", "--role", "coordinator"]) == 0
    assert "555 is now coordinator" in capsys.readouterr().out
    assert main(["admin", "list"]) == 0
    listing = capsys.readouterr().out
    assert "555\tcoordinator" in listing and "77\tadmin (ADMIN_IDS)" in listing
    assert main(["admin", "remove", "555", "--role", "coordinator"]) == 0
    assert main(["db", "downgrade", "base"]) == 0
    assert "revision none" in capsys.readouterr().out.splitlines()[-1]
