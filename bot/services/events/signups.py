"""Signing up with companions and needs, registration codes, cancelling, the waiting list
(freed seats go to it at once, strictly first come, first served), and the coordinators' side:
who comes (with their first names, for the organiser and the coordinators), check-in at the
door. The spreadsheet of who comes is written by ``bot.sheets`` from ``attendees``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.events.core import EventCore
from bot.services.events.reminders import reminder_source, still_source
from bot.services.events.views import (
    ACTIVE,
    CODE_ALPHABET,
    CODE_LENGTH,
    FILL_LEVELS,
    MAX_PARTY,
    AlreadySignedUp,
    AttendeeSummary,
    CancelResult,
    EventFull,
    EventNotFound,
    EventView,
    InvalidParty,
    NotSignedUp,
    SignupClosed,
    SignupResult,
    SignupView,
    TextTooLong,
)
from bot.services.permissions import Actor, may_see_signups, require, require_staff
from storage.models import Event, EventStatus, Resident, Signup, SignupStatus


def _check_party(adults: int, children: int) -> None:
    if not (1 <= adults <= MAX_PARTY and 0 <= children <= MAX_PARTY):
        raise InvalidParty(f"{adults} adults, {children} children")
    if adults + children > MAX_PARTY:
        raise InvalidParty(f"party of {adults + children}")


class WaitingList(EventCore):
    """Freed seats go to the waiting list at once: a cancelled sign-up here, a raised capacity in
    ``Publishing.update``."""

    async def _promote(self, session: AsyncSession, row: Event) -> list[SignupView]:
        """Move waiting-list parties up while they fit (strictly first come, first served).

        ``row`` is the event, locked by the caller's transaction."""
        if row.status != EventStatus.PUBLISHED:
            return []
        taken, _ = (await self._counts(session, [row.id])).get(row.id, (0, 0))
        waiting = await session.scalars(
            select(Signup)
            .where(Signup.event_id == row.id, Signup.status == SignupStatus.WAITLISTED)
            .order_by(Signup.created_at, Signup.id)
        )
        promoted = []
        for signup in waiting:
            party = signup.adults + signup.children
            if row.capacity and taken + party > row.capacity:
                break
            signup.status = SignupStatus.CONFIRMED
            signup.updated_at = self._clock()
            taken += party
            promoted.append(signup)
        await session.flush()
        return [SignupView.of(s) for s in promoted]

    async def _after_promotion(
        self, session: AsyncSession, event: EventView, promoted: Sequence[SignupView]
    ) -> None:
        """Tell whoever moved up and queue their reminders, in the promotion's transaction."""
        for signup in promoted:
            prefix = f"event:{event.id}:promoted:{signup.id}:"
            number = await self._reminders.next_number(session, prefix)
            await self._reminders.tell(
                session, f"{prefix}{number}", [signup], self._promoted_notice(event, signup)
            )
        await self._reminders.queue(session, event, promoted)

    def _promoted_notice(
        self, event: EventView, signup: SignupView
    ) -> Callable[[str], dict[str, Any]]:
        return lambda locale: self.renderer.promoted(event, signup, locale)


class Signups(WaitingList):
    """A resident's sign-ups, each counted and written under the event's row lock, and the
    coordinators' view of them."""

    # signing up -------------------------------------------------------------------------------

    def _check_open(self, row: Event, now: datetime) -> None:
        if row.status != EventStatus.PUBLISHED or row.starts_at is None or row.starts_at <= now:
            raise SignupClosed(str(row.id))
        if row.signup_opens_at is not None and now < row.signup_opens_at:
            raise SignupClosed(str(row.id))
        if row.signup_closes_at is not None and now >= row.signup_closes_at:
            raise SignupClosed(str(row.id))

    async def _new_code(self, session: AsyncSession, event_id: int) -> str:
        taken = set(await session.scalars(select(Signup.code).where(Signup.event_id == event_id)))
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if code not in taken:
                return code

    async def sign_up(
        self,
        event_id: int,
        telegram_id: int,
        locale: str,
        *,
        adults: int = 1,
        children: int = 0,
        interpreter_locale: str | None = None,
        childcare: bool = False,
        wheelchair: bool = False,
        note: str | None = None,
        waitlist: bool = False,
        within: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> SignupResult:
        """Sign up (or join the waiting list), with the reminders and fill alerts it causes.

        ``within`` is written in the sign-up's own transaction, after the sign-up: this service
        still opens and commits it, the hook only adds to it (``ChatStateService.ending``
        ends the flow the sign-up concludes). Both commit together or not at all: a refusal
        here (full, closed, already signed up) leaves the hook unrun, and a hook that raises
        rolls the sign-up back."""
        _check_party(adults, children)
        if note is not None and len(note) > 500:
            raise TextTooLong(500)
        party = adults + children

        async def work(session: AsyncSession) -> SignupResult:
            now = self._clock()
            row = await self._lock_event(session, event_id)
            if row is None:
                raise EventNotFound(str(event_id))
            self._check_open(row, now)
            existing = await session.scalar(
                select(Signup).where(Signup.event_id == event_id, Signup.telegram_id == telegram_id)
            )
            if existing is not None and existing.status in ACTIVE:
                raise AlreadySignedUp(SignupView.of(existing))
            taken, _ = (await self._counts(session, [event_id])).get(event_id, (0, 0))
            status = SignupStatus.CONFIRMED
            if row.capacity and party > row.capacity - taken:
                if not waitlist:
                    raise EventFull(max(0, row.capacity - taken))
                status = SignupStatus.WAITLISTED
            values: dict[str, Any] = dict(
                locale=locale,
                status=status,
                adults=adults,
                children=children,
                interpreter_locale=interpreter_locale,
                childcare=childcare,
                wheelchair=wheelchair,
                note=note,
                checked_in_at=None,
                created_at=now,  # a renewed sign-up queues at the back
                updated_at=now,
            )
            if existing is None:
                signup = Signup(
                    event_id=event_id,
                    telegram_id=telegram_id,
                    code=await self._new_code(session, event_id),
                    **values,
                )
                session.add(signup)
            else:
                signup = existing
                for key, value in values.items():
                    setattr(signup, key, value)
            await session.flush()
            crossed: tuple[int, ...] = ()
            if status == SignupStatus.CONFIRMED and row.capacity:
                filled = (taken + party) * 100 / row.capacity
                already = set(row.alerted_levels or [])
                crossed = tuple(lvl for lvl in FILL_LEVELS if filled >= lvl and lvl not in already)
                if crossed:
                    row.alerted_levels = sorted(already | set(crossed))
            await session.flush()
            view = EventView.of(row, taken + (party if status == SignupStatus.CONFIRMED else 0))
            result = SignupResult(SignupView.of(signup), crossed)
            # In the same transaction: no sign-up without its reminders, nor the reverse.
            if status == SignupStatus.CONFIRMED:
                await self._reminders.queue(session, view, [result.signup])
            await self._reminders.alert_organiser(session, view, crossed)
            if within is not None:
                await within(session)
            return result

        return await self._locked(work)

    async def cancel_signup(self, event_id: int, telegram_id: int) -> CancelResult:
        async def work(session: AsyncSession) -> CancelResult:
            row = await self._lock_event(session, event_id)
            if row is None:
                raise EventNotFound(str(event_id))
            signup = await session.scalar(
                select(Signup).where(
                    Signup.event_id == event_id,
                    Signup.telegram_id == telegram_id,
                    Signup.status.in_(list(ACTIVE)),
                )
            )
            if signup is None:
                raise NotSignedUp(str(event_id))
            signup.status = SignupStatus.CANCELLED
            signup.updated_at = self._clock()
            await session.flush()
            cancelled = SignupView.of(signup)
            if row.starts_at is not None:
                await self._delivery.cancel_for_chat_in_sources(
                    telegram_id,
                    [
                        reminder_source(event_id, row.starts_at),
                        still_source(event_id, row.starts_at),
                    ],
                    session=session,
                )
            promoted = await self._promote(session, row)
            if promoted:
                await self._after_promotion(session, await self._view(session, row), promoted)
            return CancelResult(cancelled, tuple(promoted))

        return await self._locked(work)

    async def answer_still_coming(
        self, event_id: int, telegram_id: int, coming: bool
    ) -> CancelResult | None:
        if coming:
            return None
        try:
            return await self.cancel_signup(event_id, telegram_id)
        except NotSignedUp:
            return None

    async def my_signups(self, telegram_id: int) -> list[tuple[EventView, SignupView]]:
        now = self._clock()
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Event, Signup)
                    .join(Signup, Signup.event_id == Event.id)
                    .where(
                        Signup.telegram_id == telegram_id,
                        Signup.status.in_(list(ACTIVE)),
                        Event.status == EventStatus.PUBLISHED,
                        Event.starts_at > now,
                    )
                    .order_by(Event.starts_at, Event.id)
                )
            ).all()
            views = await self._views(session, [event for event, _ in rows])
            return [
                (view, SignupView.of(signup)) for view, (_, signup) in zip(views, rows, strict=True)
            ]

    async def signup_of(self, event_id: int, telegram_id: int) -> SignupView | None:
        """A resident's confirmed or waitlisted sign-up for an event, if any."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(Signup).where(
                    Signup.event_id == event_id,
                    Signup.telegram_id == telegram_id,
                    Signup.status.in_(list(ACTIVE)),
                )
            )
            return SignupView.of(row) if row else None

    # coordinators -------------------------------------------------------------------------------

    async def attendees(self, actor: Actor, event_id: int) -> AttendeeSummary:
        """Who comes, with first names: for coordinators, and a partner on its own events."""
        event = await self._require(event_id)
        require(may_see_signups(actor, event.created_by), "event.attendees")
        async with self._sessions() as session:
            signups = await self._active_signups(session, event_id)
            found = await session.execute(
                select(Resident.telegram_id, Resident.first_name).where(
                    Resident.telegram_id.in_({s.telegram_id for s in signups})
                )
            )
            names = {int(telegram_id): name for telegram_id, name in found}
        signups = [replace(s, first_name=names.get(s.telegram_id)) for s in signups]
        confirmed = tuple(s for s in signups if s.status == SignupStatus.CONFIRMED)
        waitlisted = tuple(s for s in signups if s.status == SignupStatus.WAITLISTED)
        interpreters: dict[str, int] = {}
        for s in confirmed:
            if s.interpreter_locale:
                interpreters[s.interpreter_locale] = interpreters.get(s.interpreter_locale, 0) + 1
        return AttendeeSummary(
            event=event,
            confirmed=confirmed,
            waitlisted=waitlisted,
            adults=sum(s.adults for s in confirmed),
            children=sum(s.children for s in confirmed),
            interpreters=interpreters,
            childcare=sum(1 for s in confirmed if s.childcare),
            wheelchair=sum(1 for s in confirmed if s.wheelchair),
            checked_in=sum(1 for s in confirmed if s.checked_in_at is not None),
        )

    async def check_in(self, actor: Actor, event_id: int, code: str) -> SignupView | None:
        require_staff(actor, "event.check_in")
        normalized = code.strip().upper()
        async with self._sessions.begin() as session:
            await session.execute(
                update(Signup)
                .where(
                    Signup.event_id == event_id,
                    Signup.code == normalized,
                    Signup.status == SignupStatus.CONFIRMED,
                    Signup.checked_in_at.is_(None),
                )
                .values(checked_in_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            row = await session.scalar(
                select(Signup).where(
                    Signup.event_id == event_id,
                    Signup.code == normalized,
                    Signup.status == SignupStatus.CONFIRMED,
                )
            )
            return SignupView.of(row) if row else None
