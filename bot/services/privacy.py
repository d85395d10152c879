"""A resident's own data: everything stored about them as a plain dict (``export``, /mydata),
and erasing it (``erase``, the /privacy "delete my data" button), in one transaction.

What ``erase`` does, table by table (docs/PRIVACY.md says the same for residents):

- ``residents`` (first name, language, settings) and ``resident_topics``: deleted;
  ``role_assignments``: deleted (a role is granted again by invitation if they come back).
- ``signups``: of an upcoming event (or one without a time) deleted, after which the waiting
  list moves up exactly as after a cancellation (the event service's own ``_promote`` and
  ``_after_promotion``, under the event's row lock, in this transaction). Of a past event kept
  only as an anonymous count: party size and status stay; the note, the needs (interpreter
  language, childcare, wheelchair), the language and the registration code are cleared, the
  check-in time becomes the event's start, and ``telegram_id`` becomes ``-signups.id``. The
  column is NOT NULL and unique per event, so one placeholder such as the ideas' ``FORGOTTEN =
  0`` would collide when two residents of one event erase their data; minus the row's own id
  is unique, is never a Telegram user id (those are positive) and names nothing but the row.
- ``group_members`` and ``slot_holders``: deleted (the help slot is free again);
  ``groups.lead_telegram_id`` cleared, ``created_by`` of groups, events, broadcasts and
  translation tasks set to ``FORGOTTEN``; their broadcast drafts (never sent) deleted.
- ``chat_states``: their open flow (an unfinished idea, a note being typed) deleted.
- ``deliveries`` to their chat, in every state, and the outbox messages only those rows used:
  deleted, so nothing queued reaches them afterwards. Rows are deleted rather than cancelled
  because the delivery engine writes a claimed row's result by id and claimant: a row claimed
  just before the erase and then released (a 429, a shutdown) would otherwise go back to
  ``pending``; a deleted row stays gone. The engine claims with ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL and under SQLite's write lock, so no claim sees the rows once this commits; a
  row claimed *before* the commit is already being sent (within about a second).
- Messages to others that carry their name, id, voice or place: the coordinators' cards of
  their ideas (``idea:<id>:new:*``), their offer to translate (``translator:<id>:*``) and the
  coordinators' notice of a draft of theirs being erased (``translation:<id>:submitted``):
  those deliveries and messages are deleted too, and the ``delivery_sources`` named by their id.
- ``ideas``: kept for the neighbourhood without a link to the person: ``author_telegram_id``
  becomes ``FORGOTTEN``, the idea anonymous; a voice message (a voice identifies) and exact
  coordinates (perhaps where they stood) are removed; an idea left with neither text nor photo
  is deleted. ``idea_supports`` and ``idea_reports`` by them: deleted.
- ``translation_tasks``: a draft of theirs not yet approved is cleared and the task open again;
  an approved one (its words are now the event's or group's text) loses its translator.
- ``invitations.used_by``: cleared. Kept on purpose: ``bans`` (by Telegram id, so that a ban
  holds when someone erases their data and comes back) and the staff ``audit_log``.
- SQLite: the connection runs with ``PRAGMA secure_delete=ON`` (storage/db.py), so deleted
  content is overwritten in the file, and the write-ahead log is truncated after the commit
  (``PRAGMA wal_checkpoint(TRUNCATE)``), so no copy of the old pages lingers there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.events import EventService
from bot.services.events.views import ACTIVE
from bot.services.ideas import FORGOTTEN, withdraw_supports
from bot.services.permissions import Actor, require
from storage.db import in_transaction
from storage.models import (
    Broadcast,
    BroadcastStatus,
    ChatState,
    Delivery,
    DeliverySource,
    DeliveryState,
    Event,
    EventVersion,
    Group,
    GroupMember,
    GroupVersion,
    HelpSlot,
    Idea,
    IdeaReport,
    IdeaSupport,
    Invitation,
    OutboxMessage,
    Resident,
    RoleAssignment,
    Signup,
    SlotHolder,
    TaskStatus,
    TranslationTask,
)

__all__ = ["EXPORT_FORMAT", "Erased", "PrivacyService", "anonymise_signup", "anonymous_signup_id"]

log = logging.getLogger(__name__)

#: Bumped when the export's shape changes, so a reader can tell the versions apart.
EXPORT_FORMAT = 1

#: Deliveries still waiting to go (what /mydata counts as "queued").
QUEUED = (DeliveryState.PENDING, DeliveryState.SENDING)


#: A check run at the start of an erase's transaction (``PrivacyService.erase_if``).
StillDue = Callable[[AsyncSession, int], Awaitable[bool]]


def anonymous_signup_id(signup_id: int) -> int:
    """The ``telegram_id`` of a past event's sign-up whose resident erased their data: unique
    per row (the column is unique per event), never a Telegram user id (those are positive)."""
    return -signup_id


def anonymise_signup(signup: Signup, event: Event) -> None:
    """Keep a past event's sign-up only as an anonymous count, in the caller's session: party
    size and status stay; the note, the needs, the language and the registration code go, the
    times become the event's start and ``telegram_id`` the row's placeholder. ``erase`` does
    it for one resident, the retention job (bot/services/retention.py) for every sign-up of an
    event over for ``SIGNUP_RETENTION_DAYS``. Doing it twice changes nothing."""
    at = event.starts_at if event.starts_at is not None else signup.created_at
    signup.telegram_id = anonymous_signup_id(signup.id)
    signup.locale = event.default_locale
    signup.interpreter_locale = None
    signup.childcare = False
    signup.wheelchair = False
    signup.note = None
    signup.code = f"~{signup.id}"[:12]  # "~" is no code letter: never typed in
    if signup.checked_in_at is not None:
        signup.checked_in_at = at
    signup.created_at = signup.updated_at = at


@dataclass(frozen=True)
class Erased:
    """What an erase did (for the log and the tests; the resident is told in words)."""

    resident: bool  # a resident row was deleted
    signups_removed: int  # upcoming sign-ups given up (and any cancelled ones)
    signups_anonymised: int  # past events' sign-ups kept as anonymous counts
    promoted: int  # waiting-list parties moved up into the freed seats
    memberships: int
    slots: int
    deliveries: int  # outbox rows deleted (queued or sent, theirs and about them)
    ideas_kept: int  # their ideas kept without their name
    ideas_deleted: int


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _telegram_id(who: Actor | int) -> int:
    if isinstance(who, Actor):
        require(who.telegram_id is not None, "privacy.own_data")
        assert who.telegram_id is not None
        return who.telegram_id
    return who


class PrivacyService:
    """A person's own data: what is stored about them (``export``) and erasing it (``erase``).

    Both act only on the person asking (an ``Actor``, or the Telegram id the bot knows from the
    update); nobody reads or erases someone else's data through this service. The one
    exception is no person: the retention job (bot/services/retention.py) erases residents who
    stayed away after a warning, through ``erase_if``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        events: EventService,
        *,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._events = events
        self._clock = clock

    # erase ------------------------------------------------------------------------------

    async def erase(self, who: Actor | int) -> Erased:
        """Remove or anonymise everything stored about this person, in one transaction (see
        the module docstring for each table); then, on SQLite, truncate the write-ahead log."""
        erased = await self.erase_if(who, None)
        assert erased is not None  # no condition: always erased
        return erased

    async def erase_if(self, who: Actor | int, still: StillDue | None) -> Erased | None:
        """``erase``, only if ``still`` (read in the erase's own transaction, before anything
        changes) says so: the retention job's check that a resident has not come back since
        their warning (bot/services/retention.py). None when it said no."""
        telegram_id = _telegram_id(who)

        async def work(session: AsyncSession) -> Erased | None:
            if still is not None and not await still(session, telegram_id):
                return None
            return await self._erase(session, telegram_id)

        erased = await in_transaction(self._sessions, work)
        if erased is None:
            return None
        await self._checkpoint()
        log.info(
            "privacy: erased a resident's data (%d sign-ups removed, %d anonymised, %d moved "
            "up, %d outbox rows)",
            erased.signups_removed,
            erased.signups_anonymised,
            erased.promoted,
            erased.deliveries,
        )
        return erased

    async def _erase(self, session: AsyncSession, telegram_id: int) -> Erased:
        now = self._clock()
        removed, anonymised, promoted = await self._erase_signups(session, telegram_id, now)
        memberships = await self._count_delete(
            session, delete(GroupMember).where(GroupMember.telegram_id == telegram_id)
        )
        slots = await self._count_delete(
            session, delete(SlotHolder).where(SlotHolder.telegram_id == telegram_id)
        )
        await session.execute(
            update(Group)
            .where(Group.lead_telegram_id == telegram_id)
            .values(lead_telegram_id=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(Broadcast).where(
                Broadcast.created_by == telegram_id, Broadcast.status == BroadcastStatus.DRAFT
            )
        )
        for model in (Group, Event, Broadcast, TranslationTask):
            await session.execute(
                update(model)
                .where(model.created_by == telegram_id)
                .values(created_by=FORGOTTEN)
                .execution_options(synchronize_session=False)
            )
        await session.execute(
            update(Broadcast)
            .where(Broadcast.progress_chat_id == telegram_id)
            .values(progress_chat_id=None, progress_message_id=None)
            .execution_options(synchronize_session=False)
        )
        kept, gone, idea_ids = await self._erase_ideas(session, telegram_id)
        drafts = await self._erase_translations(session, telegram_id)
        await session.execute(
            update(Invitation)
            .where(Invitation.used_by == telegram_id)
            .values(used_by=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(ChatState).where(ChatState.telegram_id == telegram_id))
        about_them = [
            *(f"idea:{idea_id}:new:%" for idea_id in idea_ids),
            f"translator:{telegram_id}:%",
            *(f"translation:{task_id}:submitted" for task_id in drafts),
        ]
        deliveries = await self._erase_deliveries(session, telegram_id, about_them)
        await session.execute(
            delete(RoleAssignment).where(RoleAssignment.telegram_id == telegram_id)
        )
        # The row last: its topics go with it (ON DELETE CASCADE, and the ORM's cascade).
        resident = await session.scalar(select(Resident).where(Resident.telegram_id == telegram_id))
        if resident is not None:
            await session.delete(resident)
        await session.flush()
        return Erased(
            resident=resident is not None,
            signups_removed=removed,
            signups_anonymised=anonymised,
            promoted=promoted,
            memberships=memberships,
            slots=slots,
            deliveries=deliveries,
            ideas_kept=kept,
            ideas_deleted=gone,
        )

    @staticmethod
    async def _count_delete(session: AsyncSession, statement: Any) -> int:
        result = await session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _erase_signups(
        self, session: AsyncSession, telegram_id: int, now: datetime
    ) -> tuple[int, int, int]:
        """Upcoming sign-ups go (the waiting list moves up); past ones become anonymous."""
        event_ids = sorted(
            set(
                await session.scalars(
                    select(Signup.event_id).where(Signup.telegram_id == telegram_id)
                )
            )
        )
        removed = anonymised = promoted = 0
        events = self._events
        for event_id in event_ids:  # in id order, so two erases never wait for each other
            row = await events._lock_event(session, event_id)
            signup = await session.scalar(
                select(Signup).where(Signup.event_id == event_id, Signup.telegram_id == telegram_id)
            )
            if signup is None:
                continue
            if row is not None and row.starts_at is not None and row.starts_at <= now:
                anonymise_signup(signup, row)
                anonymised += 1
                continue
            held_a_place = signup.status in ACTIVE
            await session.delete(signup)
            await session.flush()
            removed += 1
            if row is not None and held_a_place:
                moved = await events._promote(session, row)
                if moved:
                    view = await events._view(session, row)
                    await events._after_promotion(session, view, moved)
                promoted += len(moved)
        await session.flush()
        return removed, anonymised, promoted

    async def _erase_ideas(
        self, session: AsyncSession, telegram_id: int
    ) -> tuple[int, int, list[int]]:
        ideas = list(
            await session.scalars(select(Idea).where(Idea.author_telegram_id == telegram_id))
        )
        kept = gone = 0
        for idea in ideas:
            idea.author_telegram_id = FORGOTTEN
            idea.anonymous = True
            idea.voice_file_id = None
            idea.latitude = idea.longitude = None
            if not (idea.text or "").strip() and idea.photo_file_id is None:
                await session.delete(idea)  # nothing left that isn't theirs
                gone += 1
            else:
                kept += 1
        # Each idea they supported counts one fewer (ideas.supporters_count).
        await withdraw_supports(session, telegram_id)
        await session.execute(
            delete(IdeaReport).where(IdeaReport.reporter_telegram_id == telegram_id)
        )
        await session.flush()
        return kept, gone, [idea.id for idea in ideas]

    async def _erase_translations(self, session: AsyncSession, telegram_id: int) -> list[int]:
        """Their drafts not yet approved are cleared (the task opens again); approved ones
        lose their translator. Returns the ids of the tasks whose draft was cleared."""
        tasks = list(
            await session.scalars(
                select(TranslationTask).where(TranslationTask.translator_id == telegram_id)
            )
        )
        cleared = []
        for task in tasks:
            task.translator_id = None
            if task.status == TaskStatus.APPROVED:
                continue
            task.result = None
            task.submitted_at = None
            if task.status == TaskStatus.SUBMITTED:
                task.status = TaskStatus.OPEN
                task.origin = "volunteer"
            cleared.append(task.id)
        await session.flush()
        return cleared

    async def _erase_deliveries(
        self, session: AsyncSession, telegram_id: int, sources_like: Iterable[str]
    ) -> int:
        """Every outbox row to their chat and every row of the sources about them, in any
        state, and the messages nothing else uses any more."""
        patterns = list(sources_like)
        which = or_(Delivery.chat_id == telegram_id, *(Delivery.source.like(p) for p in patterns))
        message_ids = set(await session.scalars(select(Delivery.message_id).where(which)))
        deleted = await self._count_delete(session, delete(Delivery).where(which))
        if message_ids:
            used = set(
                await session.scalars(
                    select(Delivery.message_id).where(Delivery.message_id.in_(message_ids))
                )
            )
            if message_ids - used:
                await session.execute(
                    delete(OutboxMessage).where(OutboxMessage.id.in_(message_ids - used))
                )
        await session.execute(
            delete(DeliverySource).where(DeliverySource.source.like(f"translator:{telegram_id}:%"))
        )
        return deleted

    async def _checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file and truncate it, so the
        erased rows' old pages don't linger there (secure_delete overwrote them in the file)."""
        async with self._sessions() as session:
            if session.get_bind().dialect.name != "sqlite":
                return
            busy, _pages, _done = (
                await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            ).one()
            if busy:
                log.warning("privacy: the WAL checkpoint was busy; SQLite completes it later")

    # export -----------------------------------------------------------------------------

    async def export(self, who: Actor | int) -> dict[str, Any]:
        """Everything stored about this person, as plain JSON-ready values (the /mydata
        file): profile and settings, topics, roles, sign-ups with their events' titles and
        times, ideas they wrote, supports, memberships, help tasks, queued messages, an open
        flow, translation tasks."""
        telegram_id = _telegram_id(who)
        async with self._sessions() as session:
            resident = await session.scalar(
                select(Resident).where(Resident.telegram_id == telegram_id)
            )
            locale = resident.locale if resident is not None else None
            return {
                "format": EXPORT_FORMAT,
                "exported_at": _iso(self._clock()),
                "telegram_id": telegram_id,
                "profile": _profile(resident),
                "topics": sorted(resident.topic_keys) if resident is not None else [],
                "roles": sorted(
                    str(role)
                    for role in await session.scalars(
                        select(RoleAssignment.role).where(RoleAssignment.telegram_id == telegram_id)
                    )
                ),
                "signups": await self._signups(session, telegram_id, locale),
                "ideas": await self._ideas(session, telegram_id),
                "supports": [
                    {"idea_id": idea_id, "created_at": _iso(at)}
                    for idea_id, at in await session.execute(
                        select(IdeaSupport.idea_id, IdeaSupport.created_at)
                        .where(IdeaSupport.telegram_id == telegram_id)
                        .order_by(IdeaSupport.idea_id)
                    )
                ],
                "groups": await self._groups(session, telegram_id, locale),
                "help_tasks": await self._help_tasks(session, telegram_id, locale),
                "queued_messages": int(
                    await session.scalar(
                        select(func.count())
                        .select_from(Delivery)
                        .where(Delivery.chat_id == telegram_id, Delivery.state.in_(QUEUED))
                    )
                    or 0
                ),
                "open_flow": await self._open_flow(session, telegram_id),
                "translation_tasks": [
                    {
                        "id": task.id,
                        "subject": task.subject,
                        "subject_id": task.subject_id,
                        "locale": task.locale,
                        "status": str(task.status),
                        "result": task.result,
                        "submitted_at": _iso(task.submitted_at),
                        "decided_at": _iso(task.decided_at),
                    }
                    for task in await session.scalars(
                        select(TranslationTask)
                        .where(TranslationTask.translator_id == telegram_id)
                        .order_by(TranslationTask.id)
                    )
                ],
            }

    async def _signups(
        self, session: AsyncSession, telegram_id: int, locale: str | None
    ) -> list[dict[str, Any]]:
        rows = (
            await session.execute(
                select(Signup, Event)
                .join(Event, Event.id == Signup.event_id)
                .where(Signup.telegram_id == telegram_id)
                .order_by(Event.starts_at, Signup.id)
            )
        ).all()
        titles = await _titles(
            session, EventVersion, EventVersion.event_id, [e.id for _, e in rows]
        )
        return [
            {
                "event_id": event.id,
                "event_title": _pick(titles.get(event.id, {}), locale, event.default_locale),
                "event_starts_at": _iso(event.starts_at),
                "event_ends_at": _iso(event.ends_at),
                "place": event.place_name,
                "status": str(signup.status),
                "adults": signup.adults,
                "children": signup.children,
                "interpreter_locale": signup.interpreter_locale,
                "childcare": signup.childcare,
                "wheelchair": signup.wheelchair,
                "note": signup.note,
                "code": signup.code,
                "locale": signup.locale,
                "checked_in_at": _iso(signup.checked_in_at),
                "created_at": _iso(signup.created_at),
                "updated_at": _iso(signup.updated_at),
            }
            for signup, event in rows
        ]

    async def _ideas(self, session: AsyncSession, telegram_id: int) -> list[dict[str, Any]]:
        ideas = await session.scalars(
            select(Idea).where(Idea.author_telegram_id == telegram_id).order_by(Idea.id)
        )
        return [
            {
                "id": idea.id,
                "text": idea.text,
                "anonymous": idea.anonymous,
                "locale": idea.locale,
                "topic": idea.topic,
                "place": idea.place_text,
                "latitude": idea.latitude,
                "longitude": idea.longitude,
                "voice_message": idea.voice_file_id is not None,
                "photo": idea.photo_file_id is not None,
                "status": str(idea.status),
                "published": idea.published,
                "created_at": _iso(idea.created_at),
            }
            for idea in ideas
        ]

    async def _groups(
        self, session: AsyncSession, telegram_id: int, locale: str | None
    ) -> list[dict[str, Any]]:
        rows = (
            await session.execute(
                select(Group, GroupMember.joined_at)
                .outerjoin(
                    GroupMember,
                    (GroupMember.group_id == Group.id) & (GroupMember.telegram_id == telegram_id),
                )
                .where(
                    or_(
                        GroupMember.telegram_id == telegram_id,
                        Group.lead_telegram_id == telegram_id,
                    )
                )
                .order_by(Group.id)
            )
        ).all()
        names = await _titles(
            session, GroupVersion, GroupVersion.group_id, [g.id for g, _ in rows], "name"
        )
        return [
            {
                "group_id": group.id,
                "name": _pick(names.get(group.id, {}), locale, group.default_locale),
                "member": joined is not None,
                "joined_at": _iso(joined),
                "lead": group.lead_telegram_id == telegram_id,
                "status": str(group.status),
            }
            for group, joined in rows
        ]

    async def _help_tasks(
        self, session: AsyncSession, telegram_id: int, locale: str | None
    ) -> list[dict[str, Any]]:
        rows = (
            await session.execute(
                select(HelpSlot, SlotHolder.taken_at)
                .join(SlotHolder, SlotHolder.slot_id == HelpSlot.id)
                .where(SlotHolder.telegram_id == telegram_id)
                .order_by(HelpSlot.id)
            )
        ).all()
        return [
            {
                "slot_id": slot.id,
                "group_id": slot.group_id,
                "label": _pick(dict(slot.labels or {}), locale, None),
                "taken_at": _iso(taken_at),
            }
            for slot, taken_at in rows
        ]

    async def _open_flow(self, session: AsyncSession, telegram_id: int) -> dict[str, Any] | None:
        state = await session.scalar(select(ChatState).where(ChatState.telegram_id == telegram_id))
        if state is None:
            return None
        return {
            "flow": state.flow,
            "step": state.step,
            "data": state.data,
            "updated_at": _iso(state.updated_at),
        }


def _profile(resident: Resident | None) -> dict[str, Any] | None:
    if resident is None:
        return None
    return {
        "first_name": resident.first_name,
        "locale": resident.locale,
        "status": str(resident.status),
        "consent_version": resident.consent_version,
        "consent_at": _iso(resident.consent_at),
        "created_at": _iso(resident.created_at),
        "last_seen_at": _iso(resident.last_seen_at),
        "settings": {
            "news_messages": resident.broadcast_opt_in,
            "weekly_overview": resident.digest_opt_in,
            "service_messages": resident.service_opt_in,
            "contact_by_group_leads": resident.lead_contact_opt_in,
            "quiet_start_minute": resident.quiet_start,
            "quiet_end_minute": resident.quiet_end,
        },
    }


async def _titles(
    session: AsyncSession, model: Any, key: Any, ids: list[int], field: str = "title"
) -> dict[int, dict[str, str]]:
    """{parent id: {locale: title}} of an event's or group's versions."""
    if not ids:
        return {}
    found: dict[int, dict[str, str]] = {}
    for parent, locale, value in await session.execute(
        select(key, model.locale, getattr(model, field)).where(key.in_(ids))
    ):
        found.setdefault(int(parent), {})[str(locale)] = str(value)
    return found


def _pick(values: dict[str, str], locale: str | None, default_locale: str | None) -> str | None:
    """The reader's language, else the default language's, else any."""
    for choice in (locale, default_locale):
        if choice is not None and values.get(choice):
            return values[choice]
    return next(iter(values.values()), None)
