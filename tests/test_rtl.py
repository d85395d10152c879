"""Right to left everywhere: every message to an Arabic or Persian reader begins right to left.

Telegram lays a message out by its first strong character (UAX #9 P2/P3: isolates skipped,
emoji and digits neutral). Two paths send messages: the handlers' replies (the application's
``DirectionalBot``) and the outbox (``DeliveryService.enqueue``); both are checked here with
``bot.bidi`` and, independently, with the sandbox's own rule on the text as Telegram parses it.
Inserted data (titles, names, codes, excerpts, language names) is isolated; lists are joined
the locale's way; arrows point the reading way.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.bidi import FSI, PDI, RLM, begins_rtl, direct, direct_payload, first_strong
from bot.buttons import (
    EventButton,
    EventListButton,
    GroupButton,
    IdeaBoardButton,
    MenuButton,
    SettingsButton,
)
from bot.i18n import I18n
from bot.rendering import (
    BroadcastRenderer,
    EventDigestWriter,
    EventRenderer,
    GroupRenderer,
    IdeaRenderer,
    TranslationRenderer,
)
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.emulator.direction import message_direction
from bot.sandbox.emulator.models import SandboxMessage
from bot.sandbox.telegram_html import parse_text
from bot.services.broadcasts import BroadcastView, Version
from bot.services.delivery import Recipient
from bot.services.delivery.outbox import OUTBOX
from bot.services.events import EventService, EventVersionView, EventView, SignupView
from bot.services.groups import GroupVersionView, GroupView
from bot.services.ideas import IdeaStatus, IdeaView
from bot.services.translations import TaskStatus, TaskView
from bot.telegram_bidi import reader_reads_rtl, reading
from storage.models import (
    BroadcastStatus,
    EventStatus,
    GroupKind,
    GroupStatus,
    SignupStatus,
)
from tests.conftest import BotHarness
from tests.support import updates
from tests.support.actors import COORDINATOR
from tests.support.clock import TEST_START
from tests.support.recording import Call

RTL_LOCALES = ("ar", "fa")
TITLE_DE, TITLE_AR = "Nachbarschaftsfest", "مهرجان الحي"
GROUP_DE, GROUP_AR = "Gemeinschaftsgarten", "الحديقة المشتركة"
IDEA_TEXT = "Mehr Bänke im Park"


# --- the rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ℹ️ مساعدة", "L"),  # U+2139 INFORMATION SOURCE is a letter: class L
        ("👋 مرحبا", "AL"),  # emoji are neutral
        ("📅 12:00 שלום", "R"),  # so are digits and punctuation
        (f"📅 {FSI}Montag{PDI} مرحبا", "AL"),  # an isolate is skipped
        (f"{FSI}A{FSI}B{PDI}C{PDI} سلام", "AL"),  # nested isolates too
        (f"{FSI}Montag\nمرحبا", "AL"),  # an unclosed isolate ends with its paragraph
        (f"{FSI}Montag", None),
        (f"{RLM}ℹ️ Hilfe", "R"),  # the mark is a strong R character
        ("🏠 ⏰ 12 %", None),
        ("", None),
    ],
)
def test_first_strong_character(text: str, expected: str | None) -> None:
    assert first_strong(text) == expected
    # The sandbox's own implementation of the rule agrees.
    assert message_direction(text) == ("rtl" if expected in ("R", "AL") else "ltr")


def test_markup_is_not_text() -> None:
    assert first_strong("<b>سلام</b>", is_html=True) == "AL"
    assert first_strong("<b>سلام</b>") == "L"  # the tag's "b", read as plain text
    assert first_strong('<a href="tg://user?id=1">علي</a>', is_html=True) == "AL"
    assert first_strong("&lt;b&gt; سلام", is_html=True) == "L"  # an escaped "<b>" is text


def test_direct_marks_only_what_needs_it_and_is_idempotent() -> None:
    assert direct("ℹ️ <b>مساعدة</b>", is_html=True) == RLM + "ℹ️ <b>مساعدة</b>"
    assert direct("👋 مرحبا") == "👋 مرحبا"
    assert direct(direct("ℹ️ x")) == direct("ℹ️ x")
    assert direct("") == ""
    payload = {"method": "sendPhoto", "photo": "p", "caption": "📷 <b>x</b>", "parse_mode": "HTML"}
    assert direct_payload(payload, "fa")["caption"] == RLM + "📷 <b>x</b>"
    assert direct_payload(payload, "de") == payload
    assert direct_payload({"method": "sendLocation", "latitude": 1.0}, "ar") == {
        "method": "sendLocation",
        "latitude": 1.0,
    }


def test_reading_sets_and_restores_the_direction() -> None:
    before = reader_reads_rtl()
    with reading(True):
        assert reader_reads_rtl()
        with reading(False):
            assert not reader_reads_rtl()
        assert reader_reads_rtl()
    assert reader_reads_rtl() == before


def test_sandbox_bubbles_take_the_same_rule() -> None:
    def bubble(text: str) -> SandboxMessage:
        return SandboxMessage(message_id=1, chat_id=1, from_bot=True, date=0, text=text)

    assert bubble("ℹ️ مساعدة").direction == "ltr"
    assert bubble(RLM + "ℹ️ مساعدة").direction == "rtl"
    assert bubble(f"{FSI}Fest{PDI} بدأ").direction == "rtl"
    photo = SandboxMessage(1, 1, True, 0, caption="👋 سلام", kind="photo")
    assert photo.direction == "rtl"
    # The page's JSON carries it; app.js sets each bubble's dir from it.
    emulator = BotApiEmulator()
    assert emulator._page_message(bubble(RLM + "ℹ️ مساعدة"))["dir"] == "rtl"
    assert emulator._page_message(bubble("ℹ️ Hilfe"))["dir"] == "ltr"


# --- what code builds ---------------------------------------------------------------------


def test_lists_arrows_and_isolates_per_locale(i18n: I18n) -> None:
    ar, fa, de = (i18n.translator(locale) for locale in ("ar", "fa", "de"))
    assert ar.format_list(["بالغ واحد", "طفلان"]) == "بالغ واحد وطفلان"
    assert "،" in fa.format_list(["الف", "ب", "ج"])
    assert de.format_list(["A", "B", "C"]) == "A, B und C"
    assert ar.mirror("➡️ ↩️ →") == "⬅️ ↪️ ←"
    assert de.mirror("➡️ ↩️ →") == "➡️ ↩️ →"
    assert ar.gettext("↩️ Back").startswith("↪️")
    assert ar.gettext("▶️ Listen").startswith("▶️")  # play, not a direction
    assert ar.language("de") == f"{FSI}Deutsch{PDI}" and de.language("ar") == "العربية"


@pytest.fixture
def i18n(harness: BotHarness) -> I18n:
    return harness.application.bot_data.i18n


# --- the outbox ---------------------------------------------------------------------------

WHEN = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def sample_event(**changes: Any) -> EventView:
    event = EventView(
        id=7,
        status=EventStatus.PUBLISHED,
        created_by=1,
        organiser="Kita Sonne",
        default_locale="de",
        starts_at=WHEN,
        ends_at=WHEN + timedelta(hours=2),
        place_name="Stadtteiltreff",
        address="Hauptstraße 1",
        latitude=None,
        longitude=None,
        topics=("children",),
        capacity=20,
        signup_opens_at=None,
        signup_closes_at=None,
        publish_at=None,
        photo_file_id=None,
        reminder_hours=24,
        versions={
            "de": EventVersionView("de", TITLE_DE, "Mit Kuchen"),
            "ar": EventVersionView("ar", TITLE_AR, None),
        },
    )
    return replace(event, **changes)


SIGNUP = SignupView(
    id=3,
    event_id=7,
    telegram_id=5,
    locale="ar",
    status=SignupStatus.CONFIRMED,
    adults=1,
    children=2,
    interpreter_locale=None,
    childcare=False,
    wheelchair=False,
    note=None,
    code="K7PX2M",
    checked_in_at=None,
    created_at=WHEN,
)

IDEA = IdeaView(
    id=12,
    author_id=5,
    anonymous=False,
    locale="de",
    text=IDEA_TEXT,
    voice_file_id="voice-1",
    photo_file_id="photo-1",
    topic="children",
    place_text="Park",
    latitude=50.0,
    longitude=8.4,
    status=IdeaStatus.PLANNED,
    published=True,
    reason=None,
    merged_into_id=None,
    supporters=10,
    created_at=WHEN,
)

GROUP = GroupView(
    id=4,
    kind=GroupKind.PROJECT,
    status=GroupStatus.CLOSED,
    created_by=1,
    lead_id=None,
    topic=None,
    default_locale="de",
    versions={
        "de": GroupVersionView("de", GROUP_DE, None, None),
        "ar": GroupVersionView("ar", GROUP_AR, None, None),
    },
    members=3,
    slots=(),
    outcome="Zwölf Hochbeete",
    idea_id=None,
    created_at=WHEN,
)


def broadcast(
    text: str | None, voice: str | None = None, photo: str | None = None
) -> BroadcastView:
    return BroadcastView(
        id=2,
        kind="broadcast",
        status=BroadcastStatus.DRAFT,
        created_by=1,
        audience={},
        default_locale="de",
        photo_file_id=photo,
        urgent=False,
        send_at=None,
        repeat=None,
        parent_id=None,
        versions={"de": Version("de", text, voice)},
        progress_chat_id=None,
        progress_message_id=None,
        created_at=WHEN,
        finished_at=None,
    )


def outbox_payloads(i18n: I18n, locale: str) -> dict[str, dict[str, Any]]:
    """Every kind of message the outbox sends, rendered for one language."""
    events, ideas, groups = EventRenderer(i18n), IdeaRenderer(i18n), GroupRenderer(i18n)
    render_broadcast = BroadcastRenderer(i18n)
    event = sample_event()
    digest = EventDigestWriter(i18n)([event, sample_event(id=8)], locale)
    found = {
        "broadcast": render_broadcast(broadcast("Hallo <b>Nachbarn</b>"), locale),
        "broadcast photo": render_broadcast(broadcast("Hallo", photo="p-1"), locale),
        "broadcast voice": render_broadcast(broadcast(None, voice="v-1"), locale),
        "digest": {"method": "sendMessage", "text": digest, "parse_mode": "HTML"},
        "reminder": events.reminder(event, locale),
        "still coming": events.still_coming(event, locale),
        "promoted": events.promoted(event, SIGNUP, locale),
        "changed": events.changed(event, locale),
        "cancelled": events.cancelled(event, locale),
        "announcement": events.announcement(event, locale),
        "fill alert": events.fill_alert(event, 80, locale),
        "proposal": events.proposal(event, locale),
        "approved": events.decision(event, True, locale),
        "declined": events.decision(event, False, locale),
        "idea status": ideas.status_changed(replace(IDEA, reason="other"), locale),
        "idea published": ideas.published(IDEA, locale),
        "idea milestone": ideas.milestone(IDEA, 10, locale),
        "invitation": groups.invitation(GROUP, locale),
        "group closed": groups.closed(GROUP, locale),
    }
    for number, part in enumerate(ideas.new_idea(IDEA, "Ayşe", locale)):
        found[f"new idea {number}"] = part
    found["new idea translated"] = ideas.new_idea(IDEA, None, locale, "A bench at the stop")[-1]
    translations = TranslationRenderer(i18n)
    task = TaskView(
        3, "event", 7, locale, "de", {"title": "Hoffest", "description": "Mit Kuchen"},
        TaskStatus.SUBMITTED, "machine", None, {"title": "حفلة الفناء"}, WHEN, WHEN,
    )  # fmt: skip
    found.update(
        {
            "translation task": translations.task(task, [("Veranstaltung", "فعالي")], locale),
            "translation submitted": translations.submitted(task, locale),
            "translation approved": translations.approved(task, locale),
            "translator offer": translations.offer(5, "Layla", "ar", locale),
            "translator appointed": translations.appointed(locale),
        }
    )
    return found


_sources = itertools.count(1)


async def stored(harness: BotHarness, payload: dict[str, Any], locale: str) -> dict[str, Any]:
    """The payload as the outbox stores it for a reader of ``locale`` (the real enqueue)."""
    delivery = harness.application.bot_data.services.delivery
    source = f"test:rtl:{next(_sources)}"
    added = await delivery.enqueue(
        source=source,
        kind="broadcast",
        broadcast_id=None,
        payloads={locale: payload},
        fallback_locale=locale,
        recipients=[Recipient(5000 + next(_sources), locale)],
    )
    assert added == 1
    async with harness.engine.connect() as connection:
        result = await connection.execute(select(OUTBOX.c.payload).order_by(OUTBOX.c.id.desc()))
        return dict(result.scalars().first())


def shown_text(fields: dict[str, Any]) -> str | None:
    text = fields.get("text", fields.get("caption"))
    return None if text is None else str(text)


def assert_begins_rtl(text: str, what: str, *, is_html: bool = True) -> None:
    assert begins_rtl(text, is_html=is_html), f"{what} begins left to right: {text!r}"
    plain = parse_text(text, "HTML")[0] if is_html else text  # also: the HTML is valid
    assert message_direction(plain) == "rtl", f"{what}, as Telegram parses it: {plain!r}"


@pytest.mark.parametrize("locale", RTL_LOCALES)
async def test_every_outbox_message_begins_right_to_left(
    harness: BotHarness, i18n: I18n, locale: str
) -> None:
    t = i18n.translator(locale)
    payloads = outbox_payloads(i18n, locale)
    for what, payload in payloads.items():
        row = await stored(harness, payload, locale)
        text = shown_text(row)
        if text is None:
            assert payload["method"] == "sendLocation", what
            continue
        assert_begins_rtl(text, f"{locale} {what}")
        assert {k: v for k, v in row.items() if k not in ("text", "caption")} == {
            k: v for k, v in payload.items() if k not in ("text", "caption")
        }
    title = TITLE_AR if locale == "ar" else TITLE_DE  # Persian has no version: the default's
    for what in ("reminder", "promoted", "fill alert", "announcement", "digest"):
        assert f"{FSI}{title}{PDI}" in str(payloads[what]["text"]), what
    assert f"<code>{FSI}K7PX2M{PDI}</code>" in payloads["promoted"]["text"]
    group = GROUP_AR if locale == "ar" else GROUP_DE
    assert f"<b>{FSI}{group}{PDI}</b>" in payloads["invitation"]["text"]
    assert f"<i>{FSI}{IDEA_TEXT}{PDI}</i>" in payloads["idea published"]["text"]
    card = payloads["new idea 3"]
    assert (
        t.language("de") in card["text"] and t.language("de") in payloads["new idea 0"]["caption"]
    )
    assert f"<i>{FSI}{IDEA_TEXT}{PDI}</i>" in card["text"]


async def test_left_to_right_payloads_are_stored_unchanged(harness: BotHarness, i18n: I18n) -> None:
    for locale in ("de", "tr"):
        for what, payload in outbox_payloads(i18n, locale).items():
            row = await stored(harness, payload, locale)
            assert row == payload, what
            assert RLM not in str(row) and FSI not in str(row), what


# --- the bot's screens --------------------------------------------------------------------


async def publish_event(events: EventService, title: str, days: int) -> EventView:
    draft = await events.create_draft(COORDINATOR)
    await events.set_version(COORDINATOR, draft.id, "de", title=title, description="Mit Kuchen")
    if title == TITLE_DE:
        await events.set_version(COORDINATOR, draft.id, "ar", title=TITLE_AR)
    await events.update(
        COORDINATOR,
        draft.id,
        starts_at=TEST_START + timedelta(days=days),
        place_name="Treff & Café",
        capacity=30,
    )
    return await events.publish(COORDINATOR, draft.id)


async def neighbourhood(harness: BotHarness) -> tuple[EventView, GroupView, IdeaView]:
    services = harness.application.bot_data.services
    event = await publish_event(services.events, TITLE_DE, 2)
    for day in (3, 4, 5):  # four events: the list has a second page
        await publish_event(services.events, f"Treffen {day}", day)
    group = await services.groups.create(COORDINATOR, "project", name=GROUP_DE)
    group = await services.groups.set_version(COORDINATOR, group.id, "ar", name=GROUP_AR)
    idea = await services.ideas.submit(7001, "de", text=IDEA_TEXT)
    idea = await services.ideas.publish(COORDINATOR, idea.id)
    return event, group, idea


def bot_said(calls: list[Call], chat_id: int) -> list[Call]:
    """Every message, edit and alert among ``calls`` that the bot sent this resident."""
    return [
        call
        for call in calls
        if (call.method in {"sendMessage", "editMessageText"} and call.params["chat_id"] == chat_id)
        or (call.method == "answerCallbackQuery" and call.params.get("text"))
    ]


@pytest.mark.parametrize(
    ("locale", "sender"),
    [("ar", updates.user(2001, "Omar", "ar")), ("fa", updates.user(2002, "Maryam", "fa"))],
)
async def test_every_screen_begins_right_to_left(
    harness: BotHarness, i18n: I18n, locale: str, sender: dict[str, Any]
) -> None:
    t = i18n.translator(locale)
    event, group, _idea = await neighbourhood(harness)
    screens: dict[str, list[Call]] = {}

    async def step(name: str, action: str) -> None:
        before = len(harness.request.calls)
        if action.startswith("/"):
            await harness.send(sender, action)
        else:
            await harness.tap(sender, action)
        screens[name] = bot_said(harness.request.calls[before:], sender["id"])
        assert screens[name], f"nothing shown for {name}"

    await step("welcome", "/start")
    await step("privacy notice", f"lang:{locale}")
    await step("topics", f"consent:yes:{locale}")
    await step("menu", "topics:done")
    await step("help", "/help")
    await step("menu again", "/menu")
    await step("events", "/events")
    await step("events page 2", EventListButton(3).pack())
    await step("event", EventButton("show", event.id).pack())
    await step("adults", EventButton("join", event.id).pack())
    await step("children", EventButton("ad", event.id, 1).pack())
    await step("needs", EventButton("ch", event.id, 1, 2).pack())
    await step("signed up", EventButton("ok", event.id, 1, 2, 0).pack())
    await step("my sign-ups", MenuButton("signups").pack())
    await step("settings", "/settings")
    await step("settings button", SettingsButton("open").pack())
    await step("ideas", "/ideas")
    await step("idea board", IdeaBoardButton().pack())
    await step("groups", "/groups")
    await step("group", GroupButton("show", group.id).pack())

    for name, calls in screens.items():
        for call in calls:
            is_html = call.method != "answerCallbackQuery"
            assert_begins_rtl(call.text, f"{locale} {name}", is_html=is_html)

    def text_of(name: str) -> str:
        return screens[name][-1].text

    title = TITLE_AR if locale == "ar" else TITLE_DE
    assert f"{FSI}{title}{PDI}" in text_of("event")
    signup = await harness.application.bot_data.services.events.signup_of(event.id, sender["id"])
    assert signup is not None
    assert f"<code>{FSI}{signup.code}{PDI}</code>" in text_of("signed up")
    party = t.format_list(
        [
            t.ngettext("{count} adult", "{count} adults", 1).format(count=t.format_number(1)),
            t.ngettext("{count} child", "{count} children", 2).format(count=t.format_number(2)),
        ]
    )
    assert party in text_of("signed up") and party in text_of("needs")
    assert ", " not in party
    assert f"{FSI}{title}{PDI}" in text_of("my sign-ups")
    group_name = GROUP_AR if locale == "ar" else GROUP_DE
    assert f"<b>{FSI}{group_name}{PDI}</b>" in text_of("group")
    assert f"<b>{FSI}{group_name}{PDI}</b>" in text_of("groups")
    assert f"<i>{FSI}{IDEA_TEXT}{PDI}</i>" in text_of("idea board")
    assert t.language("de") in text_of("idea board")
    assert t.language(locale) in text_of("settings")

    # Arrows point the reading way; a row of buttons still runs left to right in Telegram.
    first_page, second_page = screens["events"][-1].buttons, screens["events page 2"][-1].buttons
    assert ("◀️", EventListButton(3).pack()) in first_page  # "next" points left
    assert ("▶️", EventListButton(0).pack()) in second_page  # "back" points right
    titles = [label for label, data in first_page if data.startswith("ev:show:")]
    assert titles and all(label.startswith("⬅️ ") for label in titles)
    back = [label for label, _ in screens["needs"][-1].buttons if label.startswith(("↩", "↪"))]
    assert back and all(label.startswith("↪️") for label in back)


async def test_left_to_right_screens_are_unmarked(harness: BotHarness) -> None:
    event, group, _ = await neighbourhood(harness)
    ayse = updates.user(2003, "Ayşe", "tr")
    for action in ("/start", "lang:tr", "consent:yes:tr", "topics:done", "/help", "/events"):
        if action.startswith("/"):
            await harness.send(ayse, action)
        else:
            await harness.tap(ayse, action)
    await harness.tap(ayse, EventButton("ok", event.id, 1, 2, 0).pack())
    await harness.tap(ayse, GroupButton("show", group.id).pack())
    said = bot_said(harness.request.calls, ayse["id"])
    assert said
    for call in said:
        assert RLM not in call.text and FSI not in call.text, call.text
    events_list = [call for call in said if "evl:3:all" in dict(call.buttons).values()]
    assert events_list and ("▶️", "evl:3:all") in events_list[-1].buttons
