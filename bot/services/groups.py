"""Projects and working groups: join, leave, help slots, grow ideas into projects, close.

A group (a project with an end, or an ongoing working group) has a name, description and
meeting rhythm per language, a topic, a lead, and optional help slots ("three people to water
plants") with a capacity. Its meetings are events with its ``group_id``.

Slots are never overfilled: counting and inserting happen in one transaction that holds the
slot's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite an UPDATE of the row comes
first, which takes the database's write lock before anything is counted). Membership is a
primary key and an insert that ignores conflicts, so double taps are harmless.

Members and slot holders are broadcast audiences (``group_members``, ``slot_holders``); leaving
cancels the resident's queued rows of running broadcasts to those audiences.

Everything about an open group can change, by its lead or a coordinator (only coordinators hand
the lead to someone else), under the group's row lock and in one transaction with the notices it
causes: a new name or meeting rhythm in the default language goes to every member, a help task's
new label (default language) or its removal to the people who hold it, a new lead to the new and
the old lead. A change that changes nothing (a double tap) tells nobody; each real one gets a
numbered source (``group:<id>:rhythm:<n>``), so the same text set again later is told again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, Literal, Protocol, TypeVar

from sqlalchemy import Select, case, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import BROADCAST, audience_statement
from bot.services.audit import AuditLog
from bot.services.delivery import DeliveryService, Recipient
from bot.services.events import EventView
from bot.services.permissions import Actor, leads, require, require_staff
from bot.services.versions import Versioned, pick_version, write_version
from storage.db import in_transaction, lock_row
from storage.models import (
    Broadcast,
    BroadcastStatus,
    DeliverySource,
    Event,
    EventStatus,
    Group,
    GroupKind,
    GroupMember,
    GroupStatus,
    GroupVersion,
    HelpSlot,
    Idea,
    IdeaSupport,
    Resident,
    Signup,
    SignupStatus,
    SlotHolder,
)
from storage.repositories import insert_ignoring_conflict

__all__ = [
    "KEEP",
    "CapacityBelowHolders",
    "GroupError",
    "GroupKind",
    "GroupNotFound",
    "GroupRenderer",
    "GroupService",
    "GroupStatus",
    "GroupVersionView",
    "GroupView",
    "InvalidChange",
    "MemberView",
    "NotMember",
    "SlotFull",
    "SlotView",
    "TextTooLong",
]

MAX_NAME = 200
MAX_DESCRIPTION = 3000
MAX_RHYTHM = 200
MAX_TOPIC = 40
MAX_LABEL = 100
MAX_SLOT_CAPACITY = 100
MAX_OUTCOME = 2000
IDEA_NAME_LENGTH = 80
GROUP_KIND = "group"
FORGOTTEN = 0  # ideas.author_telegram_id once the author deleted their data
AUDIENCE_KEYS = ("group_members", "slot_holders")


# --- errors ------------------------------------------------------------------------------


class GroupError(Exception):
    """A request that can't be done as asked; the handler explains it."""


class GroupNotFound(GroupError):
    pass


class InvalidChange(GroupError):
    """Not in this state: a closed group, not the lead, an idea that already is a project..."""


class SlotFull(GroupError):
    pass


class NotMember(GroupError):
    pass


class TextTooLong(GroupError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"text longer than {limit} characters")
        self.limit = limit


class CapacityBelowHolders(GroupError):
    """A help task can't need fewer people than hold it now."""

    def __init__(self, holders: int) -> None:
        super().__init__(f"{holders} people hold this task")
        self.holders = holders


class _Keep(Enum):
    KEEP = "keep"


#: For ``GroupService.update``: leave this field as it is.
KEEP: Final = _Keep.KEEP


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    """A group's member as its lead and the coordinators see them (in the order they joined)."""

    telegram_id: int
    locale: str
    first_name: str | None


@dataclass(frozen=True)
class SlotView:
    id: int
    group_id: int
    labels: Mapping[str, str]
    capacity: int
    filled: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.filled)

    def label_for(self, locale: str, default_locale: str) -> str:
        return pick_version(self.labels, locale, default_locale) or ""


@dataclass(frozen=True)
class GroupVersionView:
    locale: str
    name: str
    description: str | None
    rhythm: str | None
    #: Written before the default language's text last changed.
    needs_review: bool = False


@dataclass(frozen=True)
class GroupView(Versioned[GroupVersionView]):
    id: int
    kind: GroupKind
    status: GroupStatus
    created_by: int
    lead_id: int | None
    topic: str | None
    default_locale: str
    versions: Mapping[str, GroupVersionView]
    members: int
    slots: tuple[SlotView, ...]
    outcome: str | None
    idea_id: int | None
    created_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status == GroupStatus.OPEN


class GroupRenderer(Protocol):
    """Bot API payloads for group messages (``bot.rendering.GroupRenderer`` implements it)."""

    def invitation(self, group: GroupView, locale: str) -> dict[str, Any]: ...

    def closed(self, group: GroupView, locale: str) -> dict[str, Any]: ...

    def renamed(self, group: GroupView, old: str, new: str, locale: str) -> dict[str, Any]: ...

    def rhythm_changed(self, group: GroupView, rhythm: str, locale: str) -> dict[str, Any]: ...

    def lead_given(self, group: GroupView, locale: str) -> dict[str, Any]: ...

    def lead_handed_over(
        self, group: GroupView, new_lead: str | None, locale: str
    ) -> dict[str, Any]: ...

    def slot_renamed(self, group: GroupView, old: str, new: str, locale: str) -> dict[str, Any]: ...

    def slot_removed(self, group: GroupView, label: str, locale: str) -> dict[str, Any]: ...


# --- helpers -------------------------------------------------------------------------------

T = TypeVar("T")


def _ids(value: Any) -> list[int]:
    values = value if isinstance(value, list | tuple | set) else [value]
    return [int(v) for v in values if str(v).lstrip("-").isdigit()]


def _check_length(text: str | None, limit: int) -> None:
    if text is not None and len(text) > limit:
        raise TextTooLong(limit)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    stripped = text.strip()
    return stripped or None


async def _next_number(session: AsyncSession, prefix: str) -> int:
    """A number for the next notice of a kind (``group:<id>:rhythm:``): one more than the
    sources of that kind so far, so each real change is told, and told once."""
    count = await session.scalar(
        select(func.count())
        .select_from(DeliverySource)
        .where(DeliverySource.source.like(f"{prefix}%"))
    )
    return int(count or 0) + 1


# --- the service ---------------------------------------------------------------------------


class GroupService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryService,
        renderer: GroupRenderer,
        *,
        default_locale: str,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._delivery = delivery
        self.renderer = renderer
        self.default_locale = default_locale
        self._clock = clock

    # internals --------------------------------------------------------------------------

    async def _locked(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await in_transaction(self._sessions, work)

    async def _slots(self, session: AsyncSession, group_ids: Sequence[int]) -> list[SlotView]:
        if not group_ids:
            return []
        filled = (
            select(func.count())
            .select_from(SlotHolder)
            .where(SlotHolder.slot_id == HelpSlot.id)
            .scalar_subquery()
        )
        rows = await session.execute(
            select(HelpSlot, filled)
            .where(HelpSlot.group_id.in_(list(group_ids)))
            .order_by(HelpSlot.id)
        )
        return [
            SlotView(s.id, s.group_id, dict(s.labels or {}), s.capacity, int(n)) for s, n in rows
        ]

    async def _views(self, session: AsyncSession, rows: Sequence[Group]) -> list[GroupView]:
        ids = [row.id for row in rows]
        if not ids:
            return []
        counted = await session.execute(
            select(GroupMember.group_id, func.count())
            .where(GroupMember.group_id.in_(ids))
            .group_by(GroupMember.group_id)
        )
        members = {int(gid): int(n) for gid, n in counted}
        slots = await self._slots(session, ids)
        return [
            GroupView(
                id=row.id,
                kind=row.kind,
                status=row.status,
                created_by=row.created_by,
                lead_id=row.lead_telegram_id,
                topic=row.topic,
                default_locale=row.default_locale,
                versions={
                    v.locale: GroupVersionView(
                        v.locale, v.name, v.description, v.rhythm, bool(v.needs_review)
                    )
                    for v in row.versions
                },
                members=members.get(row.id, 0),
                slots=tuple(s for s in slots if s.group_id == row.id),
                outcome=row.outcome,
                idea_id=row.idea_id,
                created_at=row.created_at,
            )
            for row in rows
        ]

    async def _view(self, session: AsyncSession, group_id: int) -> GroupView:
        row = await session.get(Group, group_id, populate_existing=True)
        if row is None:
            raise GroupNotFound(str(group_id))
        await session.refresh(row, ["versions"])
        return (await self._views(session, [row]))[0]

    async def _select(self, session: AsyncSession, statement: Select[Any]) -> list[GroupView]:
        rows = list((await session.scalars(statement)).all())
        return await self._views(session, rows)

    async def _lock_group(self, session: AsyncSession, group_id: int) -> Group:
        """The group row, locked for this transaction."""
        row = await lock_row(session, Group, group_id)
        if row is None:
            raise GroupNotFound(str(group_id))
        return row

    async def _lock_slot(self, session: AsyncSession, slot_id: int) -> HelpSlot:
        row = await lock_row(session, HelpSlot, slot_id)
        if row is None:
            raise GroupNotFound(f"slot {slot_id}")
        return row

    async def _slot_view(self, session: AsyncSession, slot_id: int) -> SlotView:
        slot = await session.get(HelpSlot, slot_id, populate_existing=True)
        if slot is None:
            raise GroupNotFound(f"slot {slot_id}")
        filled = await session.scalar(
            select(func.count()).select_from(SlotHolder).where(SlotHolder.slot_id == slot_id)
        )
        return SlotView(
            slot.id, slot.group_id, dict(slot.labels or {}), slot.capacity, int(filled or 0)
        )

    async def _add_member(self, session: AsyncSession, group_id: int, telegram_id: int) -> bool:
        return await insert_ignoring_conflict(
            session,
            GroupMember,
            {"group_id": group_id, "telegram_id": telegram_id, "joined_at": self._clock()},
        )

    async def _tell(
        self,
        session: AsyncSession,
        source: str,
        recipients: Iterable[tuple[int, str]],
        render: Callable[[str], dict[str, Any]],
    ) -> int:
        """Queue a message to each recipient in their language, in the caller's transaction:
        it goes out only if the change it reports commits."""
        by_chat = {chat: Recipient(chat, locale) for chat, locale in recipients}
        if not by_chat:
            return 0
        locales = sorted({r.locale for r in by_chat.values()})
        return await self._delivery.enqueue(
            source=source,
            kind=GROUP_KIND,
            broadcast_id=None,
            payloads={locale: render(locale) for locale in locales},
            fallback_locale=locales[0],
            recipients=by_chat.values(),
            session=session,
        )

    async def _locales(
        self, session: AsyncSession, telegram_ids: Iterable[int], fallback: str
    ) -> dict[int, str]:
        ids = list(dict.fromkeys(telegram_ids))
        if not ids:
            return {}
        rows = await session.execute(
            select(Resident.telegram_id, Resident.locale).where(Resident.telegram_id.in_(ids))
        )
        known = {int(t): str(locale) for t, locale in rows}
        return {t: known.get(t, fallback) for t in ids}

    # composing --------------------------------------------------------------------------

    async def create(
        self,
        actor: Actor,
        kind: GroupKind | str,
        *,
        name: str,
        description: str | None = None,
        rhythm: str | None = None,
        topic: str | None = None,
        lead_id: int | None = None,
        locale: str | None = None,
        idea_id: int | None = None,
        then: Callable[[AsyncSession, GroupView], Awaitable[GroupView]] | None = None,
    ) -> GroupView:
        """Open a project or group; ``then`` queues what its creation causes (invitations) in
        the same transaction."""
        # Roles are read fresh for every update: one revoked mid-flow counts at the last step.
        require_staff(actor, "group.create")
        assert actor.telegram_id is not None
        created_by = actor.telegram_id
        kind = GroupKind(kind)
        cleaned = _clean(name)
        if cleaned is None:
            raise InvalidChange("a group needs a name")
        _check_length(cleaned, MAX_NAME)
        _check_length(description, MAX_DESCRIPTION)
        _check_length(rhythm, MAX_RHYTHM)
        _check_length(topic, MAX_TOPIC)
        version_locale = locale or self.default_locale

        async def work(session: AsyncSession) -> GroupView:
            row = Group(
                kind=kind,
                status=GroupStatus.OPEN,
                created_by=created_by,
                lead_telegram_id=lead_id,
                topic=topic or None,
                default_locale=version_locale,
                idea_id=idea_id,
                created_at=self._clock(),
            )
            row.versions.append(
                GroupVersion(
                    locale=version_locale,
                    name=cleaned,
                    description=_clean(description),
                    rhythm=_clean(rhythm),
                )
            )
            session.add(row)
            await session.flush()
            await AuditLog(self._clock).record(
                session,
                actor,
                "group.create",
                "group",
                row.id,
                {"kind": kind.value, "lead": lead_id, "idea": idea_id},
            )
            view = await self._view(session, row.id)
            return view if then is None else await then(session, view)

        return await self._locked(work)

    async def set_version(
        self,
        actor: Actor,
        group_id: int,
        locale: str,
        *,
        name: str | None = None,
        description: str | None = None,
        rhythm: str | None = None,
    ) -> GroupView:
        if name is not None:
            name = name.strip()
            if not name:
                raise InvalidChange("a group needs a name")
        _check_length(name, MAX_NAME)
        _check_length(description, MAX_DESCRIPTION)
        _check_length(rhythm, MAX_RHYTHM)
        if len(locale) > 16:
            raise InvalidChange(f"locale {locale[:16]}...")

        async def work(session: AsyncSession) -> GroupView:
            row = await self._lock_group(session, group_id)
            require(leads(actor, row.lead_telegram_id), "group.lead")
            if row.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {group_id} is closed")
            await session.refresh(row, ["versions"])
            before = next((v for v in row.versions if v.locale == row.default_locale), None)
            old_name, old_rhythm = (before.name, before.rhythm) if before else (None, None)

            def new_language() -> GroupVersion:
                if name is None:
                    raise InvalidChange("a new language needs a name")
                return GroupVersion(locale=locale, name=name)

            write_version(
                row.versions,
                locale,
                new_language,
                default_locale=row.default_locale,
                name=name,
                description=None if description is None else _clean(description) or "",
                rhythm=None if rhythm is None else _clean(rhythm) or "",
            )
            await session.flush()
            view = await self._view(session, group_id)
            if locale == view.default_locale:
                await self._tell_version_change(session, actor, view, old_name, old_rhythm)
            return view

        return await self._locked(work)

    async def _tell_version_change(
        self,
        session: AsyncSession,
        actor: Actor,
        view: GroupView,
        old_name: str | None,
        old_rhythm: str | None,
    ) -> None:
        """A new name or meeting rhythm in the default language, told to every member (but
        the person who changed it); a rhythm cleared is not news."""
        now = view.versions.get(view.default_locale)
        if now is None:
            return
        members = [m for m in await self._members(session, view.id) if m[0] != actor.telegram_id]
        if old_name is not None and now.name != old_name:
            was = old_name
            prefix = f"group:{view.id}:name:"
            await self._tell(
                session,
                f"{prefix}{await _next_number(session, prefix)}",
                members,
                lambda loc: self.renderer.renamed(view, was, now.name, loc),
            )
        if now.rhythm and now.rhythm != old_rhythm:
            rhythm = now.rhythm
            prefix = f"group:{view.id}:rhythm:"
            await self._tell(
                session,
                f"{prefix}{await _next_number(session, prefix)}",
                members,
                lambda loc: self.renderer.rhythm_changed(view, rhythm, loc),
            )

    async def add_slot(
        self, actor: Actor, group_id: int, label: str, capacity: int, *, locale: str | None = None
    ) -> GroupView:
        cleaned = _clean(label)
        if cleaned is None:
            raise InvalidChange("a slot needs a label")
        _check_length(cleaned, MAX_LABEL)
        if not 1 <= capacity <= MAX_SLOT_CAPACITY:
            raise InvalidChange(f"capacity {capacity}")

        async def work(session: AsyncSession) -> GroupView:
            row = await self._lock_group(session, group_id)
            require(leads(actor, row.lead_telegram_id), "group.lead")
            if row.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {group_id} is closed")
            labels = {locale or row.default_locale: cleaned}
            session.add(HelpSlot(group_id=group_id, labels=labels, capacity=capacity))
            await session.flush()
            return await self._view(session, group_id)

        return await self._locked(work)

    async def set_slot_label(
        self, actor: Actor, slot_id: int, locale: str, label: str
    ) -> GroupView:
        """A help task's label in one more language (or corrected)."""
        cleaned = _clean(label)
        if cleaned is None:
            raise InvalidChange("a label can't be empty")
        _check_length(cleaned, MAX_LABEL)
        if len(locale) > 16:
            raise InvalidChange(f"locale {locale[:16]}...")

        async def work(session: AsyncSession) -> GroupView:
            slot = await self._lock_slot(session, slot_id)
            row = await self._lock_group(session, slot.group_id)
            require(leads(actor, row.lead_telegram_id), "group.lead")
            if row.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {row.id} is closed")
            old = dict(slot.labels or {}).get(row.default_locale)
            slot.labels = {**dict(slot.labels or {}), locale: cleaned}
            await session.flush()
            view = await self._view(session, row.id)
            if locale == row.default_locale and old is not None and old != cleaned:
                was = old
                # The people doing the task hear what it is called now (not the person who
                # renamed it).
                holders = [
                    h for h in await self._holders(session, slot_id, row.default_locale)
                    if h[0] != actor.telegram_id
                ]  # fmt: skip
                prefix = f"group:{row.id}:slot:{slot_id}:label:"
                await self._tell(
                    session,
                    f"{prefix}{await _next_number(session, prefix)}",
                    holders,
                    lambda loc: self.renderer.slot_renamed(view, was, cleaned, loc),
                )
            return view

        return await self._locked(work)

    async def update(
        self, actor: Actor, group_id: int, *, topic: str | Literal[_Keep.KEEP] | None = KEEP
    ) -> GroupView:
        """Change what a group is about (its topic; None for none). Nobody is told: the topic
        only decides where the group is listed."""
        changes: dict[str, str | None] = {}
        if topic is not KEEP:
            changes["topic"] = _clean(topic)
            _check_length(changes["topic"], MAX_TOPIC)

        async def work(session: AsyncSession) -> GroupView:
            row = await self._lock_group(session, group_id)
            require(leads(actor, row.lead_telegram_id), "group.lead")
            if row.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {group_id} is closed")
            for name, value in changes.items():
                setattr(row, name, value)
            await session.flush()
            return await self._view(session, group_id)

        return await self._locked(work)

    async def set_lead(self, actor: Actor, group_id: int, telegram_id: int) -> GroupView:
        """Hand the group to a new lead: one of its members, or the coordinator who acts.
        Only coordinators may; the new lead and the old one are told in their languages."""
        require_staff(actor, "group.set_lead")

        async def work(session: AsyncSession) -> GroupView:
            row = await self._lock_group(session, group_id)
            require_staff(actor, "group.set_lead")
            if row.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {group_id} is closed")
            old = row.lead_telegram_id
            if old == telegram_id:  # a double tap: nothing changes, nobody is told twice
                return await self._view(session, group_id)
            member = await session.scalar(
                select(GroupMember.telegram_id).where(
                    GroupMember.group_id == group_id, GroupMember.telegram_id == telegram_id
                )
            )
            if member is None and not actor.is_person(telegram_id):
                raise NotMember(f"{telegram_id} in group {group_id}")
            row.lead_telegram_id = telegram_id
            await session.flush()
            view = await self._view(session, group_id)
            prefix = f"group:{group_id}:lead:"
            number = await _next_number(session, prefix)
            told = [t for t in (telegram_id, old) if t is not None and t != actor.telegram_id]
            locales = await self._locales(session, told, row.default_locale)
            if telegram_id in locales:
                await self._tell(
                    session,
                    f"{prefix}{number}:new",
                    [(telegram_id, locales[telegram_id])],
                    lambda loc: self.renderer.lead_given(view, loc),
                )
            if old is not None and old in locales:
                name = await session.scalar(
                    select(Resident.first_name).where(Resident.telegram_id == telegram_id)
                )
                await self._tell(
                    session,
                    f"{prefix}{number}:old",
                    [(old, locales[old])],
                    lambda loc: self.renderer.lead_handed_over(view, name, loc),
                )
            return view

        return await self._locked(work)

    async def update_slot(
        self, actor: Actor, slot_id: int, *, capacity: int | None = None
    ) -> GroupView:
        """Change how many people a help task needs: 1..MAX_SLOT_CAPACITY, and never fewer
        than hold it now (CapacityBelowHolders)."""
        if capacity is not None and not 1 <= capacity <= MAX_SLOT_CAPACITY:
            raise InvalidChange(f"capacity {capacity}")

        async def work(session: AsyncSession) -> GroupView:
            slot = await self._lock_slot(session, slot_id)
            row = await self._lock_group(session, slot.group_id)
            require(leads(actor, row.lead_telegram_id), "group.lead")
            if row.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {row.id} is closed")
            if capacity is not None:
                holders = await session.scalar(
                    select(func.count())
                    .select_from(SlotHolder)
                    .where(SlotHolder.slot_id == slot_id)
                )
                if capacity < int(holders or 0):
                    raise CapacityBelowHolders(int(holders or 0))
                slot.capacity = capacity
            await session.flush()
            return await self._view(session, row.id)

        return await self._locked(work)

    async def remove_slot(self, actor: Actor, slot_id: int) -> GroupView:
        """Remove a help task; the people who held it are told in their language, and their
        queued rows of running broadcasts to the group's helpers go unless they still help."""

        async def work(session: AsyncSession) -> GroupView:
            slot = await self._lock_slot(session, slot_id)
            row = await self._lock_group(session, slot.group_id)
            require(leads(actor, row.lead_telegram_id), "group.lead")
            if row.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {row.id} is closed")
            removed = SlotView(slot.id, row.id, dict(slot.labels or {}), slot.capacity, 0)
            holders = await self._holders(session, slot_id, row.default_locale)
            await session.execute(delete(SlotHolder).where(SlotHolder.slot_id == slot_id))
            await session.delete(slot)
            await session.flush()
            for holder, _locale in holders:
                await self._cancel_group_broadcasts(session, row.id, holder)
            view = await self._view(session, row.id)
            await self._tell(
                session,
                f"group:{row.id}:slot:{slot_id}:removed",
                [h for h in holders if h[0] != actor.telegram_id],
                lambda loc: self.renderer.slot_removed(
                    view, removed.label_for(loc, row.default_locale), loc
                ),
            )
            return view

        return await self._locked(work)

    async def _holders(
        self, session: AsyncSession, slot_id: int, fallback: str
    ) -> list[tuple[int, str]]:
        """A help task's holders with their languages, in the order they took it."""
        rows = await session.execute(
            select(SlotHolder.telegram_id, Resident.locale)
            .outerjoin(Resident, Resident.telegram_id == SlotHolder.telegram_id)
            .where(SlotHolder.slot_id == slot_id)
            .order_by(SlotHolder.taken_at, SlotHolder.telegram_id)
        )
        return [(int(t), str(locale or fallback)) for t, locale in rows]

    # reading ----------------------------------------------------------------------------

    async def get(self, group_id: int) -> GroupView | None:
        async with self._sessions() as session:
            found = await self._select(session, select(Group).where(Group.id == group_id))
        return found[0] if found else None

    async def browse(
        self, *, topic: str | None = None, offset: int = 0, limit: int = 3
    ) -> tuple[list[GroupView], int]:
        """A page of open projects and groups, newest first, and how many there are."""
        conditions = [Group.status == GroupStatus.OPEN]
        if topic:
            conditions.append(Group.topic == topic)
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Group).where(*conditions))
            page = await self._select(
                session,
                select(Group)
                .where(*conditions)
                .order_by(Group.created_at.desc(), Group.id.desc())
                .offset(max(0, offset))
                .limit(max(0, limit)),
            )
        return page, int(total or 0)

    async def is_member(self, group_id: int, telegram_id: int) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(GroupMember.group_id).where(
                    GroupMember.group_id == group_id, GroupMember.telegram_id == telegram_id
                )
            )
        return found is not None

    async def holds(self, slot_id: int, telegram_id: int) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(SlotHolder.slot_id).where(
                    SlotHolder.slot_id == slot_id, SlotHolder.telegram_id == telegram_id
                )
            )
        return found is not None

    async def my_groups(self, telegram_id: int) -> list[GroupView]:
        """The groups a resident is a member of: open ones first, then newest first."""
        mine = select(GroupMember.group_id).where(GroupMember.telegram_id == telegram_id)
        async with self._sessions() as session:
            return await self._select(
                session,
                select(Group)
                .where(Group.id.in_(mine))
                .order_by(
                    case((Group.status == GroupStatus.OPEN, 0), else_=1),
                    Group.created_at.desc(),
                    Group.id.desc(),
                ),
            )

    async def members(self, actor: Actor, group_id: int) -> list[MemberView]:
        """Every member with their language and first name, in the order they joined: for the
        group's lead and the coordinators."""
        async with self._sessions() as session:
            group = await session.get(Group, group_id)
            if group is None:
                raise GroupNotFound(str(group_id))
            require(leads(actor, group.lead_telegram_id), "group.members")
            rows = await session.execute(
                select(GroupMember.telegram_id, Resident.locale, Resident.first_name)
                .outerjoin(Resident, Resident.telegram_id == GroupMember.telegram_id)
                .where(GroupMember.group_id == group_id)
                .order_by(GroupMember.joined_at, GroupMember.telegram_id)
            )
            return [
                MemberView(int(member), str(locale or group.default_locale), name)
                for member, locale, name in rows
            ]

    async def _members(self, session: AsyncSession, group_id: int) -> list[tuple[int, str]]:
        group = await session.get(Group, group_id)
        if group is None:
            raise GroupNotFound(str(group_id))
        rows = await session.execute(
            select(GroupMember.telegram_id, Resident.locale)
            .outerjoin(Resident, Resident.telegram_id == GroupMember.telegram_id)
            .where(GroupMember.group_id == group_id)
            .order_by(GroupMember.joined_at, GroupMember.telegram_id)
        )
        return [(int(t), str(locale or group.default_locale)) for t, locale in rows]

    async def may_lead(self, actor: Actor, group_id: int) -> bool:
        """Whether to offer the lead's tools; every one of them checks again when used."""
        if actor.is_staff:
            return True
        async with self._sessions() as session:
            lead = await session.scalar(select(Group.lead_telegram_id).where(Group.id == group_id))
        return leads(actor, lead)

    async def next_meetings(self, group_id: int, *, limit: int = 3) -> list[EventView]:
        """The group's published, upcoming events, soonest first."""
        async with self._sessions() as session:
            rows = list(
                (
                    await session.scalars(
                        select(Event)
                        .where(
                            Event.group_id == group_id,
                            Event.status == EventStatus.PUBLISHED,
                            Event.starts_at > self._clock(),
                        )
                        .order_by(Event.starts_at, Event.id)
                        .limit(max(0, limit))
                    )
                ).all()
            )
            if not rows:
                return []
            seats = func.coalesce(
                func.sum(
                    case(
                        (
                            Signup.status == SignupStatus.CONFIRMED,
                            Signup.adults + Signup.children,
                        ),
                        else_=0,
                    )
                ),
                0,
            )
            waiting = func.coalesce(
                func.sum(case((Signup.status == SignupStatus.WAITLISTED, 1), else_=0)), 0
            )
            counted = await session.execute(
                select(Signup.event_id, seats, waiting)
                .where(Signup.event_id.in_([row.id for row in rows]))
                .group_by(Signup.event_id)
            )
            counts = {int(e): (int(s), int(w)) for e, s, w in counted}
        return [EventView.of(row, *counts.get(row.id, (0, 0))) for row in rows]

    # residents --------------------------------------------------------------------------

    async def join(self, group_id: int, telegram_id: int) -> bool:
        """Join an open group; True if newly joined (a double tap changes nothing)."""

        async def work(session: AsyncSession) -> bool:
            row = await session.get(Group, group_id, populate_existing=True)
            if row is None:
                raise GroupNotFound(str(group_id))
            if row.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {group_id} is closed")
            return await self._add_member(session, group_id, telegram_id)

        return await self._locked(work)

    async def leave(self, group_id: int, telegram_id: int) -> bool:
        """Leave a group (and its slots); True if they were a member. Their queued rows of
        running broadcasts to this group's members or slot holders are cancelled."""

        async def work(session: AsyncSession) -> bool:
            removed = await session.execute(
                delete(GroupMember).where(
                    GroupMember.group_id == group_id, GroupMember.telegram_id == telegram_id
                )
            )
            slots = select(HelpSlot.id).where(HelpSlot.group_id == group_id)
            await session.execute(
                delete(SlotHolder).where(
                    SlotHolder.telegram_id == telegram_id, SlotHolder.slot_id.in_(slots)
                )
            )
            if await session.get(Group, group_id) is None:
                raise GroupNotFound(str(group_id))
            await self._cancel_group_broadcasts(session, group_id, telegram_id)
            return bool(removed.rowcount)  # type: ignore[attr-defined]

        return await self._locked(work)

    async def _cancel_group_broadcasts(
        self, session: AsyncSession, group_id: int, telegram_id: int
    ) -> int:
        """Cancel this resident's queued rows of running broadcasts that reach them through
        this group, unless they still belong to that audience some other way (asked after
        the membership is gone, in the same transaction)."""
        running = list(
            (
                await session.execute(
                    select(Broadcast.id, Broadcast.audience, Broadcast.kind).where(
                        Broadcast.status == BroadcastStatus.SENDING
                    )
                )
            ).all()
        )
        sources = []
        for broadcast_id, audience, kind in running:
            audience = dict(audience or {})
            if not any(group_id in _ids(audience.get(key, [])) for key in AUDIENCE_KEYS):
                continue
            still = await session.scalar(
                audience_statement([Resident.telegram_id], audience, kind or BROADCAST).where(
                    Resident.telegram_id == telegram_id
                )
            )
            if still is None:
                sources.append(f"broadcast:{broadcast_id}")
        if not sources:
            return 0
        return await self._delivery.cancel_for_chat_in_sources(
            telegram_id, sources, session=session
        )

    async def take_slot(self, slot_id: int, telegram_id: int) -> SlotView:
        """Take a help slot (joining the group if need be); taking it again changes nothing.
        Raises SlotFull when it is filled."""

        async def work(session: AsyncSession) -> SlotView:
            slot = await self._lock_slot(session, slot_id)
            group = await session.get(Group, slot.group_id, populate_existing=True)
            if group is None or group.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {slot.group_id} is closed")
            held = await session.scalar(
                select(SlotHolder.slot_id).where(
                    SlotHolder.slot_id == slot_id, SlotHolder.telegram_id == telegram_id
                )
            )
            if held is None:
                filled = await session.scalar(
                    select(func.count())
                    .select_from(SlotHolder)
                    .where(SlotHolder.slot_id == slot_id)
                )
                if int(filled or 0) >= slot.capacity:
                    raise SlotFull(str(slot_id))
                await insert_ignoring_conflict(
                    session,
                    SlotHolder,
                    {"slot_id": slot_id, "telegram_id": telegram_id, "taken_at": self._clock()},
                )
            await self._add_member(session, slot.group_id, telegram_id)
            return await self._slot_view(session, slot_id)

        return await self._locked(work)

    async def release_slot(self, slot_id: int, telegram_id: int) -> SlotView:
        """Give a slot back (nothing happens if they didn't hold it)."""

        async def work(session: AsyncSession) -> SlotView:
            await session.execute(
                delete(SlotHolder).where(
                    SlotHolder.slot_id == slot_id, SlotHolder.telegram_id == telegram_id
                )
            )
            return await self._slot_view(session, slot_id)

        return await self._locked(work)

    # leads and coordinators -------------------------------------------------------------

    async def close(self, actor: Actor, group_id: int, outcome: str) -> GroupView:
        """Close a group with its outcome; every member hears it in their language."""
        cleaned = _clean(outcome)
        if cleaned is None:
            raise InvalidChange("closing needs an outcome")
        _check_length(cleaned, MAX_OUTCOME)

        async def work(session: AsyncSession) -> GroupView:
            row = await self._lock_group(session, group_id)
            require(leads(actor, row.lead_telegram_id), "group.lead")
            if row.status != GroupStatus.OPEN:
                raise InvalidChange(f"group {group_id} is closed")
            row.status = GroupStatus.CLOSED
            row.outcome = cleaned
            row.closed_at = self._clock()
            await session.flush()
            await AuditLog(self._clock).record(session, actor, "group.close", "group", group_id)
            view = await self._view(session, group_id)
            await self._tell(
                session,
                f"group:{group_id}:closed",
                await self._members(session, group_id),
                lambda locale: self.renderer.closed(view, locale),
            )
            return view

        return await self._locked(work)

    async def from_idea(self, actor: Actor, idea_id: int) -> GroupView:
        """Turn an idea into a project and invite its author and supporters to join."""
        require_staff(actor, "group.create")
        async with self._sessions() as session:
            idea = await session.get(Idea, idea_id)
            if idea is None:
                raise GroupNotFound(f"idea {idea_id}")
            taken = await session.scalar(select(Group.id).where(Group.idea_id == idea_id))
            supporters = list(
                (
                    await session.scalars(
                        select(IdeaSupport.telegram_id)
                        .where(IdeaSupport.idea_id == idea_id)
                        .order_by(IdeaSupport.created_at)
                    )
                ).all()
            )
            author, text, locale, topic = (
                idea.author_telegram_id,
                idea.text,
                idea.locale,
                idea.topic,
            )
        if taken is not None:
            raise InvalidChange(f"idea {idea_id} already became project {taken}")
        full = _clean(text)
        name = full[:IDEA_NAME_LENGTH].strip() if full else f"#{idea_id}"
        invited = [t for t in (author, *supporters) if t != FORGOTTEN]

        async def invite(session: AsyncSession, view: GroupView) -> GroupView:
            locales = await self._locales(session, invited, locale)
            await self._tell(
                session,
                f"group:{view.id}:invite",
                locales.items(),
                lambda loc: self.renderer.invitation(view, loc),
            )
            return view

        try:
            return await self.create(
                actor,
                GroupKind.PROJECT,
                name=name,
                description=full[:MAX_DESCRIPTION] if full else None,
                topic=(topic or None) and topic[:MAX_TOPIC],
                lead_id=actor.telegram_id,
                locale=locale,
                idea_id=idea_id,
                then=invite,
            )
        except IntegrityError as exc:  # a concurrent tap made it a project first
            raise InvalidChange(f"idea {idea_id} already became a project") from exc
