"""Repeating jobs (PTB's JobQueue). They only look at the database, so every replica may run
them: what is due is claimed there, and edits of the same progress message are harmless."""

from __future__ import annotations

import logging

from bot.context import BotContext
from handlers.broadcast import refresh_progress

log = logging.getLogger(__name__)


async def run_due_broadcasts(context: BotContext) -> None:
    """Scheduled broadcasts, weekly ones and the digest, and events due to be published."""
    started = await context.services.broadcasts.run_due()
    if started:
        log.info("started broadcasts %s", started)
    published = await context.services.events.run_due_publications()
    if published:
        log.info("published events %s", published)
    announced = await context.services.events.run_due_announcements()
    if announced:
        log.info("announced events %s once translated", announced)


async def run_retention(context: BotContext) -> None:
    """The day's retention run (bot/services/retention.py): sign-ups' details after their
    event, the inactivity warnings and removals. Claimed in the database: on every replica
    but one, and before 03:30 local time, it does nothing. Its time is the services' clock."""
    await context.services.retention.run_due()


async def refresh_running_broadcasts(context: BotContext) -> None:
    for view in await context.services.broadcasts.running():
        await refresh_progress(context.bot, context.bot_data, view.id)
