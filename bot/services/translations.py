"""Bringing what staff write into every language: the state per language, translation tasks for
volunteer translators (and machine drafts), and approving them into the versions residents read.

A coordinator (or the partner or lead who may edit the subject) sees, per language, whether an
event's or a group's text is there, "to review" (the default language's text changed after it
was written), missing, or waiting in a task. Asking for translations makes one task per missing
language; each goes, through the outbox, to that language's volunteer translators (residents
with the translator role, by their own language), with the source text and a deadline. When a
machine translator is configured and can draft the language, the task starts as a draft made by
the machine ("machine translation, not reviewed"). Either way a coordinator approves the text
(or edits it) before residents see it; the version is then written with
``versions.write_version`` and the translator is thanked. After the deadline the fallback is
simply what residents read; a translation approved later still appears in the detail.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import StaffAudience
from bot.services.audit import AuditLog
from bot.services.delivery import DeliveryService, Recipient
from bot.services.permissions import (
    Actor,
    leads,
    may_edit_event,
    may_translate,
    require,
    require_staff,
)
from bot.services.versions import write_version
from storage.db import in_transaction, lock_row
from storage.models import (
    Broadcast,
    BroadcastStatus,
    BroadcastVersion,
    Event,
    EventVersion,
    Group,
    GroupVersion,
    Resident,
    ResidentStatus,
    Role,
    RoleAssignment,
    TaskStatus,
    TranslationTask,
)
from storage.repositories import RoleRepository

log = logging.getLogger(__name__)

#: What may carry translations.
Subjects = Event | Group | Broadcast

__all__ = [
    "DEFAULT_DEADLINE",
    "FIELDS",
    "LanguageState",
    "MachineDrafts",
    "Subject",
    "TaskStatus",
    "TaskView",
    "TranslationError",
    "TranslationRenderer",
    "TranslationService",
]

Subject = Literal["event", "group", "broadcast"]
#: The fields of each subject that carry a version per language, in the order they are asked.
FIELDS: dict[str, tuple[str, ...]] = {
    "event": ("title", "description"),
    "group": ("name", "description", "rhythm"),
    "broadcast": ("text",),
}
#: The field a new language can't do without.
REQUIRED = {"event": "title", "group": "name", "broadcast": "text"}
MAX_LENGTH = {"title": 200, "name": 200, "rhythm": 200, "description": 3000, "text": 3500}
_TAG = re.compile(r"<[^>]+>")
DEFAULT_DEADLINE = timedelta(hours=48)
TRANSLATION_KIND = "translation"
OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.SUBMITTED)


class TranslationError(Exception):
    """A request that can't be done as asked (gone, already done, empty text…)."""


class MachineDrafts(Protocol):
    """What this service needs of a machine translator (``bot.translation``)."""

    async def languages(self) -> frozenset[str]: ...

    async def translate(
        self, text: str, source: str, target: str, *, html: bool = False
    ) -> str | None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class TaskView:
    id: int
    subject: str
    subject_id: int
    locale: str
    source_locale: str
    source: Mapping[str, str]
    status: TaskStatus
    origin: str  # "volunteer", "machine"
    translator_id: int | None
    result: Mapping[str, str] | None
    deadline: datetime
    created_at: datetime

    @property
    def is_machine(self) -> bool:
        return self.origin == "machine"

    @property
    def title(self) -> str:
        """What the task is about, in the source language: the title or name."""
        return self.source.get(REQUIRED.get(self.subject, ""), "") or "…"

    @classmethod
    def of(cls, row: TranslationTask) -> TaskView:
        return cls(
            id=row.id,
            subject=row.subject,
            subject_id=row.subject_id,
            locale=row.locale,
            source_locale=row.source_locale,
            source={k: str(v) for k, v in (row.source or {}).items() if v},
            status=TaskStatus(row.status),
            origin=row.origin,
            translator_id=row.translator_id,
            result=None if row.result is None else {k: str(v) for k, v in row.result.items()},
            deadline=row.deadline,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class LanguageState:
    """One language of a subject: ``state`` is "done", "review", "waiting" (a task is open or
    a draft waits for approval) or "missing"."""

    locale: str
    state: str
    task_id: int | None = None


class TranslationRenderer(Protocol):
    """Bot API payloads for translators and coordinators (``bot.rendering``)."""

    def task(self, task: TaskView, glossary: Sequence[tuple[str, str]], locale: str) -> Any: ...

    def submitted(self, task: TaskView, locale: str) -> Any: ...

    def approved(self, task: TaskView, locale: str) -> Any: ...

    def offer(self, telegram_id: int, name: str, offered: str, locale: str) -> Any: ...

    def appointed(self, locale: str) -> Any: ...


#: The glossary's terms for a text: (source term, the language's term) pairs.
Glossary = Callable[[str, str], Sequence[tuple[str, str]]]


def _no_glossary(text: str, locale: str) -> Sequence[tuple[str, str]]:
    return ()


class TranslationService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryService,
        renderer: TranslationRenderer,
        *,
        locales: Sequence[str],
        default_locale: str,
        clock: Clock,
        staff: StaffAudience | None = None,
        machine: MachineDrafts | None = None,
        glossary: Glossary | None = None,
        deadline: timedelta = DEFAULT_DEADLINE,
    ) -> None:
        self._sessions = sessions
        self._delivery = delivery
        self.renderer = renderer
        self.locales = tuple(locales)
        self.default_locale = default_locale
        self._clock = clock
        self._staff = staff or StaffAudience(default_locale=default_locale)
        self._machine = machine
        self._glossary = glossary or _no_glossary
        self.deadline = deadline

    @property
    def drafts_by_machine(self) -> bool:
        return self._machine is not None

    async def close(self) -> None:
        """Close the machine translator's connection, if there is one."""
        if self._machine is not None:
            await self._machine.close()

    # internals --------------------------------------------------------------------------

    async def _subject(
        self, session: AsyncSession, subject: str, subject_id: int, *, lock: bool = False
    ) -> Subjects:
        row: Subjects | None
        if subject == "event":
            row = await (
                lock_row(session, Event, subject_id) if lock else session.get(Event, subject_id)
            )
        elif subject == "group":
            row = await (
                lock_row(session, Group, subject_id) if lock else session.get(Group, subject_id)
            )
        elif subject == "broadcast":
            row = await (
                lock_row(session, Broadcast, subject_id)
                if lock
                else session.get(Broadcast, subject_id)
            )
        else:
            raise TranslationError(f"unknown subject {subject[:16]}")
        if row is None:
            raise TranslationError(f"{subject} {subject_id} not found")
        await session.refresh(row, ["versions"])
        return row

    @staticmethod
    def _may_edit(actor: Actor, row: Subjects) -> bool:
        if isinstance(row, Event):
            return may_edit_event(actor, row.created_by, row.status)
        if isinstance(row, Broadcast):
            waiting = row.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
            return waiting and (actor.is_staff or actor.is_person(row.created_by))
        return leads(actor, row.lead_telegram_id)

    @staticmethod
    def _source(subject: str, row: Subjects) -> dict[str, str]:
        version = next((v for v in row.versions if v.locale == row.default_locale), None)
        if version is None:
            return {}
        found = {f: str(getattr(version, f)) for f in FIELDS[subject] if getattr(version, f)}
        if isinstance(row, Broadcast):  # its text is HTML; translators get the words
            found = {f: html.unescape(_TAG.sub("", text)) for f, text in found.items()}
        return found

    async def _open_tasks(
        self, session: AsyncSession, subject: str, subject_id: int
    ) -> dict[str, TranslationTask]:
        rows = await session.scalars(
            select(TranslationTask).where(
                TranslationTask.subject == subject,
                TranslationTask.subject_id == subject_id,
                TranslationTask.status.in_(list(OPEN_STATUSES)),
            )
        )
        return {row.locale: row for row in rows}

    async def _translators(self, session: AsyncSession, locale: str) -> list[Recipient]:
        rows = await session.scalars(
            select(Resident.telegram_id)
            .join(RoleAssignment, RoleAssignment.telegram_id == Resident.telegram_id)
            .where(
                RoleAssignment.role == Role.TRANSLATOR,
                Resident.locale == locale,
                Resident.status == ResidentStatus.ACTIVE,
            )
        )
        return [Recipient(int(telegram_id), locale) for telegram_id in rows]

    async def _tell_staff(self, session: AsyncSession, source: str, render: Any) -> None:
        staff = await self._staff.recipients(session)
        if not staff:
            return
        locales = sorted({locale for _chat, locale in staff})
        await self._delivery.enqueue(
            source=source,
            kind=TRANSLATION_KIND,
            broadcast_id=None,
            payloads={locale: render(locale) for locale in locales},
            fallback_locale=locales[0],
            recipients=[Recipient(chat, locale) for chat, locale in staff],
            session=session,
        )

    async def _task_row(self, session: AsyncSession, task_id: int) -> TranslationTask:
        row = await session.get(TranslationTask, task_id, populate_existing=True)
        if row is None:
            raise TranslationError(f"task {task_id} not found")
        return row

    async def _retrying(self, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        return await in_transaction(self._sessions, work)

    async def _draft(
        self, source: Mapping[str, str], source_locale: str, locale: str
    ) -> dict[str, str] | None:
        """A machine's draft of every field, or None (no provider, can't do the language, or
        it failed: then the task simply waits for a person)."""
        if self._machine is None:
            return None
        try:
            if locale not in await self._machine.languages():
                return None
            draft: dict[str, str] = {}
            for field, text in source.items():
                translated = await self._machine.translate(text, source_locale, locale)
                if not translated:
                    return None
                draft[field] = translated
            return draft
        except Exception:  # a provider must never break the flow
            log.warning("machine translation into %s failed", locale, exc_info=True)
            return None

    # coordinators, partners and leads ---------------------------------------------------

    async def languages(self, actor: Actor, subject: str, subject_id: int) -> list[LanguageState]:
        """Every configured language but the default one, with its state."""
        async with self._sessions() as session:
            row = await self._subject(session, subject, subject_id)
            require(self._may_edit(actor, row), "translation.manage")
            tasks = await self._open_tasks(session, subject, subject_id)
            versions = {v.locale: v for v in row.versions}
            states = []
            for locale in self.locales:
                if locale == row.default_locale:
                    continue
                version = versions.get(locale)
                task = tasks.get(locale)
                if version is not None and bool(getattr(version, "needs_review", False)):
                    state = "review"
                elif version is not None:
                    state = "done"
                elif task is not None:
                    state = "waiting"
                else:
                    state = "missing"
                states.append(LanguageState(locale, state, task.id if task else None))
            return states

    async def waiting_until(self, actor: Actor, subject: str, subject_id: int) -> datetime | None:
        """The latest deadline of the subject's open translations; None when none is open."""
        async with self._sessions() as session:
            row = await self._subject(session, subject, subject_id)
            require(self._may_edit(actor, row), "translation.manage")
            tasks = await self._open_tasks(session, subject, subject_id)
        return max((task.deadline for task in tasks.values()), default=None)

    async def request(
        self,
        actor: Actor,
        subject: str,
        subject_id: int,
        locales: Sequence[str] | None = None,
    ) -> list[TaskView]:
        """Ask for translations into ``locales`` (default: every missing or to-review
        language without an open task). Returns the tasks made."""
        async with self._sessions() as session:
            row = await self._subject(session, subject, subject_id)
            require(self._may_edit(actor, row), "translation.manage")
            source = self._source(subject, row)
            source_locale = row.default_locale
        if not source:
            raise TranslationError("nothing to translate yet")
        wanted = [loc for loc in (locales or self.locales) if loc in self.locales]
        drafts = {
            loc: await self._draft(source, source_locale, loc)
            for loc in wanted
            if loc != source_locale
        }
        now = self._clock()

        async def work(session: AsyncSession) -> list[TaskView]:
            row = await self._subject(session, subject, subject_id, lock=True)
            require(self._may_edit(actor, row), "translation.manage")
            tasks = await self._open_tasks(session, subject, subject_id)
            versions = {v.locale: v for v in row.versions}
            made = []
            for locale, draft in drafts.items():
                current = versions.get(locale)
                reviewed = current is not None and not getattr(current, "needs_review", False)
                if locale in tasks or reviewed:
                    continue
                task = TranslationTask(
                    subject=subject,
                    subject_id=subject_id,
                    locale=locale,
                    source_locale=source_locale,
                    source=source,
                    status=TaskStatus.SUBMITTED if draft else TaskStatus.OPEN,
                    origin="machine" if draft else "volunteer",
                    result=draft,
                    deadline=now + self.deadline,
                    created_by=actor.telegram_id or 0,
                    created_at=now,
                    submitted_at=now if draft else None,
                )
                session.add(task)
                await session.flush()
                view = TaskView.of(task)
                made.append(view)
                if draft:
                    await self._tell_staff(
                        session,
                        f"translation:{task.id}:submitted",
                        lambda loc, v=view: self.renderer.submitted(v, loc),
                    )
                else:
                    await self._send_task(session, view)
            return made

        made: list[TaskView] = await self._retrying(work)
        return made

    async def _send_task(self, session: AsyncSession, task: TaskView) -> None:
        translators = await self._translators(session, task.locale)
        if not translators:
            return
        glossary = self._glossary(" ".join(task.source.values()), task.locale)
        await self._delivery.enqueue(
            source=f"translation:{task.id}:task",
            kind=TRANSLATION_KIND,
            broadcast_id=None,
            payloads={task.locale: self.renderer.task(task, glossary, task.locale)},
            fallback_locale=task.locale,
            recipients=translators,
            session=session,
        )

    async def waiting(self, actor: Actor) -> list[TaskView]:
        """Translations waiting for a coordinator's approval, the oldest first."""
        require_staff(actor, "translation.approve")
        async with self._sessions() as session:
            rows = await session.scalars(
                select(TranslationTask)
                .where(TranslationTask.status == TaskStatus.SUBMITTED)
                .order_by(TranslationTask.submitted_at, TranslationTask.id)
            )
            return [TaskView.of(row) for row in rows]

    async def unassigned(self, actor: Actor) -> list[TaskView]:
        """Tasks no translator has taken yet, every language, the most urgent first."""
        require_staff(actor, "translation.approve")
        async with self._sessions() as session:
            rows = await session.scalars(
                select(TranslationTask)
                .where(TranslationTask.status == TaskStatus.OPEN)
                .order_by(TranslationTask.deadline, TranslationTask.id)
            )
            return [TaskView.of(row) for row in rows]

    async def task_counts(self, actor: Actor) -> dict[str, dict[TaskStatus, int]]:
        """Tasks waiting for a translator (open) or for approval (submitted), per language."""
        require_staff(actor, "translation.approve")
        async with self._sessions() as session:
            rows = await session.execute(
                select(TranslationTask.locale, TranslationTask.status, func.count())
                .where(TranslationTask.status.in_([TaskStatus.OPEN, TaskStatus.SUBMITTED]))
                .group_by(TranslationTask.locale, TranslationTask.status)
            )
            counts: dict[str, dict[TaskStatus, int]] = {}
            for locale, status, count in rows:
                counts.setdefault(str(locale), {})[TaskStatus(status)] = int(count)
            return counts

    async def _require_translator(
        self, session: AsyncSession, actor: Actor, row: TranslationTask
    ) -> None:
        """Volunteers translate into their own language only."""
        require(may_translate(actor), "translation.translate")
        locale = await session.scalar(
            select(Resident.locale).where(Resident.telegram_id == actor.telegram_id)
        )
        require(locale == row.locale, "translation.translate")

    async def get(self, actor: Actor, task_id: int) -> TaskView:
        """A task, for coordinators and for the translators of its language."""
        async with self._sessions() as session:
            row = await self._task_row(session, task_id)
            if not actor.is_staff:
                await self._require_translator(session, actor, row)
            return TaskView.of(row)

    async def approve(
        self, actor: Actor, task_id: int, edits: Mapping[str, str] | None = None
    ) -> TaskView:
        """Write the task's text (with a coordinator's edits) into the version residents read,
        and thank the translator."""
        require_staff(actor, "translation.approve")
        now = self._clock()

        async def work(session: AsyncSession) -> TaskView:
            task = await self._task_row(session, task_id)
            if task.status != TaskStatus.SUBMITTED:
                raise TranslationError(f"task {task_id} is {task.status}")
            text = {**(task.result or {}), **(edits or {})}
            row = await self._subject(session, task.subject, task.subject_id, lock=True)
            self._write(task.subject, row, task.locale, text)
            claimed = await session.execute(
                update(TranslationTask)
                .where(
                    TranslationTask.id == task_id,
                    TranslationTask.status == TaskStatus.SUBMITTED,
                )
                .values(status=TaskStatus.APPROVED, result=text, decided_at=now)
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                raise TranslationError(f"task {task_id} was decided meanwhile")
            await AuditLog(self._clock).record(
                session,
                actor,
                "translation.approve",
                "translation",
                task_id,
                {"subject": task.subject, "subject_id": task.subject_id, "locale": task.locale},
            )
            view = TaskView.of(await self._task_row(session, task_id))
            if view.translator_id is not None and not view.is_machine:
                await self._delivery.enqueue(
                    source=f"translation:{task_id}:approved",
                    kind=TRANSLATION_KIND,
                    broadcast_id=None,
                    payloads={view.locale: self.renderer.approved(view, view.locale)},
                    fallback_locale=view.locale,
                    recipients=[Recipient(view.translator_id, view.locale)],
                    session=session,
                )
            return view

        view: TaskView = await self._retrying(work)
        return view

    def _write(self, subject: str, row: Subjects, locale: str, text: Mapping[str, str]) -> None:
        fields = {f: text.get(f) for f in FIELDS[subject]}
        required = REQUIRED[subject]
        for name, value in fields.items():
            if value is not None and len(value) > MAX_LENGTH[name]:
                raise TranslationError(f"{name} longer than {MAX_LENGTH[name]}")

        def new_language() -> EventVersion | GroupVersion | BroadcastVersion:
            value = (fields.get(required) or "").strip()
            if not value:
                raise TranslationError(f"a new language needs its {required}")
            if isinstance(row, Event):
                return EventVersion(locale=locale, title=value)
            if isinstance(row, Broadcast):
                return BroadcastVersion(locale=locale)
            return GroupVersion(locale=locale, name=value)

        versions: list[Any] = row.versions
        if isinstance(row, Broadcast):  # stored as HTML made safe, like the composer's
            plain = fields.get("text")
            safe = None if plain is None else html.escape(plain, quote=False)
            write_version(versions, locale, new_language, text=safe)
            return
        write_version(
            versions,
            locale,
            new_language,
            default_locale=row.default_locale,
            **fields,
        )
        if isinstance(row, Event):
            row.updated_at = self._clock()

    async def approve_machine_drafts(self, actor: Actor, subject: str, subject_id: int) -> int:
        """A coordinator's choice for one message: its machine drafts go out unreviewed.
        Returns how many were approved."""
        require_staff(actor, "translation.approve")
        async with self._sessions() as session:
            row = await self._subject(session, subject, subject_id)
            require(self._may_edit(actor, row), "translation.manage")
            ids = list(
                await session.scalars(
                    select(TranslationTask.id).where(
                        TranslationTask.subject == subject,
                        TranslationTask.subject_id == subject_id,
                        TranslationTask.status == TaskStatus.SUBMITTED,
                        TranslationTask.origin == "machine",
                    )
                )
            )
        approved = 0
        for task_id in ids:
            try:
                await self.approve(actor, task_id)
                approved += 1
            except TranslationError:  # decided meanwhile
                continue
        return approved

    async def reject(self, actor: Actor, task_id: int) -> TaskView:
        """Turn a draft down: the task opens again for a person (a machine's draft goes to the
        language's translators)."""
        require_staff(actor, "translation.approve")

        async def work(session: AsyncSession) -> TaskView:
            task = await self._task_row(session, task_id)
            if task.status != TaskStatus.SUBMITTED:
                raise TranslationError(f"task {task_id} is {task.status}")
            task.status = TaskStatus.OPEN
            task.result = None
            task.translator_id = None
            task.origin = "volunteer"
            task.submitted_at = None
            await session.flush()
            await AuditLog(self._clock).record(
                session,
                actor,
                "translation.reject",
                "translation",
                task_id,
                {"subject": task.subject, "subject_id": task.subject_id, "locale": task.locale},
            )
            view = TaskView.of(task)
            await self._send_task(session, view)
            return view

        view: TaskView = await self._retrying(work)
        return view

    # volunteer translators ----------------------------------------------------------------

    async def open_tasks(self, actor: Actor) -> list[TaskView]:
        """The tasks waiting for a translator of the actor's language, the most urgent first."""
        require(may_translate(actor), "translation.translate")
        async with self._sessions() as session:
            locale = await session.scalar(
                select(Resident.locale).where(Resident.telegram_id == actor.telegram_id)
            )
            rows = await session.scalars(
                select(TranslationTask)
                .where(
                    TranslationTask.locale == locale,
                    TranslationTask.status == TaskStatus.OPEN,
                )
                .order_by(TranslationTask.deadline, TranslationTask.id)
            )
            return [TaskView.of(row) for row in rows]

    async def submit(self, actor: Actor, task_id: int, text: Mapping[str, str]) -> TaskView:
        """A translator's text for a task; the first to submit has it, a coordinator decides
        (coordinators write a version themselves instead)."""
        async with self._sessions() as session:
            row = await self._task_row(session, task_id)
            await self._require_translator(session, actor, row)
            task = TaskView.of(row)
        if task.status != TaskStatus.OPEN:
            raise TranslationError(f"task {task_id} is {task.status}")
        cleaned = {k: v.strip() for k, v in text.items() if k in task.source and v and v.strip()}
        required = REQUIRED.get(task.subject, "")
        if required in task.source and required not in cleaned:
            raise TranslationError(f"the {required} is needed")
        for name, value in cleaned.items():
            if len(value) > MAX_LENGTH.get(name, 3000):
                raise TranslationError(f"{name} longer than {MAX_LENGTH.get(name, 3000)}")
        now = self._clock()

        async def work(session: AsyncSession) -> TaskView:
            claimed = await session.execute(
                update(TranslationTask)
                .where(TranslationTask.id == task_id, TranslationTask.status == TaskStatus.OPEN)
                .values(
                    status=TaskStatus.SUBMITTED,
                    result=cleaned,
                    translator_id=actor.telegram_id,
                    submitted_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                raise TranslationError(f"task {task_id} was taken meanwhile")
            view = TaskView.of(await self._task_row(session, task_id))
            await self._tell_staff(
                session,
                f"translation:{task_id}:submitted",
                lambda loc: self.renderer.submitted(view, loc),
            )
            return view

        view: TaskView = await self._retrying(work)
        return view

    async def translated_by(self, actor: Actor) -> list[TaskView]:
        """What this translator translated and a coordinator approved, the newest first."""
        require(actor.telegram_id is not None, "translation.history")
        async with self._sessions() as session:
            rows = await session.scalars(
                select(TranslationTask)
                .where(
                    TranslationTask.translator_id == actor.telegram_id,
                    TranslationTask.status == TaskStatus.APPROVED,
                    TranslationTask.origin == "volunteer",
                )
                .order_by(TranslationTask.decided_at.desc(), TranslationTask.id.desc())
            )
            return [TaskView.of(row) for row in rows]

    async def offer(self, actor: Actor, name: str) -> bool:
        """A resident offers to translate into their language; coordinators decide. False if
        they translate already (nothing is sent)."""
        require(actor.telegram_id is not None and actor.registered, "translation.offer")
        assert actor.telegram_id is not None
        if actor.is_translator:
            return False
        telegram_id = actor.telegram_id

        async def work(session: AsyncSession) -> bool:
            locale = await session.scalar(
                select(Resident.locale).where(Resident.telegram_id == telegram_id)
            )
            if locale is None:
                return False
            await self._tell_staff(
                session,
                f"translator:{telegram_id}:offer",
                lambda loc: self.renderer.offer(telegram_id, name, str(locale), loc),
            )
            return True

        offered: bool = await self._retrying(work)
        return offered

    async def appoint(self, actor: Actor, telegram_id: int) -> bool:
        """A coordinator makes a resident a translator (True if they weren't one), and they
        are told how it works, in their language."""
        require_staff(actor, "translation.appoint")

        async def work(session: AsyncSession) -> bool:
            locale = await session.scalar(
                select(Resident.locale).where(Resident.telegram_id == telegram_id)
            )
            if locale is None:
                raise TranslationError(f"resident {telegram_id} not found")
            granted = await RoleRepository(session).grant(
                telegram_id, Role.TRANSLATOR, self._clock()
            )
            if granted:
                await AuditLog(self._clock).record(
                    session,
                    actor,
                    "translation.appoint",
                    "resident",
                    telegram_id,
                    {"role": Role.TRANSLATOR.value},
                )
                await self._delivery.enqueue(
                    source=f"translator:{telegram_id}:appointed",
                    kind=TRANSLATION_KIND,
                    broadcast_id=None,
                    payloads={str(locale): self.renderer.appointed(str(locale))},
                    fallback_locale=str(locale),
                    recipients=[Recipient(telegram_id, str(locale))],
                    session=session,
                )
            return bool(granted)

        granted: bool = await self._retrying(work)
        return granted
