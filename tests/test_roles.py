"""Roles (issue 13, point 5): one-time invitations that expire, least privilege for who may
invite and revoke what, a revocation that counts at the next update (mid-flow included), the
audit log written in the action's own transaction and read by admins only; end to end in
German and Arabic through the sandbox."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.buttons import AuditButton, RoleButton
from bot.i18n import I18n
from bot.rendering import (
    BroadcastRenderer,
    EventRenderer,
    GroupRenderer,
    IdeaRenderer,
    TranslationRenderer,
)
from bot.services import Services
from bot.services.groups import GroupView
from bot.services.permissions import Actor, NotAllowed
from bot.services.roles import Accepted, InvitationRefused
from storage.db import create_engine, create_session_factory
from storage.models import AuditEntry, EventVersion, Invitation, Role, RoleAssignment
from tests.conftest import ADMIN_ID
from tests.support.actors import ADMIN, COORDINATOR, partner, resident
from tests.support.clock import BERLIN, TEST_START, FixedClock
from tests.support.live import LiveBot, LiveResident, onboard, tr

LOCALES = ("de", "ar", "tr")
#: The admin of ADMIN_IDS (tests.support.actors.ADMIN is only an actor: nobody granted it).
THE_ADMIN = Actor(ADMIN_ID, frozenset({Role.ADMIN}), registered=True)


def build(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> Services:
    i18n = I18n(LOCALES, "de", BERLIN)
    return Services.build(
        sessions,
        admin_ids=frozenset({ADMIN_ID}),
        topics=("children",),
        locales=LOCALES,
        default_locale="de",
        tz=BERLIN,
        renderer=BroadcastRenderer(i18n),
        event_renderer=EventRenderer(i18n),
        idea_renderer=IdeaRenderer(i18n),
        group_renderer=GroupRenderer(i18n),
        translation_renderer=TranslationRenderer(i18n),
        clock=clock,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TEST_START)


@pytest.fixture
def services(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> Services:
    return build(sessions, clock)


async def audit_rows(
    sessions: async_sessionmaker[AsyncSession], after: int = 0
) -> list[AuditEntry]:
    """The entries after id ``after``: on PostgreSQL the database is shared by the run, and
    tests on their own connections (concurrent accepts) leave committed entries behind."""
    async with sessions() as session:
        return list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id)
            )
        )


async def last_audit_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    rows = await audit_rows(sessions)
    return rows[-1].id if rows else 0


# --- invitations ---------------------------------------------------------------------------


async def test_two_concurrent_accepts_grant_once(database_url: str) -> None:
    """Five taps on the same link at once, on separate connections: one role, one entry."""
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    people = [77001, 77002, 77003, 77004, 77005]
    try:
        roles = build(sessions, FixedClock(TEST_START)).roles
        made = await roles.invite(THE_ADMIN, Role.PARTNER)
        outcomes = await asyncio.gather(
            *(roles.accept(person, made.code) for person in people), return_exceptions=True
        )
        accepted = [o for o in outcomes if isinstance(o, Accepted)]
        refused = [o for o in outcomes if isinstance(o, InvitationRefused)]
        assert len(accepted) == 1 and accepted[0] == Accepted(Role.PARTNER, True)
        assert [r.reason for r in refused] == ["used"] * 4
        async with sessions() as session:
            holders = list(
                await session.scalars(
                    select(RoleAssignment.telegram_id).where(RoleAssignment.telegram_id.in_(people))
                )
            )
            accepts = await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "role.accept", AuditEntry.subject_id.in_(people))
            )
        assert len(holders) == 1 and accepts == 1
    finally:
        async with sessions.begin() as session:  # PostgreSQL's database is shared
            await session.execute(
                delete(RoleAssignment).where(RoleAssignment.telegram_id.in_(people))
            )
            await session.execute(delete(Invitation).where(Invitation.created_by == ADMIN_ID))
            await session.execute(
                delete(AuditEntry).where(AuditEntry.actor_telegram_id.in_([*people, ADMIN_ID]))
            )
        await engine.dispose()


async def test_expired_used_and_unknown_codes_grant_nothing(
    services: Services, clock: FixedClock
) -> None:
    roles = services.roles
    soon = await roles.invite(COORDINATOR, Role.TRANSLATOR, valid_for=timedelta(hours=1))
    later = await roles.invite(COORDINATOR, Role.TRANSLATOR)
    assert later.expires_at == TEST_START + timedelta(days=7)
    clock.advance(hours=2)
    with pytest.raises(InvitationRefused) as expired:
        await roles.accept(501, soon.code)
    assert expired.value.reason == "expired"
    assert await roles.accept(501, later.code) == Accepted(Role.TRANSLATOR, True)
    with pytest.raises(InvitationRefused) as used:
        await roles.accept(502, later.code)
    assert used.value.reason == "used"
    with pytest.raises(InvitationRefused) as unknown:
        await roles.accept(502, "no-such-code-at-all-here")
    assert unknown.value.reason == "unknown"
    assert (await services.residents.actor(501)).is_translator
    assert not (await services.residents.actor(502)).roles


async def test_least_privilege_for_inviting_and_revoking(services: Services) -> None:
    roles = services.roles
    for role in (Role.ADMIN, Role.COORDINATOR):
        with pytest.raises(NotAllowed):
            await roles.invite(COORDINATOR, role)
    for role in (Role.PARTNER, Role.TRANSLATOR):
        await roles.invite(COORDINATOR, role)
    for role in Role:
        await roles.invite(ADMIN, role)
        for nobody in (resident(600), partner(601), Actor(None)):
            with pytest.raises(NotAllowed):
                await roles.invite(nobody, role)
    assert roles.invitable(COORDINATOR) == (Role.PARTNER, Role.TRANSLATOR)
    assert roles.invitable(ADMIN) == tuple(Role)

    await services.residents.grant_role(610, Role.COORDINATOR)
    await services.residents.grant_role(611, Role.PARTNER)
    with pytest.raises(NotAllowed):
        await roles.revoke(COORDINATOR, 610, Role.COORDINATOR)
    assert await roles.revoke(COORDINATOR, 611, Role.PARTNER)
    assert not await roles.revoke(COORDINATOR, 611, Role.PARTNER)  # gone already
    assert await roles.revoke(ADMIN, 610, Role.COORDINATOR)
    assert not (await services.residents.actor(610)).is_staff


async def test_an_invitation_of_a_coordinator_revoked_since_grants_nothing(
    services: Services, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await services.residents.grant_role(620, Role.COORDINATOR)
    coordinator = await services.residents.actor(620)
    made = await services.roles.invite(coordinator, Role.PARTNER)
    await services.roles.revoke(ADMIN, 620, Role.COORDINATOR)
    with pytest.raises(InvitationRefused):
        await services.roles.accept(621, made.code)
    assert not (await services.residents.actor(621)).roles
    assert "role.accept" not in [row.action for row in await audit_rows(sessions)]


async def test_staff_lists_who_holds_what(services: Services) -> None:
    await services.residents.register(630, "tr")
    await services.residents.grant_role(630, Role.TRANSLATOR)
    await services.residents.grant_role(631, Role.COORDINATOR)
    members = await services.roles.staff(COORDINATOR)
    by = {(m.telegram_id, m.role): m for m in members}
    assert by[(ADMIN_ID, Role.ADMIN)].from_settings
    assert not by[(ADMIN_ID, Role.ADMIN)].revocable
    assert by[(630, Role.TRANSLATOR)].locale == "tr" and by[(630, Role.TRANSLATOR)].revocable
    assert not by[(631, Role.COORDINATOR)].revocable  # a coordinator can't remove another
    assert (await services.roles.staff(ADMIN))[-1].role == Role.TRANSLATOR
    with pytest.raises(NotAllowed):
        await services.roles.staff(partner(640))


# --- the audit log ---------------------------------------------------------------------------


async def test_audit_entries_commit_with_their_action_or_not_at_all(
    services: Services, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def boom(session: AsyncSession, view: GroupView) -> GroupView:
        raise RuntimeError("what the group's creation causes failed")

    start = await last_audit_id(sessions)
    with pytest.raises(RuntimeError):
        await services.groups.create(COORDINATOR, "group", name="Chor", then=boom)
    assert await audit_rows(sessions, start) == []  # the entry was written, then rolled back
    made = await services.groups.create(COORDINATOR, "group", name="Chor")
    await services.groups.close(COORDINATOR, made.id, "Gesungen")
    rows = await audit_rows(sessions, start)
    assert [(r.action, r.subject_kind, r.subject_id) for r in rows] == [
        ("group.create", "group", made.id),
        ("group.close", "group", made.id),
    ]
    assert rows[0].actor_telegram_id == COORDINATOR.telegram_id
    assert rows[0].at == TEST_START
    assert "Gesungen" not in repr([r.detail for r in rows])  # no residents' or staff's texts


async def test_staff_actions_are_recorded(
    services: Services, sessions: async_sessionmaker[AsyncSession]
) -> None:
    start = await last_audit_id(sessions)
    events = services.events
    draft = await events.create_draft(COORDINATOR)
    await events.set_version(COORDINATOR, draft.id, "de", title="Hoffest")
    with pytest.raises(Exception):  # noqa: B017 - not publishable yet: no time nor place
        await events.publish(COORDINATOR, draft.id)
    await events.update(
        COORDINATOR, draft.id, starts_at=TEST_START + timedelta(days=3), place_name="Hof"
    )
    await events.publish(COORDINATOR, draft.id)
    await events.cancel(COORDINATOR, draft.id)
    broadcast = await services.broadcasts.create_draft(COORDINATOR)
    await services.broadcasts.set_version(COORDINATOR, broadcast.id, "de", text="Hallo")
    await services.broadcasts.schedule_once(
        COORDINATOR, broadcast.id, TEST_START + timedelta(hours=3)
    )
    await services.broadcasts.cancel(COORDINATOR, broadcast.id)
    idea = await services.ideas.submit(700, "tr", text="Eine Bank am Spielplatz", topic="children")
    await services.ideas.publish(COORDINATOR, idea.id)
    await services.residents.register(701, "tr")
    await services.translations.appoint(COORDINATOR, 701)
    invited = await services.roles.invite(COORDINATOR, Role.PARTNER)
    await services.roles.accept(702, invited.code)
    await services.roles.revoke(ADMIN, 702, Role.PARTNER)
    actions = [(r.action, r.subject_kind) for r in await audit_rows(sessions, start)]
    assert actions == [
        ("event.publish", "event"),
        ("event.cancel", "event"),
        ("broadcast.schedule", "broadcast"),
        ("broadcast.cancel", "broadcast"),
        ("idea.publish", "idea"),
        ("translation.appoint", "resident"),
        ("role.invite", "invitation"),
        ("role.accept", "resident"),
        ("role.revoke", "resident"),
    ]
    assert "Bank" not in repr([r.detail for r in await audit_rows(sessions, start)])
    # The code is a secret until used: it never goes into the log.
    assert invited.code not in repr([r.detail for r in await audit_rows(sessions, start)])


async def test_only_admins_read_the_audit_log_a_page_at_a_time(
    services: Services, sessions: async_sessionmaker[AsyncSession]
) -> None:
    earlier = len(await audit_rows(sessions))  # left by other tests on a shared database
    for _ in range(25):
        await services.roles.invite(ADMIN, Role.TRANSLATOR)
    for actor in (COORDINATOR, partner(650), resident(651)):
        with pytest.raises(NotAllowed):
            await services.roles.audit(actor)
    first = await services.roles.audit(ADMIN)
    assert len(first.entries) == 20 and first.older is not None
    assert first.entries[0].id > first.entries[-1].id  # newest first
    rest = await services.roles.audit(ADMIN, before=first.older)
    assert len(rest.entries) == min(20, 5 + earlier)
    assert (rest.older is None) == (5 + earlier <= 20)
    assert {e.action for e in first.entries + rest.entries[:5]} == {"role.invite"}


# --- end to end through the sandbox ---------------------------------------------------------


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def pg(live_bot: LiveBot, locale: str, context: str, msgid: str) -> str:
    return str(
        live_bot.runtime.application.bot_data.i18n.translator(locale).pgettext(context, msgid)
    )


async def invitation_code(admin: LiveResident, role: Role) -> tuple[str, str]:
    """Tap "Invite …" on /roles; returns the link's code and the message's text."""
    await admin.say("/roles")
    message = await admin.tap(RoleButton("inv", role.value).pack())
    found = re.search(
        r"https://t\.me/quartierbot_sandbox_bot\?start=invite_([A-Za-z0-9_-]+)", message.text or ""
    )
    assert found, message.text
    return found.group(1), message.text or ""


async def texts_after(live_bot: LiveBot, who: LiveResident, text: str, wanted: str) -> list[str]:
    live_bot.emulator.send_text(who.user_id, text)

    def arrived() -> bool:
        return any(wanted in (m.text or "") for m in live_bot.emulator.bot_messages(who.user_id))

    await live_bot.emulator.wait_until(arrived, timeout=10)
    return [m.text or "" for m in live_bot.emulator.bot_messages(who.user_id)]


async def onboard_after_invitation(live_bot: LiveBot, who: LiveResident, locale: str) -> None:
    """After the welcome, /start goes on with the language picker, as without a link."""

    def picker() -> bool:
        messages = live_bot.emulator.bot_messages(who.user_id)
        return any(data == f"lang:{locale}" for m in messages for _label, data in m.buttons())

    await live_bot.emulator.wait_until(picker, timeout=10)
    await who.tap(f"lang:{locale}")
    await who.tap(f"consent:yes:{locale}")
    await who.tap("topics:done")


async def test_invitation_and_revocation_mid_flow_in_german(live_bot: LiveBot) -> None:
    admin = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(admin, "de")
    code, link_text = await invitation_code(admin, Role.COORDINATOR)
    assert (
        plain(
            tr(
                live_bot,
                "de",
                "🔗 An invitation as <b>{role}</b>:\n{link}\n\n"
                "It works once, until {expires}. Send it only to the person you mean.",
            ).split("{role}")[0]
        )
        in link_text
    )

    jana = live_bot.resident("Jana", "de", 880)
    welcome = plain(
        tr(live_bot, "de", "🎉 Welcome to the team! Your role: <b>{role}</b>.").format(
            role=pg(live_bot, "de", "role", "coordinator")
        )
    )
    texts = await texts_after(live_bot, jana, f"/start invite_{code}", welcome)
    assert any(welcome in text for text in texts)
    await onboard_after_invitation(live_bot, jana, "de")
    assert (await live_bot.runtime.services.residents.actor(880)).is_staff

    # The same link a second time: refused, in words.
    used = plain(
        tr(
            live_bot,
            "de",
            "🔒 This invitation has already been used: each link works only once. "
            "Please ask for a new one.",
        )
    )
    lena = live_bot.resident("Lena", "de", 881)
    assert any(used in t for t in await texts_after(live_bot, lena, f"/start invite_{code}", used))

    # Jana starts an event; meanwhile the admin takes the role away; her next step is refused.
    await jana.say("/newevent")
    screen = await admin.say("/roles")
    assert "Jana" in (screen.text or "")
    await admin.tap(RoleButton("rvk", "coordinator", 880).pack())
    done = await admin.tap(RoleButton("rvy", "coordinator", 880).pack())
    assert plain(
        tr(live_bot, "de", "✅ {name} no longer has the role {role}.").format(
            name="Jana", role=pg(live_bot, "de", "role", "coordinator")
        )
    ) in (done.text or "")
    refused = await jana.say("Hoffest")
    # handlers/newevent.py answers a step it may no longer take like a stale one.
    assert refused.text == tr(
        live_bot, "de", "⚠️ This button is no longer valid. Please send /menu."
    )
    async with create_session_factory(live_bot.runtime.engine)() as session:
        titles = list(await session.scalars(select(EventVersion.title)))
    assert "Hoffest" not in titles
    assert not (await live_bot.runtime.services.residents.actor(880)).is_staff

    # The admin reads it all in the audit log; the coordinator-to-be could not have.
    log = await admin.say("/audit")
    assert tr(live_bot, "de", "revoked a role") in (log.text or "")
    assert tr(live_bot, "de", "accepted an invitation") in (log.text or "")


async def test_roles_and_an_invitation_in_arabic(live_bot: LiveBot) -> None:
    admin = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(admin, "de")
    code, _text = await invitation_code(admin, Role.COORDINATOR)
    omar = live_bot.resident("Omar", "ar", 890)
    welcome = plain(
        tr(live_bot, "ar", "🎉 Welcome to the team! Your role: <b>{role}</b>.").format(
            role=pg(live_bot, "ar", "role", "coordinator")
        )
    )
    texts = await texts_after(live_bot, omar, f"/start invite_{code}", welcome)
    assert any(welcome in t for t in texts)
    await onboard_after_invitation(live_bot, omar, "ar")

    # /roles in Arabic: the team, and only the invitations a coordinator may make.
    screen = await omar.say("/roles")
    assert plain(tr(live_bot, "ar", "👥 <b>The team</b>")) in (screen.text or "")
    assert pg(live_bot, "ar", "roles heading", "Coordinators") in (screen.text or "")
    invites = [data for _label, data in screen.buttons() if data.startswith("rl:inv:")]
    assert invites == ["rl:inv:partner", "rl:inv:translator"]
    labels = [label for label, _data in screen.buttons()]
    assert tr(live_bot, "ar", "➕ Invite a translator") in labels
    assert not any(
        "coordinator" in d or "admin" in d for _l, d in screen.buttons() if d.startswith("rl:rv")
    )

    message = await omar.tap(RoleButton("inv", "translator").pack())
    found = re.search(r"start=invite_([A-Za-z0-9_-]+)", message.text or "")
    assert found
    layla = live_bot.resident("Layla", "ar", 891)
    welcome = plain(
        tr(live_bot, "ar", "🎉 Welcome to the team! Your role: <b>{role}</b>.").format(
            role=pg(live_bot, "ar", "role", "volunteer translator")
        )
    )
    assert any(
        welcome in t
        for t in await texts_after(live_bot, layla, f"/start invite_{found.group(1)}", welcome)
    )
    assert (await live_bot.runtime.services.residents.actor(891)).is_translator

    # A coordinator can't read the audit log; the refusal comes in Arabic.
    refused = await omar.say("/audit")
    # (Right to left: a message that begins otherwise gets a RIGHT-TO-LEFT MARK in front.)
    assert (refused.text or "").lstrip("\u200f") == tr(
        live_bot, "ar", "🔒 Only admins can read the audit log."
    ).lstrip("\u200f")
    # A forged "older" page changes nothing either.
    answer = await omar.tap_forged(AuditButton(1).pack())
    assert str(answer.get("text")).lstrip("\u200f") == tr(
        live_bot, "ar", "🔒 Only admins can read the audit log."
    ).lstrip("\u200f")
    # Unknown and expired links are answered in words.
    unknown = plain(
        tr(live_bot, "ar", "⚠️ This invitation link is not valid. Please ask for a new one.")
    )
    nour = live_bot.resident("Nour", "ar", 892)
    assert any(
        unknown in t
        for t in await texts_after(live_bot, nour, "/start invite_" + "x" * 22, unknown)
    )
