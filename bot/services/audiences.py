"""Who receives news, and when: the audience filters of every domain, and quiet hours.

An audience is a JSON object whose keys are filters, combined with AND; a list value matches
any of its entries (Turkish OR Arabic speakers; following children OR seniors). Broadcasts,
event announcements and group messages all select their recipients here, so a new kind of
audience is one filter in ``AUDIENCE_FILTERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.delivery.consent import (
    BROADCAST_KIND,
    DIGEST_KIND,
    LEAD_KIND,
    SERVICE_KIND,
)
from bot.services.permissions import STAFF_ROLES
from storage.models import (
    Ban,
    Group,
    GroupMember,
    HelpSlot,
    IdeaSupport,
    Resident,
    ResidentStatus,
    ResidentTopic,
    RoleAssignment,
    Signup,
    SignupStatus,
    SlotHolder,
)

#: What is being sent decides whose opt-in counts (the purposes of
#: bot/services/delivery/consent.py): news (broadcasts) or the weekly digest; a group lead's
#: message to their group's people (lead contact); a coordinator's message to the people of
#: an event, an idea or a group (service: it is about what they signed up for).
BROADCAST = BROADCAST_KIND
DIGEST = DIGEST_KIND
LEAD = LEAD_KIND
SERVICE = SERVICE_KIND

#: Audience keys that name people by what they take part in, not by their interests.
PERSONAL_KEYS = frozenset(
    {"event_attendees", "event_waitlist", "idea_supporters", "group_members", "slot_holders"}
)
GROUP_KEYS = ("group_members", "slot_holders")

AudienceFilter = Callable[[Select[Any], Any], Select[Any]]


def _by_locales(statement: Select[Any], locales: Any) -> Select[Any]:
    return statement.where(Resident.locale.in_(list(locales))) if locales else statement


def _by_topics(statement: Select[Any], topics: Any) -> Select[Any]:
    if not topics:
        return statement
    follows = exists().where(
        ResidentTopic.resident_id == Resident.id, ResidentTopic.topic.in_(list(topics))
    )
    return statement.where(follows)


def _event_ids(value: Any) -> list[int]:
    values = value if isinstance(value, list | tuple | set) else [value]
    return [int(v) for v in values if str(v).lstrip("-").isdigit()]


def _by_signup(status: SignupStatus) -> AudienceFilter:
    """Residents with a sign-up of this status for the event(s) given as the value."""

    def apply(statement: Select[Any], value: Any) -> Select[Any]:
        signed_up = exists().where(
            Signup.telegram_id == Resident.telegram_id,
            Signup.event_id.in_(_event_ids(value)),
            Signup.status == status,
        )
        return statement.where(signed_up)

    return apply


def _by_idea_support(statement: Select[Any], value: Any) -> Select[Any]:
    """Residents who support the idea(s) given as the value."""
    supports = exists().where(
        IdeaSupport.telegram_id == Resident.telegram_id,
        IdeaSupport.idea_id.in_(_event_ids(value)),
    )
    return statement.where(supports)


def _by_group_membership(statement: Select[Any], value: Any) -> Select[Any]:
    """Members of the group(s) given as the value."""
    member = exists().where(
        GroupMember.telegram_id == Resident.telegram_id,
        GroupMember.group_id.in_(_event_ids(value)),
    )
    return statement.where(member)


def _by_slot_holding(statement: Select[Any], value: Any) -> Select[Any]:
    """Residents holding any help slot of the group(s) given as the value."""
    holds = exists().where(
        SlotHolder.telegram_id == Resident.telegram_id,
        SlotHolder.slot_id == HelpSlot.id,
        HelpSlot.group_id.in_(_event_ids(value)),
    )
    return statement.where(holds)


#: Audience keys and the SQL filter each adds. Filters combine with AND; a resident matches a
#: list filter when they match any entry (e.g. Turkish OR Arabic speakers, following children
#: OR seniors).
AUDIENCE_FILTERS: dict[str, AudienceFilter] = {
    "locales": _by_locales,
    "topics": _by_topics,
    # Value: an event id (or a list): its confirmed attendees / its waiting list.
    "event_attendees": _by_signup(SignupStatus.CONFIRMED),
    "event_waitlist": _by_signup(SignupStatus.WAITLISTED),
    # Value: an idea id (or a list): its supporters.
    "idea_supporters": _by_idea_support,
    # Value: a group id (or a list): its members / residents holding any of its help slots.
    "group_members": _by_group_membership,
    "slot_holders": _by_slot_holding,
}


def purpose_kind(kind: str, audience: Mapping[str, Any]) -> str:
    """The delivery kind a message of ``kind`` to ``audience`` goes out as: a broadcast to
    people named by what they take part in (an event's attendees, a group's members) is a
    service message, not news; the digest and a lead's message (``LEAD``) stay what they are.
    """
    if kind == BROADCAST and set(audience) & PERSONAL_KEYS:
        return SERVICE
    return kind


async def broadcast_kind(
    session: AsyncSession, kind: str, audience: Mapping[str, Any], author: int
) -> str:
    """The purpose a broadcast is sent under, decided when it goes out: written by the lead of
    every group its audience names, it is lead contact (``LEAD``), whoever else holds a role;
    a coordinator's to the same people is a service message (``purpose_kind``)."""
    kind = purpose_kind(kind, audience)
    if kind != SERVICE:
        return kind
    groups = {int(g) for key in GROUP_KEYS for g in _event_ids(audience.get(key) or [])}
    if groups:
        led = await session.scalar(
            select(func.count())
            .select_from(Group)
            .where(Group.id.in_(groups), Group.lead_telegram_id == author)
        )
        if int(led or 0) == len(groups):
            return LEAD
    return SERVICE


def _opted_in(kind: str) -> Any:
    if kind == DIGEST:
        return Resident.digest_opt_in
    if kind == LEAD:
        return Resident.lead_contact_opt_in
    if kind == SERVICE:
        return Resident.service_opt_in
    return Resident.broadcast_opt_in


def audience_statement(
    columns: Sequence[Any], audience: Mapping[str, Any], kind: str
) -> Select[Any]:
    """Who receives a message of ``kind`` (a delivery kind, or ``BROADCAST`` for any
    broadcast: see ``purpose_kind``), each with the consent its purpose needs."""
    opted_in = _opted_in(purpose_kind(kind, audience))
    statement = select(*columns).where(Resident.status == ResidentStatus.ACTIVE, opted_in)
    # A banned person gets no news while the ban lasts (bot/services/moderation.py).
    statement = statement.where(~exists().where(Ban.telegram_id == Resident.telegram_id))
    for key, value in audience.items():
        if key in AUDIENCE_FILTERS:
            statement = AUDIENCE_FILTERS[key](statement, value)
    return statement


# --- quiet hours ---------------------------------------------------------------------------


def quiet_until(
    moment: datetime, tz: tzinfo, start_minute: int, end_minute: int
) -> datetime | None:
    """When a resident's quiet hours end, if ``moment`` falls inside them; else None.

    Hours are local minutes after midnight; start == end means no quiet hours. A window may wrap
    around midnight (21:00-08:00).
    """
    if start_minute == end_minute:
        return None
    local = moment.astimezone(tz)
    minute = local.hour * 60 + local.minute
    wraps = start_minute > end_minute
    inside = (
        (minute >= start_minute or minute < end_minute)
        if wraps
        else start_minute <= minute < end_minute
    )
    if not inside:
        return None
    end = time(end_minute // 60, end_minute % 60)
    day = local.date()
    if wraps and minute >= start_minute:
        day += timedelta(days=1)
    # Build the wall-clock end in the zone (fold=0), so a DST change that night is respected.
    return datetime.combine(day, end, tzinfo=tz)


@dataclass(frozen=True)
class StaffAudience:
    """Who hears of what waits for a coordinator (new ideas, partners' proposals): everyone
    holding a staff role and the configured admins, each in their language."""

    admin_ids: frozenset[int] = frozenset()
    default_locale: str = "de"

    async def recipients(self, session: AsyncSession) -> list[tuple[int, str]]:
        granted = select(RoleAssignment.telegram_id).where(RoleAssignment.role.in_(STAFF_ROLES))
        ids = {int(telegram_id) for telegram_id in await session.scalars(granted)}
        ids |= self.admin_ids
        if not ids:
            return []
        known = await session.execute(
            select(Resident.telegram_id, Resident.locale).where(Resident.telegram_id.in_(ids))
        )
        locales = {int(telegram_id): str(locale) for telegram_id, locale in known}
        return [(chat, locales.get(chat, self.default_locale)) for chat in sorted(ids)]
