"""Groups as a service: membership, help slots under concurrent taps, leaving cancels queued
broadcast rows, closing tells members, ideas grown into projects invite their supporters, and
editing everything about a group (who may, what each change tells whom, once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bidi import RLM  # an Arabic reader's message begins right to left
from bot.i18n import I18n
from bot.rendering import BroadcastRenderer
from bot.services.audiences import audience_statement
from bot.services.broadcasts import BroadcastService
from bot.services.delivery import DeliveryService
from bot.services.groups import (
    CapacityBelowHolders,
    GroupKind,
    GroupNotFound,
    GroupService,
    GroupView,
    InvalidChange,
    NotMember,
    SlotFull,
    TextTooLong,
)
from bot.services.ideas import IdeaService
from bot.services.permissions import NotAllowed
from bot.services.residents import ResidentService
from storage.db import create_session_factory
from storage.models import (
    Broadcast,
    BroadcastVersion,
    Delivery,
    DeliverySource,
    DeliveryState,
    Group,
    GroupMember,
    GroupVersion,
    HelpSlot,
    Idea,
    IdeaSupport,
    OutboxMessage,
    Resident,
    Role,
    SlotHolder,
)
from tests.support.actors import COORDINATOR, COORDINATOR_ID, lead, partner, resident
from tests.support.clock import FixedClock

BERLIN = ZoneInfo("Europe/Berlin")
LOCALES = ("de", "tr", "ar", "uk", "el", "ro", "pl", "it", "fa", "ku", "ru", "en")
NOW = datetime(2026, 11, 26, 21, 30, tzinfo=BERLIN).astimezone(UTC)  # quiet hours
LEAD = 500


class FakeRenderer:
    def invitation(self, group: GroupView, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"invite:{group.id}:{locale}"}

    def closed(self, group: GroupView, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"closed:{group.id}:{group.outcome}:{locale}"}

    def renamed(self, group: GroupView, old: str, new: str, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"renamed:{old}>{new}:{locale}"}

    def rhythm_changed(self, group: GroupView, rhythm: str, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"rhythm:{rhythm}:{locale}"}

    def lead_given(self, group: GroupView, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"lead:{group.lead_id}:{locale}"}

    def lead_handed_over(
        self, group: GroupView, new_lead: str | None, locale: str
    ) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"handed:{new_lead}:{locale}"}

    def slot_renamed(self, group: GroupView, old: str, new: str, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"task:{old}>{new}:{locale}"}

    def slot_removed(self, group: GroupView, label: str, locale: str) -> dict[str, Any]:
        return {"method": "sendMessage", "text": f"removed:{label}:{locale}"}


def build(engine: AsyncEngine) -> GroupService:
    sessions = create_session_factory(engine)
    return GroupService(
        sessions,
        DeliveryService(sessions, clock=FixedClock(NOW)),
        FakeRenderer(),
        default_locale="de",
        clock=FixedClock(NOW),
    )


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The shared test database, emptied of this module's rows afterwards."""
    yield engine
    async with engine.begin() as connection:
        for table in (
            Delivery,
            OutboxMessage,
            DeliverySource,
            BroadcastVersion,
            Broadcast,
            SlotHolder,
            HelpSlot,
            GroupMember,
            GroupVersion,
            Group,
            IdeaSupport,
            Idea,
            Resident,
        ):
            await connection.execute(delete(table))


async def register(engine: AsyncEngine, *people: tuple[int, str]) -> None:
    residents = ResidentService(create_session_factory(engine), clock=FixedClock(NOW))
    for telegram_id, locale in people:
        await residents.register(telegram_id, locale)


async def rows(engine: AsyncEngine, source: str) -> list[tuple[int, str, DeliveryState]]:
    async with create_session_factory(engine)() as session:
        result = await session.execute(
            select(Delivery.chat_id, OutboxMessage.payload, Delivery.state)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.source == source)
            .order_by(Delivery.chat_id)
        )
        return [(int(chat), payload["text"], state) for chat, payload, state in result.all()]


async def audience_size(engine: AsyncEngine, audience: dict[str, Any]) -> int:
    async with create_session_factory(engine)() as session:
        statement = audience_statement([Resident.telegram_id], audience, "broadcast")
        count = await session.scalar(select(func.count()).select_from(statement.subquery()))
        return int(count or 0)


async def test_create_versions_slots_and_bad_input(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine)
    group = await service.create(
        COORDINATOR,
        "group",
        name=" Sauberkeit ",
        rhythm="dienstags 17:00",
        topic="clean",
        lead_id=LEAD,
    )
    assert group.kind == GroupKind.GROUP and group.version_for("tr") is not None
    assert group.versions["de"].name == "Sauberkeit" and group.members == 0
    group = await service.set_version(COORDINATOR, group.id, "tr", name="Temizlik")
    group = await service.add_slot(COORDINATOR, group.id, "Pflanzen gießen", 3)
    slot = group.slots[0]
    assert (slot.capacity, slot.filled, slot.label_for("tr", "de")) == (3, 0, "Pflanzen gießen")
    assert group.version_for("tr").name == "Temizlik"  # type: ignore[union-attr]
    with pytest.raises(TextTooLong):
        await service.create(COORDINATOR, "project", name="x" * 201)
    with pytest.raises(TextTooLong):
        await service.add_slot(COORDINATOR, group.id, "x" * 101, 1)
    with pytest.raises(InvalidChange):
        await service.add_slot(COORDINATOR, group.id, "Helfen", 0)
    with pytest.raises(InvalidChange):
        await service.add_slot(COORDINATOR, group.id, "Helfen", 101)
    with pytest.raises(GroupNotFound):
        await service.join(99_999, 1)
    assert await service.may_lead(lead(LEAD), group.id)  # the lead of record, read fresh
    assert not await service.may_lead(resident(1), group.id)
    assert await service.may_lead(COORDINATOR, group.id)
    page, total = await service.browse(topic="clean")
    assert total == 1 and page[0].id == group.id


async def test_join_and_leave_are_idempotent(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine)
    group = await service.create(COORDINATOR, "project", name="Hochbeete")
    assert await service.join(group.id, 1) is True
    assert await service.join(group.id, 1) is False
    assert await service.is_member(group.id, 1)
    assert [g.id for g in await service.my_groups(1)] == [group.id]
    assert (await service.get(group.id)).members == 1  # type: ignore[union-attr]
    assert await service.leave(group.id, 1) is True
    assert await service.leave(group.id, 1) is False
    assert not await service.is_member(group.id, 1)
    assert await service.my_groups(1) == []


async def test_twenty_residents_at_once_fill_a_three_person_slot_exactly(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    group = await service.add_slot(
        COORDINATOR,
        (await service.create(COORDINATOR, "project", name="Hochbeete")).id,
        "Gießen",
        3,
    )
    slot_id = group.slots[0].id

    async def tap(resident: int) -> bool:
        try:
            await service.take_slot(slot_id, resident)
        except SlotFull:
            return False
        return True

    results = await asyncio.gather(*(tap(r) for r in range(1, 21)))
    assert sum(results) == 3
    view = await service.get(group.id)
    assert view is not None and view.slots[0].filled == 3 and view.members == 3
    winner = next(r for r, ok in zip(range(1, 21), results, strict=True) if ok)
    again = await service.take_slot(slot_id, winner)  # idempotent for a holder
    assert again.filled == 3 and await service.holds(slot_id, winner)
    released = await service.release_slot(slot_id, winner)
    assert released.filled == 2 and not await service.holds(slot_id, winner)


async def test_audience_filters_count_members_and_slot_holders(clean_engine: AsyncEngine) -> None:
    await register(clean_engine, (1, "de"), (2, "tr"), (3, "ar"))
    service = build(clean_engine)
    group = await service.add_slot(
        COORDINATOR, (await service.create(COORDINATOR, "group", name="Jugend")).id, "Übersetzen", 2
    )
    other = await service.create(COORDINATOR, "group", name="Senioren")
    await service.join(group.id, 1)
    await service.take_slot(group.slots[0].id, 2)
    await service.join(other.id, 3)
    assert await audience_size(clean_engine, {"group_members": [group.id]}) == 2
    assert await audience_size(clean_engine, {"group_members": [str(group.id), other.id]}) == 3
    assert await audience_size(clean_engine, {"slot_holders": [group.id]}) == 1
    assert await audience_size(clean_engine, {"slot_holders": group.id}) == 1
    assert await audience_size(clean_engine, {"slot_holders": [other.id]}) == 0


async def test_leaving_releases_slots_and_cancels_queued_broadcast_rows(
    clean_engine: AsyncEngine,
) -> None:
    await register(clean_engine, (1, "de"), (2, "tr"))
    service = build(clean_engine)
    group = await service.add_slot(
        COORDINATOR, (await service.create(COORDINATOR, "group", name="Jugend")).id, "Übersetzen", 2
    )
    slot_id = group.slots[0].id
    await service.join(group.id, 1)
    await service.take_slot(slot_id, 2)
    sessions = create_session_factory(clean_engine)
    broadcasts = BroadcastService(
        sessions,
        DeliveryService(sessions, clock=FixedClock(NOW)),
        BroadcastRenderer(I18n(LOCALES, "de", BERLIN)),
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        clock=FixedClock(NOW),
    )
    draft = await broadcasts.create_draft(lead(LEAD, group.id), {"group_members": [group.id]})
    await broadcasts.set_version(lead(LEAD, group.id), draft.id, "de", text="Treffen am Dienstag")
    assert sum((await broadcasts.send_now(lead(LEAD, group.id), draft.id)).values()) == 2
    source = f"broadcast:{draft.id}"
    assert [state for _, _, state in await rows(clean_engine, source)] == [
        DeliveryState.PENDING
    ] * 2  # quiet hours keep them queued

    assert await service.leave(group.id, 2) is True
    assert not await service.holds(slot_id, 2)
    assert (await service.get(group.id)).slots[0].filled == 0  # type: ignore[union-attr]
    assert [(chat, state) for chat, _, state in await rows(clean_engine, source)] == [
        (1, DeliveryState.PENDING),
        (2, DeliveryState.CANCELLED),
    ]


async def test_close_tells_every_member_in_their_language_once(clean_engine: AsyncEngine) -> None:
    await register(clean_engine, (1, "de"), (2, "tr"), (3, "ar"))
    service = build(clean_engine)
    group = await service.create(COORDINATOR, "project", name="Straßenfest")
    for member in (1, 2, 3):
        await service.join(group.id, member)
    members = await service.members(COORDINATOR, group.id)
    assert [(m.telegram_id, m.locale) for m in members] == [(1, "de"), (2, "tr"), (3, "ar")]
    closed = await service.close(COORDINATOR, group.id, "120 Gäste, 8 Sprachen")
    assert closed.status == "closed" and closed.outcome == "120 Gäste, 8 Sprachen"
    assert [
        (chat, text) for chat, text, _ in await rows(clean_engine, f"group:{group.id}:closed")
    ] == [
        (1, f"closed:{group.id}:120 Gäste, 8 Sprachen:de"),
        (2, f"closed:{group.id}:120 Gäste, 8 Sprachen:tr"),
        (3, f"{RLM}closed:{group.id}:120 Gäste, 8 Sprachen:ar"),
    ]
    with pytest.raises(InvalidChange):
        await service.close(COORDINATOR, group.id, "again")
    with pytest.raises(InvalidChange):
        await service.join(group.id, 4)
    with pytest.raises(TextTooLong):
        await service.close(
            COORDINATOR, (await service.create(COORDINATOR, "project", name="x")).id, "x" * 2001
        )
    page, total = await service.browse()  # the closed one is off the list
    assert total == 1 and group.id not in [g.id for g in page]


async def test_an_idea_becomes_a_project_and_invites_author_and_supporters(
    clean_engine: AsyncEngine,
) -> None:
    author, supporters = 100, ((101, "uk"), (102, "fa"), (103, "tr"))
    await register(clean_engine, (author, "ar"), *supporters)
    sessions = create_session_factory(clean_engine)
    clock = FixedClock(NOW)
    ideas = IdeaService(
        sessions,
        DeliveryService(sessions, clock=clock),
        None,  # type: ignore[arg-type]
        clock=clock,
    )
    text = "Ein Gemeinschaftsgarten im Innenhof der Berliner Straße, mit Hochbeeten für alle " * 2
    idea = await ideas.submit(author, "de", text=text, topic="environment", anonymous=True)
    async with sessions.begin() as session:  # published ideas get support; set up directly
        session.add_all(
            IdeaSupport(idea_id=idea.id, telegram_id=t, created_at=NOW) for t, _ in supporters
        )

    service = build(clean_engine)
    project = await service.from_idea(COORDINATOR, idea.id)
    assert project.kind == GroupKind.PROJECT and project.idea_id == idea.id
    assert project.topic == "environment" and project.default_locale == "de"
    version = project.versions["de"]
    assert version.name == text.strip()[:80].strip() and version.description == text.strip()
    invited = await rows(clean_engine, f"group:{project.id}:invite")
    assert [(chat, body) for chat, body, _ in invited] == [
        (100, f"{RLM}invite:{project.id}:ar"),
        (101, f"invite:{project.id}:uk"),
        (102, f"{RLM}invite:{project.id}:fa"),
        (103, f"invite:{project.id}:tr"),
    ]
    with pytest.raises(InvalidChange):
        await service.from_idea(COORDINATOR, idea.id)


async def test_group_rules_for_every_role(clean_engine: AsyncEngine) -> None:
    """Coordinators create; the lead runs their own group; nobody else changes anything."""
    await register(clean_engine, (1, "de"), (LEAD, "tr"))
    service = build(clean_engine)
    group = await service.create(COORDINATOR, "project", name="Hochbeete", lead_id=LEAD)
    other = await service.create(COORDINATOR, "project", name="Fest", lead_id=501)
    await service.join(group.id, 1)
    the_lead = lead(LEAD, group.id)
    for actor in (resident(1), lead(LEAD, other.id), partner(77), the_lead):
        with pytest.raises(NotAllowed):
            await service.create(actor, "group", name="Eigene Gruppe")
    for actor in (resident(1), lead(501, other.id), partner(77)):
        for call in (
            service.set_version(actor, group.id, "tr", name="Yataklar"),
            service.add_slot(actor, group.id, "Gießen", 2),
            service.members(actor, group.id),
            service.close(actor, group.id, "Fertig"),
        ):
            with pytest.raises(NotAllowed):
                await call
        assert not await service.may_lead(actor, group.id)
    # The lead of record, and coordinators, may.
    await service.set_version(the_lead, group.id, "tr", name="Yataklar")
    await service.add_slot(the_lead, group.id, "Gießen", 2)
    assert [m.telegram_id for m in await service.members(the_lead, group.id)] == [1]
    view = await service.get(group.id)
    assert view is not None and view.status == "open" and len(view.slots) == 1


async def test_a_coordinator_whose_role_is_revoked_cannot_create_a_group(
    clean_engine: AsyncEngine,
) -> None:
    """The hole: a role revoked in the middle of /newgroup still created the group. The actor
    is loaded for every update, so the last step sees the revocation."""
    sessions = create_session_factory(clean_engine)
    residents = ResidentService(sessions, clock=FixedClock(NOW))
    await residents.register(800, "de")
    await residents.grant_role(800, Role.COORDINATOR)
    service = build(clean_engine)
    before = await residents.actor(800)
    assert before.is_staff
    await residents.revoke_role(800, Role.COORDINATOR)
    after = await residents.actor(800)
    with pytest.raises(NotAllowed):
        await service.create(after, "group", name="Zu spät")
    page, total = await service.browse()
    assert total == 0 and page == []


# --- editing a group -------------------------------------------------------------------------


async def told(engine: AsyncEngine, prefix: str) -> list[tuple[str, int, str]]:
    """Every queued notice whose source begins with ``prefix``: (source, chat, text)."""
    async with create_session_factory(engine)() as session:
        result = await session.execute(
            select(Delivery.source, Delivery.chat_id, OutboxMessage.payload)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.source.like(f"{prefix}%"))
            .order_by(Delivery.source, Delivery.chat_id)
        )
        return [(source, int(chat), payload["text"]) for source, chat, payload in result.all()]


async def edited_group(engine: AsyncEngine, service: GroupService) -> tuple[GroupView, int]:
    """A group led by LEAD (a member) with Ayşe (tr) and Omar (ar), who hold its one task."""
    await register(engine, (LEAD, "de"), (2, "tr"), (3, "ar"), (4, "uk"))
    group = await service.create(
        COORDINATOR, "group", name="Hofgarten", rhythm="dienstags 17 Uhr", lead_id=LEAD
    )
    group = await service.add_slot(COORDINATOR, group.id, "Gießen", 3)
    slot = group.slots[0].id
    await service.join(group.id, LEAD)
    for holder in (2, 3):
        await service.take_slot(slot, holder)
    await service.join(group.id, 4)
    return group, slot


async def test_only_the_lead_and_coordinators_edit_and_only_coordinators_change_the_lead(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    group, slot = await edited_group(clean_engine, service)
    other = await service.create(COORDINATOR, "group", name="Senioren", lead_id=501)
    the_lead = lead(LEAD, group.id)
    for actor in (resident(2), lead(501, other.id), partner(77)):
        for call in (
            service.update(actor, group.id, topic="environment"),
            service.set_lead(actor, group.id, 2),
            service.update_slot(actor, slot, capacity=5),
            service.set_slot_label(actor, slot, "de", "Wässern"),
            service.remove_slot(actor, slot),
            service.set_version(actor, group.id, "de", rhythm="mittwochs"),
        ):
            with pytest.raises(NotAllowed):
                await call
    with pytest.raises(NotAllowed):  # the lead runs the group, but can't hand it on
        await service.set_lead(the_lead, group.id, 2)
    view = await service.get(group.id)
    assert view is not None and view.lead_id == LEAD and view.topic is None
    assert view.slots[0].capacity == 3 and view.versions["de"].rhythm == "dienstags 17 Uhr"
    assert await told(clean_engine, f"group:{group.id}:") == []
    # The lead and a coordinator may do the rest.
    assert (await service.update(the_lead, group.id, topic="environment")).topic == "environment"
    assert (await service.update(COORDINATOR, group.id, topic=None)).topic is None
    assert (await service.update_slot(the_lead, slot, capacity=4)).slots[0].capacity == 4
    assert (await service.set_lead(COORDINATOR, group.id, 2)).lead_id == 2
    with pytest.raises(NotAllowed):  # no longer theirs: the row is read under its lock
        await service.update(the_lead, group.id, topic="environment")


async def test_a_new_lead_is_a_member_or_the_coordinator_and_both_leads_are_told_once(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    group, _slot = await edited_group(clean_engine, service)
    await register(clean_engine, (99, "tr"))
    with pytest.raises(NotMember):
        await service.set_lead(COORDINATOR, group.id, 99)  # not a member
    with pytest.raises(GroupNotFound):
        await service.set_lead(COORDINATOR, 99_999, 3)
    async with create_session_factory(clean_engine).begin() as session:
        omar = await session.scalar(select(Resident).where(Resident.telegram_id == 3))
        assert omar is not None
        omar.first_name = "Omar"
    # A double tap hands it over once and tells each of them once.
    await asyncio.gather(*(service.set_lead(COORDINATOR, group.id, 3) for _ in range(2)))
    await service.set_lead(COORDINATOR, group.id, 3)
    assert (await service.get(group.id)).lead_id == 3  # type: ignore[union-attr]
    prefix = f"group:{group.id}:lead:"
    assert await told(clean_engine, prefix) == [
        (f"{prefix}1:new", 3, f"{RLM}lead:3:ar"),
        (f"{prefix}1:old", LEAD, "handed:Omar:de"),
    ]
    # The coordinator takes it ("me"), though no member: Omar is told, the coordinator not.
    assert (await service.set_lead(COORDINATOR, group.id, COORDINATOR_ID)).lead_id == (
        COORDINATOR_ID
    )
    later = [
        row for row in await told(clean_engine, prefix) if not row[0].startswith(f"{prefix}1:")
    ]
    assert later == [(f"{prefix}3:old", 3, f"{RLM}handed:None:ar")]
    # Back to a member who led it before: told again, under a new number.
    await service.set_lead(COORDINATOR, group.id, LEAD)
    assert [row[1:] for row in await told(clean_engine, f"{prefix}4:")] == [(LEAD, "lead:500:de")]


async def test_a_task_never_needs_fewer_people_than_hold_it(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine)
    group, slot = await edited_group(clean_engine, service)
    with pytest.raises(CapacityBelowHolders) as refused:
        await service.update_slot(COORDINATOR, slot, capacity=1)
    assert refused.value.holders == 2
    for wrong in (0, 101):
        with pytest.raises(InvalidChange):
            await service.update_slot(COORDINATOR, slot, capacity=wrong)
    with pytest.raises(GroupNotFound):
        await service.update_slot(COORDINATOR, 99_999, capacity=2)
    assert (await service.get(group.id)).slots[0].capacity == 3  # type: ignore[union-attr]
    view = await service.update_slot(COORDINATOR, slot, capacity=2)  # exactly its holders
    assert (view.slots[0].capacity, view.slots[0].filled, view.slots[0].free) == (2, 2, 0)
    with pytest.raises(SlotFull):
        await service.take_slot(slot, 4)


async def test_removing_a_task_tells_its_holders_once_and_frees_them(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    group, slot = await edited_group(clean_engine, service)
    await service.set_slot_label(COORDINATOR, slot, "ar", "السقي")
    view = await service.remove_slot(lead(LEAD, group.id), slot)
    assert view.slots == () and view.members == 4  # the helpers stay members
    assert not await service.holds(slot, 2) and not await service.holds(slot, 3)
    source = f"group:{group.id}:slot:{slot}:removed"
    expected = [(source, 2, "removed:Gießen:tr"), (source, 3, f"{RLM}removed:السقي:ar")]
    assert await told(clean_engine, f"group:{group.id}:") == expected
    with pytest.raises(GroupNotFound):  # a double tap: it is gone, nobody is told again
        await service.remove_slot(lead(LEAD, group.id), slot)
    assert await told(clean_engine, f"group:{group.id}:") == expected


async def test_a_new_rhythm_or_name_tells_every_member_once_a_translation_nobody(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    group, _slot = await edited_group(clean_engine, service)
    the_lead = lead(LEAD, group.id)
    await service.set_version(the_lead, group.id, "tr", name="Avlu", rhythm="salı 17:00")
    await service.set_version(the_lead, group.id, "de", description="Wir gärtnern.")  # not news
    assert await told(clean_engine, f"group:{group.id}:") == []
    await asyncio.gather(
        *(service.set_version(the_lead, group.id, "de", rhythm="mittwochs 18 Uhr") for _ in "ab")
    )
    await service.set_version(the_lead, group.id, "de", rhythm=" mittwochs 18 Uhr ")  # the same
    rhythm = f"group:{group.id}:rhythm:1"
    assert await told(clean_engine, f"group:{group.id}:") == [  # not the lead, who changed it
        (rhythm, 2, "rhythm:mittwochs 18 Uhr:tr"),
        (rhythm, 3, f"{RLM}rhythm:mittwochs 18 Uhr:ar"),
        (rhythm, 4, "rhythm:mittwochs 18 Uhr:uk"),
    ]
    view = await service.get(group.id)
    assert view is not None and view.versions["tr"].needs_review
    await service.set_version(COORDINATOR, group.id, "de", rhythm="dienstags 17 Uhr")
    assert len(await told(clean_engine, f"group:{group.id}:rhythm:2")) == 4  # the lead too
    await service.set_version(COORDINATOR, group.id, "de", name="Hofgarten Nord")
    assert [row[1:] for row in await told(clean_engine, f"group:{group.id}:name:1")] == [
        (2, "renamed:Hofgarten>Hofgarten Nord:tr"),
        (3, f"{RLM}renamed:Hofgarten>Hofgarten Nord:ar"),
        (4, "renamed:Hofgarten>Hofgarten Nord:uk"),
        (LEAD, "renamed:Hofgarten>Hofgarten Nord:de"),
    ]
    with pytest.raises(TextTooLong):
        await service.set_version(COORDINATOR, group.id, "de", rhythm="x" * 201)
    assert len(await told(clean_engine, f"group:{group.id}:")) == 11


async def test_a_task_renamed_tells_its_holders_and_only_in_the_default_language(
    clean_engine: AsyncEngine,
) -> None:
    service = build(clean_engine)
    group, slot = await edited_group(clean_engine, service)
    await service.set_slot_label(COORDINATOR, slot, "tr", "Sulama")
    assert await told(clean_engine, f"group:{group.id}:") == []
    for _ in range(2):
        await service.set_slot_label(lead(LEAD, group.id), slot, "de", "Blumen gießen")
    source = f"group:{group.id}:slot:{slot}:label:1"
    assert await told(clean_engine, f"group:{group.id}:") == [
        (source, 2, "task:Gießen>Blumen gießen:tr"),
        (source, 3, f"{RLM}task:Gießen>Blumen gießen:ar"),
    ]


async def test_a_closed_group_cannot_be_edited(clean_engine: AsyncEngine) -> None:
    service = build(clean_engine)
    group, slot = await edited_group(clean_engine, service)
    await service.close(COORDINATOR, group.id, "Beete angelegt")
    for call in (
        service.update(COORDINATOR, group.id, topic="environment"),
        service.set_lead(COORDINATOR, group.id, 2),
        service.update_slot(COORDINATOR, slot, capacity=5),
        service.set_slot_label(COORDINATOR, slot, "de", "Wässern"),
        service.remove_slot(COORDINATOR, slot),
        service.set_version(COORDINATOR, group.id, "de", rhythm="mittwochs"),
    ):
        with pytest.raises(InvalidChange):
            await call
    view = await service.get(group.id)
    assert view is not None and view.lead_id == LEAD and len(view.slots) == 1
    assert [row[0] for row in await told(clean_engine, f"group:{group.id}:")] == [
        f"group:{group.id}:closed"
    ] * 4
