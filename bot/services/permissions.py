"""Who may do what: the one place the rules live, for the bot and the dashboard alike.

An ``Actor`` is loaded once per update (or web request) from the database: the person's id, their
roles and the groups they lead. Every service method that changes something, or shows something
that is not public, takes the actor and asks one of the functions below; a refusal is a
``NotAllowed`` that the caller turns into words. Hiding a button is a courtesy, never the check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.models import EventStatus, Role

__all__ = [
    "ANONYMOUS",
    "Actor",
    "NotAllowed",
    "leads",
    "may_compose_to",
    "may_edit_event",
    "may_grant",
    "may_lead",
    "may_see_event",
    "may_see_signups",
    "require",
    "require_staff",
]

STAFF_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR})

#: Audience keys a group's lead may use, as long as every group named is theirs.
LEAD_AUDIENCE_KEYS = frozenset({"group_members", "slot_holders", "locales", "topics"})
LEAD_GROUP_KEYS = ("group_members", "slot_holders")


class NotAllowed(PermissionError):
    """The actor may not do this; ``action`` names what was refused (for logs and messages)."""

    def __init__(self, action: str) -> None:
        super().__init__(f"not allowed: {action}")
        self.action = action


@dataclass(frozen=True)
class Actor:
    """Who is acting: ``telegram_id`` None is someone unknown (not registered, no roles)."""

    telegram_id: int | None
    roles: frozenset[Role] = frozenset()
    led_groups: frozenset[int] = field(default_factory=frozenset)
    registered: bool = False

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_partner(self) -> bool:
        return Role.PARTNER in self.roles

    @property
    def is_translator(self) -> bool:
        return Role.TRANSLATOR in self.roles

    def is_person(self, telegram_id: int | None) -> bool:
        return self.telegram_id is not None and self.telegram_id == telegram_id


ANONYMOUS = Actor(None)


def require(allowed: bool, action: str) -> None:
    if not allowed:
        raise NotAllowed(action)


def require_staff(actor: Actor, action: str) -> None:
    require(actor.is_staff, action)


def may_lead(actor: Actor, group_id: int) -> bool:
    """Coordinators act for every group; a lead for the groups they lead."""
    return actor.is_staff or group_id in actor.led_groups


def leads(actor: Actor, lead_telegram_id: int | None) -> bool:
    """For a group row at hand: coordinators, or the person who leads it now."""
    return actor.is_staff or actor.is_person(lead_telegram_id)


def may_compose_to(actor: Actor, audience: Mapping[str, Any]) -> bool:
    """Coordinators write to anyone; a group's lead only to their own groups' people.

    Called when a draft is made, on every change of its audience and again, under the draft's
    row lock, when it is sent: so an "Everyone" tapped at the same moment as "Send" can't widen
    a lead's audience.
    """
    if actor.is_staff:
        return True
    if actor.telegram_id is None or set(audience) - LEAD_AUDIENCE_KEYS:
        return False
    groups = [int(g) for key in LEAD_GROUP_KEYS for g in (audience.get(key) or [])]
    return bool(groups) and all(group in actor.led_groups for group in groups)


#: Statuses a partner's own event can be edited in (published ones go back for approval).
PARTNER_EDITABLE = frozenset({EventStatus.PROPOSED, EventStatus.PUBLISHED, EventStatus.REJECTED})


def may_edit_event(actor: Actor, created_by: int, status: EventStatus) -> bool:
    if actor.is_staff:
        return True
    return actor.is_partner and actor.is_person(created_by) and status in PARTNER_EDITABLE


def may_translate(actor: Actor) -> bool:
    """Volunteer translators take translation tasks (into their own language)."""
    return actor.telegram_id is not None and actor.is_translator


def may_see_event(actor: Actor, created_by: int, status: EventStatus) -> bool:
    """Published and cancelled events are public; drafts and proposals only to their makers."""
    if status in (EventStatus.PUBLISHED, EventStatus.CANCELLED):
        return True
    return actor.is_staff or (actor.is_partner and actor.is_person(created_by))


#: Who may hand out (invite to) and take away which role: least privilege. Admins every role;
#: coordinators only partner and translator, so no coordinator can make another coordinator
#: or an admin (nor take those roles away).
GRANTABLE_BY: Mapping[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.COORDINATOR: frozenset({Role.PARTNER, Role.TRANSLATOR}),
}


def grantable(actor: Actor) -> frozenset[Role]:
    """The roles this actor may invite to or revoke."""
    found: frozenset[Role] = frozenset()
    for role in actor.roles:
        found |= GRANTABLE_BY.get(role, frozenset())
    return found if actor.telegram_id is not None else frozenset()


def may_grant(actor: Actor, role: Role) -> bool:
    """Invite someone to ``role``, or revoke it from them."""
    return role in grantable(actor)


def may_see_signups(actor: Actor, created_by: int) -> bool:
    """Who comes, with their first names: coordinators, and a partner on its own event."""
    return actor.is_staff or (actor.is_partner and actor.is_person(created_by))
