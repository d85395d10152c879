"""Consent per purpose and the versioned privacy notice (issue 13, point 3), through the
sandbox in German and Arabic: each purpose's toggle in /settings stops exactly its kind of
message (news: a broadcast; lead contact: a group lead's message; service: a reminder); the
engine drops at send time what was queued before an opt-out or an erase; "news off" in the
settings cancels a queued announcement as /stop does; a new notice version asks a resident
again (Agree records it, Decline offers the deletion); only admins may publish one."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.services.notices import NoticeError
from bot.services.permissions import NotAllowed
from storage.db import create_session_factory
from storage.models import Delivery, DeliveryState, Resident, Role
from tests.support.actors import ADMIN, COORDINATOR, STAFF, lead
from tests.support.live import LiveBot, LiveResident, onboard, tr
from tests.test_erase import a_broadcast, an_event, received, send_everything, stop_sending
from tests.test_groups_e2e import raised_beds

LEAD_ID = 5_100_001
HANNA = 5_100_002  # German: turns news off
OMAR = 5_100_003  # Arabic: turns messages from group leads off
LINA = 5_100_004  # Arabic: turns messages about her sign-ups and groups off
PAUL = 5_100_005  # German: keeps everything on
KIM = 5_100_006  # a coordinator, not an admin


async def _residents(live_bot: LiveBot) -> dict[int, LiveResident]:
    people = {
        LEAD_ID: live_bot.resident("Jonas", "de", LEAD_ID),
        HANNA: live_bot.resident("Hanna", "de", HANNA),
        OMAR: live_bot.resident("Omar", "ar", OMAR),
        LINA: live_bot.resident("Lina", "ar", LINA),
        PAUL: live_bot.resident("Paul", "de", PAUL),
    }
    for telegram_id, person in people.items():
        await onboard(person, "ar" if telegram_id in (OMAR, LINA) else "de")
    return people


async def _lead_message(live_bot: LiveBot, group_id: int, text: str) -> None:
    broadcasts = live_bot.runtime.services.broadcasts
    author = lead(LEAD_ID, group_id)
    draft = await broadcasts.create_draft(author, {"group_members": [group_id]})
    await broadcasts.set_version(author, draft.id, "de", text=text)
    await broadcasts.send_now(author, draft.id)


async def _due_now(live_bot: LiveBot, kind: str) -> int:
    """Rows of ``kind`` still pending become due now (a reminder is days away)."""
    assert live_bot.runtime.engine is not None
    async with live_bot.runtime.engine.begin() as connection:
        result = await connection.execute(
            update(Delivery)
            .where(Delivery.kind == kind, Delivery.state == DeliveryState.PENDING)
            .values(not_before=live_bot.runtime.clock())
        )
        return int(result.rowcount)


async def _states(live_bot: LiveBot, chat_id: int) -> dict[str, DeliveryState]:
    assert live_bot.runtime.engine is not None
    async with create_session_factory(live_bot.runtime.engine)() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.chat_id == chat_id))
        return {row.source: row.state for row in rows}


async def test_each_purpose_toggle_stops_exactly_its_kind(live_bot: LiveBot) -> None:
    services = live_bot.runtime.services
    people = await _residents(live_bot)
    group = await raised_beds(live_bot, lead_id=LEAD_ID)
    event = await an_event(live_bot, "Hoffest", capacity=10)
    for member in (HANNA, OMAR, LINA, PAUL):
        await services.groups.join(group.id, member)
    # The settings show the three purposes, each with its toggle.
    await people[HANNA].say("/settings")
    await people[HANNA].tap("set:news_off")
    await people[OMAR].say("/settings")
    screen = await people[OMAR].tap("set:lead_off")
    assert tr(live_bot, "ar", "Messages from group leads: {state}").split("{")[0] in screen.text
    assert "set:lead_on" in [data for _, data in screen.buttons()]
    await people[LINA].say("/settings")
    await people[LINA].tap("set:service_off")

    await stop_sending(live_bot)
    for member in (HANNA, OMAR, LINA, PAUL):  # each gets a reminder queued
        await services.events.sign_up(event, member, "ar" if member in (OMAR, LINA) else "de")
    assert await _due_now(live_bot, "reminder") >= 4
    await a_broadcast(live_bot, "Straßenfest am Samstag")
    await _lead_message(live_bot, group.id, "Gießen am Dienstag")
    await send_everything(live_bot)

    news, lead_says, reminder = "Straßenfest am Samstag", "Gießen am Dienstag", "Hoffest"
    assert received(live_bot, PAUL, news) and received(live_bot, PAUL, lead_says)
    assert received(live_bot, PAUL, reminder)
    assert not received(live_bot, HANNA, news)
    assert received(live_bot, HANNA, lead_says) and received(live_bot, HANNA, reminder)
    assert not received(live_bot, OMAR, lead_says)
    assert received(live_bot, OMAR, news) and received(live_bot, OMAR, reminder)
    assert not received(live_bot, LINA, reminder)
    assert received(live_bot, LINA, news) and received(live_bot, LINA, lead_says)


async def test_send_time_check_drops_rows_queued_before_an_opt_out_or_an_erase(
    live_bot: LiveBot,
) -> None:
    services = live_bot.runtime.services
    people = await _residents(live_bot)
    group = await raised_beds(live_bot, lead_id=LEAD_ID)
    for member in (HANNA, OMAR, LINA, PAUL):
        await services.groups.join(group.id, member)
    event = await an_event(live_bot, "Lesenacht im Hof", capacity=10)
    await services.events.sign_up(event, LINA, "ar")

    await stop_sending(live_bot)
    await a_broadcast(live_bot, "Flohmarkt im Hof")
    await _lead_message(live_bot, group.id, "Wir brauchen Gießkannen")
    assert await _due_now(live_bot, "reminder") == 2  # the reminder and "still coming?"
    # Queued for everyone; then Hanna opts out of news (directly, as a second replica would),
    # Omar erases his data, Lina turns service messages off.
    await services.residents.set_broadcast_opt_in(HANNA, False)
    assert live_bot.runtime.engine is not None
    async with live_bot.runtime.engine.begin() as connection:  # erased, the outbox as it was
        await connection.execute(Resident.__table__.delete().where(Resident.telegram_id == OMAR))
    await people[LINA].say("/settings")
    await people[LINA].tap("set:service_off")
    await send_everything(live_bot)

    assert received(live_bot, PAUL, "Flohmarkt im Hof")
    assert not received(live_bot, HANNA, "Flohmarkt im Hof")
    assert received(live_bot, HANNA, "Wir brauchen Gießkannen")
    assert not received(live_bot, OMAR, "Flohmarkt im Hof")
    assert not received(live_bot, OMAR, "Wir brauchen Gießkannen")
    assert not received(live_bot, LINA, "Lesenacht im Hof")
    assert live_bot.runtime.delivery_engine is not None
    assert live_bot.runtime.delivery_engine.stats.withdrawn == 5  # 2 news, 1 lead, 2 reminders
    assert set((await _states(live_bot, OMAR)).values()) == {DeliveryState.CANCELLED}


async def test_settings_news_off_cancels_a_queued_announcement(live_bot: LiveBot) -> None:
    services = live_bot.runtime.services
    people = await _residents(live_bot)
    event = await an_event(live_bot, "Sommerkino", capacity=0)

    await stop_sending(live_bot)
    announced = await services.events.announce(STAFF, event, {})
    assert announced.queued["de"] >= 2
    await people[HANNA].say("/settings")
    answer = await people[HANNA].tap("set:news_off")
    assert "set:news_on" in [data for _, data in answer.buttons()]
    states = await _states(live_bot, HANNA)
    assert states[f"event:{event}:announce"] == DeliveryState.CANCELLED  # at once, not later
    await send_everything(live_bot)

    assert received(live_bot, PAUL, "Sommerkino")
    assert not received(live_bot, HANNA, "Sommerkino")
    profile = await services.residents.get(HANNA)
    assert profile is not None and not profile.broadcast_opt_in and not profile.digest_opt_in


async def test_a_new_notice_version_asks_again(live_bot: LiveBot) -> None:
    services = live_bot.runtime.services
    hanna = live_bot.resident("Hanna", "de", HANNA)
    omar = live_bot.resident("Omar", "ar", OMAR)
    await onboard(hanna, "de")
    await onboard(omar, "ar")
    published = await services.notices.publish(
        ADMIN, 2, {"de": "Wir speichern jetzt auch {signup_retention_days} Tage lang …"}
    )
    assert published == 2

    # Hanna: asked again, in German; /events waits; Agree records version 2.
    asked = await hanna.say("/events")
    assert "Wir speichern jetzt auch" in asked.text and "{signup_retention_days}" not in asked.text
    assert [data for _, data in asked.buttons()] == ["nt:ok:2", "nt:no:2"]
    still = await hanna.say("/menu")
    assert [data for _, data in still.buttons()] == ["nt:ok:2", "nt:no:2"]
    privacy = await hanna.say("/privacy")  # /privacy still answers
    assert "privacy:ask" in [data for _, data in privacy.buttons()]
    await hanna.tap("nt:ok:2")
    profile = await services.residents.get(HANNA)
    assert profile is not None and profile.consent_version == 2
    menu = await hanna.say("/menu")
    assert "nt:ok:2" not in [data for _, data in menu.buttons()]  # the menu, as before

    # Omar: no Arabic version, so the German one, marked; Decline offers the deletion.
    asked = await omar.say("/menu")
    note = tr(live_bot, "ar", "(Not written in your language yet: here it is in {language}.)")
    assert note.split("{")[0] in asked.text and "Wir speichern jetzt auch" in asked.text
    declined = await omar.tap("nt:no:2")
    assert "privacy:ask" in [data for _, data in declined.buttons()]
    prompt = await omar.tap("privacy:ask")
    assert "privacy:delete" in [data for _, data in prompt.buttons()]
    await omar.tap("privacy:delete")
    assert await services.residents.get(OMAR) is None
    profile = await services.residents.get(HANNA)
    assert profile is not None and profile.consent_version == 2


async def test_only_admins_publish_a_notice(live_bot: LiveBot) -> None:
    notices = live_bot.runtime.services.notices
    for actor in (COORDINATOR, lead(LEAD_ID, 1)):
        try:
            await notices.publish(actor, 2, {"de": "Text"})
        except NotAllowed:
            pass
        else:
            raise AssertionError(f"{actor} published a privacy notice")
    try:
        await notices.publish(ADMIN, 2, {"ar": "نص"})  # without the default language's text
    except NoticeError:
        pass
    else:
        raise AssertionError("published without the default language")
    assert await notices.current_version() == 1
    # Through the bot: a coordinator is refused; the admin of the settings sees the versions.
    await live_bot.runtime.services.residents.grant_role(KIM, Role.COORDINATOR)
    coordinator = live_bot.resident("Kim", "de", KIM)
    await onboard(coordinator, "de")
    refused = await coordinator.say("/notice")
    assert refused.text == tr(live_bot, "de", "🔒 Only admins can change the privacy notice.")
    admin = live_bot.resident("Ada", "de", STAFF.telegram_id or 0)
    await onboard(admin, "de")
    overview = await admin.say("/notice")
    assert [data for _, data in overview.buttons()] == ["nt:new"]
    # Writing version 2 in the bot: German (the admin's and the default language) first, then
    # Publish without the others; a resident is asked again, with the days filled in.
    asked = await admin.tap("nt:new")
    assert "nt:skip" not in [data for _, data in asked.buttons()]  # the default can't be skipped
    following = await admin.say("Neu: Anmeldungen löschen wir nach {signup_retention_days} Tagen.")
    assert [data for _, data in following.buttons()] == ["nt:skip", "nt:pub"]
    await admin.tap("nt:pub")
    assert await notices.current_version() == 2
    again = await coordinator.say("/menu")
    assert "Anmeldungen löschen wir nach 30 Tagen" in again.text
    assert [data for _, data in again.buttons()] == ["nt:ok:2", "nt:no:2"]
