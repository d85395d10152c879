"""Ideas from the neighbourhood: submit, moderate, answer, support, follow up.

A resident sends an idea (text, a voice message or a photo, optionally a topic and a place),
named or anonymous, in their language. Coordinators see it in the inbox, publish it on the idea
board, change its status (each change tells the author in their language, through the outbox),
reject it with a reason or merge duplicates. Neighbours support published, open ideas (once
each: the primary key of ``idea_supports`` and an insert that ignores conflicts make double
taps and races harmless); the author hears of milestones.

Anonymity: ``IdeaView`` is what coordinators and the dashboard see, and its ``author_id`` is
None for an anonymous idea; so is its ``author_name``, the author's stored first name, which
only the coordinators' views carry (the inbox, the card after publishing, a status change or
a merge, the card of a new idea). The author's chat is read only inside this module, to tell them
what became of their idea.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    delete,
    exists,
    false,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.audiences import StaffAudience
from bot.services.audit import AuditLog
from bot.services.delivery import DeliveryService, Recipient
from bot.services.permissions import Actor, require_staff
from storage.db import in_transaction
from storage.models import Idea, IdeaReport, IdeaStatus, IdeaSupport, Resident
from storage.repositories import insert_ignoring_conflict, insert_ignoring_conflicts

__all__ = [
    "MAX_IDEAS_PER_DAY",
    "MAX_IDEA_LENGTH",
    "MILESTONES",
    "REJECT_REASONS",
    "REPORTS_TO_HIDE",
    "EmptyIdea",
    "IdeaError",
    "IdeaNotFound",
    "IdeaRenderer",
    "IdeaService",
    "IdeaStatus",
    "IdeaTooLong",
    "IdeaView",
    "InvalidChange",
    "ReportResult",
    "TooManyIdeas",
]

MAX_IDEA_LENGTH = 2000
MAX_PLACE_LENGTH = 300
MAX_TOPIC_LENGTH = 40
MAX_IDEAS_PER_DAY = 3  # per author, in any rolling 24 hours
IDEA_WINDOW = timedelta(hours=24)
MILESTONES = (10, 25, 50, 100)
REJECT_REASONS = ("duplicate", "not_our_area", "not_feasible", "other")
SIMILARITY_THRESHOLD = 0.35
SIMILAR_CANDIDATES = 500  # the newest open ideas compared with a new one
IDEA_KIND = "idea"
FORGOTTEN = 0  # author_telegram_id of an idea whose author deleted their data
#: Residents' reports that take a public idea off the board until a coordinator looks.
REPORTS_TO_HIDE = 3

#: Ideas that are finished one way or another: not similar to new ones, not supportable.
CLOSED = frozenset(
    {IdeaStatus.DONE, IdeaStatus.NOT_POSSIBLE, IdeaStatus.REJECTED, IdeaStatus.MERGED}
)
#: Not on the board even when published.
OFF_BOARD = (IdeaStatus.REJECTED, IdeaStatus.MERGED)
#: What ``set_status`` may set; MERGED comes from ``merge``, RECEIVED only from ``submit``.
SETTABLE = frozenset(
    {
        IdeaStatus.UNDER_REVIEW,
        IdeaStatus.PLANNED,
        IdeaStatus.IN_PROGRESS,
        IdeaStatus.DONE,
        IdeaStatus.NOT_POSSIBLE,
        IdeaStatus.REJECTED,
    }
)
NEEDS_REASON = frozenset({IdeaStatus.NOT_POSSIBLE, IdeaStatus.REJECTED})
INBOX_DEFAULT = (IdeaStatus.RECEIVED, IdeaStatus.UNDER_REVIEW)


# --- errors ------------------------------------------------------------------------------


class IdeaError(Exception):
    """A request that can't be done as asked; the handler explains it."""


class IdeaNotFound(IdeaError):
    pass


class EmptyIdea(IdeaError):
    """No text (or only whitespace), no voice message, no photo."""


class IdeaTooLong(IdeaError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"longer than {limit} characters")
        self.limit = limit


class TooManyIdeas(IdeaError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} ideas in 24 hours")
        self.limit = limit


class InvalidChange(IdeaError):
    """Not in this state: the same status again, a merged idea, a missing reason, own idea..."""


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdeaView:
    """An idea as coordinators, the board and the dashboard see it.

    ``author_id`` is None whenever the idea is anonymous (or its author deleted their data).
    """

    id: int
    author_id: int | None
    anonymous: bool
    locale: str
    text: str | None
    voice_file_id: str | None
    photo_file_id: str | None
    topic: str | None
    place_text: str | None
    latitude: float | None
    longitude: float | None
    status: IdeaStatus
    published: bool
    reason: str | None
    merged_into_id: int | None
    supporters: int
    created_at: datetime
    #: The author's stored first name, only in coordinators' views and never for an anonymous
    #: idea (``IdeaService`` fills it in; the board's views leave it None).
    author_name: str | None = None
    #: Off the board after residents' reports, until a coordinator keeps or hides it.
    hidden: bool = False
    #: The reader supports it: only the board fills it in (for the reader it is given).
    supported: bool = False

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED

    @classmethod
    def of(cls, row: Idea, supporters: int | None = None, *, supported: bool = False) -> IdeaView:
        hidden = row.anonymous or row.author_telegram_id == FORGOTTEN
        return cls(
            id=row.id,
            author_id=None if hidden else row.author_telegram_id,
            anonymous=hidden,
            locale=row.locale,
            text=row.text,
            voice_file_id=row.voice_file_id,
            photo_file_id=row.photo_file_id,
            topic=row.topic,
            place_text=row.place_text,
            latitude=row.latitude,
            longitude=row.longitude,
            status=row.status,
            published=row.published,
            reason=row.reason,
            merged_into_id=row.merged_into_id,
            supporters=(row.supporters_count or 0) if supporters is None else supporters,
            created_at=row.created_at,
            hidden=row.hidden_at is not None,
            supported=supported,
        )


@dataclass(frozen=True)
class ReportResult:
    """``added``: this resident's report is new (False for a repeat); ``hidden``: this report
    took the idea off the board."""

    added: bool
    hidden: bool


class IdeaRenderer(Protocol):
    """Bot API payloads for messages to an idea's author (``bot.rendering.IdeaRenderer``)."""

    def status_changed(self, idea: IdeaView, locale: str) -> dict[str, Any]: ...

    def published(self, idea: IdeaView, locale: str) -> dict[str, Any]: ...

    def milestone(self, idea: IdeaView, supporters: int, locale: str) -> dict[str, Any]: ...

    def reported(self, idea: IdeaView, reports: int, locale: str) -> dict[str, Any]: ...

    def new_idea(
        self,
        idea: IdeaView,
        author_name: str | None,
        locale: str,
        translation: str | None = None,
    ) -> list[dict[str, Any]]: ...


class MachineTranslator(Protocol):
    """A machine translator (``bot.translation``), for the coordinators' view of an idea."""

    async def translate(
        self, text: str, source: str, target: str, *, html: bool = False
    ) -> str | None: ...


# --- similarity ----------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _trigrams(normalised: str) -> set[str]:
    padded = f" {normalised} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _jaccard(a: set[str], b: set[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def similarity(a: str, b: str) -> float:
    """0..1: the better of word overlap and character-trigram overlap (catches word forms)."""
    na, nb = _normalise(a), _normalise(b)
    if not na or not nb:
        return 0.0
    words = _jaccard(set(na.split()), set(nb.split()))
    return max(words, _jaccard(_trigrams(na), _trigrams(nb)))


# --- helpers -------------------------------------------------------------------------------

T = TypeVar("T")


async def _add_supporters(session: AsyncSession, idea_ids: Collection[int], delta: int) -> None:
    """Keep ``ideas.supporters_count`` in step with ``idea_supports``, in the transaction that
    changed the supports: a relative UPDATE, so concurrent supporters of one idea queue on its
    row lock and none is lost (a count read and written back would lose one)."""
    if not idea_ids or not delta:
        return
    await session.execute(
        update(Idea)
        .where(Idea.id.in_(sorted(set(idea_ids))))
        .values(supporters_count=Idea.supporters_count + delta)
        .execution_options(synchronize_session=False)
    )


async def withdraw_supports(session: AsyncSession, telegram_id: int) -> list[int]:
    """Delete everything a resident supports (erase, forget), each idea's count one lower, in
    the caller's transaction; returns the ideas' ids."""
    removed = await session.execute(
        delete(IdeaSupport)
        .where(IdeaSupport.telegram_id == telegram_id)
        .returning(IdeaSupport.idea_id)
    )
    idea_ids = [int(idea_id) for idea_id in removed.scalars()]
    # The primary key is (idea, resident): at most one row per idea went.
    await _add_supporters(session, idea_ids, -1)
    return idea_ids


def _clean_text(text: str | None) -> str | None:
    if text is None:
        return None
    stripped = text.strip()
    return stripped or None


# --- the service ---------------------------------------------------------------------------


class IdeaService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryService,
        renderer: IdeaRenderer,
        *,
        clock: Clock,
        staff: StaffAudience | None = None,
        machine: MachineTranslator | None = None,
    ) -> None:
        self._sessions = sessions
        self._delivery = delivery
        self.renderer = renderer
        self._clock = clock
        self._staff = staff or StaffAudience()
        self._machine = machine

    # internals --------------------------------------------------------------------------

    async def _retrying(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await in_transaction(self._sessions, work)

    async def _count(self, session: AsyncSession, idea_id: int) -> int:
        count = await session.scalar(select(Idea.supporters_count).where(Idea.id == idea_id))
        return int(count or 0)

    async def _views(self, session: AsyncSession, statement: Select[Any]) -> list[IdeaView]:
        return [IdeaView.of(row) for row in await session.scalars(statement)]

    def _select(self) -> Select[Any]:
        return select(Idea)

    async def _row(self, session: AsyncSession, idea_id: int) -> Idea:
        row = await session.get(Idea, idea_id, populate_existing=True)
        if row is None:
            raise IdeaNotFound(str(idea_id))
        return row

    async def _view_of(self, session: AsyncSession, row: Idea) -> IdeaView:
        return IdeaView.of(row)

    async def _reported(
        self,
        session: AsyncSession,
        idea_id: int,
        source: str,
        render: Callable[[IdeaView, str], dict[str, Any]],
    ) -> IdeaView:
        """The idea as it is now, its author told of it (in the caller's transaction); the
        coordinators' view, with the author's name unless anonymous."""
        view = await self._view_of(session, await self._row(session, idea_id))
        await self._tell_author(session, view, source, lambda locale: render(view, locale))
        (named,) = await self._named(session, [view])
        return named

    async def _named(self, session: AsyncSession, views: list[IdeaView]) -> list[IdeaView]:
        """Coordinators' views: with the author's stored first name, unless anonymous
        (``author_id`` is None then, so there is nobody to look up)."""
        authors = {view.author_id for view in views if view.author_id is not None}
        if not authors:
            return views
        found = await session.execute(
            select(Resident.telegram_id, Resident.first_name).where(
                Resident.telegram_id.in_(authors)
            )
        )
        names = {int(telegram_id): name for telegram_id, name in found}
        return [
            replace(view, author_name=names.get(view.author_id))
            if view.author_id is not None
            else view
            for view in views
        ]

    async def _author(self, session: AsyncSession, idea_id: int) -> tuple[int, str] | None:
        """The author's chat and current language; None once they deleted their data."""
        found = (
            await session.execute(
                select(Idea.author_telegram_id, Idea.locale, Resident.locale)
                .outerjoin(Resident, Resident.telegram_id == Idea.author_telegram_id)
                .where(Idea.id == idea_id)
            )
        ).first()
        if found is None:
            raise IdeaNotFound(str(idea_id))
        author, idea_locale, resident_locale = found
        if author == FORGOTTEN:
            return None
        return int(author), str(resident_locale or idea_locale)

    async def _tell_author(
        self,
        session: AsyncSession,
        idea: IdeaView,
        source: str,
        render: Callable[[str], dict[str, Any]],
    ) -> None:
        """Queue a message to the author in the caller's transaction: it goes out only if the
        change it reports commits."""
        author = await self._author(session, idea.id)
        if author is None:
            return
        chat_id, locale = author
        await self._delivery.enqueue(
            source=source,
            kind=IDEA_KIND,
            broadcast_id=None,
            payloads={locale: render(locale)},
            fallback_locale=locale,
            recipients=[Recipient(chat_id, locale)],
            session=session,
        )

    async def _translations_for_staff(self, text: str | None, source: str) -> dict[str, str]:
        """A machine translation of an idea's text into each coordinator's language (when a
        provider is configured; the original is always on the card too)."""
        if self._machine is None or not text:
            return {}
        async with self._sessions() as session:
            staff = await self._staff.recipients(session)
        translated = {}
        for locale in sorted({locale for _chat, locale in staff} - {source}):
            draft = await self._machine.translate(text, source, locale)
            if draft:
                translated[locale] = draft
        return translated

    async def _tell_staff(
        self,
        session: AsyncSession,
        idea: IdeaView,
        author_name: str | None,
        translations: Mapping[str, str],
    ) -> None:
        """Every coordinator gets a new idea in their language, the original voice or photo
        too, queued with the idea itself (one message per part, in order)."""
        staff = await self._staff.recipients(session)
        if not staff:
            return
        locales = sorted({locale for _chat, locale in staff})
        parts = {
            locale: self.renderer.new_idea(idea, author_name, locale, translations.get(locale))
            for locale in locales
        }
        for number in range(len(parts[locales[0]])):
            await self._delivery.enqueue(
                source=f"idea:{idea.id}:new:{number}",
                kind=IDEA_KIND,
                broadcast_id=None,
                payloads={locale: parts[locale][number] for locale in locales},
                fallback_locale=locales[0],
                recipients=[Recipient(chat, locale) for chat, locale in staff],
                session=session,
            )

    async def _check_daily(self, session: AsyncSession, author_id: int) -> None:
        since = self._clock() - IDEA_WINDOW
        recent = await session.scalar(
            select(func.count())
            .select_from(Idea)
            .where(Idea.author_telegram_id == author_id, Idea.created_at > since)
        )
        if int(recent or 0) >= MAX_IDEAS_PER_DAY:
            raise TooManyIdeas(MAX_IDEAS_PER_DAY)

    @staticmethod
    def _check_text(text: str | None) -> None:
        if text is not None and len(text.strip()) > MAX_IDEA_LENGTH:
            raise IdeaTooLong(MAX_IDEA_LENGTH)

    async def _maybe_milestone(self, idea_id: int, supporters: int) -> None:
        """Tell the author of the highest milestone reached, once (a conditional UPDATE claims
        it; the outbox source is unique per milestone as well)."""
        reached = [m for m in MILESTONES if supporters >= m]
        if not reached:
            return
        milestone = reached[-1]

        async def claim(session: AsyncSession) -> IdeaView | None:
            result = await session.execute(
                update(Idea)
                .where(Idea.id == idea_id, Idea.milestone < milestone)
                .values(milestone=milestone)
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            view = await self._view_of(session, await self._row(session, idea_id))
            await self._tell_author(
                session,
                view,
                f"idea:{idea_id}:milestone:{milestone}",
                lambda locale: self.renderer.milestone(view, milestone, locale),
            )
            return view

        await self._retrying(claim)

    # residents --------------------------------------------------------------------------

    async def check_limits(self, author_id: int, text: str | None) -> None:
        """The checks ``submit`` makes, without saving (so a handler can answer early)."""
        if text is not None and not text.strip():
            raise EmptyIdea()
        self._check_text(text)
        async with self._sessions() as session:
            await self._check_daily(session, author_id)

    async def submit(
        self,
        author_id: int,
        locale: str,
        *,
        text: str | None = None,
        voice_file_id: str | None = None,
        photo_file_id: str | None = None,
        topic: str | None = None,
        place_text: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        anonymous: bool = False,
        author_name: str | None = None,
    ) -> IdeaView:
        """Store a new idea and queue its card to every coordinator in the same transaction.

        The author's stored first name (``author_name``, Telegram's, when none is stored
        yet) appears only on the coordinators' card of a named idea; it is not stored with
        the idea.
        """
        cleaned = _clean_text(text)
        if cleaned is None and not voice_file_id and not photo_file_id:
            raise EmptyIdea()
        self._check_text(cleaned)
        place = _clean_text(place_text)
        if place is not None and len(place) > MAX_PLACE_LENGTH:
            raise IdeaTooLong(MAX_PLACE_LENGTH)
        if topic is not None and len(topic) > MAX_TOPIC_LENGTH:
            raise InvalidChange(f"topic {topic[:MAX_TOPIC_LENGTH]}...")
        if latitude is not None and not -90 <= latitude <= 90:
            latitude = longitude = None
        if longitude is not None and not -180 <= longitude <= 180:
            latitude = longitude = None

        # Asked before the transaction: a slow provider must not hold the database.
        translations = await self._translations_for_staff(cleaned, locale)

        async def work(session: AsyncSession) -> IdeaView:
            now = self._clock()
            await self._check_daily(session, author_id)
            row = Idea(
                author_telegram_id=author_id,
                anonymous=anonymous,
                locale=locale,
                text=cleaned,
                voice_file_id=voice_file_id or None,
                photo_file_id=photo_file_id or None,
                topic=topic or None,
                place_text=place,
                latitude=latitude,
                longitude=longitude,
                status=IdeaStatus.RECEIVED,
                published=False,
                reason=None,
                merged_into_id=None,
                status_changes=0,
                milestone=0,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            view = IdeaView.of(row)
            if not anonymous:
                (view,) = await self._named(session, [view])
                view = replace(view, author_name=view.author_name or author_name)
            await self._tell_staff(session, view, view.author_name, translations)
            return view

        return await self._retrying(work)

    async def similar(self, text: str, *, limit: int = 3) -> list[IdeaView]:
        """Published, open ideas whose text resembles ``text``, the most similar first."""
        if not _normalise(text):
            return []
        async with self._sessions() as session:
            candidates = await self._views(
                session,
                self._select()
                .where(
                    Idea.published.is_(True),
                    Idea.hidden_at.is_(None),
                    Idea.status.not_in(list(CLOSED)),
                    Idea.text.is_not(None),
                )
                .order_by(Idea.created_at.desc(), Idea.id.desc())
                .limit(SIMILAR_CANDIDATES),
            )
        scored = [(similarity(text, view.text or ""), view) for view in candidates]
        scored = [(score, view) for score, view in scored if score >= SIMILARITY_THRESHOLD]
        scored.sort(key=lambda pair: (-pair[0], -pair[1].supporters, -pair[1].id))
        return [view for _, view in scored[: max(0, limit)]]

    async def board(
        self,
        *,
        topic: str | None = None,
        order: str = "supported",
        offset: int = 0,
        limit: int = 3,
        reader: int | None = None,
    ) -> tuple[list[IdeaView], int]:
        """A page of the idea board and the number of ideas on it. ``order`` is "supported"
        (most supporters, then newest) or "newest"; anything else counts as "supported".
        With ``reader`` (a Telegram id) each idea says whether they support it (``supported``),
        read in the page's query."""
        conditions: list[ColumnElement[bool]] = [
            Idea.published.is_(True),
            Idea.hidden_at.is_(None),
            Idea.status.not_in(list(OFF_BOARD)),
        ]
        if topic:
            conditions.append(Idea.topic == topic)
        # The order of ix_ideas_board_supported / ix_ideas_board_newest, read backwards.
        ordering: list[Any] = [Idea.created_at.desc(), Idea.id.desc()]
        if order != "newest":
            ordering.insert(0, Idea.supporters_count.desc())
        supported: ColumnElement[bool] = (
            exists().where(IdeaSupport.idea_id == Idea.id, IdeaSupport.telegram_id == reader)
            if reader is not None
            else false()
        )
        # One statement: the page, whether the reader supports each idea, and the total
        # (counted once; a statement's round trip costs more than the counting).
        total = (
            select(func.count()).select_from(Idea).where(*conditions).correlate(None)
        ).scalar_subquery()
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Idea, supported, total)
                    .where(*conditions)
                    .order_by(*ordering)
                    .offset(max(0, offset))
                    .limit(max(0, limit))
                )
            ).all()
            if not rows:  # past the end, or an empty board: the total on its own
                count = await session.scalar(
                    select(func.count()).select_from(Idea).where(*conditions)
                )
                return [], int(count or 0)
        page = [IdeaView.of(row, supported=bool(mine)) for row, mine, _total in rows]
        return page, int(rows[0][2] or 0)

    async def toggle_support(self, idea_id: int, telegram_id: int) -> tuple[bool, int]:
        """Support or stop supporting; returns (supporting now?, supporters).

        Only published, open ideas; not one's own. The write comes first, so on SQLite the
        transaction holds the write lock before it reads anything.
        """

        async def work(session: AsyncSession) -> bool:
            removed = await session.execute(
                delete(IdeaSupport).where(
                    IdeaSupport.idea_id == idea_id, IdeaSupport.telegram_id == telegram_id
                )
            )
            row = await session.get(Idea, idea_id, populate_existing=True)
            if row is None or not row.published or row.status in OFF_BOARD:
                raise IdeaNotFound(str(idea_id))
            if row.hidden_at is not None:
                raise IdeaNotFound(str(idea_id))
            if removed.rowcount:  # type: ignore[attr-defined]
                await _add_supporters(session, [idea_id], -1)
                supporting = False
            else:
                if row.status in CLOSED:
                    raise InvalidChange(f"idea {idea_id} is {row.status}")
                if row.author_telegram_id == telegram_id:
                    raise InvalidChange("one's own idea")
                added = await insert_ignoring_conflict(
                    session,
                    IdeaSupport,
                    {"idea_id": idea_id, "telegram_id": telegram_id, "created_at": self._clock()},
                )
                # Counted only when this insert made the row: a concurrent tap of the same
                # resident inserted it otherwise, and counted it.
                if added:
                    await _add_supporters(session, [idea_id], 1)
                # Inserted now, or by a concurrent tap of the same resident: supporting either way.
                supporting = True
            return supporting

        supporting = await self._retrying(work)
        # Counted after the commit, so the last of many simultaneous taps sees all of them
        # (inside the transaction PostgreSQL wouldn't see peers that haven't committed yet).
        async with self._sessions() as session:
            count = await self._count(session, idea_id)
        if supporting:
            await self._maybe_milestone(idea_id, count)
        return supporting, count

    async def supports(self, idea_id: int, telegram_id: int) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(IdeaSupport.idea_id).where(
                    IdeaSupport.idea_id == idea_id, IdeaSupport.telegram_id == telegram_id
                )
            )
            return found is not None

    # coordinators -----------------------------------------------------------------------

    async def get(self, actor: Actor, idea_id: int) -> IdeaView | None:
        """An idea on the board, for anyone; one not (yet) published only for coordinators."""
        view = await self._get(idea_id)
        if view is None or not ((view.published and not view.hidden) or actor.is_staff):
            return None
        if actor.is_staff:
            async with self._sessions() as session:
                (view,) = await self._named(session, [view])
        return view

    async def machine_translation(self, actor: Actor, idea_id: int, locale: str) -> str | None:
        """The idea's text in ``locale`` by the machine translator, for a coordinator reading
        it beside the original (the dashboard); None without a provider, in the idea's own
        language, or when the provider fails. Nothing is stored: it is a reading aid."""
        require_staff(actor, "idea.moderate")
        view = await self._get(idea_id)
        if view is None or self._machine is None or not view.text or view.locale == locale:
            return None
        return await self._machine.translate(view.text, view.locale, locale)

    async def _get(self, idea_id: int) -> IdeaView | None:
        async with self._sessions() as session:
            found = await self._views(session, self._select().where(Idea.id == idea_id))
        return found[0] if found else None

    async def inbox(
        self, actor: Actor, *, statuses: Collection[IdeaStatus] | None = None, limit: int = 20
    ) -> list[IdeaView]:
        require_staff(actor, "idea.moderate")
        wanted = list(statuses) if statuses is not None else list(INBOX_DEFAULT)
        async with self._sessions() as session:
            views = await self._views(
                session,
                self._select()
                .where(Idea.status.in_(wanted))
                .order_by(Idea.created_at.desc(), Idea.id.desc())
                .limit(max(0, limit)),
            )
            return await self._named(session, views)

    async def inbox_count(
        self, actor: Actor, *, statuses: Collection[IdeaStatus] | None = None
    ) -> int:
        """How many ideas ``inbox`` holds (received and under review, unless told)."""
        require_staff(actor, "idea.moderate")
        wanted = list(statuses) if statuses is not None else list(INBOX_DEFAULT)
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(Idea).where(Idea.status.in_(wanted))
            )
            return int(count or 0)

    async def author_locale(self, idea_id: int) -> str:
        """The author's language (their current one, else the idea's), never who they are."""
        async with self._sessions() as session:
            author = await self._author(session, idea_id)
        if author is not None:
            return author[1]
        view = await self._get(idea_id)
        assert view is not None  # _author raised IdeaNotFound otherwise
        return view.locale

    async def publish(self, actor: Actor, idea_id: int) -> IdeaView:
        """Put an idea on the board (a new one goes under review) and tell its author."""
        require_staff(actor, "idea.moderate")

        async def work(session: AsyncSession) -> IdeaView:
            row = await self._row(session, idea_id)
            if row.published or row.status in OFF_BOARD:
                raise InvalidChange(f"idea {idea_id} is {row.status}, published={row.published}")
            claimed = await session.execute(
                update(Idea)
                .where(Idea.id == idea_id, Idea.published.is_(False), Idea.status == row.status)
                .values(
                    published=True,
                    status=IdeaStatus.UNDER_REVIEW
                    if row.status == IdeaStatus.RECEIVED
                    else row.status,
                    updated_at=self._clock(),
                )
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                raise InvalidChange(f"idea {idea_id} changed meanwhile")
            named = await self._reported(
                session, idea_id, f"idea:{idea_id}:published", self.renderer.published
            )
            await AuditLog(self._clock).record(session, actor, "idea.publish", "idea", idea_id)
            return named

        return await self._retrying(work)

    async def _change_status(
        self,
        session: AsyncSession,
        row: Idea,
        status: IdeaStatus,
        **values: Any,
    ) -> int:
        """Move ``row`` to ``status`` if nobody changed it meanwhile; returns the change's
        number (for its outbox source)."""
        claimed = await session.execute(
            update(Idea)
            .where(Idea.id == row.id, Idea.status == row.status)
            .values(
                status=status,
                status_changes=Idea.status_changes + 1,
                updated_at=self._clock(),
                **values,
            )
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            raise InvalidChange(f"idea {row.id} changed meanwhile")
        fresh = await self._row(session, row.id)
        return fresh.status_changes

    async def set_status(
        self, actor: Actor, idea_id: int, status: IdeaStatus, *, reason: str | None = None
    ) -> IdeaView:
        require_staff(actor, "idea.moderate")
        status = IdeaStatus(status)
        if status not in SETTABLE:
            raise InvalidChange(f"status {status} is not set by hand")
        if status in NEEDS_REASON and reason not in REJECT_REASONS:
            raise InvalidChange(f"{status} needs a reason from {REJECT_REASONS}")

        async def work(session: AsyncSession) -> IdeaView:
            row = await self._row(session, idea_id)
            if row.status == status or row.status == IdeaStatus.MERGED:
                raise InvalidChange(f"idea {idea_id} is {row.status}")
            values: dict[str, Any] = {"reason": reason if status in NEEDS_REASON else None}
            if status == IdeaStatus.REJECTED:
                values["published"] = False
            number = await self._change_status(session, row, status, **values)
            named = await self._reported(
                session, idea_id, f"idea:{idea_id}:status:{number}", self.renderer.status_changed
            )
            await AuditLog(self._clock).record(
                session,
                actor,
                "idea.status",
                "idea",
                idea_id,
                {"status": status.value, "reason": values["reason"]},
            )
            return named

        return await self._retrying(work)

    async def merge(self, actor: Actor, idea_id: int, into_id: int) -> IdeaView:
        """Mark ``idea_id`` a duplicate of ``into_id``; its supporters support ``into_id`` now."""
        require_staff(actor, "idea.moderate")
        if idea_id == into_id:
            raise InvalidChange("an idea can't be merged into itself")

        async def work(session: AsyncSession) -> tuple[IdeaView, int]:
            row = await self._row(session, idea_id)
            into = await session.get(Idea, into_id, populate_existing=True)
            if into is None:
                raise IdeaNotFound(str(into_id))
            if row.status == IdeaStatus.MERGED or into.status in OFF_BOARD:
                raise InvalidChange(
                    f"merge {idea_id} ({row.status}) into {into_id} ({into.status})"
                )
            number = await self._change_status(
                session,
                row,
                IdeaStatus.MERGED,
                merged_into_id=into_id,
                published=False,
                reason="duplicate",
            )
            # One INSERT ... SELECT, so its row count is exactly the supports ``into`` gained
            # (those who supported both count once).
            dialect = session.get_bind().dialect.name
            moved = await session.execute(
                insert_ignoring_conflicts(dialect, IdeaSupport.__table__).from_select(
                    ["idea_id", "telegram_id", "created_at"],
                    select(
                        literal(into_id, Integer), IdeaSupport.telegram_id, IdeaSupport.created_at
                    ).where(
                        IdeaSupport.idea_id == idea_id,
                        IdeaSupport.telegram_id != into.author_telegram_id,
                    ),
                )
            )
            await _add_supporters(session, [into_id], int(moved.rowcount or 0))  # type: ignore[attr-defined]
            await session.execute(delete(IdeaSupport).where(IdeaSupport.idea_id == idea_id))
            await session.execute(
                update(Idea)
                .where(Idea.id == idea_id)
                .values(supporters_count=0)
                .execution_options(synchronize_session=False)
            )
            named = await self._reported(
                session, idea_id, f"idea:{idea_id}:status:{number}", self.renderer.status_changed
            )
            await AuditLog(self._clock).record(
                session, actor, "idea.merge", "idea", idea_id, {"into": into_id}
            )
            return named, await self._count(session, into_id)

        view, into_supporters = await self._retrying(work)
        await self._maybe_milestone(into_id, into_supporters)
        return view

    # reports ----------------------------------------------------------------------------

    async def report(self, idea_id: int, telegram_id: int) -> ReportResult:
        """A resident reports a public idea, once (the primary key of ``idea_reports`` and an
        insert that ignores conflicts make a double tap harmless). The report that reaches
        ``REPORTS_TO_HIDE`` takes it off the board and tells every coordinator, in the same
        transaction; later reports change nothing until a coordinator has looked."""

        async def work(session: AsyncSession) -> ReportResult:
            # The write comes first: it takes the idea's row lock (on SQLite the database's
            # write lock), so concurrent reports are counted one after another.
            touched = await session.execute(
                update(Idea)
                .where(Idea.id == idea_id)
                .values(updated_at=Idea.updated_at)
                .execution_options(synchronize_session=False)
            )
            if not touched.rowcount:  # type: ignore[attr-defined]
                raise IdeaNotFound(str(idea_id))
            row = await self._row(session, idea_id)
            if not row.published or row.status in OFF_BOARD or row.hidden_at is not None:
                raise IdeaNotFound(str(idea_id))
            if row.author_telegram_id == telegram_id:
                raise InvalidChange("one's own idea")
            added = await insert_ignoring_conflict(
                session,
                IdeaReport,
                {
                    "idea_id": idea_id,
                    "reporter_telegram_id": telegram_id,
                    "created_at": self._clock(),
                },
            )
            reports = await self._reports(session, idea_id)
            if not added or reports < REPORTS_TO_HIDE:
                return ReportResult(added, hidden=False)
            now = self._clock()
            claimed = await session.execute(
                update(Idea)
                .where(Idea.id == idea_id, Idea.hidden_at.is_(None))
                .values(hidden_at=now)
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return ReportResult(added, hidden=False)
            view = await self._view_of(session, await self._row(session, idea_id))
            (named,) = await self._named(session, [view])
            await self._tell_staff_reported(session, named, reports, now)
            return ReportResult(added, hidden=True)

        return await self._retrying(work)

    async def _reports(self, session: AsyncSession, idea_id: int) -> int:
        count = await session.scalar(
            select(func.count()).select_from(IdeaReport).where(IdeaReport.idea_id == idea_id)
        )
        return int(count or 0)

    async def _tell_staff_reported(
        self, session: AsyncSession, idea: IdeaView, reports: int, at: datetime
    ) -> None:
        """Every coordinator hears that an idea was hidden after reports, with buttons to keep
        it public or hide it for good (one source per hiding, so each is told once)."""
        staff = await self._staff.recipients(session)
        if not staff:
            return
        locales = sorted({locale for _chat, locale in staff})
        await self._delivery.enqueue(
            source=f"idea:{idea.id}:reported:{int(at.timestamp())}",
            kind=IDEA_KIND,
            broadcast_id=None,
            payloads={locale: self.renderer.reported(idea, reports, locale) for locale in locales},
            fallback_locale=locales[0],
            recipients=[Recipient(chat, locale) for chat, locale in staff],
            session=session,
        )

    async def reported(self, actor: Actor, *, limit: int = 20) -> list[IdeaView]:
        """Ideas hidden after reports, waiting for a coordinator's look (newest first)."""
        require_staff(actor, "idea.moderate")
        async with self._sessions() as session:
            views = await self._views(
                session,
                self._select()
                .where(Idea.hidden_at.is_not(None))
                .order_by(Idea.hidden_at.desc(), Idea.id.desc())
                .limit(max(0, limit)),
            )
            return await self._named(session, views)

    async def keep_reported(self, actor: Actor, idea_id: int) -> IdeaView:
        """A coordinator looked and keeps a hidden idea public: back on the board, its
        reports cleared (so neighbours can report it anew)."""
        require_staff(actor, "idea.moderate")

        async def work(session: AsyncSession) -> IdeaView:
            claimed = await session.execute(
                update(Idea)
                .where(Idea.id == idea_id, Idea.hidden_at.is_not(None))
                .values(hidden_at=None, updated_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                await self._row(session, idea_id)  # IdeaNotFound for an unknown one
                raise InvalidChange(f"idea {idea_id} is not hidden")
            await session.execute(delete(IdeaReport).where(IdeaReport.idea_id == idea_id))
            view = await self._view_of(session, await self._row(session, idea_id))
            (named,) = await self._named(session, [view])
            return named

        return await self._retrying(work)

    async def hide_reported(self, actor: Actor, idea_id: int) -> IdeaView:
        """A coordinator takes a public idea off the board for good (unpublished, its reports
        cleared); it stays in the inbox and can be published again by hand."""
        require_staff(actor, "idea.moderate")

        async def work(session: AsyncSession) -> IdeaView:
            claimed = await session.execute(
                update(Idea)
                .where(Idea.id == idea_id, Idea.published.is_(True))
                .values(published=False, hidden_at=None, updated_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                await self._row(session, idea_id)
                raise InvalidChange(f"idea {idea_id} is not public")
            await session.execute(delete(IdeaReport).where(IdeaReport.idea_id == idea_id))
            view = await self._view_of(session, await self._row(session, idea_id))
            (named,) = await self._named(session, [view])
            return named

        return await self._retrying(work)

    # privacy ----------------------------------------------------------------------------

    async def forget_author(self, telegram_id: int) -> None:
        """A resident deleted their data: their ideas lose their author, their support goes."""

        async def work(session: AsyncSession) -> None:
            await session.execute(
                update(Idea)
                .where(Idea.author_telegram_id == telegram_id)
                .values(author_telegram_id=FORGOTTEN, anonymous=True)
                .execution_options(synchronize_session=False)
            )
            await withdraw_supports(session, telegram_id)
            await session.execute(
                delete(IdeaReport).where(IdeaReport.reporter_telegram_id == telegram_id)
            )

        await self._retrying(work)
