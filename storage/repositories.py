"""Queries, kept behind small repository classes so services never build SQL themselves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from storage.models import Resident, ResidentStatus, ResidentTopic, Role, RoleAssignment


def insert_ignoring_conflicts(dialect: str, table: Any) -> Insert:
    """An INSERT that silently skips rows that already exist (double taps, two replicas)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(dialect)  # pragma: no cover - only SQLite and PostgreSQL


def insert_or_update(
    dialect: str,
    table: Any,
    values: dict[str, Any],
    *,
    key: Sequence[str],
    changes: dict[str, Any],
) -> Insert:
    """One statement: insert ``values``, or apply ``changes`` to the row with the same ``key``."""
    if dialect == "postgresql":
        return (
            postgresql.insert(table)
            .values(values)
            .on_conflict_do_update(index_elements=list(key), set_=changes)
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(table)
            .values(values)
            .on_conflict_do_update(index_elements=list(key), set_=changes)
        )
    raise NotImplementedError(dialect)  # pragma: no cover - only SQLite and PostgreSQL


async def insert_ignoring_conflict(
    session: AsyncSession, model: type[object], values: dict[str, object]
) -> bool:
    """Insert one row unless it exists; returns whether a row was inserted."""
    table = model.__table__  # type: ignore[attr-defined]
    statement = insert_ignoring_conflicts(session.get_bind().dialect.name, table).values(values)
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


class ResidentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_telegram_id(self, telegram_id: int) -> Resident | None:
        return await self.session.scalar(
            select(Resident).where(Resident.telegram_id == telegram_id)
        )

    async def insert_if_absent(self, values: dict[str, object]) -> bool:
        return await insert_ignoring_conflict(self.session, Resident, values)

    async def mark_seen(self, telegram_id: int, now: datetime, older_than: datetime) -> None:
        await self.session.execute(
            update(Resident)
            .where(Resident.telegram_id == telegram_id, Resident.last_seen_at < older_than)
            # Seen again: an inactivity warning (bot/services/retention.py) no longer applies.
            .values(last_seen_at=now, warned_at=None)
        )

    async def set_status(self, telegram_id: int, status: ResidentStatus) -> None:
        await self.session.execute(
            update(Resident).where(Resident.telegram_id == telegram_id).values(status=status)
        )

    async def set_first_name(self, telegram_id: int, first_name: str) -> None:
        await self.session.execute(
            update(Resident)
            .where(Resident.telegram_id == telegram_id)
            .values(first_name=first_name)
        )

    async def add_topic(self, resident_id: int, topic: str) -> bool:
        return await insert_ignoring_conflict(
            self.session, ResidentTopic, {"resident_id": resident_id, "topic": topic}
        )

    async def remove_topic(self, resident_id: int, topic: str) -> None:
        await self.session.execute(
            delete(ResidentTopic).where(
                ResidentTopic.resident_id == resident_id, ResidentTopic.topic == topic
            )
        )

    async def delete(self, telegram_id: int) -> bool:
        result = await self.session.execute(
            delete(Resident).where(Resident.telegram_id == telegram_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Resident)) or 0)


class RoleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def roles_of(self, telegram_id: int) -> set[Role]:
        rows = await self.session.scalars(
            select(RoleAssignment.role).where(RoleAssignment.telegram_id == telegram_id)
        )
        return set(rows)

    async def grant(self, telegram_id: int, role: Role, now: datetime) -> bool:
        return await insert_ignoring_conflict(
            self.session,
            RoleAssignment,
            {"telegram_id": telegram_id, "role": role, "created_at": now},
        )

    async def revoke(self, telegram_id: int, role: Role) -> bool:
        result = await self.session.execute(
            delete(RoleAssignment).where(
                RoleAssignment.telegram_id == telegram_id, RoleAssignment.role == role
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def holders(self, roles: Iterable[Role]) -> list[RoleAssignment]:
        rows = await self.session.scalars(
            select(RoleAssignment)
            .where(RoleAssignment.role.in_(list(roles)))
            .order_by(RoleAssignment.telegram_id)
        )
        return list(rows)
