"""Consent at send time: a queued message goes only to someone who still wants its kind.

Every outbox row has a ``kind`` (and a ``source``); the purpose it serves decides whose consent
counts (docs/PRIVACY.md, "Consent"):

- **news**: broadcasts (``broadcast``), the weekly overview (``digest``) and an event's
  announcement (source ``event:<id>:announce``): ``broadcast_opt_in`` (``digest_opt_in`` for
  the overview);
- **lead contact**: a group's lead writing to its members or helpers (``lead``):
  ``lead_contact_opt_in``;
- **service**: messages about one's own sign-ups and groups: reminders (``reminder``), an
  event's notices (``event``, but for its announcement and the notices to its organiser and the
  coordinators), group notices (``group``) and a coordinator's message to the people of an
  event or group (``service``): ``service_opt_in``.

A news or lead-contact row goes only to a resident who still exists and still consents; a
service row is dropped only for a resident who turned service messages off (staff notices go
to people who may have no resident row). The engine asks once per claimed batch
(``withdrawn``) and marks those rows cancelled. Ideas, translations and other staff work
notices are none of these and always go.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Table, and_, exists, not_, or_, update
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement

from storage.models import DeliveryState, Resident

from .outbox import DELIVERIES

NEWS = "news"
LEAD_CONTACT = "lead_contact"
SERVICE = "service"
#: The three purposes, in the order the settings show them.
PURPOSES = (SERVICE, NEWS, LEAD_CONTACT)

#: Delivery kinds (bot/services/audiences.py names the first two too).
BROADCAST_KIND = "broadcast"
DIGEST_KIND = "digest"
LEAD_KIND = "lead"
SERVICE_KIND = "service"
#: Kinds whose rows are all service messages.
SERVICE_KINDS = ("reminder", "group", SERVICE_KIND)
#: An event's rows are service messages, but for these sources.
EVENT_KIND = "event"
ANNOUNCE_SOURCES = ("event:%:announce",)
EVENT_WORK_SOURCES = ("event:%:proposed:%", "event:%:decision:%", "event:%:filled:%")

#: What cancelled rows carry, for whoever looks at the outbox.
WITHDRAWN = "consent withdrawn"

_RESIDENTS: Table = Resident.__table__  # type: ignore[assignment]


def _like_any(patterns: Collection[str]) -> ColumnElement[bool]:
    return or_(*(DELIVERIES.c.source.like(pattern) for pattern in patterns))


def _consents(flag: ColumnElement[bool]) -> ColumnElement[bool]:
    """The row's recipient is a resident and ``flag`` is set for them."""
    return exists().where(_RESIDENTS.c.telegram_id == DELIVERIES.c.chat_id, flag)


def withdrawn_condition() -> ColumnElement[bool]:
    """True for an outbox row whose recipient no longer consents to its purpose."""
    residents = _RESIDENTS.c
    announce = and_(DELIVERIES.c.kind == EVENT_KIND, _like_any(ANNOUNCE_SOURCES))
    news = or_(DELIVERIES.c.kind == BROADCAST_KIND, announce)
    service = or_(
        DELIVERIES.c.kind.in_(SERVICE_KINDS),
        and_(
            DELIVERIES.c.kind == EVENT_KIND,
            not_(_like_any(ANNOUNCE_SOURCES)),
            not_(_like_any(EVENT_WORK_SOURCES)),
        ),
    )
    return or_(
        and_(news, not_(_consents(residents.broadcast_opt_in.is_(True)))),
        and_(DELIVERIES.c.kind == DIGEST_KIND, not_(_consents(residents.digest_opt_in.is_(True)))),
        and_(
            DELIVERIES.c.kind == LEAD_KIND,
            not_(_consents(residents.lead_contact_opt_in.is_(True))),
        ),
        and_(service, _consents(residents.service_opt_in.is_(False))),
    )


def withdraw_statement(ids: Collection[int], worker_id: str) -> Executable:
    """One UPDATE for a claimed batch: its rows whose recipient withdrew consent (or was
    erased) become cancelled, returning their ids."""
    return (
        update(DELIVERIES)
        .where(
            DELIVERIES.c.id.in_(list(ids)),
            DELIVERIES.c.claimed_by == worker_id,
            withdrawn_condition(),
        )
        .values(
            state=DeliveryState.CANCELLED,
            claimed_by=None,
            claimed_until=None,
            last_error=WITHDRAWN,
        )
        .returning(DELIVERIES.c.id)
    )
