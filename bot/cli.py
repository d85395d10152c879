"""``quartierbot``: run the bot, the sandbox, migrations, roles and the catalog workflow.

Wrong or missing settings print one line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot import __version__
from bot.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def _configure_logging(settings: Settings) -> None:
    # To stderr at LOG_LEVEL, without secrets or residents' text (bot/logging_setup.py).
    from bot.logging_setup import configure_logging

    configure_logging(settings)


def _run(coroutine: Coroutine[Any, Any, int | None]) -> int:
    return asyncio.run(coroutine) or 0


# --- commands ---------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import run

    if not settings.token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather, "
            "or try the bot without one with `quartierbot sandbox` (make demo)"
        )
    if settings.webhook_url and not settings.webhook_secret:
        raise ConfigError("WEBHOOK_URL is set but WEBHOOK_SECRET is not; set both")
    _configure_logging(settings)
    return _run(_guarded(run(settings)))


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import run_worker

    if not settings.token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: the worker sends as the bot")
    _configure_logging(settings)
    return _run(_guarded(run_worker(settings, worker_id=args.worker_id)))


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox.runner import run_sandbox

    _configure_logging(settings)
    return _run(
        run_sandbox(
            settings,
            host=args.host,
            port=args.port,
            http_port=args.http_port,
            database_url=args.database,
        )
    )


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from storage import migrate
    from storage.db import create_engine

    async def main() -> int:
        engine = create_engine(settings.database_url)
        try:
            if args.db_command == "upgrade":
                await migrate.upgrade(engine, args.revision)
            elif args.db_command == "downgrade":
                await migrate.downgrade(engine, args.revision)
            current = await migrate.current_revision(engine)
            print(
                f"database at revision {current or 'none'} (code head: {migrate.head_revision()})"
            )
        finally:
            await engine.dispose()
        return 0

    return _run(_guarded(main()))


def cmd_admin(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_services
    from bot.runtime import prepare_database
    from bot.services.residents import STAFF_ROLES
    from storage.db import create_engine
    from storage.models import Role

    async def main() -> int:
        engine = create_engine(settings.database_url)
        try:
            await prepare_database(engine)
            residents = build_services(settings, engine).residents
            role = Role(args.role) if hasattr(args, "role") else Role.ADMIN
            if args.admin_command == "add":
                added = await residents.grant_role(args.telegram_id, role)
                print(f"{args.telegram_id} {'is now' if added else 'already was'} {role.value}")
            elif args.admin_command == "remove":
                removed = await residents.revoke_role(args.telegram_id, role)
                print(f"{args.telegram_id} {'is no longer' if removed else 'was not'} {role.value}")
                if role in STAFF_ROLES and not await residents.is_staff(args.telegram_id):
                    print(await _drop_staff_menu(settings, args.telegram_id))
            else:
                for assignment in await residents.staff():
                    print(f"{assignment.telegram_id}\t{assignment.role.value}")
                for telegram_id in sorted(settings.admin_ids):
                    print(f"{telegram_id}\tadmin (ADMIN_IDS)")
        finally:
            await engine.dispose()
        return 0

    return _run(_guarded(main()))


async def _drop_staff_menu(settings: Settings, telegram_id: int) -> str:
    """No staff role left: the staff command menu the bot set for their chat
    (``BotCommandScopeChat``, handlers/commands.py) is deleted, so Telegram shows them the
    residents' menu in their language again. Run again to retry if Telegram can't be reached."""
    from telegram import Bot, BotCommandScopeChat
    from telegram.error import InvalidToken, TelegramError

    if not settings.token:
        return "no TELEGRAM_BOT_TOKEN: their staff command menu in Telegram was left as it is"
    try:
        async with Bot(
            settings.token,
            base_url=settings.telegram_api_url,
            base_file_url=settings.telegram_file_url,
        ) as bot:
            await bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id))
    except InvalidToken:  # its message may name the token
        return "Telegram refused TELEGRAM_BOT_TOKEN: their staff command menu was left as it is"
    except TelegramError as exc:
        return f"their staff command menu could not be removed ({exc}); run this again to retry"
    return "their staff command menu is removed: they see the residents' commands again"


def cmd_i18n(args: argparse.Namespace, settings: Settings) -> int:
    from bot import i18n_tools

    if args.i18n_command == "extract":
        print(f"wrote {i18n_tools.write_template()}")
        return 0
    if args.i18n_command == "update":
        for path in i18n_tools.update_catalogs(settings.locales):
            print(f"updated {path}")
        return 0
    problems = i18n_tools.check(settings.locales)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in the catalogs", file=sys.stderr)
        return 1
    print(f"catalogs complete: {len(settings.locales)} locales ({', '.join(settings.locales)})")
    return 0


async def _guarded(coroutine: Coroutine[Any, Any, int | None]) -> int | None:
    """Turn the start-up failures a person can fix into one clear line."""
    from telegram.error import InvalidToken, NetworkError

    try:
        return await coroutine
    except InvalidToken:
        raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather") from None
    except NetworkError as exc:
        raise ConfigError(
            f"cannot reach the Telegram Bot API at the configured URL: {exc}"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{exc.strerror or exc}") from None


# --- parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quartierbot",
        description="A multilingual Telegram bot for neighbourhood management. "
        "Settings come from the environment and an optional .env file (see README).",
    )
    parser.add_argument("--version", action="version", version=f"quartierbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the bot and its HTTP server (production entry point)",
        description="Run the bot (polling, or webhook when WEBHOOK_URL is set) and the HTTP "
        "server (health, webhook) on HTTP_HOST:HTTP_PORT until SIGINT/SIGTERM.",
    )
    run.set_defaults(handler=cmd_run)

    worker = commands.add_parser(
        "worker",
        help="run only the delivery engine (scale out sending)",
        description="Send queued messages (broadcasts, digests) from the database's outbox at "
        "DELIVERY_RATE (PAID_BROADCAST_RATE with PAID_BROADCASTS=true) until SIGINT/SIGTERM; no "
        "polling, webhook or HTTP server. Several workers may share one PostgreSQL; each sends "
        "at the full rate, so divide DELIVERY_RATE among them. SQLite is migrated on start; "
        "PostgreSQL must be at the code's revision (`quartierbot db upgrade`).",
    )
    worker.add_argument(
        "--worker-id",
        default=None,
        help="name recorded on the rows it sends (default: host:pid:random)",
    )
    worker.set_defaults(handler=cmd_worker)

    sandbox = commands.add_parser(
        "sandbox",
        help="run the bot against the local Telegram emulator (no token, no internet)",
        description="Start the local Telegram Bot API emulator with its browser chat page, and "
        "the real bot against it, with a fresh SQLite database and a small demo neighbourhood.",
    )
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="address of the page (default: %(default)s)"
    )
    sandbox.add_argument(
        "--port", type=int, default=8080, help="port of the page (default: %(default)s)"
    )
    sandbox.add_argument(
        "--http-port",
        type=int,
        default=None,
        help="port of the bot's own HTTP server: health, calendar feed, flyers "
        "(default: the page's port + 1)",
    )
    sandbox.add_argument(
        "--database",
        default=None,
        help="database URL to keep, e.g. sqlite+aiosqlite:///demo.sqlite3 "
        "(default: a temporary SQLite file, deleted when the sandbox stops)",
    )
    sandbox.set_defaults(handler=cmd_sandbox)

    db = commands.add_parser(
        "db",
        help="database migrations",
        description="Apply or roll back Alembic migrations on DATABASE_URL.",
    )
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="migrate to the newest (or a given) revision")
    upgrade.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    downgrade = db_commands.add_parser("downgrade", help="roll back to a revision")
    downgrade.add_argument("revision", help="target revision, e.g. -1 or base")
    db_commands.add_parser("current", help="show the database's revision")
    db.set_defaults(handler=cmd_db)

    admin = commands.add_parser(
        "admin",
        help="grant or revoke roles",
        description="Grant or revoke roles by Telegram user id. ADMIN_IDS are admins too.",
    )
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    roles = ["admin", "coordinator", "partner", "translator"]
    for name, text in (("add", "grant a role"), ("remove", "revoke a role")):
        action = admin_commands.add_parser(name, help=f"{text} (default role: admin)")
        action.add_argument("telegram_id", type=int, help="the person's numeric Telegram user id")
        action.add_argument("--role", choices=roles, default="admin", help="default: %(default)s")
    admin_commands.add_parser("list", help="list everyone with a role")
    admin.set_defaults(handler=cmd_admin)

    i18n = commands.add_parser(
        "i18n",
        help="translation catalogs: extract, update, check",
        description="The catalog workflow. `check` fails on an untranslated message, a changed "
        "placeholder or HTML tag, a wrong number of plural forms, a stale messages.pot, or a "
        "term translated off the glossary (locales/GLOSSARY.md).",
    )
    i18n_commands = i18n.add_subparsers(dest="i18n_command", required=True, metavar="ACTION")
    i18n_commands.add_parser("extract", help="write locales/messages.pot from the code")
    i18n_commands.add_parser("update", help="merge messages.pot into every locale's .po file")
    i18n_commands.add_parser("check", help="check every configured locale's catalog")
    i18n.set_defaults(handler=cmd_i18n)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        return handler(args, load_settings())
    except ConfigError as exc:
        print(f"quartierbot: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
