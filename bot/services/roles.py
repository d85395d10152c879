"""Roles: one-time invitations, revocation, who holds what, and reading the audit log.

Who may hand out which role is least privilege (``permissions.GRANTABLE_BY``):

- **admins** invite to, and revoke, every role: admin, coordinator, partner, translator;
- **coordinators** invite to, and revoke, only partner and translator: a coordinator can't
  make another coordinator or an admin, nor take those roles away;
- nobody else invites or revokes anything. Admins named in ``ADMIN_IDS`` are admins by the
  settings: they are listed, but only the settings can take that away.

An invitation is a random code (``secrets.token_urlsafe``) behind ``/start invite_<code>``,
valid for ``valid_for`` (a week by default) and used once: ``accept`` claims it with a
conditional UPDATE (unused and not expired), so two taps at the same moment, or two people
with the same link, grant the role once. It also counts only while the person who made it
still may grant that role (a coordinator revoked since can't let anyone in any more).

A role takes effect at once, either way: the ``Actor`` is loaded from the database on every
update, so a flow that was started before a revocation is refused by the service at its next
step. Every invitation, acceptance and revocation is written to the audit log
(bot/services/audit.py) in the same transaction; ``audit`` reads the log, for admins only.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audit import AuditLog
from bot.services.permissions import Actor, grantable, may_grant, require, require_staff
from storage.db import in_transaction
from storage.models import AuditEntry, Invitation, Resident, Role, RoleAssignment
from storage.repositories import RoleRepository

__all__ = [
    "AUDIT_PAGE",
    "INVITATION_VALIDITY",
    "Accepted",
    "AuditItem",
    "AuditPage",
    "InvitationRefused",
    "InvitationView",
    "Role",
    "RoleService",
    "StaffMember",
]

#: How long an invitation link is valid unless the inviter says otherwise.
INVITATION_VALIDITY = timedelta(days=7)
#: Entries on one page of /audit.
AUDIT_PAGE = 20
#: Bytes of randomness in an invitation's code (22 URL-safe characters).
CODE_BYTES = 16
#: The order roles are listed in.
ROLE_ORDER = (Role.ADMIN, Role.COORDINATOR, Role.PARTNER, Role.TRANSLATOR)

RefusalReason = Literal["unknown", "expired", "used"]


class InvitationRefused(ValueError):
    """An invitation that grants nothing: ``unknown`` (no such code, or its maker may no
    longer grant the role), ``expired`` or ``used``."""

    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(f"invitation refused: {reason}")
        self.reason: RefusalReason = reason


@dataclass(frozen=True)
class InvitationView:
    code: str
    role: Role
    expires_at: datetime


@dataclass(frozen=True)
class Accepted:
    role: Role
    #: False when the person held the role already (the invitation is used all the same).
    granted: bool


@dataclass(frozen=True)
class StaffMember:
    telegram_id: int
    role: Role
    first_name: str | None
    #: The language of a translator (their own), None for someone who hasn't started the bot.
    locale: str | None
    #: Whether the actor who asked may revoke this role from this person.
    revocable: bool
    #: An admin by ``ADMIN_IDS``: only the settings can change that.
    from_settings: bool = False


@dataclass(frozen=True)
class AuditItem:
    id: int
    at: datetime
    actor_telegram_id: int | None
    actor_name: str | None
    action: str
    subject_kind: str
    subject_id: int | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[AuditItem, ...]
    #: The id to page on from ("older"), None when these are the oldest.
    older: int | None


class RoleService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        admin_ids: frozenset[int] = frozenset(),
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._admin_ids = admin_ids
        self._clock = clock
        self._audit = AuditLog(clock)

    # invitations ------------------------------------------------------------------------

    def invitable(self, actor: Actor) -> tuple[Role, ...]:
        """The roles this actor may invite to, in the order they are listed."""
        mine = grantable(actor)
        return tuple(role for role in ROLE_ORDER if role in mine)

    async def invite(
        self, actor: Actor, role: Role, *, valid_for: timedelta = INVITATION_VALIDITY
    ) -> InvitationView:
        """A new one-time invitation to ``role``; admins any role, coordinators partner and
        translator (see the module's docstring)."""
        require(may_grant(actor, role), "role.invite")
        require(valid_for > timedelta(0), "role.invite")
        assert actor.telegram_id is not None
        now = self._clock()
        invitation = Invitation(
            code=secrets.token_urlsafe(CODE_BYTES),
            role=role.value,
            created_by=actor.telegram_id,
            created_at=now,
            expires_at=now + valid_for,
        )

        async def work(session: AsyncSession) -> InvitationView:
            session.add(invitation)
            await session.flush()
            await self._audit.record(
                session, actor, "role.invite", "invitation", None, {"role": role.value}
            )
            return InvitationView(invitation.code, role, invitation.expires_at)

        made: InvitationView = await in_transaction(self._sessions, work)
        return made

    async def accept(self, telegram_id: int, code: str) -> Accepted:
        """Use an invitation: the role is granted once, however many taps arrive at once;
        ``InvitationRefused`` for an unknown, expired or used code."""
        now = self._clock()

        async def work(session: AsyncSession) -> Accepted:
            claimed = await session.execute(
                update(Invitation)
                .where(
                    Invitation.code == code,
                    Invitation.used_by.is_(None),
                    Invitation.expires_at > now,
                )
                .values(used_by=telegram_id, used_at=now)
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                found = await session.get(Invitation, code)
                if found is None:
                    raise InvitationRefused("unknown")
                raise InvitationRefused("used" if found.used_by is not None else "expired")
            invitation = await session.get(Invitation, code, populate_existing=True)
            assert invitation is not None
            role = Role(invitation.role)
            inviter = await self._actor(session, invitation.created_by)
            if not may_grant(inviter, role):
                # Its maker lost the right meanwhile: the code grants nothing (rolled back).
                raise InvitationRefused("unknown")
            granted = await RoleRepository(session).grant(telegram_id, role, now)
            detail = {"role": role.value, "invited_by": invitation.created_by}
            await self._audit.record(
                session, Actor(telegram_id), "role.accept", "resident", telegram_id, detail
            )
            return Accepted(role, bool(granted))

        accepted: Accepted = await in_transaction(self._sessions, work)
        return accepted

    # revocation and the staff list ------------------------------------------------------

    async def revoke(self, actor: Actor, telegram_id: int, role: Role) -> bool:
        """Take ``role`` away (True if they held it in the database); it counts from the
        person's next update on. Admins any role, coordinators partner and translator."""
        require(may_grant(actor, role), "role.revoke")

        async def work(session: AsyncSession) -> bool:
            removed = await RoleRepository(session).revoke(telegram_id, role)
            if removed:
                await self._audit.record(
                    session, actor, "role.revoke", "resident", telegram_id, {"role": role.value}
                )
            return removed

        removed: bool = await in_transaction(self._sessions, work)
        return removed

    async def staff(self, actor: Actor) -> list[StaffMember]:
        """Everyone with a role, by role (admins first), then by name: for coordinators and
        admins; ``revocable`` says what this actor may take away."""
        require_staff(actor, "role.staff")
        mine = grantable(actor)
        async with self._sessions() as session:
            assignments = list(await session.scalars(select(RoleAssignment)))
            held = {(a.telegram_id, Role(a.role)) for a in assignments}
            held |= {(admin, Role.ADMIN) for admin in self._admin_ids}
            people = await self._people(session, {telegram_id for telegram_id, _r in held})
        members = [
            StaffMember(
                telegram_id,
                role,
                people.get(telegram_id, (None, None))[0],
                people.get(telegram_id, (None, None))[1],
                revocable=role in mine and not self._by_settings(telegram_id, role),
                from_settings=self._by_settings(telegram_id, role),
            )
            for telegram_id, role in held
        ]
        members.sort(
            key=lambda m: (ROLE_ORDER.index(m.role), (m.first_name or "").casefold(), m.telegram_id)
        )
        return members

    def _by_settings(self, telegram_id: int, role: Role) -> bool:
        return role == Role.ADMIN and telegram_id in self._admin_ids

    # the audit log ----------------------------------------------------------------------

    async def audit(
        self, actor: Actor, *, before: int | None = None, limit: int = AUDIT_PAGE
    ) -> AuditPage:
        """The latest entries (older than entry ``before``), newest first: admins only."""
        require(actor.is_admin, "audit.read")
        async with self._sessions() as session:
            query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
            if before is not None:
                query = query.where(AuditEntry.id < before)
            rows = list(await session.scalars(query))
            page, more = rows[:limit], len(rows) > limit
            ids = {row.actor_telegram_id for row in page if row.actor_telegram_id is not None}
            people = await self._people(session, ids)
        entries = tuple(
            AuditItem(
                row.id,
                row.at,
                row.actor_telegram_id,
                people.get(row.actor_telegram_id, (None, None))[0]
                if row.actor_telegram_id is not None
                else None,
                row.action,
                row.subject_kind,
                row.subject_id,
                dict(row.detail or {}),
            )
            for row in page
        )
        return AuditPage(entries, page[-1].id if more and page else None)

    # internals --------------------------------------------------------------------------

    async def _actor(self, session: AsyncSession, telegram_id: int) -> Actor:
        roles = await RoleRepository(session).roles_of(telegram_id)
        if telegram_id in self._admin_ids:
            roles.add(Role.ADMIN)
        return Actor(telegram_id, frozenset(roles))

    @staticmethod
    async def _people(
        session: AsyncSession, ids: Iterable[int]
    ) -> dict[int, tuple[str | None, str | None]]:
        """First name and language of those of ``ids`` who started the bot."""
        wanted: Sequence[int] = sorted(ids)
        if not wanted:
            return {}
        rows = await session.execute(
            select(Resident.telegram_id, Resident.first_name, Resident.locale).where(
                Resident.telegram_id.in_(wanted)
            )
        )
        return {telegram_id: (name, locale) for telegram_id, name, locale in rows}
