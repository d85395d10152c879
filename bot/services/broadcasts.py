"""Broadcasts: write once, reach every resident in their language, now, later or weekly.

A broadcast has a version per language (text and/or a voice note); residents whose language
has no version get the default language's. Who receives it is an *audience*: a JSON object whose
keys are filters (bot/services/audiences.py: languages, topics, an event's attendees, an idea's
supporters, a group's members...). Sending turns the broadcast into outbox rows
(``DeliveryService.enqueue``); the delivery engine does the rest.

Due work is found in the database and *claimed* there with a conditional UPDATE, so with several
processes each scheduled broadcast and each weekly occurrence goes out exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar, Protocol

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import (
    AUDIENCE_FILTERS,
    BROADCAST,
    DIGEST,
    audience_statement,
    broadcast_kind,
    quiet_until,
)
from bot.services.audit import AuditLog
from bot.services.delivery import DeliveryService, DeliveryState, Recipient
from bot.services.permissions import Actor, may_compose_to, require
from bot.services.versions import Versioned, write_version
from storage.db import in_transaction, lock_row
from storage.models import (
    Broadcast,
    BroadcastStatus,
    BroadcastVersion,
    Resident,
    TaskStatus,
    TranslationTask,
)

#: Room left for the translated unsubscribe line that every broadcast carries.
MAX_TEXT_LENGTH = 3500  # of Telegram's 4096 for a text message
MAX_CAPTION_TEXT_LENGTH = 800  # of Telegram's 1024 for a photo or voice caption

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BroadcastError(Exception):
    """A request that can't be done as asked; the handler explains it to the coordinator."""


class TextTooLong(BroadcastError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"text longer than {limit} characters")
        self.limit = limit


class NotEditable(BroadcastError):
    """The broadcast was sent, scheduled or discarded meanwhile (another tap, another device)."""


class NothingToSend(BroadcastError):
    """No text, voice note or photo in the default language yet."""


# --- time rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyRule:
    """Every week on one day at one local time, in the neighbourhood's time zone."""

    day: str  # mon..sun
    hour: int
    minute: int

    def __post_init__(self) -> None:
        if self.day not in DAYS or not 0 <= self.hour < 24 or not 0 <= self.minute < 60:
            raise ValueError(f"not a weekly rule: {self}")

    def as_json(self) -> dict[str, Any]:
        return {"day_of_week": self.day, "hour": self.hour, "minute": self.minute}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WeeklyRule:
        return cls(str(data["day_of_week"]), int(data["hour"]), int(data["minute"]))

    def next_after(self, moment: datetime, tz: tzinfo) -> datetime:
        """The next occurrence strictly after ``moment``, keeping local time across DST."""
        trigger = CronTrigger(day_of_week=self.day, hour=self.hour, minute=self.minute, timezone=tz)
        found: datetime | None = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
        assert found is not None  # a weekly cron always has a next time
        return found


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    locale: str
    text: str | None
    voice_file_id: str | None


@dataclass(frozen=True)
class BroadcastView(Versioned[Version]):
    """A broadcast; its text and voice note in one language are one message, so a version
    falls back to the default language as a whole."""

    per_field: ClassVar[bool] = False

    id: int
    kind: str
    status: BroadcastStatus
    created_by: int
    audience: Mapping[str, Any]
    default_locale: str
    photo_file_id: str | None
    urgent: bool
    send_at: datetime | None
    repeat: WeeklyRule | None
    parent_id: int | None
    versions: Mapping[str, Version]
    progress_chat_id: int | None
    progress_message_id: int | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def source(self) -> str:
        return f"broadcast:{self.id}"

    @classmethod
    def of(cls, row: Broadcast) -> BroadcastView:
        return cls(
            id=row.id,
            kind=row.kind,
            status=row.status,
            created_by=row.created_by,
            audience=dict(row.audience or {}),
            default_locale=row.default_locale,
            photo_file_id=row.photo_file_id,
            urgent=row.urgent,
            send_at=row.send_at,
            repeat=WeeklyRule.from_json(row.repeat) if row.repeat else None,
            parent_id=row.parent_id,
            versions={v.locale: Version(v.locale, v.text, v.voice_file_id) for v in row.versions},
            progress_chat_id=row.progress_chat_id,
            progress_message_id=row.progress_message_id,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )


@dataclass(frozen=True)
class Progress:
    by_locale: Mapping[str, Mapping[DeliveryState, int]] = field(default_factory=dict)

    def total(self, *states: DeliveryState) -> int:
        return sum(
            count
            for counts in self.by_locale.values()
            for state, count in counts.items()
            if not states or state in states
        )

    @property
    def finished(self) -> bool:
        return self.total(DeliveryState.PENDING, DeliveryState.SENDING) == 0


class Renderer(Protocol):
    """Turns a broadcast into the Bot API payload a resident of ``locale`` receives."""

    def __call__(self, broadcast: BroadcastView, locale: str) -> dict[str, Any]: ...


class DigestSource(Protocol):
    """What the coming week holds, written for one language; None when there's nothing."""

    async def __call__(self, locale: str, start: datetime, end: datetime) -> str | None: ...


async def no_digest_content(locale: str, start: datetime, end: datetime) -> str | None:
    """Until events and projects exist, the week has nothing to report."""
    return None


# --- the service -------------------------------------------------------------------------


class BroadcastService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryService,
        renderer: Renderer,
        *,
        locales: Sequence[str],
        default_locale: str,
        tz: tzinfo,
        digest_source: DigestSource = no_digest_content,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._delivery = delivery
        self._render = renderer
        self.locales = tuple(locales)
        self.default_locale = default_locale
        self.tz = tz
        self._digest_source = digest_source
        self._clock = clock

    def render(self, broadcast: BroadcastView, locale: str) -> dict[str, Any]:
        """Exactly what a resident of ``locale`` receives (previews use this too)."""
        return self._render(broadcast, locale)

    # composing ----------------------------------------------------------------------------

    async def create_draft(
        self, actor: Actor, audience: Mapping[str, Any] | None = None
    ) -> BroadcastView:
        """A new draft, for everyone or for a given audience (e.g. an event's attendees)."""
        require(
            actor.telegram_id is not None and may_compose_to(actor, audience or {}),
            "broadcast.compose",
        )
        assert actor.telegram_id is not None
        async with self._sessions.begin() as session:
            row = Broadcast(
                kind=BROADCAST,
                status=BroadcastStatus.DRAFT,
                created_by=actor.telegram_id,
                audience=dict(audience or {}),
                default_locale=self.default_locale,
                urgent=False,
                created_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            await session.refresh(row, ["versions"])
            return BroadcastView.of(row)

    async def get(self, actor: Actor, broadcast_id: int) -> BroadcastView | None:
        """A broadcast, for coordinators and for the person who wrote it."""
        view = await self._get(broadcast_id)
        if view is not None:
            require(_may_handle(actor, view.created_by), "broadcast.view")
        return view

    async def load(self, broadcast_id: int) -> BroadcastView | None:
        """For the bot's own jobs (progress edits, summaries), never for a person's request."""
        return await self._get(broadcast_id)

    async def _get(self, broadcast_id: int) -> BroadcastView | None:
        async with self._sessions() as session:
            row = await session.get(Broadcast, broadcast_id)
            return BroadcastView.of(row) if row else None

    async def _edit(
        self,
        actor: Actor,
        broadcast_id: int,
        change: Callable[[Broadcast], None],
        audit: str | None = None,
    ) -> BroadcastView:
        """Change a draft under its row lock; the audience it ends with must be the actor's.
        ``audit`` names the action for the audit log, written in the same transaction."""
        async with self._sessions.begin() as session:
            row = await session.get(Broadcast, broadcast_id, with_for_update=True)
            if row is None or row.status != BroadcastStatus.DRAFT:
                raise NotEditable(str(broadcast_id))
            require(_may_handle(actor, row.created_by), "broadcast.edit")
            change(row)
            # Raising here rolls the change back: a lead can't widen the audience to everyone.
            require(may_compose_to(actor, row.audience or {}), "broadcast.compose")
            await session.flush()
            if audit is not None:
                await AuditLog(self._clock).record(
                    session,
                    actor,
                    audit,
                    "broadcast",
                    row.id,
                    {"send_at": row.send_at.isoformat() if row.send_at else None},
                )
            await session.refresh(row, ["versions"])
            return BroadcastView.of(row)

    async def toggle_audience(
        self, actor: Actor, broadcast_id: int, key: str, value: str
    ) -> BroadcastView:
        allowed = {"locales": set(self.locales)}
        if key not in AUDIENCE_FILTERS or (key in allowed and value not in allowed[key]):
            raise BroadcastError(f"unknown audience {key}={value}")

        def change(row: Broadcast) -> None:
            audience = dict(row.audience or {})
            values = list(audience.get(key, []))
            values = [v for v in values if v != value] if value in values else [*values, value]
            audience[key] = values
            row.audience = audience  # a new dict, so the JSON column is marked changed

        return await self._edit(actor, broadcast_id, change)

    async def clear_audience(self, actor: Actor, broadcast_id: int) -> BroadcastView:
        def change(row: Broadcast) -> None:
            row.audience = {}

        return await self._edit(actor, broadcast_id, change)

    async def set_version(
        self,
        actor: Actor,
        broadcast_id: int,
        locale: str,
        *,
        text: str | None = None,
        voice_file_id: str | None = None,
    ) -> BroadcastView:
        if locale not in self.locales:
            raise BroadcastError(f"unknown locale {locale}")
        current = await self._get(broadcast_id)
        limit = (
            MAX_CAPTION_TEXT_LENGTH
            if current and (current.photo_file_id or voice_file_id)
            else MAX_TEXT_LENGTH
        )
        if text is not None and len(text) > limit:
            raise TextTooLong(limit)

        def change(row: Broadcast) -> None:
            write_version(
                row.versions,
                locale,
                lambda: BroadcastVersion(locale=locale),
                text=text,
                voice_file_id=voice_file_id,
            )

        return await self._edit(actor, broadcast_id, change)

    async def remove_version(self, actor: Actor, broadcast_id: int, locale: str) -> BroadcastView:
        def change(row: Broadcast) -> None:
            row.versions = [v for v in row.versions if v.locale != locale]

        return await self._edit(actor, broadcast_id, change)

    async def set_photo(
        self, actor: Actor, broadcast_id: int, file_id: str | None
    ) -> BroadcastView:
        current = await self._get(broadcast_id)
        if file_id and current:
            longest = max((len(v.text or "") for v in current.versions.values()), default=0)
            if longest > MAX_CAPTION_TEXT_LENGTH:
                raise TextTooLong(MAX_CAPTION_TEXT_LENGTH)

        def change(row: Broadcast) -> None:
            row.photo_file_id = file_id

        return await self._edit(actor, broadcast_id, change)

    async def set_urgent(self, actor: Actor, broadcast_id: int, urgent: bool) -> BroadcastView:
        def change(row: Broadcast) -> None:
            row.urgent = urgent

        return await self._edit(actor, broadcast_id, change)

    async def discard(self, actor: Actor, broadcast_id: int) -> bool:
        await self._require_handler(actor, broadcast_id, "broadcast.discard")
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.DRAFT)
                .values(status=BroadcastStatus.CANCELLED, finished_at=self._clock())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # who receives it -------------------------------------------------------------------------

    async def recipient_counts(
        self, audience: Mapping[str, Any], kind: str = BROADCAST
    ) -> dict[str, int]:
        """Recipients per language right now: what the composer shows as it changes."""
        statement = audience_statement([Resident.locale, func.count()], audience, kind).group_by(
            Resident.locale
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return {locale: int(count) for locale, count in rows}

    # sending ---------------------------------------------------------------------------------

    def _check_sendable(self, view: BroadcastView) -> None:
        default = view.versions.get(view.default_locale)
        if not (default and (default.text or default.voice_file_id)) and not view.photo_file_id:
            raise NothingToSend(str(view.id))

    async def send_now(
        self, actor: Actor, broadcast_id: int, *, progress_chat_id: int | None = None
    ) -> dict[str, int]:
        """Start sending a draft. A second tap finds it no longer a draft and changes nothing."""
        view = await self._get(broadcast_id)
        if view is None or view.status != BroadcastStatus.DRAFT:
            raise NotEditable(str(broadcast_id))
        require(_may_handle(actor, view.created_by), "broadcast.send")
        self._check_sendable(view)
        now = self._clock()
        async with self._sessions.begin() as session:
            # Decide on the audience as it is under the row lock, not as it was a moment ago.
            row = await session.get(
                Broadcast, broadcast_id, with_for_update=True, populate_existing=True
            )
            if row is None or row.status != BroadcastStatus.DRAFT:
                raise NotEditable(str(broadcast_id))
            require(_may_handle(actor, row.created_by), "broadcast.send")
            require(may_compose_to(actor, row.audience or {}), "broadcast.compose")
            claimed = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.DRAFT)
                .values(
                    status=BroadcastStatus.SENDING,
                    started_at=now,
                    send_at=now,
                    progress_chat_id=progress_chat_id,
                )
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                raise NotEditable(str(broadcast_id))
            # Started and queued in one transaction: a crash can't leave it "sending" to nobody.
            await AuditLog(self._clock).record(
                session,
                actor,
                "broadcast.send",
                "broadcast",
                broadcast_id,
                {"audience": sorted(row.audience or {})},
            )
            return await self._materialize(session, broadcast_id, now)

    async def schedule_once(
        self,
        actor: Actor,
        broadcast_id: int,
        at: datetime,
        *,
        wait_for_translations: bool = False,
    ) -> BroadcastView:
        if at <= self._clock():
            raise BroadcastError("that time has passed")
        view = await self._get(broadcast_id)
        if view is not None:
            self._check_sendable(view)

        def change(row: Broadcast) -> None:
            row.send_at = at
            row.status = BroadcastStatus.SCHEDULED
            row.wait_for_translations = wait_for_translations

        return await self._edit(actor, broadcast_id, change, audit="broadcast.schedule")

    async def send_when_translated(
        self, actor: Actor, broadcast_id: int, latest: datetime
    ) -> BroadcastView:
        """Send once no translation of it is open any more, at ``latest`` at the latest (then
        with the default language where one is missing); ``run_due`` starts it."""
        return await self.schedule_once(actor, broadcast_id, latest, wait_for_translations=True)

    async def schedule_weekly(
        self, actor: Actor, broadcast_id: int, rule: WeeklyRule
    ) -> BroadcastView:
        view = await self._get(broadcast_id)
        if view is not None:
            self._check_sendable(view)
        first = rule.next_after(self._clock(), self.tz)

        def change(row: Broadcast) -> None:
            row.repeat = rule.as_json()
            row.send_at = first
            row.status = BroadcastStatus.SCHEDULED

        return await self._edit(actor, broadcast_id, change, audit="broadcast.schedule_weekly")

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(progress_chat_id=chat_id, progress_message_id=message_id)
            )

    async def cancel(self, actor: Actor, broadcast_id: int) -> int:
        """Stop a scheduled, repeating or running broadcast; its queued rows are cancelled."""
        await self._require_handler(actor, broadcast_id, "broadcast.cancel")
        async with self._sessions.begin() as session:
            await session.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == broadcast_id,
                    Broadcast.status.in_(
                        [BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING, BroadcastStatus.DRAFT]
                    ),
                )
                .values(status=BroadcastStatus.CANCELLED, finished_at=self._clock())
            )
            await AuditLog(self._clock).record(
                session, actor, "broadcast.cancel", "broadcast", broadcast_id
            )
            return await self._delivery.cancel_source(f"broadcast:{broadcast_id}", session=session)

    async def retry_failed(self, actor: Actor, broadcast_id: int) -> int:
        """Send a running or finished broadcast's failed messages again (whoever may see and
        stop it may); returns how many rows were put back, 0 when none had failed (a second
        tap). A finished broadcast is sending again until those rows are done."""

        async def work(session: AsyncSession) -> int:
            # Under the row lock (SQLite: the write lock, taken first): of two taps at once,
            # the second finds nothing failed.
            row = await lock_row(session, Broadcast, broadcast_id)
            if row is None:
                raise NotEditable(str(broadcast_id))
            require(_may_handle(actor, row.created_by), "broadcast.retry")
            if row.status not in (BroadcastStatus.SENDING, BroadcastStatus.DONE):
                return 0
            source = f"broadcast:{broadcast_id}"
            retried = await self._delivery.retry_failed(source, session=session)
            if not retried:
                return 0
            row.status = BroadcastStatus.SENDING
            row.finished_at = None
            await AuditLog(self._clock).record(
                session, actor, "broadcast.retry", "broadcast", broadcast_id, {"rows": retried}
            )
            return retried

        return await in_transaction(self._sessions, work)

    async def _require_handler(self, actor: Actor, broadcast_id: int, action: str) -> None:
        view = await self._get(broadcast_id)
        require(view is None or _may_handle(actor, view.created_by), action)

    async def progress(self, broadcast_id: int) -> Progress:
        return Progress(await self._delivery.counts(f"broadcast:{broadcast_id}"))

    async def finish(self, source: str) -> BroadcastView | None:
        """Called when the outbox has nothing left for ``source``; returns the broadcast."""
        if not source.startswith("broadcast:"):
            return None
        broadcast_id = int(source.removeprefix("broadcast:"))
        async with self._sessions.begin() as session:
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING)
                .values(status=BroadcastStatus.DONE, finished_at=self._clock())
            )
        return await self._get(broadcast_id)

    async def _materialize(
        self, session: AsyncSession, broadcast_id: int, now: datetime
    ) -> dict[str, int]:
        """Put one outbox row per recipient in the transaction that started the broadcast;
        safe to repeat (the outbox ignores duplicates)."""
        row = await session.get(Broadcast, broadcast_id, populate_existing=True)
        assert row is not None
        await session.refresh(row, ["versions"])
        view = BroadcastView.of(row)
        # News, a service message or a lead's (bot/services/audiences.py): whose consent
        # counts now, and what the engine checks again at send time.
        kind = await broadcast_kind(session, view.kind, view.audience, view.created_by)
        columns = [Resident.telegram_id, Resident.locale, Resident.quiet_start, Resident.quiet_end]
        rows = (await session.execute(audience_statement(columns, view.audience, kind))).all()
        recipients = [
            Recipient(
                chat_id=telegram_id,
                locale=locale,
                not_before=None if view.urgent else quiet_until(now, self.tz, start, end),
            )
            for telegram_id, locale, start, end in rows
        ]
        payloads = {locale: self._render(view, locale) for locale in self.locales}
        await self._delivery.enqueue(
            source=view.source,
            kind=kind,
            broadcast_id=view.id,
            payloads=payloads,
            fallback_locale=view.default_locale,
            recipients=recipients,
            session=session,
        )
        counts: dict[str, int] = {}
        for recipient in recipients:
            counts[recipient.locale] = counts.get(recipient.locale, 0) + 1
        if not recipients:  # nobody to wait for: done at once
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING)
                .values(status=BroadcastStatus.DONE, finished_at=self._clock())
            )
        return counts

    # due work --------------------------------------------------------------------------------

    async def run_due(self) -> list[int]:
        """Start every broadcast whose time has come; returns the ids that started here."""
        now = self._clock()
        translating = (
            select(TranslationTask.id)
            .where(
                TranslationTask.subject == "broadcast",
                TranslationTask.subject_id == Broadcast.id,
                TranslationTask.status.in_([TaskStatus.OPEN, TaskStatus.SUBMITTED]),
            )
            .exists()
        )
        translated = Broadcast.wait_for_translations.is_(True) & ~translating
        async with self._sessions() as session:
            due = (
                await session.execute(
                    select(Broadcast.id, Broadcast.send_at, Broadcast.repeat).where(
                        Broadcast.status == BroadcastStatus.SCHEDULED,
                        (Broadcast.send_at <= now) | translated,
                    )
                )
            ).all()
        started = []
        for broadcast_id, send_at, repeat in due:
            # Claimed and queued in one transaction, each broadcast on its own.
            async with self._sessions.begin() as session:
                if repeat:
                    occurrence = await self._claim_occurrence(session, broadcast_id, send_at, now)
                else:
                    occurrence = await self._claim_once(session, broadcast_id, now)
                if occurrence is not None:
                    await self._materialize(session, occurrence, now)
                    started.append(occurrence)
        return started

    async def _claim_once(
        self, session: AsyncSession, broadcast_id: int, now: datetime
    ) -> int | None:
        claimed = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SCHEDULED)
            .values(status=BroadcastStatus.SENDING, started_at=now)
        )
        return broadcast_id if claimed.rowcount else None  # type: ignore[attr-defined]

    async def _claim_occurrence(
        self, session: AsyncSession, template_id: int, send_at: datetime, now: datetime
    ) -> int | None:
        """Move a weekly broadcast to its next time and copy this week's occurrence.

        Only the process whose UPDATE still sees the old ``send_at`` gets to send it.
        """
        template = await session.get(Broadcast, template_id)
        if template is None or template.repeat is None:
            return None
        rule = WeeklyRule.from_json(template.repeat)
        claimed = await session.execute(
            update(Broadcast)
            .where(
                Broadcast.id == template_id,
                Broadcast.status == BroadcastStatus.SCHEDULED,
                Broadcast.send_at == send_at,
            )
            .values(send_at=rule.next_after(now, self.tz))
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None
        versions = {v.locale: (v.text, v.voice_file_id) for v in template.versions}
        if template.kind == DIGEST:
            versions = await self._digest_versions(now)
            if not versions:
                return None  # nothing to say this week: no message at all
        occurrence = Broadcast(
            kind=template.kind,
            status=BroadcastStatus.SENDING,
            created_by=template.created_by,
            audience=dict(template.audience or {}),
            default_locale=template.default_locale,
            photo_file_id=template.photo_file_id,
            urgent=template.urgent,
            send_at=send_at,
            parent_id=template.id,
            created_at=now,
            started_at=now,
            versions=[
                BroadcastVersion(locale=locale, text=text, voice_file_id=voice)
                for locale, (text, voice) in versions.items()
            ],
        )
        session.add(occurrence)
        await session.flush()
        return occurrence.id

    async def _digest_versions(self, now: datetime) -> dict[str, tuple[str | None, str | None]]:
        end = now + timedelta(days=7)
        versions: dict[str, tuple[str | None, str | None]] = {}
        for locale in self.locales:
            content = await self._digest_source(locale, now, end)
            if content:
                versions[locale] = (content, None)
        # Without the default language there is no fallback for everyone else: skip the week.
        return versions if self.default_locale in versions else {}

    async def ensure_weekly_digest(self, rule: WeeklyRule | None) -> BroadcastView | None:
        """The one repeating digest row, created (or re-timed, or stopped) from the settings."""
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(Broadcast).where(
                    Broadcast.kind == DIGEST,
                    Broadcast.parent_id.is_(None),
                    Broadcast.status == BroadcastStatus.SCHEDULED,
                )
            )
            if rule is None:
                if row is not None:
                    row.status = BroadcastStatus.CANCELLED
                return None
            if row is None:
                row = Broadcast(
                    kind=DIGEST,
                    status=BroadcastStatus.SCHEDULED,
                    created_by=0,
                    audience={},
                    default_locale=self.default_locale,
                    urgent=False,
                    created_at=self._clock(),
                )
                session.add(row)
            if row.repeat != rule.as_json():
                row.repeat = rule.as_json()
                row.send_at = rule.next_after(self._clock(), self.tz)
            await session.flush()
            await session.refresh(row, ["versions"])
            return BroadcastView.of(row)

    async def upcoming(self, created_by: int | None = None) -> list[BroadcastView]:
        """Scheduled and running broadcasts, soonest first (the coordinator's overview)."""
        statement = (
            select(Broadcast)
            .where(
                Broadcast.status.in_([BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING]),
                Broadcast.kind == BROADCAST,
            )
            .order_by(Broadcast.send_at)
        )
        if created_by is not None:
            statement = statement.where(Broadcast.created_by == created_by)
        async with self._sessions() as session:
            return [BroadcastView.of(row) for row in await session.scalars(statement)]

    async def listing(
        self, actor: Actor, *, statuses: Sequence[BroadcastStatus] | None = None, limit: int = 50
    ) -> list[BroadcastView]:
        """Broadcasts (not digests) in ``statuses`` (all unless told), newest first: every one
        for coordinators, anyone else's own only (the dashboard's list)."""
        require(actor.telegram_id is not None or actor.is_staff, "broadcast.view")
        statement = (
            select(Broadcast)
            .where(Broadcast.kind == BROADCAST)
            .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
            .limit(max(0, limit))
        )
        if statuses is not None:
            statement = statement.where(Broadcast.status.in_(list(statuses)))
        if not actor.is_staff:
            statement = statement.where(Broadcast.created_by == actor.telegram_id)
        async with self._sessions() as session:
            return [BroadcastView.of(row) for row in await session.scalars(statement)]

    async def running(self) -> list[BroadcastView]:
        """Broadcasts being sent right now that someone watches (a progress message)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Broadcast).where(
                    Broadcast.status == BroadcastStatus.SENDING,
                    Broadcast.progress_message_id.is_not(None),
                )
            )
            return [BroadcastView.of(row) for row in rows]


def _may_handle(actor: Actor, created_by: int) -> bool:
    """Coordinators handle every broadcast; anyone else only the ones they wrote."""
    return actor.is_staff or actor.is_person(created_by)
