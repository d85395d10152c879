"""The event service, put together from its parts."""

from __future__ import annotations

from bot.services.events.publishing import Publishing
from bot.services.events.reading import Reading
from bot.services.events.signups import Signups


class EventService(Publishing, Signups, Reading):
    """Events and sign-ups. Built with the dependencies every part shares (``EventCore``):
    sessions, the delivery service, the renderer, locales, time zone and clock."""
