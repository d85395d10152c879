"""Button payloads (bot/buttons.py): the wire formats, round trips, Telegram's 64 bytes, and
forged data, which unpacks to nothing and, through the bot, changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, get_args

import pytest

from bot.buttons import (
    ALL_NEEDS,
    FAMILIES,
    MAX_BYTES,
    MAX_ID,
    MAX_NOTICE_VERSION,
    MAX_OFFSET,
    AuditButton,
    BroadcastAction,
    BroadcastButton,
    Button,
    ConsentButton,
    DigestButton,
    EventAction,
    EventAdminAction,
    EventAdminButton,
    EventButton,
    EventComposerAction,
    EventComposerButton,
    EventEditButton,
    EventListButton,
    GroupAction,
    GroupButton,
    GroupEditAction,
    GroupEditButton,
    GroupListButton,
    GroupNewButton,
    IdeaBoardButton,
    IdeaButton,
    IdeaModerationAction,
    IdeaModerationButton,
    IdeaReportButton,
    IdeaStatusChoice,
    IdeaStep,
    IdeaSupportButton,
    IdeaVoiceButton,
    LanguageButton,
    MenuButton,
    MenuEntry,
    NoticeButton,
    PrivacyButton,
    PrivacyStep,
    QuietButton,
    RoleButton,
    SettingsButton,
    SettingsEntry,
    SkippableStep,
    TaskButton,
    TopicButton,
    TopicsDoneButton,
    TranslationAction,
    TranslationButton,
    TranslatorButton,
)
from bot.services.events import MAX_CAPACITY, MAX_PARTY
from bot.services.ideas import REJECT_REASONS
from bot.topics import TOPIC_LABELS
from handlers import handler_list
from handlers.callbacks import ButtonHandler
from tests.conftest import ADMIN_ID, BotHarness
from tests.support import updates
from tests.support.actors import STAFF

#: Records and their callback data, as the buttons in chats carry it (this never changes).
WIRE: list[tuple[Button, str]] = [
    (LanguageButton("tr"), "lang:tr"),
    (LanguageButton("tr", "event_42"), "lang:tr:event_42"),
    (ConsentButton("yes", "ar"), "consent:yes:ar"),
    (LanguageButton("de_simple"), "lang:de_simple"),
    (ConsentButton("yes", "de_simple"), "consent:yes:de_simple"),
    (ConsentButton("no", "uk", "project_7"), "consent:no:uk:project_7"),
    (TopicButton("seniors"), "topic:seniors"),
    (TopicsDoneButton(), "topics:done"),
    (TopicButton("seniors", "settings"), "topic:seniors:settings"),
    (TopicsDoneButton("settings"), "topics:done:settings"),
    (MenuButton("signups"), "menu:signups"),
    (SettingsButton("news_off"), "set:news_off"),
    (PrivacyButton("delete"), "privacy:delete"),
    (QuietButton((21, 8)), "quiet:21-8"),
    (QuietButton(None), "quiet:off"),
    (DigestButton("on"), "digest:on"),
    (BroadcastButton("go", 12), "bc:go:12"),
    (BroadcastButton("text", 12, locale="de"), "bc:text:12:de"),
    (BroadcastButton("at", 12, topic="health"), "bc:at:12:health"),
    (BroadcastButton("wd", 12, day="tue"), "bc:wd:12:tue"),
    (EventButton("show", 1), "ev:show:1"),
    (EventButton("ad", 4, 2), "ev:ad:4:2"),
    (EventButton("ch", 4, 2, 1), "ev:ch:4:2:1"),
    (EventButton("nd", 4, 2, 1, 5), "ev:nd:4:2:1:5"),
    (EventButton("ok", 4, 1, 0, 0), "ev:ok:4:1:0:0"),
    (EventButton("still", 4, answer="yes"), "ev:still:4:yes"),
    (EventButton("chk", 4, 2, 1, 3), "ev:chk:4:2:1:3"),
    (EventButton("stop", 4), "ev:stop:4"),
    (EventButton("wlq", 4), "ev:wlq:4"),
    (EventListButton(), "evl:0:all"),
    (EventListButton(3, "week"), "evl:3:week"),
    (EventListButton(0, "seniors"), "evl:0:t_seniors"),
    (EventAdminButton("cancely", 9), "eva:cancely:9"),
    (EventComposerButton("skip", 9, step="until"), "evc:skip:9:until"),
    (EventComposerButton("cap", 9, capacity=0), "evc:cap:9:0"),
    (EventComposerButton("topic", 9, topic="children"), "evc:topic:9:children"),
    (EventComposerButton("ann", 9, audience="topics"), "evc:ann:9:topics"),
    (EventComposerButton("publish", 9), "evc:publish:9"),
    (EventEditButton(9), "eve:9"),
    (EventEditButton(9, "ask", "reminder"), "eve:9:ask:reminder"),
    (EventEditButton(9, "clear", "address"), "eve:9:clear:address"),
    (EventEditButton(9, "remind", hours=48), "eve:9:remind:48"),
    (IdeaButton("new"), "idea:new:go"),
    (IdeaButton("place"), "idea:place:skip"),
    (IdeaButton("topic"), "idea:topic:none"),
    (IdeaButton("topic", topic="environment"), "idea:topic:environment"),
    (IdeaButton("anon", anonymous=True), "idea:anon:1"),
    (IdeaButton("anon", anonymous=False), "idea:anon:0"),
    (IdeaBoardButton(), "idb:0:supported:all"),
    (IdeaBoardButton(3, "newest", "work"), "idb:3:newest:work"),
    (IdeaSupportButton(5), "ids:5"),
    (IdeaVoiceButton(5), "idv:5"),
    (IdeaReportButton(5), "idr:5"),
    (IdeaModerationButton("keep", 5), "idm:keep:5"),
    (IdeaModerationButton("banok", 5), "idm:banok:5"),
    (IdeaModerationButton("pub", 3), "idm:pub:3"),
    (IdeaModerationButton("st", 3, "in_progress"), "idm:st:3:in_progress"),
    (IdeaModerationButton("why", 3, "not_possible"), "idm:why:3:not_possible"),
    (IdeaModerationButton("rs", 3, "not_possible", "duplicate"), "idm:rs:3:not_duplicate"),
    (IdeaModerationButton("rs", 3, "rejected", "not_our_area"), "idm:rs:3:rej_not_our_area"),
    (GroupButton("join", 2), "grp:join:2"),
    (GroupButton("unslot", 2, 17), "grp:unslot:2:17"),
    (GroupListButton(), "grl:0:all"),
    (GroupListButton(0, "mine"), "grl:0:mine"),
    (GroupListButton(6, "housing"), "grl:6:housing"),
    (GroupNewButton("kind", kind="project"), "grn:kind:project"),
    (GroupNewButton("topic"), "grn:topic:none"),
    (GroupNewButton("topic", topic="culture_sport"), "grn:topic:culture_sport"),
    (GroupEditButton("open", 2), "gre:open:2"),
    (GroupEditButton("rhythm", 2), "gre:rhythm:2"),
    (GroupEditButton("topic", 2), "gre:topic:2:none"),
    (GroupEditButton("topic", 2, topic="housing"), "gre:topic:2:housing"),
    (GroupEditButton("lead", 2, telegram_id=8_123_456_789), "gre:lead:2:8123456789"),
    (GroupEditButton("me", 2), "gre:me:2"),
    (GroupEditButton("cap", 2, 17), "gre:cap:2:17"),
    (GroupEditButton("rmok", 2, 17), "gre:rmok:2:17"),
    (EventComposerButton("annw", 5, audience="all"), "evc:annw:5:all"),
    (TranslationButton("open", "event", 5), "tl:open:event:5"),
    (TranslationButton("lang", "group", 3, "uk"), "tl:lang:group:3:uk"),
    (TranslationButton("ask", "event", 5), "tl:ask:event:5"),
    (TranslationButton("skip", "group", 3), "tl:skip:group:3"),
    (TranslationButton("wait", "broadcast", 8), "tl:wait:broadcast:8"),
    (TranslationButton("machine", "broadcast", 8), "tl:machine:broadcast:8"),
    (TaskButton("do", 12), "tt:do:12"),
    (TaskButton("ok", 12), "tt:ok:12"),
    (TaskButton("edit", 12), "tt:edit:12"),
    (TaskButton("list"), "tt:list"),
    (TranslatorButton("offer"), "tv:offer"),
    (TranslatorButton("yes", 8_123_456_789), "tv:yes:8123456789"),
    (RoleButton("list"), "rl:list"),
    (RoleButton("inv", "translator"), "rl:inv:translator"),
    (RoleButton("rvk", "coordinator", 8_123_456_789), "rl:rvk:8123456789:coordinator"),
    (RoleButton("rvy", "partner", 42), "rl:rvy:42:partner"),
    (AuditButton(1234), "au:1234"),
    (SettingsButton("lead_off"), "set:lead_off"),
    (NoticeButton("ok", 2), "nt:ok:2"),
    (NoticeButton("no", 12), "nt:no:12"),
    (NoticeButton("new"), "nt:new"),
    (NoticeButton("skip"), "nt:skip"),
    (NoticeButton("pub"), "nt:pub"),
    (GroupNewButton("skip"), "grn:skip:rhythm"),
]

TOPIC = max(TOPIC_LABELS, key=len)
LINK = f"project_{'9' * 10}"
SKIP_STEP = max(get_args(SkippableStep), key=len)
REASON = max(REJECT_REASONS, key=len)
#: The longest locale code of the allowed shape (a language and a variety, like de_simple).
LOCALE = "xxx_xxxxxxxx"


BROADCAST_ARGS: dict[str, dict[str, str]] = {
    **{action: {"locale": LOCALE} for action in ("al", "text", "rmv", "pv")},
    "at": {"topic": TOPIC},
    "wd": {"day": "wed"},
}
EVENT_ARGS: dict[str, dict[str, object]] = {
    "ad": {"adults": MAX_PARTY},
    "ch": {"adults": MAX_PARTY, "children": MAX_PARTY},
    **{
        action: {"adults": MAX_PARTY, "children": MAX_PARTY, "needs": ALL_NEEDS}
        for action in ("nd", "ok", "wl", "note", "chk")
    },
    "still": {"answer": "yes"},
}
COMPOSER_ARGS: dict[str, dict[str, object]] = {
    "skip": {"step": SKIP_STEP},
    "cap": {"capacity": MAX_CAPACITY},
    "topic": {"topic": TOPIC},
    "ann": {"audience": "topics"},
    "annw": {"audience": "topics"},
}
IDEA_ARGS: dict[str, dict[str, object]] = {"topic": {"topic": TOPIC}, "anon": {"anonymous": True}}
GROUP_EDIT_ARGS: dict[str, dict[str, object]] = {
    "topic": {"topic": TOPIC},
    "lead": {"telegram_id": 9_999_999_999},
    **{action: {"slot_id": MAX_ID} for action in ("slot", "label", "cap", "rm", "rmok")},
}
MODERATION_ARGS: dict[str, list[dict[str, object]]] = {
    "st": [{"status": status} for status in get_args(IdeaStatusChoice)],
    "why": [{"status": status} for status in ("not_possible", "rejected")],
    "rs": [{"status": status, "reason": REASON} for status in ("not_possible", "rejected")],
}


def _widest() -> list[Button]:
    """Every family and action with the largest values it allows: the longest data there is."""
    return [
        LanguageButton(LOCALE, LINK),
        *(ConsentButton(answer, LOCALE, LINK) for answer in ("yes", "no")),
        TopicButton(TOPIC),
        TopicsDoneButton(),
        *(MenuButton(entry) for entry in get_args(MenuEntry)),
        *(SettingsButton(entry) for entry in get_args(SettingsEntry)),
        *(PrivacyButton(step) for step in get_args(PrivacyStep)),
        QuietButton((23, 23)),
        DigestButton("off"),
        *(
            BroadcastButton(action, MAX_ID, **BROADCAST_ARGS.get(action, {}))
            for action in get_args(BroadcastAction)
        ),
        *(
            EventButton(action, MAX_ID, **EVENT_ARGS.get(action, {}))
            for action in get_args(EventAction)
        ),
        EventListButton(MAX_OFFSET, TOPIC),
        *(EventAdminButton(action, MAX_ID) for action in get_args(EventAdminAction)),
        *(
            EventComposerButton(action, MAX_ID, **COMPOSER_ARGS.get(action, {}))
            for action in get_args(EventComposerAction)
        ),
        *(IdeaButton(step, **IDEA_ARGS.get(step, {})) for step in get_args(IdeaStep)),
        IdeaBoardButton(MAX_OFFSET, "supported", TOPIC),
        IdeaSupportButton(MAX_ID),
        IdeaVoiceButton(MAX_ID),
        IdeaReportButton(MAX_ID),
        *(
            IdeaModerationButton(action, MAX_ID, **fields)
            for action in get_args(IdeaModerationAction)
            for fields in MODERATION_ARGS.get(action, [{}])
        ),
        *(
            GroupButton(action, MAX_ID, MAX_ID if action in ("slot", "unslot") else None)
            for action in get_args(GroupAction)
        ),
        GroupListButton(MAX_OFFSET, TOPIC),
        *(
            GroupEditButton(action, MAX_ID, **GROUP_EDIT_ARGS.get(action, {}))
            for action in get_args(GroupEditAction)
        ),
        GroupNewButton("kind", kind="project"),
        GroupNewButton("topic", topic=TOPIC),
        GroupNewButton("skip"),
        *(
            TranslationButton(action, "group", MAX_ID, LOCALE if action == "lang" else None)
            for action in get_args(TranslationAction)
        ),
        *(TaskButton(action, MAX_ID) for action in ("do", "ok", "no", "edit")),
        TaskButton("list"),
        TranslatorButton("offer"),
        *(TranslatorButton(action, 9_999_999_999) for action in ("yes", "no")),
        *(NoticeButton(action, MAX_NOTICE_VERSION) for action in ("ok", "no")),
        *(NoticeButton(action) for action in ("new", "skip", "pub")),
    ]


def test_every_family_has_a_handler_and_a_pinned_format() -> None:
    handled = [h.kind for h in handler_list() if isinstance(h, ButtonHandler)]
    assert sorted(kind.PREFIX for kind in handled) == sorted(FAMILIES)
    assert {type(record) for record, _data in WIRE} == set(FAMILIES.values())


@pytest.mark.parametrize(("record", "data"), WIRE, ids=[data for _record, data in WIRE])
def test_the_wire_format_is_kept(record: Button, data: str) -> None:
    assert record.pack() == data
    assert type(record).unpack(data) == record


@pytest.mark.parametrize("record", _widest(), ids=repr)
def test_the_largest_values_round_trip_within_64_bytes(record: Button) -> None:
    data = record.pack()
    assert len(data.encode()) <= MAX_BYTES
    assert type(record).unpack(data) == record
    # Exactly one family reads it.
    assert [kind for kind in FAMILIES.values() if kind.unpack(data) is not None] == [type(record)]


def test_the_widest_records_cover_every_action() -> None:
    widest = _widest()
    for kind, actions in (
        (BroadcastButton, BroadcastAction),
        (EventButton, EventAction),
        (EventAdminButton, EventAdminAction),
        (EventComposerButton, EventComposerAction),
        (IdeaModerationButton, IdeaModerationAction),
        (GroupButton, GroupAction),
        (GroupEditButton, GroupEditAction),
    ):
        covered = {record.action for record in widest if type(record) is kind}
        assert covered == set(get_args(actions)), kind


FORGED = [
    "tl:lang:event:5",  # a language to write, but which?
    "tl:open:thing:5",
    "tl:open:event:5:tr",
    "tt:do:0",
    "tt:ok",
    "tv:yes:99999999999",  # longer than any Telegram user id
    "tv:offer:5",
    # unknown prefixes, actions and words
    "",
    ":",
    "ev",
    "ev:",
    "nope:1",
    "ev:dance:1",
    "eva:show:1",
    "menu:settings",
    "set:admin",
    "privacy:delete;--",
    "consent:maybe:de",
    "nt:ok",  # which version?
    "nt:ok:0",
    "nt:new:2",
    "digest:maybe",
    "ev:still:1:maybe",
    "evc:skip:1:title",
    "evc:ann:1:some",
    "idea:new:now",
    "idea:place:later",
    "idea:anon:2",
    "idb:0:oldest:all",
    "grl:0:theirs",
    "grn:kind:club",
    "gre:topic:2",  # which topic?
    "gre:topic:2:hobbies",
    "gre:lead:2:99999999999",  # longer than any Telegram user id
    "gre:open:2:5",
    "gre:cap:2",
    "gre:me:0",
    "grn:skip:name",
    "idm:st:1:received",
    "idm:st:1:rejected",
    "idm:why:1:done",
    "idm:rs:1:not_because",
    "idm:rs:1:maybe_other",
    "idm:rs:1:not",
    "grp:mine:1",
    # unknown topics and badly shaped locales and links
    "topic:gardening",
    "topic:",
    "topic:seniors:menu",
    "topics:done:menu",
    "topics:done:settings:x",
    "evl:0:t_gardening",
    "evl:0:seniors",
    "bc:at:1:gardening",
    "lang:DE",
    "lang:deutsch",
    "lang:de_",
    "lang:de_Simple",
    "lang:d",
    "lang:tr:event_",
    "lang:tr:shop_1",
    "consent:yes:tr:event_1x",
    # numbers: negative, zero ids, too large, not canonical, not ASCII
    "ev:show:0",
    "ev:show:-1",
    "ev:show:2147483648",
    "ev:show:99999999999",
    "ev:show:01",
    "ev:show:+1",
    "ev:show: 1",
    "ev:show:1.0",
    "ev:show:0x1",
    "ev:show:١",
    "ev:ok:1:-1:0:0",
    "ev:ok:1:0:0:0",
    f"ev:ok:1:{MAX_PARTY + 1}:0:0",
    f"ev:ok:1:1:{MAX_PARTY + 1}:0",
    f"ev:ok:1:1:0:{ALL_NEEDS + 1}",
    f"evl:{MAX_OFFSET + 1}:all",
    "grl:-3:all",
    f"evc:cap:1:{MAX_CAPACITY + 1}",
    "quiet:24-8",
    "quiet:21-8-3",
    "quiet:21",
    "quiet:-8",
    "quiet:21-08",
    "grp:slot:1:0",
    # missing and extra parts
    "ev:ad:1",
    "ev:ch:1:2",
    "ev:ok:1:2:0",
    "ev:show:1:2",
    "ev:ad:1:2:3",
    "ev:still:1",
    "bc:text:1",
    "bc:go:1:de",
    "bc:wd:1",
    "grp:slot:1",
    "grp:join:1:2",
    "idm:st:1",
    "idm:pub:1:x",
    "consent:yes",
    "lang:de:event_1:x",
    "menu:home:x",
    "topics:done:x",
    "topics",
    "ids:1:2",
    "ev:show:1:",
    "ev::1",
    # white space, control characters, non-ASCII
    "menu:home\n",
    "set:news_off\n",
    " menu:home",
    "menu:home ",
    "menu:hóme",
    "menu:home\u200b",
    "topic:çocuk",
    "lang:dé",
    # overlong
    "x" * (MAX_BYTES + 1),
    f"lang:de:event_{'1' * 60}",
    f"ev:show:{'1' * 60}",
]


@pytest.mark.parametrize("data", FORGED, ids=repr)
def test_forged_data_unpacks_to_nothing(data: str) -> None:
    assert [kind for kind in FAMILIES.values() if kind.unpack(data) is not None] == []


@pytest.mark.parametrize("data", [None, b"menu:home", 5, ["menu:home"]], ids=repr)
def test_data_that_is_not_a_string_unpacks_to_nothing(data: object) -> None:
    assert all(kind.unpack(data) is None for kind in FAMILIES.values())


@pytest.mark.parametrize(
    "record",
    [
        EventButton("show", 1, adults=2),  # a field the action doesn't carry
        EventButton("ad", 1),  # one it needs
        EventButton("still", 1),
        EventButton("show", 0),
        EventButton("show", MAX_ID + 1),
        EventButton("ok", 1, 0, 0, 0),
        EventListButton(-1),
        EventListButton(0, "gardening"),
        TopicButton("gardening"),
        LanguageButton("Deutsch"),
        LanguageButton("de", "event_x"),
        QuietButton((24, 0)),
        BroadcastButton("text", 1),
        BroadcastButton("go", 1, locale="de"),
        EventComposerButton("skip", 1, step="title"),
        EventEditButton(1, "clear", "title"),  # a title can't be emptied
        EventEditButton(1, "remind"),  # no hours
        EventEditButton(1, "ask"),  # no field
        IdeaButton("anon"),
        IdeaButton("new", topic="health"),
        IdeaModerationButton("rs", 1, "not_possible", "because"),
        IdeaModerationButton("st", 1, "rejected"),
        GroupNewButton("kind"),
        GroupButton("slot", 1),
    ],
    ids=repr,
)
def test_pack_refuses_what_no_button_may_carry(record: Button) -> None:
    with pytest.raises(ValueError, match="not a valid button"):
        record.pack()


def test_pack_refuses_more_than_64_bytes() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        LanguageButton("de", f"event_{'1' * 60}").pack()


def test_the_family_is_told_by_the_prefix_alone() -> None:
    assert BroadcastButton.has_prefix("bc:zz:1")  # an old or forged one of the composer's own
    assert not BroadcastButton.has_prefix("bcx:go:1")
    assert not TopicButton.has_prefix("topics:done")
    assert not BroadcastButton.has_prefix(None)


# --- through the bot ---------------------------------------------------------------------

AYSE = updates.user(1001, "Ayşe", "tr")
COORDINATOR = updates.user(ADMIN_ID, "Koordination", "de")
EXPIRED = "⚠️ This button is no longer valid. Please send /menu."


async def _tap_forged(harness: BotHarness, sender: dict[str, Any], data: str, locale: str) -> None:
    """Tap ``data``: it gets the translated "no longer valid" alert and nothing else."""
    before = len(harness.request.calls)
    await harness.tap(sender, data)
    calls = harness.request.calls[before:]
    assert [call.method for call in calls] == ["answerCallbackQuery"], data
    expired = harness.application.bot_data.i18n.translator(locale).gettext(EXPIRED)
    assert calls[0].params["text"] == expired
    assert calls[0].params["show_alert"] is True


async def test_forged_taps_are_refused_and_change_nothing(harness: BotHarness) -> None:
    services = harness.application.bot_data.services
    await services.residents.register(AYSE["id"], "tr")
    await services.residents.seen(AYSE["id"], AYSE["first_name"])  # her first update's name
    draft = await services.events.create_draft(STAFF)
    await services.events.set_version(STAFF, draft.id, "de", title="Hoffest")
    await services.events.update(STAFF, draft.id, starts_at=services.clock() + timedelta(days=3))
    event = await services.events.publish(STAFF, draft.id)
    resident = await services.residents.get(AYSE["id"])
    for data in (
        f"ev:ok:{event.id}:-1:0:0",
        f"ev:ok:{event.id}:1:0:8",
        f"ev:show:{event.id}:x",
        "ev:show:١",  # Arabic-Indic digits, which int() would read
        "set:news_off\n",  # a regex's "$" matches before a final newline
        "digest:maybe",
        "quiet:24-8",
        "topic:gardening",
        "menu:hóme",
        "lang:tr:event_",
        "privacy:delete;--",
        "x" * (MAX_BYTES + 1),
    ):
        await _tap_forged(harness, AYSE, data, "tr")
    assert await services.residents.get(AYSE["id"]) == resident
    assert (await services.events.get(STAFF, event.id)).seats_taken == 0


async def test_a_forged_tap_in_an_open_flow_leaves_the_flow_be(harness: BotHarness) -> None:
    services = harness.application.bot_data.services
    await services.residents.register(COORDINATOR["id"], "de")
    await harness.send(COORDINATOR, "/broadcast")
    text_button = next(
        button
        for _label, data in harness.request.last_message().buttons
        if (button := BroadcastButton.unpack(data)) is not None and button.action == "text"
    )
    await harness.tap(COORDINATOR, text_button.pack())
    waiting = await services.chat_state.get(COORDINATOR["id"])
    assert waiting is not None and waiting.step == "text"
    number = text_button.broadcast_id
    for data in (
        f"bc:text:{number}",
        f"bc:text:{number}:DE",
        f"bc:zz:{number}",
        f"bc:go:0{number}",
    ):
        await _tap_forged(harness, COORDINATOR, data, "de")
    assert await services.chat_state.get(COORDINATOR["id"]) == waiting
