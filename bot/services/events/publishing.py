"""Composing and publishing: drafts with a version per language, edits (a moved or relocated
event re-queues its reminders and tells its people), publication now or at a set time (claimed
with a conditional UPDATE, like broadcasts), partner proposals, duplicate, cancel, announcements.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audiences import BROADCAST, audience_statement, quiet_until
from bot.services.audit import AuditLog
from bot.services.delivery import DeliveryState, Held, Recipient
from bot.services.events.signups import WaitingList
from bot.services.events.views import (
    EVENT_KIND,
    MAX_CAPACITY,
    MAX_DESCRIPTION,
    MAX_REMINDER_HOURS,
    MAX_TITLE,
    PLACE_FIELDS,
    UPDATABLE,
    CapacityTooLow,
    EndBeforeStart,
    EventNotFound,
    EventView,
    InvalidTime,
    InvalidValue,
    MissingTitle,
    NotEditable,
    TextTooLong,
    WindowClosesFirst,
)
from bot.services.permissions import Actor, may_edit_event, require, require_staff
from bot.services.versions import write_version
from storage.models import (
    Delivery,
    Event,
    EventStatus,
    EventVersion,
    Resident,
    SignupStatus,
    TaskStatus,
    TranslationTask,
)


@dataclass(frozen=True)
class Announced:
    """What an announcement did: whom it reached now (per language), how many of its audience
    had it already (an announcement repeated reaches only those who hadn't: new residents,
    changed interests), and how many of all its messages wait for quiet hours, until when."""

    queued: Mapping[str, int]
    already: int
    held: int = 0
    held_until: datetime | None = None

    @property
    def new(self) -> int:
        return sum(self.queued.values())


class Publishing(WaitingList):
    """Every change goes through ``_edit``: under the event's row lock, with what it causes
    (notices, reminders, promotions) in the same transaction."""

    async def _edit(
        self,
        actor: Actor,
        event_id: int,
        change: Callable[[Event], None],
        allowed: Iterable[EventStatus] = (
            EventStatus.PROPOSED,
            EventStatus.DRAFT,
            EventStatus.SCHEDULED,
            EventStatus.PUBLISHED,
        ),
        then: Callable[[AsyncSession, Event, EventView], Awaitable[EventView]] | None = None,
        audit: str | None = None,
    ) -> EventView:
        """Change the event under its row lock; ``then`` queues what the change causes (notices,
        reminders, promotions) in the same transaction; ``audit`` names the action for the
        audit log, written in that transaction too."""
        statuses = set(allowed)

        async def work(session: AsyncSession) -> EventView:
            row = await self._lock_event(session, event_id)
            if row is None:
                raise EventNotFound(str(event_id))
            if row.status not in statuses:
                raise NotEditable(str(event_id))
            require(may_edit_event(actor, row.created_by, row.status), "event.edit")
            topics = list(row.topics or ())
            change(row)
            if list(row.topics or ()) != topics:
                await self._index_topics(session, row)
            back_to_approval = not actor.is_staff and row.status == EventStatus.PUBLISHED
            if back_to_approval:
                # A partner changed a published event: it goes back to the coordinators.
                row.status = EventStatus.PROPOSED
            row.updated_at = self._clock()
            await session.flush()
            await session.refresh(row, ["versions"])
            view = await self._view(session, row)
            if back_to_approval:
                await self._tell_staff_of_proposal(session, row, view)
            if audit is not None:
                await AuditLog(self._clock).record(
                    session, actor, audit, "event", row.id, {"status": row.status.value}
                )
            return view if then is None else await then(session, row, view)

        return await self._locked(work)

    async def _tell_staff_of_proposal(
        self, session: AsyncSession, row: Event, view: EventView
    ) -> None:
        """Every coordinator hears of a proposal, in their language, once per proposed state
        of the event (the source names it): a double tap tells them once, a later change
        again."""
        staff = await self._staff.recipients(session)
        if not staff:
            return
        locales = sorted({locale for _chat, locale in staff})
        await self._delivery.enqueue(
            source=f"{view.source}:proposed:{row.updated_at.isoformat()}",
            kind=EVENT_KIND,
            broadcast_id=None,
            payloads={locale: self.renderer.proposal(view, locale) for locale in locales},
            fallback_locale=locales[0],
            recipients=[Recipient(chat, locale) for chat, locale in staff],
            session=session,
        )

    async def propose(self, actor: Actor, event_id: int) -> EventView:
        """A partner organisation sends its event to the coordinators for approval."""
        require(actor.is_partner, "event.propose")

        async def work(session: AsyncSession) -> EventView:
            row = await self._lock_event(session, event_id)
            if row is None:
                raise EventNotFound(str(event_id))
            if row.status != EventStatus.PROPOSED:
                raise NotEditable(str(event_id))
            require(may_edit_event(actor, row.created_by, row.status), "event.edit")
            await session.refresh(row, ["versions"])
            self._check_publishable(row)
            view = await self._view(session, row)
            await self._tell_staff_of_proposal(session, row, view)
            return view

        return await self._locked(work)

    def _check_publishable(self, row: Event) -> None:
        version = next((v for v in row.versions if v.locale == row.default_locale), None)
        if version is None or not version.title.strip():
            raise MissingTitle(str(row.id))
        if row.starts_at is None or row.starts_at <= self._clock():
            raise InvalidTime("the event needs a start in the future")

    # composing ----------------------------------------------------------------------------

    async def create_draft(self, actor: Actor, *, organiser: str | None = None) -> EventView:
        """A coordinator's draft, or a partner organisation's proposal (approved later)."""
        require(
            actor.telegram_id is not None and (actor.is_staff or actor.is_partner), "event.create"
        )
        assert actor.telegram_id is not None
        async with self._sessions.begin() as session:
            row = Event(
                status=EventStatus.DRAFT if actor.is_staff else EventStatus.PROPOSED,
                created_by=actor.telegram_id,
                organiser=organiser,
                default_locale=self.default_locale,
                topics=[],
                capacity=0,
                reminder_hours=24,
                alerted_levels=[],
                created_at=self._clock(),
                updated_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            await session.refresh(row, ["versions"])
            return EventView.of(row)

    async def set_version(
        self,
        actor: Actor,
        event_id: int,
        locale: str,
        *,
        title: str | None = None,
        description: str | None = None,
    ) -> EventView:
        if locale not in self.locales:
            raise InvalidValue(f"unknown locale {locale}")
        if title is not None:
            title = title.strip()
            if len(title) > MAX_TITLE:
                raise TextTooLong(MAX_TITLE)
            if not title:
                raise MissingTitle(str(event_id))
        if description is not None and len(description) > MAX_DESCRIPTION:
            raise TextTooLong(MAX_DESCRIPTION)

        def new_language() -> EventVersion:
            if title is None:
                raise MissingTitle(str(event_id))
            return EventVersion(locale=locale, title=title)

        renamed: list[bool] = []

        def change(row: Event) -> None:
            shown = next((v.title for v in row.versions if v.locale == row.default_locale), None)
            write_version(
                row.versions,
                locale,
                new_language,
                default_locale=row.default_locale,
                title=title,
                description=description,
            )
            renamed.append(
                row.status == EventStatus.PUBLISHED
                and locale == row.default_locale
                and title is not None
                and shown is not None
                and title != shown
            )

        async def then(session: AsyncSession, row: Event, view: EventView) -> EventView:
            if renamed[0] and view.status == EventStatus.PUBLISHED:
                await self._tell_of_changes(session, view, ["title"])
            return view

        return await self._edit(actor, event_id, change, then=then)

    async def _tell_of_changes(
        self, session: AsyncSession, view: EventView, changes: Sequence[str]
    ) -> None:
        """Whoever signed up (waiting list included) hears what changed, in their language;
        each change is its own numbered source, so a repeated identical edit (which changes
        nothing) tells nobody again."""
        if not changes:
            return
        prefix = f"event:{view.id}:changed:"
        number = await self._reminders.next_number(session, prefix)
        await self._reminders.tell(
            session,
            f"{prefix}{number}",
            await self._active_signups(session, view.id),
            lambda locale: self.renderer.changed(view, locale, tuple(changes)),
        )

    async def update(self, actor: Actor, event_id: int, **fields: Any) -> EventView:
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise InvalidValue(f"unknown fields {sorted(unknown)}")
        now = self._clock()
        if "capacity" in fields and not 0 <= int(fields["capacity"]) <= MAX_CAPACITY:
            raise InvalidValue("capacity")
        if (
            "reminder_hours" in fields
            and not 0 <= int(fields["reminder_hours"]) <= MAX_REMINDER_HOURS
        ):
            raise InvalidValue("reminder_hours")
        if fields.get("latitude") is not None and not -90 <= float(fields["latitude"]) <= 90:
            raise InvalidValue("latitude")
        if fields.get("longitude") is not None and not -180 <= float(fields["longitude"]) <= 180:
            raise InvalidValue("longitude")
        for key in ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at"):
            value = fields.get(key)
            if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
                raise InvalidTime(f"{key} needs an aware datetime")
        if fields.get("starts_at") is not None and fields["starts_at"] <= now:
            raise InvalidTime("the start has passed")
        if fields.get("signup_closes_at") is not None and fields["signup_closes_at"] <= now:
            raise InvalidTime("sign-up can't close in the past")
        for key in ("place_name", "organiser"):
            if fields.get(key) is not None and len(str(fields[key])) > 200:
                raise TextTooLong(200)
        if fields.get("address") is not None and len(str(fields["address"])) > 300:
            raise TextTooLong(300)
        before: dict[str, Any] = {}

        def change(row: Event) -> None:
            before.update(
                status=row.status,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                place=tuple(getattr(row, key) for key in PLACE_FIELDS),
                capacity=row.capacity,
                reminder_hours=row.reminder_hours,
            )
            old_start = row.starts_at
            for key, value in fields.items():
                if key == "topics":
                    value = list(dict.fromkeys(str(t) for t in (value or ())))
                setattr(row, key, value)
            new_start = row.starts_at
            if (
                "ends_at" not in fields
                and old_start is not None
                and new_start is not None
                and row.ends_at is not None
            ):
                row.ends_at = row.ends_at + (new_start - old_start)  # keep the duration
            if row.ends_at is not None and (new_start is None or row.ends_at <= new_start):
                raise EndBeforeStart("the end must come after the start")
            if (
                row.signup_opens_at is not None
                and row.signup_closes_at is not None
                and row.signup_closes_at <= row.signup_opens_at
            ):
                raise WindowClosesFirst("the sign-up window closes before it opens")

        async def then(session: AsyncSession, row: Event, view: EventView) -> EventView:
            if view.capacity != before["capacity"] and 0 < view.capacity < view.seats_taken:
                # Whoever has a seat keeps it: the seats can't drop below those taken.
                raise CapacityTooLow(view.seats_taken)
            if before["status"] != EventStatus.PUBLISHED or view.status != EventStatus.PUBLISHED:
                return view  # only a published event's people are told (a partner's edit waits)
            moved = (view.starts_at, view.ends_at) != (before["starts_at"], before["ends_at"])
            relocated = tuple(getattr(view, key) for key in PLACE_FIELDS) != before["place"]
            if view.starts_at != before["starts_at"] or (
                view.reminder_hours != before["reminder_hours"]
            ):
                # A moved event gets new sources; a new reminder time the same, re-timed.
                await self._reminders.cancel(session, view.id, before["starts_at"])
                signups = await self._active_signups(session, view.id)
                confirmed = [s for s in signups if s.status == SignupStatus.CONFIRMED]
                await self._reminders.queue(session, view, confirmed)
            changes = [name for name, changed in (("time", moved), ("place", relocated)) if changed]
            await self._tell_of_changes(session, view, changes)
            if view.capacity != before["capacity"]:
                promoted = await self._promote(session, row)
                if promoted:
                    view = await self._view(session, row)
                    await self._after_promotion(session, view, promoted)
            return view

        return await self._edit(actor, event_id, change, then=then)

    async def publish(self, actor: Actor, event_id: int) -> EventView:
        require_staff(actor, "event.publish")

        def change(row: Event) -> None:
            self._check_publishable(row)
            row.status = EventStatus.PUBLISHED
            row.publish_at = row.publish_at or self._clock()

        return await self._edit(
            actor,
            event_id,
            change,
            (EventStatus.DRAFT, EventStatus.SCHEDULED, EventStatus.PROPOSED),
            audit="event.publish",
        )

    async def schedule_publication(self, actor: Actor, event_id: int, at: datetime) -> EventView:
        require_staff(actor, "event.publish")
        if at.tzinfo is None or at <= self._clock():
            raise InvalidTime("that time has passed")

        def change(row: Event) -> None:
            self._check_publishable(row)
            assert row.starts_at is not None
            if at >= row.starts_at:
                raise InvalidTime("publication must come before the event")
            row.status = EventStatus.SCHEDULED
            row.publish_at = at

        return await self._edit(
            actor,
            event_id,
            change,
            (EventStatus.DRAFT, EventStatus.SCHEDULED),
            audit="event.schedule",
        )

    async def run_due_publications(self) -> list[int]:
        """Publish every scheduled event whose time has come; each is claimed exactly once."""
        now = self._clock()
        async with self._sessions() as session:
            due = list(
                await session.scalars(
                    select(Event.id).where(
                        Event.status == EventStatus.SCHEDULED, Event.publish_at <= now
                    )
                )
            )
        published = []
        for event_id in due:
            async with self._sessions.begin() as session:
                claimed = await session.execute(
                    update(Event)
                    .where(Event.id == event_id, Event.status == EventStatus.SCHEDULED)
                    .values(status=EventStatus.PUBLISHED)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount:  # type: ignore[attr-defined]
                    published.append(event_id)
        return published

    def _audience(self, audience: Mapping[str, Any]) -> Select[Any]:
        columns = [Resident.telegram_id, Resident.locale, Resident.quiet_start, Resident.quiet_end]
        return audience_statement(columns, audience, BROADCAST)

    async def announce_counts(self, audience: Mapping[str, Any]) -> dict[str, int]:
        statement = audience_statement(
            [Resident.locale, func.count()], audience, BROADCAST
        ).group_by(Resident.locale)
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return {str(locale): int(count) for locale, count in rows}

    async def announce_quiet_at(self, audience: Mapping[str, Any], at: datetime) -> Held:
        """How many of an audience would be in their quiet hours at ``at`` (an announcement
        waiting for its translations goes out by then), and when the first of those ends."""
        async with self._sessions() as session:
            rows = (await session.execute(self._audience(audience))).all()
        ends = [
            end
            for _, _, start, stop in rows
            if (end := quiet_until(at, self.tz, start, stop)) is not None
        ]
        return Held(len(ends), min(ends) if ends else None)

    async def announce(self, actor: Actor, event_id: int, audience: Mapping[str, Any]) -> Announced:
        require_staff(actor, "event.announce")
        view = await self._require(event_id)
        if view.status != EventStatus.PUBLISHED:
            raise NotEditable(str(event_id))
        async with self._sessions.begin() as session:
            announced = await self._queue_announcement(session, view, audience)
        held = await self._delivery.held(f"{view.source}:announce")
        return Announced(announced.queued, announced.already, held.count, held.earliest)

    async def _queue_announcement(
        self, session: AsyncSession, view: EventView, audience: Mapping[str, Any]
    ) -> Announced:
        now = self._clock()
        source = f"{view.source}:announce"
        rows = (await session.execute(self._audience(audience))).all()
        # Once per resident: whoever has it (sent or queued) is counted, not told again.
        had = set(
            await session.scalars(
                select(Delivery.chat_id).where(
                    Delivery.source == source, Delivery.state != DeliveryState.CANCELLED
                )
            )
        )
        recipients = [
            Recipient(int(tid), str(locale), quiet_until(now, self.tz, start, end))
            for tid, locale, start, end in rows
            if int(tid) not in had
        ]
        already = len(rows) - len(recipients)
        # A resident whose earlier one was cancelled (e.g. /stop, and back) may have it again.
        await self._delivery.forget_cancelled(
            [source], [r.chat_id for r in recipients], session=session
        )
        locales = {r.locale for r in recipients} | {view.default_locale}
        await self._delivery.enqueue(
            source=source,
            kind=EVENT_KIND,
            broadcast_id=None,
            payloads={locale: self.renderer.announcement(view, locale) for locale in locales},
            fallback_locale=view.default_locale,
            recipients=recipients,
            session=session,
        )
        counts: dict[str, int] = {}
        for recipient in recipients:
            counts[recipient.locale] = counts.get(recipient.locale, 0) + 1
        return Announced(counts, already)

    async def announce_when_translated(
        self, actor: Actor, event_id: int, audience: Mapping[str, Any], latest: datetime
    ) -> EventView:
        """Announce once no translation of the event is open any more, at ``latest`` at the
        latest (then with the default language where one is missing); see
        ``run_due_announcements``."""
        require_staff(actor, "event.announce")
        if latest <= self._clock():
            raise InvalidTime("the latest time has passed")

        def change(row: Event) -> None:
            row.announce_at = latest
            row.announce_audience = dict(audience)

        return await self._edit(actor, event_id, change, (EventStatus.PUBLISHED,))

    async def run_due_announcements(self) -> list[int]:
        """Send the waiting announcements whose translations are in or whose time has come;
        each is claimed exactly once (a conditional UPDATE), and queued in that transaction."""
        now = self._clock()
        open_tasks = (
            select(TranslationTask.id)
            .where(
                TranslationTask.subject == "event",
                TranslationTask.subject_id == Event.id,
                TranslationTask.status.in_([TaskStatus.OPEN, TaskStatus.SUBMITTED]),
            )
            .exists()
        )
        async with self._sessions() as session:
            due = (
                await session.execute(
                    select(Event.id, Event.announce_at).where(
                        Event.status == EventStatus.PUBLISHED,
                        Event.announce_at.is_not(None),
                        (Event.announce_at <= now) | ~open_tasks,
                    )
                )
            ).all()
        announced = []
        for event_id, announce_at in due:
            async with self._sessions.begin() as session:
                row = await session.get(Event, event_id, populate_existing=True)
                audience = dict(row.announce_audience or {}) if row is not None else {}
                claimed = await session.execute(
                    update(Event)
                    .where(Event.id == event_id, Event.announce_at == announce_at)
                    .values(announce_at=None, announce_audience=None)
                    .execution_options(synchronize_session=False)
                )
                if not claimed.rowcount or row is None:  # type: ignore[attr-defined]
                    continue
                await session.refresh(row, ["versions"])
                await self._queue_announcement(session, await self._view(session, row), audience)
                announced.append(event_id)
        return announced

    async def duplicate(self, actor: Actor, event_id: int, starts_at: datetime) -> EventView:
        require_staff(actor, "event.create")
        if starts_at.tzinfo is None or starts_at <= self._clock():
            raise InvalidTime("the start has passed")
        async with self._sessions.begin() as session:
            original = await session.get(Event, event_id)
            if original is None:
                raise EventNotFound(str(event_id))
            delta = starts_at - original.starts_at if original.starts_at else None

            def shifted(value: datetime | None) -> datetime | None:
                return value + delta if value is not None and delta is not None else None

            row = Event(
                status=EventStatus.DRAFT,
                created_by=original.created_by,
                organiser=original.organiser,
                default_locale=original.default_locale,
                starts_at=starts_at,
                ends_at=shifted(original.ends_at),
                place_name=original.place_name,
                address=original.address,
                latitude=original.latitude,
                longitude=original.longitude,
                topics=list(original.topics or []),
                capacity=original.capacity,
                signup_opens_at=shifted(original.signup_opens_at),
                signup_closes_at=shifted(original.signup_closes_at),
                photo_file_id=original.photo_file_id,
                reminder_hours=original.reminder_hours,
                alerted_levels=[],
                created_at=self._clock(),
                updated_at=self._clock(),
                versions=[
                    EventVersion(locale=v.locale, title=v.title, description=v.description)
                    for v in original.versions
                ],
            )
            session.add(row)
            await session.flush()
            await self._index_topics(session, row)
            await session.refresh(row, ["versions"])
            return EventView.of(row)

    async def cancel(self, actor: Actor, event_id: int) -> int:
        """Cancel the event; its queued reminders stop and everyone signed up is told."""
        require_staff(actor, "event.cancel")
        told = 0

        async def then(session: AsyncSession, row: Event, view: EventView) -> EventView:
            nonlocal told
            await self._reminders.cancel(session, view.id, view.starts_at)
            await self._delivery.cancel_source(f"{view.source}:announce", session=session)
            everyone = await self._active_signups(session, view.id)
            told = await self._reminders.tell(
                session,
                f"{view.source}:cancelled",
                everyone,
                lambda locale: self.renderer.cancelled(view, locale),
            )
            return view

        await self._edit(
            actor,
            event_id,
            lambda row: setattr(row, "status", EventStatus.CANCELLED),
            then=then,
            audit="event.cancel",
        )
        return told

    async def _tell_partner(
        self, session: AsyncSession, row: Event, view: EventView, approved: bool
    ) -> EventView:
        locale = await session.scalar(
            select(Resident.locale).where(Resident.telegram_id == row.created_by)
        )
        locale = locale or self.default_locale
        await self._delivery.enqueue(
            source=f"{view.source}:decision:{row.updated_at.isoformat()}",
            kind=EVENT_KIND,
            broadcast_id=None,
            payloads={locale: self.renderer.decision(view, approved, locale)},
            fallback_locale=locale,
            recipients=[Recipient(row.created_by, locale)],
            session=session,
        )
        return view

    async def approve(self, actor: Actor, event_id: int) -> EventView:
        """Publish a partner's proposal; the partner is told with the same commit."""
        require_staff(actor, "event.approve")

        def change(row: Event) -> None:
            self._check_publishable(row)
            row.status = EventStatus.PUBLISHED
            row.publish_at = self._clock()

        async def tell(session: AsyncSession, row: Event, view: EventView) -> EventView:
            return await self._tell_partner(session, row, view, approved=True)

        return await self._edit(
            actor, event_id, change, (EventStatus.PROPOSED,), then=tell, audit="event.approve"
        )

    async def reject(self, actor: Actor, event_id: int) -> EventView:
        require_staff(actor, "event.approve")

        async def tell(session: AsyncSession, row: Event, view: EventView) -> EventView:
            return await self._tell_partner(session, row, view, approved=False)

        return await self._edit(
            actor,
            event_id,
            lambda row: setattr(row, "status", EventStatus.REJECTED),
            (EventStatus.PROPOSED,),
            then=tell,
            audit="event.reject",
        )

    async def proposals(self, actor: Actor) -> list[EventView]:
        """Partners' events waiting for a coordinator's approval."""
        require_staff(actor, "event.approve")
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(Event)
                    .where(Event.status == EventStatus.PROPOSED)
                    .order_by(Event.created_at, Event.id)
                )
            )
            return await self._views(session, rows)
