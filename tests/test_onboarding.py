"""Onboarding and the basics, through the real handlers with Telegram's side recorded."""

from __future__ import annotations

import pytest

from bot.services.residents import PRIVACY_NOTICE_VERSION
from tests.conftest import BotHarness
from tests.support import updates
from tests.support.recording import RecordingRequest

AYSE = updates.user(1001, "Ayşe", "tr")
JONAS = updates.user(1004, "Jonas", "de")
OMAR = updates.user(1002, "Omar", "ar")
NO_LANGUAGE = updates.user(1003, "Sam", None)


def _picker_locales(request: RecordingRequest) -> list[str]:
    return [data.split(":")[1] for _, data in request.last_message().buttons]


async def test_start_offers_every_language_named_in_itself_suggested_first(
    harness: BotHarness,
) -> None:
    await harness.send(AYSE, "/start")
    message = harness.request.last_message()
    labels = [label for label, _ in message.buttons]
    assert _picker_locales(harness.request)[0] == "tr"
    assert labels[0] == "Türkçe"
    assert set(labels) == {
        "Deutsch",
        "Deutsch (einfach)",
        "Türkçe",
        "العربية",
        "Українська",
        "Ελληνικά",
        "Română",
        "Polski",
        "Italiano",
        "فارسی",
        "Kurdî (Kurmancî)",
        "Русский",
        "English",
    }
    # Greeted by name, in Turkish (Telegram's language_code), before any choice is stored.
    assert "Ayşe" in message.text
    assert "Testviertel" in message.text
    assert await harness.resident_rows(AYSE["id"]) == []


async def test_without_language_code_the_default_language_greets(harness: BotHarness) -> None:
    await harness.send(NO_LANGUAGE, "/start")
    de_text = harness.application.bot_data.i18n.translator("de").gettext(
        "👋 Hello, {name}! Welcome to {neighbourhood}.\nPlease choose your language:"
    )
    assert harness.request.last_message().text == de_text.format(
        name="Sam", neighbourhood="Testviertel"
    )
    assert _picker_locales(harness.request)[0] == "de"


async def test_full_onboarding_stores_consent_language_and_topics(harness: BotHarness) -> None:
    t = harness.application.bot_data.i18n.translator("tr")
    await harness.send(AYSE, "/start")
    await harness.tap(AYSE, "lang:tr")
    notice = harness.request.last_message()
    assert t.gettext("Do you agree?") in notice.text
    assert [data for _, data in notice.buttons] == ["consent:yes:tr", "consent:no:tr"]
    assert await harness.resident_rows(AYSE["id"]) == []

    await harness.tap(AYSE, "consent:yes:tr")
    rows = await harness.resident_rows(AYSE["id"])
    assert len(rows) == 1
    assert rows[0].locale == "tr"
    assert rows[0].consent_version == PRIVACY_NOTICE_VERSION
    topics_screen = harness.request.last_message()
    assert [data for _, data in topics_screen.buttons] == [
        *(f"topic:{key}" for key in harness.application.bot_data.settings.topics),
        "topics:done",
    ]

    await harness.tap(AYSE, "topic:children")
    await harness.tap(AYSE, "topic:seniors")
    await harness.tap(AYSE, "topic:seniors")  # tapped twice: off again
    resident = await harness.application.bot_data.services.residents.get(AYSE["id"])
    assert resident is not None and resident.topics == {"children"}
    keyboard = harness.request.sent("editMessageReplyMarkup")[-1].buttons
    assert keyboard[0][0].startswith("✅ ")  # children, marked chosen

    await harness.tap(AYSE, "topics:done")
    menu = harness.request.last_message()
    assert menu.text == t.gettext("🏠 <b>Main menu</b>\nWhat would you like to do?")
    assert [data for _, data in menu.buttons] == [
        "menu:events",
        "menu:projects",
        "menu:idea",
        "menu:signups",
        "set:open",
    ]


async def test_simple_german_is_offered_chosen_and_spoken(harness: BotHarness) -> None:
    i18n = harness.application.bot_data.i18n
    de, simple = i18n.translator("de"), i18n.translator("de_simple")
    await harness.send(JONAS, "/start")
    picker = harness.request.last_message()
    assert picker.buttons[0] == ("Deutsch", "lang:de")  # Telegram's "de" suggests German
    assert ("Deutsch (einfach)", "lang:de_simple") in picker.buttons  # simple German is chosen

    await harness.tap(JONAS, "lang:de_simple")
    notice = harness.request.last_message()
    assert simple.gettext("Do you agree?") in notice.text
    assert [data for _, data in notice.buttons] == ["consent:yes:de_simple", "consent:no:de_simple"]
    await harness.tap(JONAS, "consent:yes:de_simple")
    assert (await harness.resident_rows(JONAS["id"]))[0].locale == "de_simple"
    await harness.tap(JONAS, "topics:done")

    menu_text = "🏠 <b>Main menu</b>\nWhat would you like to do?"
    menu = harness.request.last_message()
    assert menu.text == simple.gettext(menu_text) == "🏠 <b>Hauptmenü</b>\nWas möchten Sie machen?"
    assert menu.text != de.gettext(menu_text)
    assert "💡 Idee schicken" in [label for label, _ in menu.buttons]

    # Dates as in German: the consent date on the privacy screen.
    await harness.send(JONAS, "/privacy")
    resident = await harness.application.bot_data.services.residents.get(JONAS["id"])
    assert resident is not None
    date = de.format_date(resident.consent_at)
    assert simple.format_date(resident.consent_at) == date
    privacy = harness.request.last_message().text
    assert f"Sie sind seit dem {date} einverstanden." in privacy
    assert "Deutsch (einfach)" in privacy
    # Someone else whose Telegram speaks German is still greeted in standard German.
    await harness.send(updates.user(1005, "Sam", "de"), "/start")
    greeting = "👋 Hello, {name}! Welcome to {neighbourhood}.\nPlease choose your language:"
    assert harness.request.last_message().text == de.gettext(greeting).format(
        name="Sam", neighbourhood="Testviertel"
    )
    assert de.gettext(greeting) != simple.gettext(greeting)


async def test_declining_consent_stores_nothing(harness: BotHarness) -> None:
    await harness.send(OMAR, "/start")
    await harness.tap(OMAR, "lang:ar")
    await harness.tap(OMAR, "consent:no:ar")
    assert await harness.resident_rows(OMAR["id"]) == []
    reply = harness.request.last_message().text
    assert any("\u0600" <= ch <= "\u06ff" for ch in reply), reply  # answered in Arabic script
    # Later messages are still answered, from Telegram's language, and still store nothing.
    await harness.send(OMAR, "مرحبا")
    assert harness.request.last_message().text.startswith("👋")
    assert await harness.resident_rows(OMAR["id"]) == []


async def _onboard(harness: BotHarness, sender: dict, locale: str) -> None:
    await harness.send(sender, "/start")
    await harness.tap(sender, f"lang:{locale}")
    await harness.tap(sender, f"consent:yes:{locale}")
    await harness.tap(sender, "topics:done")


async def test_switching_language_changes_the_replies(harness: BotHarness) -> None:
    await _onboard(harness, AYSE, "tr")
    i18n = harness.application.bot_data.i18n
    await harness.send(AYSE, "/language")
    assert _picker_locales(harness.request)[0] == "tr"
    await harness.tap(AYSE, "lang:uk")
    assert harness.request.last_message().text == i18n.translator("uk").gettext(
        "🏠 <b>Main menu</b>\nWhat would you like to do?"
    )
    answer = harness.request.callback_answers()[-1].params["text"]
    assert "Українська" in answer
    await harness.send(AYSE, "/help")
    uk = i18n.translator("uk")
    assert f"/menu – {uk.gettext('Main menu')}" in harness.request.last_message().text
    assert uk.gettext("Main menu") != "Main menu"


async def test_stop_turns_news_off_and_settings_turn_it_on(harness: BotHarness) -> None:
    await _onboard(harness, AYSE, "tr")
    residents = harness.application.bot_data.services.residents
    await harness.send(AYSE, "/stop")
    assert (await residents.get(AYSE["id"])).broadcast_opt_in is False
    await harness.send(AYSE, "/settings")
    assert "set:news_on" in [d for _, d in harness.request.last_message().buttons]
    await harness.tap(AYSE, "set:news_on")
    assert (await residents.get(AYSE["id"])).broadcast_opt_in is True


async def test_privacy_shows_what_is_stored_and_deletes_it(harness: BotHarness) -> None:
    await _onboard(harness, AYSE, "tr")
    await harness.tap(AYSE, "topic:children")
    await harness.send(AYSE, "/privacy")
    t = harness.application.bot_data.i18n.translator("tr")
    shown = harness.request.last_message().text
    assert t.ngettext("{count} topic", "{count} topics", 1).format(count="1") in shown
    await harness.tap(AYSE, "privacy:ask")
    assert await harness.resident_rows(AYSE["id"]) != []
    await harness.tap(AYSE, "privacy:delete")
    assert await harness.resident_rows(AYSE["id"]) == []


#: The privacy notice's paragraph on what is stored and who sees it (the first name with it).
FIRST_NAME_NOTICE = (
    "<b>What we store and who sees it</b>\n"
    "• Your Telegram ID, language, topics, quiet hours and which messages you want "
    "(news, messages about your sign-ups and groups, messages from group leads): "
    "to write to you as you wish.\n"
    "• Your first name from Telegram.\n"
    "• Your sign-ups with the people you bring, your needs and your note: the "
    "event's organiser and our coordinators see them, with your first name.\n"
    "• Your ideas: public once published, with your first name unless you share "
    "them anonymously.\n"
    "• Your memberships in groups and the help tasks you take on: the group's lead "
    "sees them, with your first name.\n"
    "• Messages from us that are waiting to be sent to you."
)


@pytest.mark.parametrize(("sender", "locale"), [(OMAR, "ar"), (AYSE, "tr")])
async def test_the_privacy_notice_says_who_sees_the_first_name(
    harness: BotHarness, sender: dict[str, object], locale: str
) -> None:
    t = harness.application.bot_data.i18n.translator(locale)
    await harness.send(sender, "/start")
    await harness.tap(sender, f"lang:{locale}")
    assert t.gettext(FIRST_NAME_NOTICE) in harness.request.last_message().text  # before consent
    await harness.tap(sender, f"consent:yes:{locale}")
    await harness.send(sender, "/privacy")
    assert t.gettext(FIRST_NAME_NOTICE) in harness.request.last_message().text


async def test_deep_link_is_kept_through_onboarding(harness: BotHarness) -> None:
    await harness.send(AYSE, "/start event_42")
    assert {data for _, data in harness.request.last_message().buttons} >= {"lang:tr:event_42"}
    await harness.tap(AYSE, "lang:tr:event_42")
    assert "consent:yes:tr:event_42" in [d for _, d in harness.request.last_message().buttons]
    await harness.tap(AYSE, "consent:yes:tr:event_42")
    t = harness.application.bot_data.i18n.translator("tr")
    # There is no event 42: the resident is told so, in their language, after onboarding.
    assert harness.request.last_message().text == t.gettext(
        "😕 This event doesn't exist (any more)."
    )


async def test_unknown_deep_link_gets_the_normal_welcome(harness: BotHarness) -> None:
    await _onboard(harness, AYSE, "tr")
    await harness.send(AYSE, "/start nonsense_payload")
    t = harness.application.bot_data.i18n.translator("tr")
    assert harness.request.last_message().text == t.gettext(
        "🏠 <b>Main menu</b>\nWhat would you like to do?"
    )


async def test_command_menus_are_set_in_every_language(harness: BotHarness) -> None:
    from bot.app import on_startup

    await on_startup(harness.application)
    calls = harness.request.sent("setMyCommands")
    languages = {call.params.get("language_code") for call in calls}
    # Telegram knows no "de_simple": simple German has no menu of its own (German's shows).
    locales = set(harness.application.bot_data.i18n.locales)
    assert languages == locales - {"de_simple"} | {None}
    by_language = {call.params.get("language_code"): call.params["commands"] for call in calls}
    assert by_language["ar"] != by_language["de"]
    assert [c["command"] for c in by_language["fa"]][:2] == ["start", "menu"]


async def test_admin_ids_are_admins(harness: BotHarness) -> None:
    residents = harness.application.bot_data.services.residents
    assert await residents.is_staff(9000)
    assert not await residents.is_staff(AYSE["id"])


@pytest.mark.parametrize(
    "forged",
    [
        "lang:xx",
        "consent:yes:zz",
        "topic:nonexistent",
        "menu:admin",
        "privacy:delete_all_users",
        "x" * 64,
        "set:open;DROP TABLE residents",
    ],
)
async def test_forged_callback_data_changes_nothing(harness: BotHarness, forged: str) -> None:
    await _onboard(harness, AYSE, "tr")
    before = await harness.resident_rows(AYSE["id"])
    harness.request.clear()
    await harness.tap(AYSE, forged)
    assert await harness.resident_rows(AYSE["id"]) == before
    answers = harness.request.callback_answers()
    t = harness.application.bot_data.i18n.translator("tr")
    assert answers and answers[-1].params["text"] == t.gettext(
        "⚠️ This button is no longer valid. Please send /menu."
    )
    assert harness.request.messages() == []


async def test_text_while_the_picker_is_open_gets_a_hint(harness: BotHarness) -> None:
    await harness.send(OMAR, "/start")
    await harness.send(OMAR, "hello?")
    t = harness.application.bot_data.i18n.translator("ar")
    assert harness.request.last_message().text == t.gettext(
        "👋 To begin, send /start and choose your language."
    )


async def test_overlong_message_and_sticker_get_short_help(harness: BotHarness) -> None:
    await _onboard(harness, AYSE, "tr")
    t = harness.application.bot_data.i18n.translator("tr")
    help_text = t.gettext(
        "Sorry, I didn't understand that. 🙂\n"
        "Please use the buttons, or send /menu. /help shows everything I can do."
    )
    await harness.send(AYSE, "ä" * 5000)
    assert harness.request.last_message().text == help_text
    harness.request.clear()
    await harness.feed(updates.sticker(harness.bot, AYSE))
    assert harness.request.last_message().text == help_text


@pytest.mark.parametrize("name", ["<b>Boss</b>", "<script>alert(1)</script>", "Tom & Jerry"])
async def test_markup_in_a_name_is_escaped(harness: BotHarness, name: str) -> None:
    sender = updates.user(1010, name, "de")
    await harness.send(sender, "/start")
    text = harness.request.last_message().text
    assert "<script>" not in text and "<b>Boss" not in text
    assert name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in text


async def test_rtl_messages_isolate_inserted_names(harness: BotHarness) -> None:
    sender = updates.user(1011, "Omar Smith", "ar")
    await harness.send(sender, "/start")
    assert "\u2068Omar Smith\u2069" in harness.request.last_message().text
    await harness.send(updates.user(1012, "Omar Smith", "de"), "/start")
    assert "\u2068" not in harness.request.last_message().text


async def test_blocking_the_bot_marks_the_resident_blocked(harness: BotHarness) -> None:
    from telegram import Update

    from storage.models import ResidentStatus

    await _onboard(harness, AYSE, "tr")

    def member_update(old: str, new: str) -> Update:
        chat = {"id": AYSE["id"], "type": "private", "first_name": AYSE["first_name"]}
        bot_user = {"id": 123456, "is_bot": True, "first_name": "Quartierbot"}
        return Update.de_json(
            {
                "update_id": 77_000 + len(new),
                "my_chat_member": {
                    "chat": chat,
                    "from": AYSE,
                    "date": 1_700_000_000,
                    "old_chat_member": {"status": old, "user": bot_user, "until_date": 0},
                    "new_chat_member": {"status": new, "user": bot_user, "until_date": 0},
                },
            },
            harness.bot,
        )

    residents = harness.application.bot_data.services.residents
    await harness.feed(member_update("member", "kicked"))
    assert (await residents.get(AYSE["id"])).status == ResidentStatus.BLOCKED
    await harness.feed(member_update("kicked", "member"))
    assert (await residents.get(AYSE["id"])).status == ResidentStatus.ACTIVE


@pytest.mark.parametrize(
    "data", ["menu:events", "ev:show:1", "grl:0:all", "idb:0:newest:all", "set:open"]
)
async def test_buttons_before_onboarding_explain_how_to_begin(
    harness: BotHarness, data: str
) -> None:
    stranger = updates.user(1099, "Sam", "ro")
    await harness.tap(stranger, data)
    t = harness.application.bot_data.i18n.translator("ro")
    assert harness.request.last_message().text == t.gettext(
        "👋 To begin, send /start and choose your language."
    )
    assert len(harness.request.callback_answers()) == 1  # answered once, no spinner left
    assert await harness.resident_rows(1099) == []
