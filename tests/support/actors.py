"""Actors for service tests: who is acting decides what a service allows."""

from __future__ import annotations

from bot.services.permissions import Actor
from storage.models import Role

COORDINATOR_ID = 9000

COORDINATOR = Actor(COORDINATOR_ID, frozenset({Role.COORDINATOR}), registered=True)
ADMIN = Actor(9001, frozenset({Role.ADMIN}), registered=True)
#: The admin of tests.conftest's settings (ADMIN_IDS), as the live bot sees them.
STAFF = Actor(COORDINATOR_ID, frozenset({Role.ADMIN}), registered=True)


def resident(telegram_id: int) -> Actor:
    return Actor(telegram_id, registered=True)


def partner(telegram_id: int) -> Actor:
    return Actor(telegram_id, frozenset({Role.PARTNER}), registered=True)


def lead(telegram_id: int, *groups: int) -> Actor:
    return Actor(telegram_id, led_groups=frozenset(groups), registered=True)
