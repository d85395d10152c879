"""The privacy notice, versioned: admins publish a new version's text per language (/notice).

Version 1 is built in: its text lives in the catalogs (handlers/shared/home.py) and has no
rows. A published version N > 1 has a row per language it was written in, the default
language's always, so anyone whose language it lacks reads that one (marked as such). A
resident agreed to ``residents.consent_version``; once a newer version is published they are
asked again at their next interaction (handlers/notice.py) and the bot answers nothing else
but /privacy, /mydata and /stop until they agree (``ResidentService.agree_to_notice``).

The placeholders ``{signup_retention_days}`` and ``{inactive_days}`` in a text are filled
from the settings (``fill``), so a text never states a number the settings contradict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audit import AuditLog
from bot.services.permissions import Actor, require
from storage.models import PrivacyNotice

__all__ = [
    "BUILT_IN_VERSION",
    "MAX_NOTICE_LENGTH",
    "NoticeError",
    "NoticeService",
    "NoticeText",
    "current_notice_version",
    "fill",
]

#: The notice in the catalogs.
BUILT_IN_VERSION = 1
#: Room for the notice on one Telegram screen with the Agree / Decline question.
MAX_NOTICE_LENGTH = 3500
PLACEHOLDERS = ("signup_retention_days", "inactive_days")


class NoticeError(ValueError):
    """A version that can't be published as given (no text in the default language, a
    version that isn't the next one, a text too long)."""


@dataclass(frozen=True)
class NoticeText:
    version: int
    #: The language the text is in: the reader's, or the default language's as a fallback.
    locale: str
    #: None for the built-in version (the caller takes it from the catalogs).
    text: str | None
    fallback: bool = False


async def current_notice_version(session: AsyncSession) -> int:
    """The newest published version: the one everyone has to have agreed to."""
    newest = await session.scalar(select(func.max(PrivacyNotice.version)))
    return max(int(newest or 0), BUILT_IN_VERSION)


def fill(text: str, values: Mapping[str, object]) -> str:
    """``text`` with the known placeholders replaced; any other brace stays as written."""
    for name in PLACEHOLDERS:
        if name in values:
            text = text.replace("{" + name + "}", str(values[name]))
    return text


class NoticeService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        locales: tuple[str, ...],
        default_locale: str,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self.locales = locales
        self.default_locale = default_locale
        self._clock = clock

    async def current_version(self) -> int:
        async with self._sessions() as session:
            return await current_notice_version(session)

    async def text(self, locale: str, version: int | None = None) -> NoticeText:
        """The notice (the current version unless ``version``) in ``locale``, else in the
        default language (``fallback``); ``text`` None for the built-in version."""
        async with self._sessions() as session:
            if version is None:
                version = await current_notice_version(session)
            if version <= BUILT_IN_VERSION:
                return NoticeText(BUILT_IN_VERSION, locale, None)
            rows = {
                row.locale: row.text
                for row in await session.scalars(
                    select(PrivacyNotice).where(
                        PrivacyNotice.version == version,
                        PrivacyNotice.locale.in_([locale, self.default_locale]),
                    )
                )
            }
        if locale in rows:
            return NoticeText(version, locale, rows[locale])
        return NoticeText(
            version, self.default_locale, rows.get(self.default_locale), fallback=True
        )

    async def overview(self, actor: Actor) -> tuple[int, frozenset[str]]:
        """For an admin: the current version and the languages it was written in (the
        built-in version is in every language the catalogs hold)."""
        require(actor.is_admin, "notice.view")
        async with self._sessions() as session:
            version = await current_notice_version(session)
            if version <= BUILT_IN_VERSION:
                return version, frozenset(self.locales)
            written = await session.scalars(
                select(PrivacyNotice.locale).where(PrivacyNotice.version == version)
            )
            return version, frozenset(written)

    async def publish(self, actor: Actor, version: int, texts: Mapping[str, str]) -> int:
        """Publish ``version`` (the next one) with a text per language given, the default
        language's included. Residents who agreed to an older one are asked again from their
        next interaction on. Raises NoticeError when another admin published it meanwhile."""
        require(actor.is_admin, "notice.publish")
        assert actor.telegram_id is not None
        cleaned = {
            locale: text.strip()
            for locale, text in texts.items()
            if locale in self.locales and text.strip()
        }
        if self.default_locale not in cleaned:
            raise NoticeError("the default language's text is missing")
        if any(len(text) > MAX_NOTICE_LENGTH for text in cleaned.values()):
            raise NoticeError("a text is too long")
        now = self._clock()
        async with self._sessions.begin() as session:
            if version != await current_notice_version(session) + 1:
                raise NoticeError("not the next version")
            session.add_all(
                PrivacyNotice(
                    version=version,
                    locale=locale,
                    text=text,
                    created_by=actor.telegram_id,
                    created_at=now,
                )
                for locale, text in cleaned.items()
            )
            # Two admins publishing the same version at once: the primary key refuses one.
            await session.flush()
            await AuditLog(self._clock).record(
                session,
                actor,
                "notice.publish",
                "notice",
                version,
                {"locales": sorted(cleaned)},
            )
        return version
