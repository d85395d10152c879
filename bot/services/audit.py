"""The audit log: every staff action, who did it, when, and on what.

``AuditLog(clock).record(session, actor, action, subject_kind, subject_id, detail)`` writes
one row into the caller's transaction, so the entry commits with the action or not at all (a
failing action leaves none). ``action`` is a dotted key (``event.publish``, ``role.revoke``),
``subject_kind`` names the table (``event``, ``broadcast``, ``idea``, ``group``,
``translation``, ``resident``, ``invitation``). ``detail`` is small and never holds residents'
texts: ids, roles, statuses, counts and reason keys only; ``record`` refuses long strings.

Admins read the log with ``RoleService.audit`` (bot/services/roles.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.services.permissions import Actor
from storage.models import AuditEntry

__all__ = ["MAX_DETAIL_TEXT", "AuditLog"]

#: The longest string a detail may carry: keys and codes, never a resident's text.
MAX_DETAIL_TEXT = 40


def _small(value: object) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return len(value) <= MAX_DETAIL_TEXT
    if isinstance(value, list | tuple):
        return len(value) <= 20 and all(_small(item) for item in value)
    return False


@dataclass(frozen=True)
class AuditLog:
    """Writes audit entries with the time from ``clock``."""

    clock: Clock

    async def record(
        self,
        session: AsyncSession,
        actor: Actor,
        action: str,
        subject_kind: str,
        subject_id: int | None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """One entry, in ``session``'s transaction (it commits with the action)."""
        detail = dict(detail or {})
        if not all(_small(value) for value in detail.values()):
            raise ValueError(f"audit detail for {action} is not small: {sorted(detail)}")
        session.add(
            AuditEntry(
                at=self.clock(),
                actor_telegram_id=actor.telegram_id,
                action=action,
                subject_kind=subject_kind,
                subject_id=subject_id,
                detail=detail,
            )
        )
        await session.flush()
