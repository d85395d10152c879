"""/privacy lists the first name among what we store (issue 12, point 4): Telegram's first name,
which an event's organiser and the coordinators see. Through the sandbox, in Turkish and Arabic."""

from __future__ import annotations

import pytest

from bot.bidi import begins_rtl
from tests.support.live import LiveBot, onboard


def first_name_line(live: LiveBot, locale: str, name: str) -> str:
    t = live.runtime.application.bot_data.i18n.translator(locale)
    return str(
        t.gettext(
            "First name from Telegram: {name} (the organiser of an event you sign up for and "
            "our coordinators see it)"
        ).format(name=t.isolate(name))
    )


@pytest.mark.parametrize(("locale", "name"), [("tr", "Ayşe"), ("ar", "عمر")])
async def test_privacy_lists_the_stored_first_name(
    live_bot: LiveBot, locale: str, name: str
) -> None:
    person = live_bot.resident(name, locale, 871)
    await onboard(person, locale)
    stored = await live_bot.runtime.services.residents.get(871)
    assert stored is not None and stored.first_name == name
    text = (await person.say("/privacy")).text or ""
    assert first_name_line(live_bot, locale, name) in text
    assert locale != "ar" or begins_rtl(text)


async def test_nothing_stored_nothing_listed(live_bot: LiveBot) -> None:
    """Before agreeing nothing is stored, so there is no first name to list either."""
    person = live_bot.resident("Lena", "de", 872)
    text = (await person.say("/privacy")).text or ""
    assert "Lena" not in text
