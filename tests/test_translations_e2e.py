"""Content in every language, end to end through the sandbox: a coordinator writes an event in
German, a volunteer translator brings it into Turkish, the coordinator approves, and Turkish
residents read Turkish everywhere (list, detail, announcement, reminder, flyer, calendar feed)
while Arabic residents read German until an Arabic version is approved."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar
from sqlalchemy import select

from bot.buttons import (
    EventAdminButton,
    EventButton,
    GroupButton,
    MenuButton,
    TaskButton,
    TranslationButton,
    TranslatorButton,
)
from bot.web.app import create_web_app
from storage.db import create_session_factory
from storage.models import Delivery, OutboxMessage, Role, TranslationTask
from tests.conftest import ADMIN_ID
from tests.support.actors import STAFF
from tests.support.live import LiveBot, LiveResident, onboard, tr

TITLE_DE = "Tischtennis im Hof"
TEXT_DE = "Wir spielen zusammen. Schläger sind da."
TITLE_TR = "Avluda masa tenisi"
TEXT_TR = "Birlikte oynuyoruz. Raketler hazır."
TEXT_TR_FIXED = "Birlikte oynuyoruz. Raketleri biz getiriyoruz."
TITLE_AR = "تنس الطاولة في الفناء"


async def _newest_with(resident: LiveResident, live_bot: LiveBot, text: str) -> str:
    await live_bot.emulator.wait_until(
        lambda: any(
            text in (m.text or "") for m in live_bot.emulator.bot_messages(resident.user_id)
        )
    )
    found = [m for m in live_bot.emulator.bot_messages(resident.user_id) if text in (m.text or "")]
    return found[-1].text or ""


async def _payload_text(live_bot: LiveBot, source_prefix: str, chat_id: int) -> str:
    async with create_session_factory(live_bot.runtime.engine)() as session:
        payload = await session.scalar(
            select(OutboxMessage.payload)
            .join(Delivery, Delivery.message_id == OutboxMessage.id)
            .where(Delivery.source.like(f"{source_prefix}%"), Delivery.chat_id == chat_id)
        )
    assert payload is not None, f"nothing queued for {chat_id} under {source_prefix}"
    return str(payload.get("text") or payload.get("caption") or "")


async def test_a_volunteer_translates_an_event_and_turkish_residents_read_it_everywhere(
    live_bot: LiveBot,
) -> None:
    services = live_bot.runtime.services
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    # The coordinator writes the event in German.
    draft = await services.events.create_draft(STAFF)
    await services.events.set_version(STAFF, draft.id, "de", title=TITLE_DE, description=TEXT_DE)
    start = live_bot.runtime.clock() + timedelta(hours=30)  # the reminder waits in the outbox
    await services.events.update(
        STAFF, draft.id, starts_at=start, place_name="Innenhof", capacity=20
    )

    # A Turkish neighbour offers to translate; the coordinator makes her a translator.
    ayse = live_bot.resident("Ayşe", "tr", 811)
    await onboard(ayse, "tr")
    await ayse.say("/translate")
    await ayse.tap(TranslatorButton("offer").pack())
    await _newest_with(coordinator, live_bot, "Ayşe")
    await coordinator.tap(TranslatorButton("yes", 811).pack())
    await _newest_with(ayse, live_bot, "/translate")

    # The coordinator sees Turkish missing and asks the translators.
    await coordinator.say("/menu")
    await coordinator.tap_forged(EventAdminButton("menu", draft.id).pack())
    opening = TranslationButton("open", "event", draft.id).pack()
    await live_bot.emulator.wait_until(
        lambda: any(
            opening in [data for _, data in m.buttons()]
            for m in live_bot.emulator.bot_messages(ADMIN_ID)
        )
    )
    screen = await coordinator.tap(opening)
    assert f"➕ Türkçe: {tr(live_bot, 'de', 'missing')}" in (screen.text or "")
    await coordinator.tap(TranslationButton("ask", "event", draft.id).pack())

    # Ayşe gets the task with the German text, translates title and description.
    task_text = await _newest_with(ayse, live_bot, TITLE_DE)
    assert TEXT_DE in task_text
    async with create_session_factory(live_bot.runtime.engine)() as session:
        task_id = await session.scalar(
            select(TranslationTask.id).where(
                TranslationTask.subject_id == draft.id, TranslationTask.locale == "tr"
            )
        )
    assert task_id is not None
    await ayse.tap(TaskButton("do", task_id).pack())
    await ayse.say(TITLE_TR)
    thanks = await ayse.say(TEXT_TR)
    assert thanks.text == tr(
        live_bot,
        "tr",
        "🙏 Thank you! A coordinator will look at your translation, then neighbours read it.",
    )
    # Not yet visible: a coordinator approves first.
    pending = await services.events.get(STAFF, draft.id)
    assert pending is not None and "tr" not in pending.versions
    approval = await _newest_with(coordinator, live_bot, TITLE_TR)
    assert TEXT_TR in approval
    # The coordinator corrects the description before approving (the title is kept).
    asked = await coordinator.tap(TaskButton("edit", task_id).pack())
    assert TITLE_TR in (asked.text or "")
    await coordinator.tap(TaskButton("edit", task_id).pack())  # ⏭ keep the title
    done = await coordinator.say(TEXT_TR_FIXED)
    assert done.text == tr(live_bot, "de", "✅ Approved: residents read it now.")
    await _newest_with(ayse, live_bot, TITLE_DE)  # thanked, naming what she translated

    event = await services.events.publish(STAFF, draft.id)
    assert event.versions["tr"].title == TITLE_TR

    # Residents: a Turkish one reads Turkish, an Arabic one German.
    emre = live_bot.resident("Emre", "tr", 812)
    await onboard(emre, "tr")
    layla = live_bot.resident("Layla", "ar", 813)
    await onboard(layla, "ar")
    await services.events.announce(STAFF, event.id, {})
    assert TITLE_TR in await _newest_with(emre, live_bot, TITLE_TR)
    assert TITLE_DE in await _newest_with(layla, live_bot, TITLE_DE)

    listing = await emre.tap(MenuButton("events").pack())
    assert TITLE_TR in (listing.text or "") and TITLE_DE not in (listing.text or "")
    detail = await emre.tap(EventButton("show", event.id).pack())
    assert TITLE_TR in (detail.text or "") and TEXT_TR_FIXED in (detail.text or "")

    await services.events.sign_up(event.id, 812, "tr", adults=1)
    reminder = await _payload_text(live_bot, f"event:{event.id}:reminder:", 812)
    assert TITLE_TR in reminder

    app = create_web_app(
        live_bot.runtime.settings,
        live_bot.runtime.engine,
        live_bot.runtime.application,
        services=services,
        bot_username="quartier_bot",
    )
    async with TestClient(TestServer(app)) as client:
        feed = Calendar.from_ical(await (await client.get("/calendar.ics?lang=tr")).read())
        summaries = [str(v["SUMMARY"]) for v in feed.walk("VEVENT")]
        assert TITLE_TR in summaries
        flyer = await (await client.get(f"/events/{event.id}/flyer?lang=de&lang2=tr")).text()
        assert TITLE_DE in flyer and TITLE_TR in flyer and TEXT_TR_FIXED in flyer
        arabic_feed = Calendar.from_ical(await (await client.get("/calendar.ics?lang=ar")).read())
        assert TITLE_DE in [str(v["SUMMARY"]) for v in arabic_feed.walk("VEVENT")]

    # An Arabic version approved later: the Arabic resident reads it in the detail.
    await services.residents.grant_role(813, Role.TRANSLATOR)
    layla_actor = await services.residents.actor(813)
    # Her language's task has been open since the coordinator asked.
    (task,) = await services.translations.open_tasks(layla_actor)
    assert task.subject_id == event.id and task.locale == "ar"
    await services.translations.submit(layla_actor, task.id, {"title": TITLE_AR})
    await services.translations.approve(STAFF, task.id)
    await layla.say("/events")
    assert TITLE_AR in await _newest_with(layla, live_bot, TITLE_AR)


async def test_a_coordinator_writes_a_groups_arabic_version_field_by_field(
    live_bot: LiveBot,
) -> None:
    """Typed on the 🌐 Translations screen; the Arabic reader gets the Arabic name and,
    where the Arabic version has nothing, the German description and meeting time."""
    services = live_bot.runtime.services
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    group = await services.groups.create(
        STAFF,
        "group",
        name="Gemeinschaftsgarten",
        description="Wir gärtnern zusammen im Hof.",
        rhythm="dienstags 17 Uhr",
        locale="de",
    )
    group = await services.groups.add_slot(STAFF, group.id, "Gießen", 3)
    await coordinator.say("/groups")
    await coordinator.tap_forged(GroupButton("show", group.id).pack())
    opening = TranslationButton("open", "group", group.id).pack()
    await live_bot.emulator.wait_until(
        lambda: any(
            opening in [data for _, data in m.buttons()]
            for m in live_bot.emulator.bot_messages(ADMIN_ID)
        )
    )
    await coordinator.tap(opening)
    prompt = await coordinator.tap(TranslationButton("lang", "group", group.id, "ar").pack())
    assert "Gemeinschaftsgarten" in (prompt.text or "")  # the original, to translate from
    await coordinator.say("حديقة الحي")
    skipped = TranslationButton("skip", "group", group.id).pack()
    await coordinator.tap(skipped)  # no Arabic description
    task_prompt = await coordinator.tap(skipped)  # nor meeting time; then the help task
    assert "Gießen" in (task_prompt.text or "")
    screen = await coordinator.say("سقاية النباتات")
    assert "✅ العربية" in (screen.text or "")

    layla = live_bot.resident("Layla", "ar", 821)
    await onboard(layla, "ar")
    await layla.tap_forged(GroupButton("show", group.id).pack())
    detail = await _newest_with(layla, live_bot, "حديقة الحي")
    assert "Wir gärtnern zusammen im Hof." in detail and "dienstags 17 Uhr" in detail
    assert "سقاية النباتات" in detail and "Gießen" not in detail
