"""Logs without secrets and without what residents wrote, at every level.

Three things leak into logs unless stopped, found with ``LOG_LEVEL=DEBUG``:

- **Secrets.** PTB logs its API URLs (``…/bot<token>``) and every call's parameters
  (``setWebhook`` with the ``secret_token``); httpx logs every request's URL. ``LogPrivacy``
  replaces each configured secret (the token and its secret half, the webhook secret, the
  translation API key, the database password) by ``***`` in every record's message, arguments,
  traceback and stack, whoever logged it.
- **Residents' words and names.** PTB logs each update (``Processing update Update(…)``) and
  each call's parameters and return values (the messages we send, the updates we get);
  aiosqlite logs every statement with its parameters; SQLAlchemy its rows; PostgreSQL's errors
  quote the failing row. ``LogPrivacy`` writes an update as its id and kind, withholds PTB's
  payloads and PostgreSQL's DETAIL lines, and drops the records of the loggers that carry rows
  and parameters below INFO. SQL parameters stay out of exceptions by ``hide_parameters``
  (``storage/db.py``); our own log calls log ids, never text or names.
- **Noise**: the noisiest loggers are raised to WARNING (``NOISY``).

``protect_logs`` puts the one filter on the root logger's handlers; ``configure_logging`` (the
``quartierbot`` commands) and ``Runtime.start`` both call it, so the sandbox and the tests are
protected like production. A handler attached to the root logger later needs
``protect_logs`` again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from telegram import TelegramObject, Update

from bot.config import Settings

REDACTED = "***"
WITHHELD = "<withheld>"

#: Loggers raised to WARNING by ``configure_logging``: noise at INFO and DEBUG.
NOISY = (
    "httpx",  # a line per request to Telegram, its URL holding /bot<token>/
    "httpcore",  # every step of every connection
    "aiohttp.access",  # a line per request to our HTTP server
    "apscheduler",  # two lines per run of a repeating job
    "aiosqlite",  # every statement with its parameters, at DEBUG
    "sqlalchemy",  # statements (INFO) and the rows they return (DEBUG)
)

#: Loggers whose records below this level carry residents' data, dropped whatever the
#: configured level: aiosqlite's statements with their parameters, SQLAlchemy's result rows.
_DATA_BELOW = {"aiosqlite": logging.INFO, "sqlalchemy.engine": logging.INFO}

#: PTB's messages whose string arguments are raw payloads (received JSON, a webhook body, a
#: guessed secret); any dict, list or Telegram object in a PTB record is withheld anyway.
_PTB_RAW_TEXT = frozenset(
    {
        'Can not load invalid JSON data: "%s"',
        "Webhook received data: %s",
        "Request had the wrong secret token: %s",
    }
)

#: PostgreSQL's detail line quotes the values of the row that failed ("Key (name)=(…) already
#: exists.", "Failing row contains (…)."); asyncpg puts it in the exception's text, which
#: SQLAlchemy's ``hide_parameters`` does not reach.
_PG_DETAIL = re.compile(r"^(\s*)DETAIL:  .*$", re.MULTILINE)

#: Telegram's tokens are ``<bot id>:<secret>``; the secret half alone is redacted too when it
#: is long enough not to be an ordinary word.
_MIN_TOKEN_HALF = 8

_FORMATTER = logging.Formatter()


def update_kind(update: Update) -> str:
    """What an update is (``message``, ``callback_query``, …), for a log line."""
    for kind in Update.ALL_TYPES:
        if getattr(update, str(kind), None) is not None:
            return str(kind)
    return "unknown"


def describe_update(update: Update) -> str:
    """An update as a log may show it, ``1234 (message)``: its id and kind, nothing anyone
    wrote."""
    return f"{update.update_id} ({update_kind(update)})"


def _describe(value: object, *, from_ptb: bool, template: object) -> object:
    if isinstance(value, Update):
        return describe_update(value)
    if isinstance(value, TelegramObject):
        return f"<{type(value).__name__}>"
    if from_ptb:
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            return WITHHELD
        if isinstance(value, str | bytes) and template in _PTB_RAW_TEXT:
            return WITHHELD
    return value


def secrets_of(settings: Settings) -> list[str]:
    """Every value among the settings that must never be logged."""
    found: list[str] = []
    token = settings.token
    if token:
        found.append(token)
        half = token.partition(":")[2]
        if len(half) >= _MIN_TOKEN_HALF:
            found.append(half)
    for secret in (settings.webhook_secret, settings.translation_api_key):
        if secret is not None and secret.get_secret_value():
            found.append(secret.get_secret_value())
    try:
        password = make_url(settings.database_url).password
    except ArgumentError:  # pragma: no cover - the settings have already parsed it
        password = None
    if password:
        found.append(str(password))
    return found


class LogPrivacy(logging.Filter):
    """Rewrites each record so that no secret and no resident's text remains in it.

    The message is formatted here (``msg`` becomes the redacted text, ``args`` empty) and the
    traceback too (``exc_text``, which formatters use as it is), so every handler after this
    one, with any formatter, writes the redacted record.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        known = set(self._secrets) | {secret for secret in secrets if secret}
        # The longest first: a token before its own secret half.
        self._secrets = tuple(sorted(known, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if "DETAIL:  " in text:
            text = _PG_DETAIL.sub(rf"\1DETAIL:  {WITHHELD}", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        for name, level in _DATA_BELOW.items():
            if record.levelno < level and (
                record.name == name or record.name.startswith(name + ".")
            ):
                return False
        from_ptb = record.name == "telegram" or record.name.startswith("telegram.")
        template = record.msg
        if record.args:
            if isinstance(record.args, Mapping):
                record.args = {
                    key: _describe(value, from_ptb=from_ptb, template=template)
                    for key, value in record.args.items()
                }
            else:
                record.args = tuple(
                    _describe(value, from_ptb=from_ptb, template=template) for value in record.args
                )
        else:
            record.msg = _describe(record.msg, from_ptb=from_ptb, template=None)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep only what it says, redacted
            message = f"{record.msg} (unformattable arguments withheld)"
        record.msg = self.redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


#: The one filter of the process: secrets accumulate, each handler gets it once.
PRIVACY = LogPrivacy()


def protect_logs(settings: Settings, *, logger: logging.Logger | None = None) -> LogPrivacy:
    """Add the settings' secrets to the filter and put it on every handler of ``logger``
    (the root logger) that hasn't got it yet."""
    PRIVACY.add_secrets(secrets_of(settings))
    handlers = list((logger or logging.getLogger()).handlers)
    if logging.lastResort is not None:  # what writes warnings when nothing is configured
        handlers.append(logging.lastResort)
    for handler in handlers:
        if PRIVACY not in handler.filters:
            handler.addFilter(PRIVACY)
    return PRIVACY


def configure_logging(settings: Settings) -> None:
    """The ``quartierbot`` commands' logging: to stderr at ``LOG_LEVEL``, noise raised to
    WARNING, every record through ``LogPrivacy``."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    protect_logs(settings)
