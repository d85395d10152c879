"""The authorization matrix: every service method that changes something or shows something
not public, called by every kind of actor, allowed or refused as the rules say.

Each attempt runs in a savepoint that is rolled back, so every cell starts from the same
neighbourhood; a refusal must raise ``NotAllowed`` (or, for reads, show nothing) and an allowed
call must go through. The rules live in bot/services/permissions.py; the dashboard will call the
same methods, so this table is its contract too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.i18n import I18n
from bot.rendering import (
    BroadcastRenderer,
    EventRenderer,
    GroupRenderer,
    IdeaRenderer,
    TranslationRenderer,
)
from bot.services import Services
from bot.services.permissions import ANONYMOUS, Actor, NotAllowed
from storage.models import Role
from tests.support.actors import ADMIN, COORDINATOR, lead, partner, resident
from tests.support.clock import BERLIN, TEST_START, FixedClock

LOCALES = ("de", "tr", "ar", "uk", "el", "ro", "pl", "it", "fa", "ku", "ru", "en")
RESIDENT, TRANSLATOR, PARTNER, OTHER_PARTNER, LEAD, OTHER_LEAD = 601, 602, 603, 604, 605, 606
START = TEST_START + timedelta(days=5)


@dataclass
class World:
    services: Services
    group: int
    other_group: int
    event: int  # published, by a coordinator, with a sign-up
    draft: int  # a coordinator's draft
    proposal: int  # the partner's own proposal
    other_proposal: int  # another partner's proposal
    partner_event: int  # the partner's own event, approved and published
    broadcast: int  # a coordinator's draft to everyone
    lead_broadcast: int  # the lead's draft to their group
    idea: int  # received, not published
    other_idea: int  # published
    slot: int = 0  # a help task of the lead's group
    task: int = 0  # a translation of the event into Turkish, open
    submitted_task: int = 0  # its Ukrainian translation, waiting for approval


ROLES: dict[str, Actor] = {
    "anonymous": ANONYMOUS,
    "resident": resident(RESIDENT),
    "translator": Actor(TRANSLATOR, frozenset({Role.TRANSLATOR}), registered=True),
    "partner": partner(PARTNER),
    "other partner": partner(OTHER_PARTNER),
    "lead": Actor(LEAD, led_groups=frozenset(), registered=True),  # groups filled in below
    "other lead": Actor(OTHER_LEAD, led_groups=frozenset(), registered=True),
    "coordinator": COORDINATOR,
    "admin": ADMIN,
}
STAFF = {"coordinator", "admin"}


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        outer = await connection.begin()
        try:
            yield connection
        finally:
            await outer.rollback()


async def neighbourhood(sessions: async_sessionmaker[AsyncSession]) -> World:
    i18n = I18n(LOCALES, "de", BERLIN)
    services = Services.build(
        sessions,
        admin_ids=frozenset(),
        topics=("children", "environment"),
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        renderer=BroadcastRenderer(i18n),
        event_renderer=EventRenderer(i18n),
        idea_renderer=IdeaRenderer(i18n),
        group_renderer=GroupRenderer(i18n),
        translation_renderer=TranslationRenderer(i18n),
        clock=FixedClock(TEST_START),
    )
    residents = [
        (RESIDENT, "tr"),
        (TRANSLATOR, "tr"),
        (LEAD, "de"),
        (OTHER_LEAD, "ar"),
        (700, "uk"),
    ]
    for telegram_id, locale in residents:
        await services.residents.register(telegram_id, locale)
    events, groups = services.events, services.groups
    group = await groups.create(COORDINATOR, "project", name="Hochbeete", lead_id=LEAD)
    other = await groups.create(COORDINATOR, "group", name="Senioren", lead_id=OTHER_LEAD)
    await groups.join(group.id, 700)

    async def event_by(actor: Actor, title: str) -> int:
        made = await events.create_draft(actor)
        await events.set_version(actor, made.id, "de", title=title)
        await events.update(actor, made.id, starts_at=START, place_name="Hof", capacity=10)
        return made.id

    event = await event_by(COORDINATOR, "Hoffest")
    await events.publish(COORDINATOR, event)
    await events.sign_up(event, RESIDENT, "tr", adults=1)
    draft = await event_by(COORDINATOR, "Entwurf")
    proposal = await event_by(partner(PARTNER), "Elterncafé")
    other_proposal = await event_by(partner(OTHER_PARTNER), "Lesestunde")
    partner_event = await event_by(partner(PARTNER), "Kita-Fest")
    await events.approve(COORDINATOR, partner_event)

    broadcast = await services.broadcasts.create_draft(COORDINATOR)
    await services.broadcasts.set_version(COORDINATOR, broadcast.id, "de", text="Für alle")
    the_lead = lead(LEAD, group.id)
    lead_broadcast = await services.broadcasts.create_draft(the_lead, {"group_members": [group.id]})
    await services.broadcasts.set_version(the_lead, lead_broadcast.id, "de", text="Gießen")

    idea = await services.ideas.submit(
        RESIDENT, "tr", text="Ein Trinkbrunnen im Park wäre schön", topic="environment"
    )
    other_idea = await services.ideas.submit(
        700, "uk", text="Eine Bank an der Bushaltestelle", topic="environment"
    )
    await services.ideas.publish(COORDINATOR, other_idea.id)
    slot = (await groups.add_slot(COORDINATOR, group.id, "Gießen", 2)).slots[0].id
    tasks = await services.translations.request(COORDINATOR, "event", event, ["tr", "uk"])
    open_task, ukrainian = (next(t.id for t in tasks if t.locale == loc) for loc in ("tr", "uk"))
    volunteer = Actor(700, frozenset({Role.TRANSLATOR}), registered=True)
    await services.translations.submit(volunteer, ukrainian, {"title": "Свято двору"})
    return World(
        services,
        group.id,
        other.id,
        event,
        draft,
        proposal,
        other_proposal,
        partner_event,
        broadcast.id,
        lead_broadcast.id,
        idea.id,
        other_idea.id,
        slot=slot,
        task=open_task,
        submitted_task=ukrainian,
    )


Call = Callable[[World, Actor], Awaitable[Any]]


async def _keep_reported(world: World, actor: Actor) -> Any:
    """Three neighbours report the public idea (anyone may), then ``actor`` keeps it."""
    for reporter in (RESIDENT, TRANSLATOR, LEAD):
        await world.services.ideas.report(world.other_idea, reporter)
    return await world.services.ideas.keep_reported(actor, world.other_idea)


#: (what, the call, who may). Reads that answer "nothing" instead of raising count as refused.
MATRIX: list[tuple[str, Call, set[str]]] = [
    # events
    (
        "event: create",
        lambda w, a: w.services.events.create_draft(a),
        STAFF | {"partner", "other partner"},
    ),
    ("event: see a draft", lambda w, a: w.services.events.get(a, w.draft), STAFF),
    (
        "event: see its own proposal",
        lambda w, a: w.services.events.get(a, w.proposal),
        STAFF | {"partner"},
    ),
    (
        "event: edit a published event",
        lambda w, a: w.services.events.update(a, w.event, capacity=20),
        STAFF,
    ),
    (
        "event: edit its own proposal",
        lambda w, a: w.services.events.update(a, w.proposal, capacity=20),
        STAFF | {"partner"},
    ),
    (
        "event: edit its own published event",
        lambda w, a: w.services.events.update(a, w.partner_event, place_name="Garten"),
        STAFF | {"partner"},
    ),
    (
        "event: edit another's proposal",
        lambda w, a: w.services.events.set_version(a, w.other_proposal, "de", title="Meins"),
        STAFF | {"other partner"},
    ),
    ("event: publish", lambda w, a: w.services.events.publish(a, w.draft), STAFF),
    (
        "event: schedule",
        lambda w, a: w.services.events.schedule_publication(
            a, w.draft, TEST_START + timedelta(days=1)
        ),
        STAFF,
    ),
    ("event: cancel", lambda w, a: w.services.events.cancel(a, w.event), STAFF),
    (
        "event: send its own proposal for approval",
        lambda w, a: w.services.events.propose(a, w.proposal),
        {"partner"},
    ),
    (
        "event: send another's proposal for approval",
        lambda w, a: w.services.events.propose(a, w.other_proposal),
        {"other partner"},
    ),
    ("event: the proposals waiting", lambda w, a: w.services.events.proposals(a), STAFF),
    ("event: approve", lambda w, a: w.services.events.approve(a, w.proposal), STAFF),
    ("event: reject", lambda w, a: w.services.events.reject(a, w.proposal), STAFF),
    ("event: announce", lambda w, a: w.services.events.announce(a, w.event, {}), STAFF),
    (
        "event: announce once translated",
        lambda w, a: w.services.events.announce_when_translated(
            a, w.event, {}, TEST_START + timedelta(days=1)
        ),
        STAFF,
    ),
    (
        "translation: how long they take",
        lambda w, a: w.services.translations.waiting_until(a, "event", w.event),
        STAFF,
    ),
    (
        "event: duplicate",
        lambda w, a: w.services.events.duplicate(a, w.event, START + timedelta(days=7)),
        STAFF,
    ),
    ("event: attendees", lambda w, a: w.services.events.attendees(a, w.event), STAFF),
    (
        "event: its own attendees",
        lambda w, a: w.services.events.attendees(a, w.partner_event),
        STAFF | {"partner"},
    ),
    ("event: check-in", lambda w, a: w.services.events.check_in(a, w.event, "ABCDEF"), STAFF),
    # groups
    ("group: create", lambda w, a: w.services.groups.create(a, "group", name="Neu"), STAFF),
    (
        "group: translate",
        lambda w, a: w.services.groups.set_version(a, w.group, "tr", name="Yataklar"),
        STAFF | {"lead"},
    ),
    (
        "group: translate a task's label",
        lambda w, a: w.services.groups.set_slot_label(a, w.slot, "tr", "Sulama"),
        STAFF | {"lead"},
    ),
    (
        "group: add a task",
        lambda w, a: w.services.groups.add_slot(a, w.group, "Gießen", 2),
        STAFF | {"lead"},
    ),
    (
        "group: change its meeting time",
        lambda w, a: w.services.groups.set_version(a, w.group, "de", rhythm="mittwochs 18 Uhr"),
        STAFF | {"lead"},
    ),
    (
        "group: change its topic",
        lambda w, a: w.services.groups.update(a, w.group, topic="children"),
        STAFF | {"lead"},
    ),
    (
        "group: hand it to a new lead",
        lambda w, a: w.services.groups.set_lead(a, w.group, 700),
        STAFF,
    ),
    (
        "group: rename a task",
        lambda w, a: w.services.groups.set_slot_label(a, w.slot, "de", "Blumen gießen"),
        STAFF | {"lead"},
    ),
    (
        "group: change a task's capacity",
        lambda w, a: w.services.groups.update_slot(a, w.slot, capacity=5),
        STAFF | {"lead"},
    ),
    (
        "group: remove a task",
        lambda w, a: w.services.groups.remove_slot(a, w.slot),
        STAFF | {"lead"},
    ),
    ("group: see members", lambda w, a: w.services.groups.members(a, w.group), STAFF | {"lead"}),
    ("group: close", lambda w, a: w.services.groups.close(a, w.group, "Fertig"), STAFF | {"lead"}),
    ("group: from an idea", lambda w, a: w.services.groups.from_idea(a, w.other_idea), STAFF),
    # broadcasts
    ("broadcast: compose to everyone", lambda w, a: w.services.broadcasts.create_draft(a), STAFF),
    (
        "broadcast: compose to the group",
        lambda w, a: w.services.broadcasts.create_draft(a, {"group_members": [w.group]}),
        STAFF | {"lead"},
    ),
    (
        "broadcast: compose to another group",
        lambda w, a: w.services.broadcasts.create_draft(a, {"group_members": [w.other_group]}),
        STAFF | {"other lead"},
    ),
    (
        "broadcast: see a coordinator's draft",
        lambda w, a: w.services.broadcasts.get(a, w.broadcast),
        STAFF,
    ),
    (
        "broadcast: edit",
        lambda w, a: w.services.broadcasts.set_version(a, w.lead_broadcast, "tr", text="Sulama"),
        STAFF | {"lead"},
    ),
    (
        "broadcast: widen to everyone",
        lambda w, a: w.services.broadcasts.clear_audience(a, w.lead_broadcast),
        STAFF,
    ),
    (
        "broadcast: send",
        lambda w, a: w.services.broadcasts.send_now(a, w.lead_broadcast),
        STAFF | {"lead"},
    ),
    (
        "broadcast: send to everyone",
        lambda w, a: w.services.broadcasts.send_now(a, w.broadcast),
        STAFF,
    ),
    (
        "broadcast: schedule",
        lambda w, a: w.services.broadcasts.schedule_once(
            a, w.broadcast, TEST_START + timedelta(hours=2)
        ),
        STAFF,
    ),
    ("broadcast: discard", lambda w, a: w.services.broadcasts.discard(a, w.broadcast), STAFF),
    (
        "broadcast: cancel",
        lambda w, a: w.services.broadcasts.cancel(a, w.lead_broadcast),
        STAFF | {"lead"},
    ),
    # ideas
    ("idea: see the inbox", lambda w, a: w.services.ideas.inbox(a), STAFF),
    ("idea: see an unpublished idea", lambda w, a: w.services.ideas.get(a, w.idea), STAFF),
    ("idea: publish", lambda w, a: w.services.ideas.publish(a, w.idea), STAFF),
    ("idea: set a status", lambda w, a: w.services.ideas.set_status(a, w.idea, "planned"), STAFF),
    ("idea: merge", lambda w, a: w.services.ideas.merge(a, w.idea, w.other_idea), STAFF),
    ("idea: see the reported ideas", lambda w, a: w.services.ideas.reported(a), STAFF),
    ("idea: keep a reported idea", lambda w, a: _keep_reported(w, a), STAFF),
    (
        "idea: hide a public idea",
        lambda w, a: w.services.ideas.hide_reported(a, w.other_idea),
        STAFF,
    ),
    # moderation
    ("resident: ban", lambda w, a: w.services.moderation.ban(a, 700), STAFF),
    ("resident: unban", lambda w, a: w.services.moderation.unban(a, 700), STAFF),
    (
        "resident: ban an idea's author",
        lambda w, a: w.services.moderation.ban_author(a, w.other_idea),
        STAFF,
    ),
    (
        "resident: unban an idea's author",
        lambda w, a: w.services.moderation.unban_author(a, w.other_idea),
        STAFF,
    ),
    # translations
    (
        "translation: an event's languages",
        lambda w, a: w.services.translations.languages(a, "event", w.event),
        STAFF,
    ),
    (
        "translation: its own event's languages",
        lambda w, a: w.services.translations.languages(a, "event", w.partner_event),
        STAFF | {"partner"},
    ),
    (
        "translation: its own group's languages",
        lambda w, a: w.services.translations.languages(a, "group", w.group),
        STAFF | {"lead"},
    ),
    (
        "translation: ask the translators",
        lambda w, a: w.services.translations.request(a, "event", w.event, ["ar"]),
        STAFF,
    ),
    (
        "translation: ask for its own group",
        lambda w, a: w.services.translations.request(a, "group", w.group, ["ar"]),
        STAFF | {"lead"},
    ),
    ("translation: open tasks", lambda w, a: w.services.translations.open_tasks(a), {"translator"}),
    (
        "translation: see a task",
        lambda w, a: w.services.translations.get(a, w.task),
        STAFF | {"translator"},
    ),
    (
        "translation: translate a task",
        lambda w, a: w.services.translations.submit(a, w.task, {"title": "Avlu şenliği"}),
        {"translator"},
    ),
    ("translation: waiting for approval", lambda w, a: w.services.translations.waiting(a), STAFF),
    (
        "translation: approve",
        lambda w, a: w.services.translations.approve(a, w.submitted_task),
        STAFF,
    ),
    (
        "translation: reject",
        lambda w, a: w.services.translations.reject(a, w.submitted_task),
        STAFF,
    ),
    (
        "translation: make someone a translator",
        lambda w, a: w.services.translations.appoint(a, RESIDENT),
        STAFF,
    ),
    (
        "translation: a broadcast's languages",
        lambda w, a: w.services.translations.languages(a, "broadcast", w.broadcast),
        STAFF,
    ),
    (
        "translation: its own broadcast's languages",
        lambda w, a: w.services.translations.languages(a, "broadcast", w.lead_broadcast),
        STAFF | {"lead"},
    ),
    (
        "translation: machine drafts unreviewed",
        lambda w, a: w.services.translations.approve_machine_drafts(a, "event", w.event),
        STAFF,
    ),
    (
        "broadcast: send once translated",
        lambda w, a: w.services.broadcasts.send_when_translated(
            a, w.broadcast, TEST_START + timedelta(days=1)
        ),
        STAFF,
    ),
    (
        "translation: offer to translate",
        lambda w, a: w.services.translations.offer(a, "Nachbar"),
        set(ROLES) - {"anonymous"},
    ),
    # roles and the audit log (least privilege: coordinators hand out partner and translator)
    (
        "role: invite a partner organisation",
        lambda w, a: w.services.roles.invite(a, Role.PARTNER),
        STAFF,
    ),
    (
        "role: invite a translator",
        lambda w, a: w.services.roles.invite(a, Role.TRANSLATOR),
        STAFF,
    ),
    (
        "role: invite a coordinator",
        lambda w, a: w.services.roles.invite(a, Role.COORDINATOR),
        {"admin"},
    ),
    ("role: invite an admin", lambda w, a: w.services.roles.invite(a, Role.ADMIN), {"admin"}),
    (
        "role: revoke a translator",
        lambda w, a: w.services.roles.revoke(a, TRANSLATOR, Role.TRANSLATOR),
        STAFF,
    ),
    (
        "role: revoke a partner organisation",
        lambda w, a: w.services.roles.revoke(a, PARTNER, Role.PARTNER),
        STAFF,
    ),
    (
        "role: revoke a coordinator",
        lambda w, a: w.services.roles.revoke(a, COORDINATOR.telegram_id or 0, Role.COORDINATOR),
        {"admin"},
    ),
    ("role: list the team", lambda w, a: w.services.roles.staff(a), STAFF),
    ("audit: read the log", lambda w, a: w.services.roles.audit(a), {"admin"}),
    # the privacy notice (/notice)
    ("notice: view the versions", lambda w, a: w.services.notices.overview(a), {"admin"}),
    (
        "notice: publish a new version",
        lambda w, a: w.services.notices.publish(a, 2, {"de": "Neuer Text", "tr": "Yeni metin"}),
        {"admin"},
    ),
]


async def attempt(
    connection: AsyncConnection, world: World, what: str, call: Call, actor_name: str
) -> bool:
    """Run one cell in a savepoint that is rolled back; True if it went through."""
    actor = ROLES[actor_name]
    if actor_name == "lead":
        actor = lead(LEAD, world.group)
    elif actor_name == "other lead":
        actor = lead(OTHER_LEAD, world.other_group)
    savepoint = await connection.begin_nested()
    try:
        result = await call(world, actor)
    except NotAllowed:
        return False
    finally:
        await savepoint.rollback()
    return result is not None if " see " in f" {what} " else True  # reads show nothing instead


@pytest.mark.parametrize(("what", "call", "allowed"), MATRIX, ids=[row[0] for row in MATRIX])
async def test_authorization_matrix(
    connection: AsyncConnection, what: str, call: Call, allowed: set[str]
) -> None:
    sessions = async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    world = await neighbourhood(sessions)
    outcome = {name: await attempt(connection, world, what, call, name) for name in ROLES}
    expected = {name: name in allowed for name in ROLES}
    assert outcome == expected, what
