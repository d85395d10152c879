"""The web dashboard's login without passwords, its sessions and its CSRF tokens.

- ``issue_login``: a staff member or partner sends /dashboard to the bot and gets a one-time
  link ``<PUBLIC_URL>/dashboard/login/<token>``. The token is a random nonce (stored in
  ``dashboard_logins``) and an HMAC-SHA256 of it with the settings' key (``DASHBOARD_SECRET``):
  a forged or mistyped token is refused before the database is asked.
- ``redeem``: the link is valid for ``LOGIN_VALIDITY`` (10 minutes) and used once: it is
  claimed with a conditional UPDATE (unused and not expired), so two tabs opening it at the
  same moment get one session between them. The claim and the new session commit together.
- ``session_actor``: every request loads the person's ``Actor`` fresh
  (``ResidentService.actor``): once they hold neither a staff role nor the partner role, the
  session is ended at that request. A session expires after ``IDLE_TIMEOUT`` (8 hours) without
  a request and at the latest ``MAX_AGE`` (24 hours) after the login; ``expires_at`` moves on at
  most every ``EXTEND_EVERY`` (5 minutes), so reading a session stays a read.
- ``csrf_token``: an HMAC of the session id, put into every form and checked on every POST.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.permissions import Actor, require
from bot.services.residents import ResidentService
from storage.models import DashboardLogin, DashboardSession

__all__ = [
    "IDLE_TIMEOUT",
    "LOGIN_VALIDITY",
    "MAX_AGE",
    "DashboardAuth",
    "LoginRefused",
    "may_use_dashboard",
]

#: How long a login link from /dashboard works.
LOGIN_VALIDITY = timedelta(minutes=10)
#: A session ends this long after its last request…
IDLE_TIMEOUT = timedelta(hours=8)
#: …and at the latest this long after the login.
MAX_AGE = timedelta(hours=24)
#: ``expires_at`` is written at most this often.
EXTEND_EVERY = timedelta(minutes=5)
#: Bytes of randomness in a login nonce and a session id (43 URL-safe characters).
RANDOM_BYTES = 32

RefusalReason = Literal["unknown", "expired", "used"]


class LoginRefused(ValueError):
    """A login link that opens no session: ``unknown`` (forged, mistyped, or the person no
    longer holds a role that may use the dashboard), ``expired`` or ``used``."""

    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(f"dashboard login refused: {reason}")
        self.reason: RefusalReason = reason


def may_use_dashboard(actor: Actor) -> bool:
    """Coordinators and admins, and partner organisations (their own events only)."""
    return actor.telegram_id is not None and (actor.is_staff or actor.is_partner)


class DashboardAuth:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        residents: ResidentService,
        *,
        key: bytes,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._residents = residents
        self._key = key
        self._clock = clock

    # signing ----------------------------------------------------------------------------

    def _sign(self, purpose: str, value: str) -> str:
        digest = hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _nonce_of(self, token: str) -> str | None:
        nonce, _dot, signature = token.partition(".")
        if not nonce or not signature or len(nonce) > 64:
            return None
        if not hmac.compare_digest(signature.encode(), self._sign("login", nonce).encode()):
            return None
        return nonce

    def csrf_token(self, session_id: str) -> str:
        """The token every form of this session carries (a hidden field)."""
        return self._sign("csrf", session_id)

    def csrf_ok(self, session_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(
            (token or "").encode(), self.csrf_token(session_id).encode()
        )

    # login ------------------------------------------------------------------------------

    async def issue_login(self, actor: Actor) -> str:
        """A one-time login token for this staff member or partner; ``NotAllowed`` for anyone
        else."""
        require(may_use_dashboard(actor), "dashboard.login")
        assert actor.telegram_id is not None
        nonce = secrets.token_urlsafe(RANDOM_BYTES)
        async with self._sessions.begin() as session:
            session.add(
                DashboardLogin(nonce=nonce, telegram_id=actor.telegram_id, created_at=self._clock())
            )
        return f"{nonce}.{self._sign('login', nonce)}"

    async def redeem(self, token: str, now: datetime) -> str:
        """The new session's id for a valid, unused link; ``LoginRefused`` otherwise."""
        nonce = self._nonce_of(token)
        if nonce is None:
            raise LoginRefused("unknown")
        async with self._sessions() as session:
            row = await session.get(DashboardLogin, nonce)
            if row is None:
                raise LoginRefused("unknown")
            telegram_id = row.telegram_id
        # The role counts as it is now, not as it was when the link was made.
        if not may_use_dashboard(await self._residents.actor(telegram_id)):
            raise LoginRefused("unknown")
        session_id = secrets.token_urlsafe(RANDOM_BYTES)
        async with self._sessions.begin() as session:
            claimed = await session.execute(
                update(DashboardLogin)
                .where(
                    DashboardLogin.nonce == nonce,
                    DashboardLogin.used_at.is_(None),
                    DashboardLogin.created_at > now - LOGIN_VALIDITY,
                )
                .values(used_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                found = await session.get(DashboardLogin, nonce, populate_existing=True)
                used = found is not None and found.used_at is not None
                raise LoginRefused("used" if used else "expired")
            session.add(
                DashboardSession(
                    id=session_id,
                    telegram_id=telegram_id,
                    created_at=now,
                    expires_at=min(now + IDLE_TIMEOUT, now + MAX_AGE),
                )
            )
        return session_id

    # sessions ---------------------------------------------------------------------------

    async def session_actor(self, session_id: str, now: datetime) -> Actor | None:
        """Who this browser acts as, read fresh; None (and the session ended) when it expired,
        was logged out, or its person lost every role that may use the dashboard."""
        if not session_id or len(session_id) > 64:
            return None
        async with self._sessions() as session:
            row = await session.get(DashboardSession, session_id)
            if row is None or row.ended_at is not None or row.expires_at <= now:
                return None
            telegram_id, created_at, expires_at = row.telegram_id, row.created_at, row.expires_at
        actor = await self._residents.actor(telegram_id)
        if not may_use_dashboard(actor):
            await self._end(session_id, now)
            return None
        extended = min(now + IDLE_TIMEOUT, created_at + MAX_AGE)
        if extended - expires_at >= EXTEND_EVERY:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(DashboardSession)
                    .where(
                        DashboardSession.id == session_id,
                        DashboardSession.ended_at.is_(None),
                        DashboardSession.expires_at < extended,
                    )
                    .values(expires_at=extended)
                )
        return actor

    async def logout(self, session_id: str) -> None:
        await self._end(session_id, self._clock())

    async def _end(self, session_id: str, now: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(DashboardSession)
                .where(DashboardSession.id == session_id, DashboardSession.ended_at.is_(None))
                .values(ended_at=now)
            )

    async def active_sessions(self, telegram_id: int, now: datetime) -> int:
        """How many open sessions this person has (for tests and the team page)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(DashboardSession.id).where(
                    DashboardSession.telegram_id == telegram_id,
                    DashboardSession.ended_at.is_(None),
                    DashboardSession.expires_at > now,
                )
            )
            return len(list(rows))
