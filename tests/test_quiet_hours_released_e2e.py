"""Quiet hours off releases what waited, with a word (issue 12): the confirmation says how many
messages are on their way now; with nothing held, no such line. Through the sandbox late in the
evening, in Turkish and Arabic (right to left)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.bidi import begins_rtl
from storage.db import create_session_factory
from storage.models import Delivery, DeliveryState
from tests.support.actors import STAFF
from tests.support.live import LiveBot, LiveResident, onboard
from tests.test_held_messages import LATE, late_bot

__all__ = ["late_bot"]


def on_its_way(live: LiveBot, locale: str, count: int) -> str:
    t = live.runtime.application.bot_data.i18n.translator(locale)
    return str(
        t.ngettext(
            "📬 {count} message held for your quiet hours is on its way now.",
            "📬 {count} messages held for your quiet hours are on their way now.",
            count,
        ).format(count=t.format_number(count))
    )


async def waiting(live: LiveBot, chat_id: int) -> int:
    async with create_session_factory(live.runtime.engine)() as session:
        return int(
            await session.scalar(
                select(func.count()).where(
                    Delivery.chat_id == chat_id,
                    Delivery.state == DeliveryState.PENDING,
                    Delivery.not_before > live.runtime.clock(),
                )
            )
            or 0
        )


async def quiet_off(person: LiveResident) -> str:
    await person.say("/settings")
    await person.tap("set:quiet")
    return (await person.tap("quiet:off")).text or ""


@pytest.mark.parametrize("locale", ["tr", "ar"])
async def test_quiet_hours_off_says_how_many_messages_come_now(
    late_bot: LiveBot, locale: str
) -> None:
    live, services = late_bot, late_bot.runtime.services
    person = live.resident("Emre" if locale == "tr" else "Omar", locale, 841)
    await onboard(person, locale, quiet_hours=True)  # asleep at 22:34

    # An announcement and a broadcast wait for the morning.
    draft = await services.events.create_draft(STAFF)
    await services.events.set_version(STAFF, draft.id, "de", title="Hoffest", description="…")
    await services.events.update(
        STAFF, draft.id, starts_at=LATE + timedelta(days=3), place_name="Innenhof"
    )
    event = await services.events.publish(STAFF, draft.id)
    await services.events.announce(STAFF, event.id, {})
    broadcast = await services.broadcasts.create_draft(STAFF)
    await services.broadcasts.set_version(STAFF, broadcast.id, "de", text="Hallo Nachbarn")
    await services.broadcasts.send_now(STAFF, broadcast.id)
    assert await waiting(live, 841) == 2

    text = await quiet_off(person)
    assert on_its_way(live, locale, 2) in text
    assert locale != "ar" or begins_rtl(text, is_html=True)
    assert await waiting(live, 841) == 0
    for arrived in ("Hoffest", "Hallo Nachbarn"):
        await live.emulator.wait_until(
            lambda arrived=arrived: any(
                arrived in (m.text or "") for m in live.emulator.bot_messages(841)
            ),
            timeout=10,
        )

    # Nothing waits any more: the confirmation has no such line.
    text = await quiet_off(person)
    assert "📬" not in text
    assert on_its_way(live, locale, 1) not in text
