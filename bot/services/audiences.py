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
from functools import lru_cache
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

# The tables' own columns, not the ORM's attributes: a statement made of these runs without
# the ORM's row loading, which cost more than the query itself for a broadcast to everyone
# (bench/bench_scale.py). The rows read the same (tuples by position and name).
_residents = Resident.__table__.c
_topics = ResidentTopic.__table__.c
_signups = Signup.__table__.c
_supports = IdeaSupport.__table__.c
_members = GroupMember.__table__.c
_holders = SlotHolder.__table__.c
_slots = HelpSlot.__table__.c
_bans = Ban.__table__.c


def _core(column: Any) -> Any:
    """A resident's column as the table's (``Resident.locale`` -> ``residents.locale``);
    anything else (``func.count()``) as it is."""
    if getattr(column, "class_", None) is Resident:
        return _residents[column.key]
    return column


def _by_locales(statement: Select[Any], locales: Any) -> Select[Any]:
    return statement.where(_residents.locale.in_(list(locales))) if locales else statement


def _by_topics(statement: Select[Any], topics: Any) -> Select[Any]:
    if not topics:
        return statement
    follows = exists().where(_topics.resident_id == _residents.id, _topics.topic.in_(list(topics)))
    return statement.where(follows)


def _event_ids(value: Any) -> list[int]:
    values = value if isinstance(value, list | tuple | set) else [value]
    return [int(v) for v in values if str(v).lstrip("-").isdigit()]


def _by_signup(status: SignupStatus) -> AudienceFilter:
    """Residents with a sign-up of this status for the event(s) given as the value."""

    def apply(statement: Select[Any], value: Any) -> Select[Any]:
        signed_up = exists().where(
            _signups.telegram_id == _residents.telegram_id,
            _signups.event_id.in_(_event_ids(value)),
            _signups.status == status,
        )
        return statement.where(signed_up)

    return apply


def _by_idea_support(statement: Select[Any], value: Any) -> Select[Any]:
    """Residents who support the idea(s) given as the value."""
    supports = exists().where(
        _supports.telegram_id == _residents.telegram_id,
        _supports.idea_id.in_(_event_ids(value)),
    )
    return statement.where(supports)


def _by_group_membership(statement: Select[Any], value: Any) -> Select[Any]:
    """Members of the group(s) given as the value."""
    member = exists().where(
        _members.telegram_id == _residents.telegram_id,
        _members.group_id.in_(_event_ids(value)),
    )
    return statement.where(member)


def _by_slot_holding(statement: Select[Any], value: Any) -> Select[Any]:
    """Residents holding any help slot of the group(s) given as the value."""
    holds = exists().where(
        _holders.telegram_id == _residents.telegram_id,
        _holders.slot_id == _slots.id,
        _slots.group_id.in_(_event_ids(value)),
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
        return _residents.digest_opt_in
    if kind == LEAD:
        return _residents.lead_contact_opt_in
    if kind == SERVICE:
        return _residents.service_opt_in
    return _residents.broadcast_opt_in


def audience_statement(
    columns: Sequence[Any], audience: Mapping[str, Any], kind: str
) -> Select[Any]:
    """Who receives a message of ``kind`` (a delivery kind, or ``BROADCAST`` for any
    broadcast: see ``purpose_kind``), each with the consent its purpose needs."""
    opted_in = _opted_in(purpose_kind(kind, audience))
    statement = select(*(_core(column) for column in columns)).where(
        _residents.status == ResidentStatus.ACTIVE, opted_in
    )
    # A banned person gets no news while the ban lasts (bot/services/moderation.py).
    statement = statement.where(~exists().where(_bans.telegram_id == _residents.telegram_id))
    for key, value in audience.items():
        if key in AUDIENCE_FILTERS:
            statement = AUDIENCE_FILTERS[key](statement, value)
    return statement


# --- quiet hours ---------------------------------------------------------------------------


# Pure, and asked once per recipient of a broadcast with nearly always the same arguments (the
# moment, the zone, the default hours): converting the moment 100,000 times cost more than
# selecting the recipients.
@lru_cache(maxsize=1024)
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
