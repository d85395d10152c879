"""Translations in the services: the state per language, "to review" after the original
changes, tasks to the translators of that language only, the first translation wins,
approval writes the version residents read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import I18n
from bot.i18n_tools import load_glossary, terms_for
from bot.rendering import BroadcastRenderer, IdeaRenderer, TranslationRenderer
from bot.services.audiences import StaffAudience
from bot.services.broadcasts import BroadcastService
from bot.services.delivery import DeliveryService
from bot.services.events import EventService, EventView
from bot.services.groups import GroupService
from bot.services.ideas import IdeaService
from bot.services.permissions import Actor
from bot.services.residents import ResidentService
from bot.services.translations import TaskView, TranslationError, TranslationService
from bot.translation import LibreTranslateClient
from storage.db import create_session_factory
from storage.models import (
    Broadcast,
    Delivery,
    DeliverySource,
    Event,
    Group,
    Idea,
    OutboxMessage,
    Resident,
    Role,
    RoleAssignment,
    TaskStatus,
    TranslationTask,
)
from tests.support.actors import COORDINATOR, COORDINATOR_ID
from tests.support.clock import FixedClock
from tests.support.libretranslate import LibreTranslateStandIn
from tests.support.standin import Fault
from tests.test_events_service import BERLIN, LOCALES, NOW, FakeRenderer

AYSE, EMRE, OLENA = 811, 812, 813


class Notices:
    """Payloads that say what they are, about which task, in which language."""

    def task(self, task: TaskView, glossary: Any, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"task:{task.id}:{locale}"}

    def submitted(self, task: TaskView, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"submitted:{task.id}:{task.origin}:{locale}"}

    def approved(self, task: TaskView, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"approved:{task.id}:{locale}"}

    def offer(self, telegram_id: int, name: str, offered: str, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"offer:{telegram_id}:{offered}:{locale}"}

    def appointed(self, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"appointed:{locale}"}


class TitledRenderer(FakeRenderer):
    """Announcements that show the title a resident of that language reads."""

    def announcement(self, event: EventView, locale: str) -> dict[str, Any]:
        version = event.version_for(locale)
        return {"method": "sendMessage", "text": f"announcement:{version and version.title}"}


class World:
    def __init__(self, engine: AsyncEngine) -> None:
        sessions = create_session_factory(engine)
        clock = FixedClock(NOW)
        delivery = DeliveryService(sessions, clock=clock)
        self.engine = engine
        self.residents = ResidentService(sessions, clock=clock)
        self.events = EventService(
            sessions,
            delivery,
            TitledRenderer(),
            locales=LOCALES,
            default_locale="de",
            tz=BERLIN,
            clock=clock,
        )
        self.groups = GroupService(sessions, delivery, object(), default_locale="de", clock=clock)  # type: ignore[arg-type]
        self.translations = TranslationService(
            sessions,
            delivery,
            Notices(),
            locales=LOCALES,
            default_locale="de",
            clock=clock,
            staff=StaffAudience(frozenset({COORDINATOR_ID}), "de"),
        )

    async def translator(self, telegram_id: int, locale: str) -> Actor:
        await self.residents.register(telegram_id, locale)
        await self.residents.grant_role(telegram_id, Role.TRANSLATOR)
        return await self.residents.actor(telegram_id)

    async def states(self, subject: str, subject_id: int) -> dict[str, str]:
        found = await self.translations.languages(COORDINATOR, subject, subject_id)
        return {state.locale: state.state for state in found}

    async def told(self, prefix: str) -> list[tuple[int, str]]:
        async with create_session_factory(self.engine)() as session:
            rows = await session.execute(
                select(Delivery.chat_id, OutboxMessage.payload)
                .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
                .where(Delivery.source.like(f"{prefix}%"))
                .order_by(Delivery.id)
            )
            return [(int(chat), str(payload["text"])) for chat, payload in rows]


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    yield World(engine)
    async with engine.begin() as connection:
        for table in (
            Delivery,
            OutboxMessage,
            DeliverySource,
            TranslationTask,
            RoleAssignment,
            Event,
            Group,
            Resident,
        ):
            await connection.execute(delete(table))


async def test_states_per_language_and_to_review_after_the_original_changes(world: World) -> None:
    event = await world.events.create_draft(COORDINATOR)
    await world.events.set_version(
        COORDINATOR, event.id, "de", title="Hoffest", description="Mit Kuchen"
    )
    await world.events.set_version(COORDINATOR, event.id, "tr", title="Avlu şenliği")
    states = {
        s.locale: s.state
        for s in await world.translations.languages(COORDINATOR, "event", event.id)
    }
    assert "de" not in states and states["tr"] == "done" and states["ar"] == "missing"

    # The German text changes: the Turkish version is to review, and the view says so.
    changed = await world.events.set_version(COORDINATOR, event.id, "de", description="Mit Musik")
    assert changed.versions["tr"].needs_review and not changed.versions["de"].needs_review
    states = {
        s.locale: s.state
        for s in await world.translations.languages(COORDINATOR, "event", event.id)
    }
    assert states["tr"] == "review"
    # The same text again is no change; writing the Turkish version is its review.
    again = await world.events.set_version(COORDINATOR, event.id, "tr", title="Avlu şenliği")
    assert not again.versions["tr"].needs_review
    same = await world.events.set_version(COORDINATOR, event.id, "de", description="Mit Musik")
    assert not same.versions["tr"].needs_review
    # Per field: the Turkish reader gets the Turkish title and the German description.
    turkish = same.version_for("tr")
    assert turkish is not None and (turkish.title, turkish.description) == (
        "Avlu şenliği",
        "Mit Musik",
    )


async def test_a_task_reaches_that_languages_translators_and_the_first_translation_wins(
    world: World,
) -> None:
    await world.residents.register(COORDINATOR_ID, "de")
    ayse = await world.translator(AYSE, "tr")
    emre = await world.translator(EMRE, "tr")
    olena = await world.translator(OLENA, "uk")
    group = await world.groups.create(COORDINATOR, "project", name="Hochbeete", rhythm="dienstags")
    tasks = await world.translations.request(COORDINATOR, "group", group.id, ["tr"])
    (task,) = tasks
    assert task.source == {"name": "Hochbeete", "rhythm": "dienstags"}
    assert await world.told(f"translation:{task.id}:task") == [
        (AYSE, f"task:{task.id}:tr"),
        (EMRE, f"task:{task.id}:tr"),
    ]  # not the Ukrainian translator
    assert await world.translations.request(COORDINATOR, "group", group.id, ["tr"]) == []
    assert [t.id for t in await world.translations.open_tasks(olena)] == []

    results = await asyncio.gather(
        world.translations.submit(ayse, task.id, {"name": "Yükseltilmiş yataklar"}),
        world.translations.submit(emre, task.id, {"name": "Bahçe yatakları"}),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, TaskView)]
    assert len(won) == 1 and sum(isinstance(r, TranslationError) for r in results) == 1
    assert await world.told(f"translation:{task.id}:submitted") == [
        (COORDINATOR_ID, f"submitted:{task.id}:volunteer:de")
    ]
    # Residents don't see it before a coordinator approves.
    assert "tr" not in (await world.groups.get(group.id)).versions  # type: ignore[union-attr]

    approved = await world.translations.approve(COORDINATOR, task.id, {"rhythm": "salıları"})
    assert approved.status == TaskStatus.APPROVED
    view = await world.groups.get(group.id)
    assert view is not None and view.versions["tr"].name == won[0].result["name"]  # type: ignore[index]
    assert view.versions["tr"].rhythm == "salıları"  # the coordinator's edit
    assert await world.told(f"translation:{task.id}:approved") == [
        (won[0].translator_id, f"approved:{task.id}:tr")
    ]
    with pytest.raises(TranslationError):  # a double tap decides once
        await world.translations.approve(COORDINATOR, task.id)
    winner = ayse if won[0].translator_id == AYSE else emre
    assert [t.id for t in await world.translations.translated_by(winner)] == [task.id]


async def test_a_rejected_translation_opens_again_and_offers_appoint_translators(
    world: World,
) -> None:
    await world.residents.register(COORDINATOR_ID, "uk")
    ayse = await world.translator(AYSE, "tr")
    event = await world.events.create_draft(COORDINATOR)
    await world.events.set_version(COORDINATOR, event.id, "de", title="Lesecafé")
    (task,) = await world.translations.request(COORDINATOR, "event", event.id, ["tr"])
    with pytest.raises(TranslationError):  # the title can't be left out
        await world.translations.submit(ayse, task.id, {"description": "…"})
    await world.translations.submit(ayse, task.id, {"title": "Okuma kafesi"})
    reopened = await world.translations.reject(COORDINATOR, task.id)
    assert reopened.status == TaskStatus.OPEN and reopened.result is None
    assert [t.id for t in await world.translations.open_tasks(ayse)] == [task.id]

    await world.residents.register(EMRE, "tr")
    emre = await world.residents.actor(EMRE)
    assert await world.translations.offer(emre, "Emre")
    assert await world.told(f"translator:{EMRE}:offer") == [(COORDINATOR_ID, f"offer:{EMRE}:tr:uk")]
    assert await world.translations.appoint(COORDINATOR, EMRE)
    assert not await world.translations.appoint(COORDINATOR, EMRE)  # once
    assert await world.told(f"translator:{EMRE}:appointed") == [(EMRE, "appointed:tr")]
    assert (await world.residents.actor(EMRE)).is_translator


async def test_an_announcement_waits_for_its_translations_then_goes_out(world: World) -> None:
    clock = world.events._clock
    assert isinstance(clock, FixedClock)
    ayse = await world.translator(AYSE, "tr")
    await world.residents.register(EMRE, "tr")
    await world.residents.register(OLENA, "uk")

    async def published(title: str) -> int:
        draft = await world.events.create_draft(COORDINATOR)
        await world.events.set_version(COORDINATOR, draft.id, "de", title=title)
        await world.events.update(COORDINATOR, draft.id, starts_at=NOW + timedelta(days=5))
        return (await world.events.publish(COORDINATOR, draft.id)).id

    translated, late = await published("Hoffest"), await published("Lesecafé")
    (task,) = await world.translations.request(COORDINATOR, "event", translated, ["tr"])
    await world.translations.request(COORDINATOR, "event", late, ["tr"])
    latest = await world.translations.waiting_until(COORDINATOR, "event", translated)
    assert latest == NOW + timedelta(hours=48)
    for event_id in (translated, late):
        await world.events.announce_when_translated(COORDINATOR, event_id, {}, latest)

    assert await world.events.run_due_announcements() == []  # still waiting
    assert await world.told(f"event:{translated}:announce") == []
    await world.translations.submit(ayse, task.id, {"title": "Avlu şenliği"})
    assert await world.events.run_due_announcements() == []  # not approved yet
    await world.translations.approve(COORDINATOR, task.id)
    assert await world.events.run_due_announcements() == [translated]
    assert await world.events.run_due_announcements() == []  # once
    told = dict(await world.told(f"event:{translated}:announce"))
    turkish, german = "announcement:Avlu şenliği", "announcement:Hoffest"
    assert told == {EMRE: turkish, AYSE: turkish, OLENA: german}

    clock.advance(hours=49)  # nobody translated the other one: it goes out in German
    assert await world.events.run_due_announcements() == [late]
    assert dict(await world.told(f"event:{late}:announce"))[EMRE] == "announcement:Lesecafé"


async def test_machine_drafts_wait_for_a_person_and_kurdish_goes_to_the_volunteers(
    world: World,
) -> None:
    """Against the LibreTranslate stand-in over HTTP: drafts for what it can do, marked as
    the machine's; Kurdish (no Kurmanji at LibreTranslate) and a failed draft wait for people."""
    await world.residents.register(COORDINATOR_ID, "de")
    rojda = await world.translator(AYSE, "ku")
    async with LibreTranslateStandIn() as server:
        machine = LibreTranslateClient(
            server.url, None, clock=FixedClock(NOW), locales=(*LOCALES, "ku"), timeout=0.5
        )
        translations = TranslationService(
            create_session_factory(world.engine),
            DeliveryService(create_session_factory(world.engine), clock=FixedClock(NOW)),
            Notices(),
            locales=(*LOCALES, "ku"),
            default_locale="de",
            clock=FixedClock(NOW),
            staff=StaffAudience(frozenset({COORDINATOR_ID}), "de"),
            machine=machine,
        )
        try:
            event = await world.events.create_draft(COORDINATOR)
            await world.events.set_version(COORDINATOR, event.id, "de", title="Hoffest")
            server.fail(Fault.ERROR, path="/translate", times=1)  # the first draft fails
            tasks = {
                t.locale: t
                for t in await translations.request(
                    COORDINATOR, "event", event.id, ["tr", "ar", "ku"]
                )
            }
        finally:
            await machine.close()
    drafted = [loc for loc, t in tasks.items() if t.is_machine]
    by_people = [loc for loc, t in tasks.items() if not t.is_machine]
    assert len(drafted) == 1 and sorted(by_people) == sorted({"tr", "ar", "ku"} - set(drafted))
    draft = tasks[drafted[0]]
    assert draft.status == TaskStatus.SUBMITTED and draft.result == {
        "title": f"[{draft.locale}] Hoffest"
    }
    assert await world.told(f"translation:{draft.id}:submitted") == [
        (COORDINATOR_ID, f"submitted:{draft.id}:machine:de")
    ]
    # Nothing reaches residents before a person approves it.
    assert draft.locale not in (await world.events.get(COORDINATOR, event.id)).versions  # type: ignore[union-attr]
    assert [t.id for t in await translations.open_tasks(rojda)] == [tasks["ku"].id]
    await translations.approve(COORDINATOR, draft.id)
    view = await world.events.get(COORDINATOR, event.id)
    assert view is not None and view.versions[draft.locale].title == f"[{draft.locale}] Hoffest"


async def test_coordinators_read_a_new_idea_machine_translated_beside_the_original(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)
    clock = FixedClock(NOW)
    residents = ResidentService(sessions, clock=clock)
    i18n = I18n(LOCALES, "de", BERLIN)
    try:
        await residents.register(COORDINATOR_ID, "de")
        async with LibreTranslateStandIn() as server:
            machine = LibreTranslateClient(server.url, None, clock=clock, locales=LOCALES)
            ideas = IdeaService(
                sessions,
                DeliveryService(sessions, clock=clock),
                IdeaRenderer(i18n),
                clock=clock,
                staff=StaffAudience(frozenset({COORDINATOR_ID}), "de"),
                machine=machine,
            )
            try:
                idea = await ideas.submit(1, "tr", text="Parka bir çeşme")
            finally:
                await machine.close()
        card = await World(engine).told(f"idea:{idea.id}:new:")
        ((chat, text),) = card
        assert chat == COORDINATOR_ID
        assert "Parka bir çeşme" in text and "[de] Parka bir çeşme" in text  # both
        # The author's text went to the provider only to be read by the coordinator.
        assert [r.body for r in server.requests_to("/translate")] != []
    finally:
        async with engine.begin() as connection:
            for table in (Delivery, OutboxMessage, DeliverySource, Idea, Resident):
                await connection.execute(delete(table))


def test_a_task_shows_the_glossarys_words_for_its_text() -> None:
    glossary = load_glossary()
    assert glossary is not None
    terms = dict(terms_for(glossary, "Anmeldung im Quartiersbüro, mit Warteliste", "de", "tr"))
    assert terms["Warteliste"] == "bekleme listes"
    assert "Quartiersbüro" in terms["Quartiersbüro"]
    assert terms_for(glossary, "Tischtennis im Hof", "de", "tr") == []
    task = TaskView(
        1, "event", 5, "tr", "de", {"title": "Warteliste"}, TaskStatus.OPEN, "volunteer",
        None, None, NOW, NOW,
    )  # fmt: skip
    text = TranslationRenderer(I18n(LOCALES, "de", BERLIN)).task(task, list(terms.items()), "tr")
    assert "Warteliste → bekleme listes" in text["text"]


async def test_a_broadcast_waits_for_its_volunteer_translation_then_goes_out(
    world: World,
) -> None:
    sessions = create_session_factory(world.engine)
    clock = FixedClock(NOW)
    broadcasts = BroadcastService(
        sessions,
        DeliveryService(sessions, clock=clock),
        BroadcastRenderer(I18n(LOCALES, "de", BERLIN)),
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        clock=clock,
    )
    ayse = await world.translator(AYSE, "tr")
    await world.residents.register(EMRE, "tr")
    try:
        draft = await broadcasts.create_draft(COORDINATOR)
        await broadcasts.set_version(COORDINATOR, draft.id, "de", text="<b>Hoffest</b> am Samstag")
        (task,) = await world.translations.request(COORDINATOR, "broadcast", draft.id, ["tr"])
        assert task.source == {"text": "Hoffest am Samstag"}  # words, not markup
        latest = await world.translations.waiting_until(COORDINATOR, "broadcast", draft.id)
        assert latest is not None
        await broadcasts.send_when_translated(COORDINATOR, draft.id, latest)
        assert await broadcasts.run_due() == []  # waiting for Ayşe
        await world.translations.submit(ayse, task.id, {"text": "Cumartesi <avlu> şenliği"})
        await world.translations.approve(COORDINATOR, task.id)
        view = await broadcasts.load(draft.id)
        assert view is not None and view.versions["tr"].text == "Cumartesi &lt;avlu&gt; şenliği"
        assert await broadcasts.run_due() == [draft.id]  # translated: it goes out now
        (turkish,) = [
            text for chat, text in await world.told(f"broadcast:{draft.id}") if chat == EMRE
        ]
        assert "Cumartesi &lt;avlu&gt; şenliği" in turkish
    finally:
        async with world.engine.begin() as connection:
            await connection.execute(delete(Broadcast))
