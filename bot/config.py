"""Settings from the environment and an optional ``.env`` file.

Every knob a neighbourhood office turns lives here, so that nothing in the code is specific to
one district. ``load_settings`` turns validation errors into one readable line for the CLI.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import UnknownLocaleError
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.locales import babel_locale

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The dashboard's key when neither DASHBOARD_SECRET nor a bot token is set (this process only).
_PROCESS_KEY = secrets.token_bytes(32)

#: The district's languages, in the order it needs them. Configurable through ``LOCALES``.
#: ``de_simple`` is German in simple language (Einfache Sprache), formatted as ``de``.
DEFAULT_LOCALES = (
    "de",
    "de_simple",
    "tr",
    "ar",
    "uk",
    "el",
    "ro",
    "pl",
    "it",
    "fa",
    "ku",
    "ru",
    "en",
)

#: Topics a resident can follow. Keys, not labels: labels live in the catalogs (bot/topics.py).
DEFAULT_TOPICS = ("children", "intercultural", "environment", "housing", "culture_sport", "seniors")

DEFAULT_API_URL = "https://api.telegram.org/bot"

#: Machine drafts of translations (bot/translation/): off unless a provider is named.
TRANSLATION_PROVIDERS = ("off", "libretranslate", "deepl")
DEFAULT_DEEPL_URL = "https://api-free.deepl.com"


class ConfigError(Exception):
    """Settings that cannot work; the message is one line meant for a person."""


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = DEFAULT_API_URL
    database_url: str = "sqlite+aiosqlite:///quartierbot.sqlite3"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_locale: str = "de"
    locales: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_LOCALES))
    timezone: str = "Europe/Berlin"
    topics: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_TOPICS))
    neighbourhood_name: str = "Unser Quartier"
    # When the weekly overview goes out (local time), e.g. "mon 09:00"; "off" for never.
    weekly_digest: str = "mon 09:00"
    # New residents' quiet hours (local time), "21:00-08:00"; "off" for none. Each resident
    # changes their own in /settings. The sandbox turns them off, so a demo broadcast arrives.
    quiet_hours: str = "21:00-08:00"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    # Signs the web dashboard's one-time login links and its CSRF tokens. Unset: a key derived
    # from TELEGRAM_BOT_TOKEN (HMAC-SHA256), the same on every replica.
    dashboard_secret: SecretStr | None = None
    #: When set, /metrics answers only with ``Authorization: Bearer <token>`` (else 401).
    metrics_token: SecretStr | None = None
    log_level: str = "INFO"
    # The delivery engine (bot/services/delivery.py): Telegram allows about 30 messages/s to
    # different chats and 1/s per chat; paid broadcasts raise the first to 1000/s (and cost
    # Telegram Stars per message beyond 30/s).
    delivery_rate: float = Field(default=30.0, gt=0)
    delivery_per_chat_rate: float = Field(default=1.0, gt=0)
    paid_broadcasts: bool = False
    paid_broadcast_rate: float = Field(default=1000.0, gt=0)
    #: How long a claimed row stays claimed without a heartbeat (a dead worker's rows return).
    delivery_lease_seconds: float = Field(default=30.0, gt=0)
    #: Seconds a message is retried through 5xx, timeouts and connection errors before it
    #: counts as failed (a coordinator can retry failed rows from the progress message).
    delivery_retry_horizon: float = Field(default=1800.0, ge=0)
    # Machine drafts of translations, reviewed by a person before they go out. "off" (or
    # empty): nothing is built that could send a resident's text anywhere.
    translation_provider: str = "off"
    #: LibreTranslate's base URL (required for it); DeepL defaults to DEFAULT_DEEPL_URL.
    translation_url: str | None = None
    translation_api_key: SecretStr | None = None
    translation_timeout: float = Field(default=10.0, gt=0)
    # Abuse protection (handlers/abuse.py): more than RATE_LIMIT_UPDATES updates from one person
    # within RATE_LIMIT_WINDOW seconds get one "slow down"; going on past RATE_LIMIT_PAUSE_AFTER
    # pauses them for RATE_LIMIT_PAUSE seconds (their updates are dropped). Counted in memory,
    # per process. RATE_LIMIT_UPDATES=0 turns it off.
    rate_limit_updates: int = Field(default=20, ge=0)
    rate_limit_window: float = Field(default=10.0, gt=0)
    rate_limit_pause_after: int = Field(default=40, ge=1)
    rate_limit_pause: float = Field(default=60.0, ge=0)
    # Retention (bot/services/retention.py, daily at 03:30 local time): sign-ups' personal
    # details go SIGNUP_RETENTION_DAYS after their event ended (anonymous counts stay);
    # residents not seen for INACTIVE_DAYS are removed, warned INACTIVE_WARNING_DAYS before.
    signup_retention_days: int = Field(default=30, ge=1)
    inactive_days: int = Field(default=365, ge=2)
    inactive_warning_days: int = Field(default=30, ge=1)

    _split = field_validator("admin_ids", "locales", "topics", mode="before")(_split_list)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("locales")
    @classmethod
    def _known_locales(cls, value: list[str]) -> list[str]:
        unknown = []
        for locale in value:
            try:
                babel_locale(locale)  # a variety (de_simple) through its language
            except (UnknownLocaleError, ValueError):
                unknown.append(locale)
        if unknown:
            raise ValueError(f"unknown language codes {', '.join(unknown)}")
        return value

    @field_validator("weekly_digest")
    @classmethod
    def _weekly_rule(cls, value: str) -> str:
        if value.strip().lower() != "off":
            parse_weekly(value)
        return value.strip().lower()

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value.strip().lower()

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("translation_provider", mode="before")
    @classmethod
    def _known_translation_provider(cls, value: object) -> object:
        if isinstance(value, str):
            name = value.strip().lower() or "off"
            if name not in TRANSLATION_PROVIDERS:
                raise ValueError(
                    f"unknown provider {value.strip()!r}; known: {', '.join(TRANSLATION_PROVIDERS)}"
                )
            return name
        return value

    @field_validator("translation_url", "translation_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("translation_url")
    @classmethod
    def _translation_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value is not None else None

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_alphabet(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram only accepts 1-256 characters of A-Z, a-z, 0-9, _ and - as secret_token.
        if value is not None:
            secret = value.get_secret_value()
            allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
            if not 1 <= len(secret) <= 256 or not set(secret) <= allowed:
                raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _default_locale_is_configured(self) -> Settings:
        from bot.topics import TOPIC_LABELS  # late: topics imports i18n markers only

        if not self.locales:
            raise ValueError("LOCALES must name at least one language")
        if self.default_locale not in self.locales:
            raise ValueError(
                f"DEFAULT_LOCALE {self.default_locale!r} is not one of LOCALES "
                f"({', '.join(self.locales)})"
            )
        unknown = [topic for topic in self.topics if topic not in TOPIC_LABELS]
        if unknown:
            raise ValueError(
                f"TOPICS has unknown keys {', '.join(unknown)}; known: {', '.join(TOPIC_LABELS)}"
            )
        if self.inactive_warning_days >= self.inactive_days:
            raise ValueError(
                f"INACTIVE_WARNING_DAYS ({self.inactive_warning_days}) must be less than "
                f"INACTIVE_DAYS ({self.inactive_days})"
            )
        if self.translation_provider == "libretranslate" and not self.translation_url:
            raise ValueError("TRANSLATION_URL is needed for TRANSLATION_PROVIDER=libretranslate")
        if self.translation_provider == "deepl" and not self.translation_key:
            raise ValueError("TRANSLATION_API_KEY is needed for TRANSLATION_PROVIDER=deepl")
        return self

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def default_quiet_hours(self) -> tuple[int, int]:
        """New residents' quiet hours in minutes after local midnight; (0, 0) for none."""
        return parse_quiet_hours(self.quiet_hours)

    @property
    def effective_delivery_rate(self) -> float:
        return self.paid_broadcast_rate if self.paid_broadcasts else self.delivery_rate

    @property
    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    @property
    def dashboard_key(self) -> bytes:
        """The dashboard's signing key: ``DASHBOARD_SECRET``, else derived from the bot's token
        (so the sandbox works without one); without either, a key for this process only."""
        if self.dashboard_secret is not None and self.dashboard_secret.get_secret_value():
            return self.dashboard_secret.get_secret_value().encode()
        if self.token:
            return hmac.new(self.token.encode(), b"quartierbot dashboard", hashlib.sha256).digest()
        return _PROCESS_KEY

    @property
    def translation_key(self) -> str | None:
        key = self.translation_api_key
        return key.get_secret_value() if key else None

    @property
    def translation_endpoint(self) -> str | None:
        """The provider's base URL: ``TRANSLATION_URL``, or DeepL's Free API for DeepL."""
        if self.translation_provider == "deepl":
            return self.translation_url or DEFAULT_DEEPL_URL
        return self.translation_url

    @property
    def telegram_file_url(self) -> str:
        """PTB's ``base_file_url``: Telegram serves files under ``/file/bot<token>/``."""
        base = self.telegram_api_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"


def parse_weekly(value: str) -> tuple[str, int, int]:
    """ "mon 09:00" -> ("mon", 9, 0); raises ValueError with a readable message."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    parts = value.strip().lower().split()
    if len(parts) == 2 and parts[0][:3] in days and ":" in parts[1]:
        hour, _, minute = parts[1].partition(":")
        if hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60:
            return parts[0][:3], int(hour), int(minute)
    raise ValueError(f"{value!r} is not like 'mon 09:00' (or 'off')")


def parse_quiet_hours(value: str) -> tuple[int, int]:
    """ "21:00-08:00" -> (1260, 480); "off" -> (0, 0); raises ValueError with a readable message."""
    text = value.strip().lower()
    if text == "off":
        return 0, 0
    minutes: list[int] = []
    for part in text.split("-"):
        hour, _, minute = part.strip().partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            break
        minutes.append(int(hour) * 60 + int(minute))
    if len(minutes) != 2 or minutes[0] == minutes[1]:
        raise ValueError(f"{value!r} is not like '21:00-08:00' (or 'off')")
    return minutes[0], minutes[1]


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into a single readable ``ConfigError``."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]).upper() or "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{field}: {message}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None
