"""Who comes, through the sandbox: the organiser and the coordinators see first names,
languages, parties and needs of the attendees and the waiting list (and get them as an .xlsx);
a group's lead sees its members by name; nobody else sees any of it."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from storage.models import Role
from tests.support.actors import STAFF
from tests.support.live import LiveBot, LiveResident, onboard, tr
from tests.test_events_e2e import published_event


async def sign_up(resident: LiveResident, event_id: int, children: int, flags: int) -> None:
    await resident.say(f"/start event_{event_id}")
    await resident.tap(f"ev:join:{event_id}")
    await resident.tap(f"ev:ad:{event_id}:1")
    await resident.tap(f"ev:ch:{event_id}:1:{children}")
    if flags:
        await resident.tap(f"ev:nd:{event_id}:1:{children}:{flags}")
    await resident.tap(f"ev:chk:{event_id}:1:{children}:{flags}")  # the check before Confirm
    await resident.tap(f"ev:ok:{event_id}:1:{children}:{flags}")


async def test_the_coordinator_sees_who_comes_with_names_and_gets_a_spreadsheet(
    live_bot: LiveBot,
) -> None:
    event = await published_event(live_bot, capacity=2)
    layla = live_bot.resident("Layla", "ar", 811)
    await onboard(layla, "ar")
    await sign_up(layla, event.id, children=1, flags=1)  # an interpreter for Arabic
    ayse = live_bot.resident("Ayşe", "tr", 812)
    await onboard(ayse, "tr")
    # The event is full: on the waiting list, with wheelchair access (the list's own screens
    # are tested in test_events_e2e).
    await live_bot.runtime.services.events.sign_up(
        event.id, 812, "tr", wheelchair=True, waitlist=True
    )

    # Another coordinator than the event's creator, whose chat gets the fill alerts meanwhile.
    coordinator = live_bot.resident("Koordination", "de", 830)
    await onboard(coordinator, "de")
    await live_bot.runtime.services.residents.grant_role(830, Role.COORDINATOR)
    await coordinator.say(f"/start event_{event.id}")
    await coordinator.tap(f"eva:menu:{event.id}")
    people = (await coordinator.tap(f"eva:people:{event.id}")).text or ""
    de = live_bot.runtime.application.bot_data.i18n.translator("de")
    interpreter = de.gettext("🗣 Interpreter: {language}").format(language="العربية")
    layla_line = next(line for line in people.splitlines() if "Layla" in line)
    assert "العربية" in layla_line and interpreter in layla_line
    assert de.ngettext("{count} child", "{count} children", 1).format(count="1") in layla_line
    waiting = people.index(tr(live_bot, "de", "⏳ <b>Waiting list</b>").replace("<b>", "")[:4])
    ayse_line = next(line for line in people.splitlines() if "Ayşe" in line)
    assert people.index("Ayşe") > waiting > people.index("Layla")
    assert "Türkçe" in ayse_line and tr(live_bot, "de", "♿ Wheelchair access") in ayse_line

    await coordinator.tap(f"eva:csv:{event.id}")
    document = coordinator.last
    assert document.kind == "document"
    assert document.extra["file_name"] == f"event-{event.id}-attendees.xlsx"
    data = live_bot.emulator.file_bytes(document.extra["file_id"])
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    header = ("First name", "Language", "Adults", "Children", "Needs", "Note", "Code", "Status")
    assert rows[0] == tuple(de.gettext(column) for column in header)
    summary = await live_bot.runtime.services.events.attendees(STAFF, event.id)
    (confirmed,), (waitlisted,) = summary.confirmed, summary.waitlisted
    assert rows[1] == (
        "Layla",
        "العربية",
        1,
        1,
        interpreter.replace("\u2068", "").replace("\u2069", ""),
        None,
        confirmed.code,
        de.gettext("Confirmed"),
    )
    assert rows[2][:4] == ("Ayşe", "Türkçe", 1, 0)
    assert rows[2][4] == tr(live_bot, "de", "♿ Wheelchair access")
    assert rows[2][6:] == (waitlisted.code, de.gettext("Waiting list"))
    assert len(rows) == 3


async def test_an_arabic_coordinator_reads_the_names_right_to_left(live_bot: LiveBot) -> None:
    event = await published_event(live_bot, capacity=5)
    ayse = live_bot.resident("Ayşe", "tr", 813)
    await onboard(ayse, "tr")
    await sign_up(ayse, event.id, children=2, flags=2)  # childcare
    coordinator = live_bot.resident("Karim", "ar", 831)
    await onboard(coordinator, "ar")
    await live_bot.runtime.services.residents.grant_role(831, Role.COORDINATOR)
    await coordinator.say(f"/start event_{event.id}")
    await coordinator.tap(f"eva:menu:{event.id}")
    people = await coordinator.tap(f"eva:people:{event.id}")
    assert people.direction == "rtl"
    line = next(line for line in (people.text or "").splitlines() if "Ayşe" in line)
    assert "\u2068Ayşe\u2069" in line  # isolated, so the Latin name keeps its order
    assert tr(live_bot, "ar", "🧸 Childcare") in line


async def test_a_resident_or_another_partner_never_sees_who_comes(live_bot: LiveBot) -> None:
    services = live_bot.runtime.services
    event = await published_event(live_bot, capacity=5)
    layla = live_bot.resident("Layla", "ar", 814)
    await onboard(layla, "ar")
    await sign_up(layla, event.id, children=0, flags=0)
    nosy = live_bot.resident("Nosy", "tr", 815)
    await onboard(nosy, "tr")
    other = live_bot.resident("Andere Kita", "de", 816)
    await onboard(other, "de")
    await services.residents.grant_role(816, Role.PARTNER)

    for who in (nosy, other, layla):
        for action in ("people", "csv"):
            answer = await who.tap_forged(f"eva:{action}:{event.id}")
            assert "Layla" not in str(answer)
    refused = tr(live_bot, "de", "💡 Only coordinators can do this.")
    assert any(refused == a.get("text") for a in live_bot.emulator.callback_answers().values())
    for chat in (814, 815, 816):
        for message in live_bot.emulator.bot_messages(chat):
            assert message.kind != "document"
            assert "Layla" not in (message.text or "")


async def test_a_partner_sees_who_comes_to_its_own_event(live_bot: LiveBot) -> None:
    services = live_bot.runtime.services
    kita = live_bot.resident("Kita Sonne", "de", 817)
    await onboard(kita, "de")
    await services.residents.grant_role(817, Role.PARTNER)
    partner = await services.residents.actor(817)
    own = await services.events.create_draft(partner, organiser="Kita Sonne")
    await services.events.set_version(partner, own.id, "de", title="Elterncafé")
    start = live_bot.runtime.clock() + timedelta(days=2)
    await services.events.update(STAFF, own.id, starts_at=start, place_name="Kita", capacity=9)
    await services.events.publish(STAFF, own.id)
    omar = live_bot.resident("Omar", "ar", 818)
    await onboard(omar, "ar")
    await sign_up(omar, own.id, children=0, flags=0)

    await kita.tap_forged(f"eva:people:{own.id}")
    await live_bot.emulator.wait_until(
        lambda: any("Omar" in (m.text or "") for m in live_bot.emulator.bot_messages(817))
    )
    screen = next(m for m in live_bot.emulator.bot_messages(817) if "Omar" in (m.text or ""))
    assert "العربية" in (screen.text or "")
    assert f"eva:menu:{own.id}" not in [data for _, data in screen.buttons()]  # staff's tools


async def test_a_groups_lead_sees_its_members_by_name(live_bot: LiveBot) -> None:
    services = live_bot.runtime.services
    lead = live_bot.resident("Hanna", "de", 821)
    await onboard(lead, "de")
    group = await services.groups.create(
        STAFF, "group", name="Gemeinschaftsgarten", lead_id=821, locale="de"
    )
    for name, locale, user_id in (("Layla", "ar", 822), ("Ayşe", "tr", 823)):
        member = live_bot.resident(name, locale, user_id)
        await onboard(member, locale)
        await member.say(f"/start project_{group.id}")
        await member.tap(f"grp:join:{group.id}")

    await lead.say(f"/start project_{group.id}")
    screen = await lead.tap(f"grp:members:{group.id}")
    lines = (screen.text or "").splitlines()
    assert any("Layla" in line and "العربية" in line for line in lines)
    assert any("Ayşe" in line and "Türkçe" in line for line in lines)
    named = [line for line in lines if "Layla" in line or "Ayşe" in line]
    assert len(named) == 2 and "Layla" in named[0]  # in the order they joined

    nosy = live_bot.resident("Nosy", "tr", 824)
    await onboard(nosy, "tr")
    answer = await nosy.tap_forged(f"grp:members:{group.id}")
    assert answer.get("text") == tr(
        live_bot, "tr", "🤝 Only the group's lead and coordinators can do this."
    )
    assert not any("Layla" in (m.text or "") for m in live_bot.emulator.bot_messages(824))
