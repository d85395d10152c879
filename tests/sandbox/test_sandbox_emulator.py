"""The Bot API emulator over real HTTP, driven by a real PTB ``Bot``."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import time

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.sandbox import BotApiEmulator, SandboxServer

TOKEN = "123456:TEST"
PNG_16x32 = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x20" + b"\0" * 20


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


async def test_get_me(bot, emulator: BotApiEmulator) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "quartierbot_sandbox_bot"
    assert me.first_name == "Quartierbot"
    assert emulator.calls[0][0] == "getMe"


async def test_send_edit_delete_message(bot, emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Ayşe", "tr")
    sent = await bot.send_message(user["id"], "<b>Merhaba</b> &lt;Ayşe&gt;", parse_mode="HTML")
    assert isinstance(sent, Message)
    assert sent.text == "Merhaba <Ayşe>"
    assert sent.entities[0].type == "bold"
    assert sent.chat.type == "private"
    assert sent.from_user.is_bot
    assert isinstance(sent.date, dtm.datetime)

    stored = emulator.bot_messages(user["id"])[0]
    assert (stored.text, stored.kind, stored.from_bot) == ("Merhaba <Ayşe>", "text", True)
    assert stored.entities == [{"type": "bold", "offset": 0, "length": 7}]

    edited = await bot.edit_message_text(
        "<i>Hallo</i>", user["id"], sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message)
    assert edited.text == "Hallo"
    assert edited.edit_date is not None
    assert stored.edited and stored.text == "Hallo"

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<i>Hallo</i>", user["id"], sent.message_id, parse_mode="HTML")

    assert await bot.delete_message(user["id"], sent.message_id) is True
    assert stored.deleted
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(user["id"], sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", user["id"], 999)


async def test_message_ids_are_counted_per_chat_for_both_directions(bot, emulator) -> None:
    a = emulator.add_user("A")
    b = emulator.add_user("B")
    assert emulator.send_text(a["id"], "hi")["message_id"] == 1
    assert (await bot.send_message(a["id"], "x")).message_id == 2
    assert (await bot.send_message(b["id"], "y")).message_id == 1
    assert [m.message_id for m in emulator.messages(a["id"])] == [1, 2]
    assert [m.from_bot for m in emulator.messages(a["id"])] == [False, True]


async def test_validation_errors(bot, emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Olena", "uk")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(user["id"], "   ")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user["id"], "x" * 4097)
    await bot.send_message(user["id"], "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # fits
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user["id"], "😀" * 2049)  # 4098 UTF-16 units
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hi")
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(user["id"], "Hi <script>alert(1)</script>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(user["id"], "x", reply_markup=keyboard(("A", "a" * 65)))
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(user["id"], PNG_16x32, caption="c" * 1025)
    # nothing was stored by the failing calls
    assert len(emulator.bot_messages(user["id"])) == 1
    assert emulator.stats["sent"] == 1


async def test_html_entities_utf16_offsets_roundtrip(bot, emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Reza", "fa")
    sent = await bot.send_message(user["id"], "🎉 <b>سلام</b> 👋🏽 <i>Reza</i>", parse_mode="HTML")
    assert sent.text == "🎉 سلام 👋🏽 Reza"
    assert [(x.type, x.offset, x.length) for x in sent.entities] == [
        ("bold", 3, 4),
        ("italic", 13, 4),
    ]
    assert sent.parse_entity(sent.entities[0]) == "سلام"
    assert sent.parse_entity(sent.entities[1]) == "Reza"


async def test_inline_keyboard_press_and_answer(bot, emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Giulia", "it")
    sent = await bot.send_message(
        user["id"], "Join?", reply_markup=keyboard(("Yes", "join:1"), ("No", "join:0"))
    )
    stored = emulator.bot_messages(user["id"])[-1]
    assert stored.buttons() == [("Yes", "join:1"), ("No", "join:0")]
    assert stored.button_data("No") == "join:0"

    query_id = emulator.press_button(user["id"], sent.message_id, "join:1")
    forged_id = emulator.press_button(user["id"], sent.message_id, "admin:delete_all")
    updates = await bot.get_updates(timeout=0)
    queries = [u.callback_query for u in updates]
    assert all(isinstance(q, CallbackQuery) for q in queries)
    assert [q.id for q in queries] == [query_id, forged_id]
    assert queries[0].data == "join:1"
    assert queries[1].data == "admin:delete_all"
    assert queries[0].message.message_id == sent.message_id
    assert queries[0].from_user.id == user["id"]
    assert queries[0].chat_instance

    assert await bot.answer_callback_query(query_id, text="Signed up!", show_alert=True)
    assert emulator.callback_answers()[query_id]["text"] == "Signed up!"
    assert emulator.callback_answers()[query_id]["show_alert"] is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("nonexistent")

    await bot.edit_message_reply_markup(user["id"], sent.message_id, reply_markup=None)
    assert stored.reply_markup is None and stored.edited
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(user["id"], sent.message_id, reply_markup=None)


async def test_get_updates_long_poll_returns_early_and_offset_confirms(bot, emulator) -> None:
    user = emulator.add_user("Maria", "el")

    async def user_types_later() -> None:
        await asyncio.sleep(0.2)
        emulator.send_text(user["id"], "/start hello")

    started = time.monotonic()
    typing = asyncio.create_task(user_types_later())
    updates = await bot.get_updates(timeout=10)
    await typing
    assert time.monotonic() - started < 3
    assert len(updates) == 1
    message = updates[0].message
    assert message.text == "/start hello"
    assert message.from_user.language_code == "el"

    handler = CommandHandler("start", lambda u, c: None)
    assert handler.check_update(updates[0])
    assert not CommandHandler("help", lambda u, c: None).check_update(updates[0])

    # without offset the update is delivered again; confirming drops it
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]
    emulator.send_text(user["id"], "second")
    newer = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert [u.message.text for u in newer] == ["second"]
    assert len(emulator.pending_updates()) == 1
    assert await bot.get_updates(offset=newer[-1].update_id + 1, timeout=0) == ()


async def test_get_updates_limit_and_allowed_updates(bot, emulator) -> None:
    user = emulator.add_user("Piotr", "pl")
    for i in range(3):
        emulator.send_text(user["id"], f"m{i}")
    sent = await bot.send_message(user["id"], "x", reply_markup=keyboard(("a", "a")))
    emulator.press_button(user["id"], sent.message_id, "a")
    assert len(await bot.get_updates(limit=2, timeout=0)) == 2
    only_queries = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in only_queries] == ["a"]


async def test_concurrent_get_updates_conflict(bot, server: SandboxServer, emulator) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await emulator.wait_until(lambda: any(m == "getUpdates" for m, _ in emulator.calls))
    # a second bot instance polling the same token terminates the first long poll
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await first


async def test_photo_upload_get_file_and_download(bot, emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Ion", "ro")
    sent = await bot.send_photo(user["id"], PNG_16x32, caption="<b>Plan</b>", parse_mode="HTML")
    assert sent.caption == "Plan"
    assert sent.caption_entities[0].type == "bold"
    size = sent.photo[-1]
    assert (size.width, size.height) == (16, 32)

    file = await bot.get_file(size.file_id)
    assert file.file_path.startswith(bot.base_file_url)
    assert bytes(await file.download_as_bytearray()) == PNG_16x32

    # re-sending by file_id reuses the stored file
    again = await bot.send_photo(user["id"], size.file_id)
    assert again.photo[-1].file_unique_id == size.file_unique_id

    # a photo the user sends is downloadable by the bot too
    emulator.send_photo(user["id"], b"\xff\xd8\xff\xe0 jpeg bytes", caption="broken bench")
    update = (await bot.get_updates(timeout=0))[-1]
    assert update.message.caption == "broken bench"
    user_file = await update.message.photo[-1].get_file()
    assert bytes(await user_file.download_as_bytearray()) == b"\xff\xd8\xff\xe0 jpeg bytes"

    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_document_voice_and_sticker(bot, emulator: BotApiEmulator, ptb_timedelta) -> None:
    user = emulator.add_user("Kawa", "ku")
    doc = await bot.send_document(user["id"], b"%PDF-1.4 minutes", filename="minutes.pdf")
    assert doc.document.file_name == "minutes.pdf"
    assert doc.document.mime_type == "application/pdf"
    voice = await bot.send_voice(user["id"], b"OggS voice", duration=3)
    assert voice.voice.duration == dtm.timedelta(seconds=3)

    emulator.send_voice(user["id"], b"OggS user voice", duration=2)
    emulator.send_sticker(user["id"], "🎉")
    emulator.send_location(user["id"], 52.48, 13.43)
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates]
    assert messages[0].voice.mime_type == "audio/ogg"
    assert messages[1].sticker.emoji == "🎉"
    assert (messages[2].location.latitude, messages[2].location.longitude) == (52.48, 13.43)


async def test_send_location_and_venue(bot, emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Dmitri", "ru")
    loc = await bot.send_location(user["id"], 52.4811, 13.4353)
    assert loc.location.latitude == pytest.approx(52.4811)
    venue = await bot.send_venue(
        user["id"], 52.4811, 13.4353, title="Nachbarschaftshaus", address="Weserstr. 1"
    )
    assert venue.venue.title == "Nachbarschaftshaus"
    assert venue.venue.address == "Weserstr. 1"
    assert venue.location.longitude == pytest.approx(13.4353)
    stored = emulator.bot_messages(user["id"])
    assert [m.kind for m in stored] == ["location", "venue"]
    assert stored[1].extra["title"] == "Nachbarschaftshaus"
    with pytest.raises(BadRequest):
        await bot.send_location(user["id"], 95, 0)


async def test_copy_message_chat_action_and_get_chat(bot, emulator: BotApiEmulator) -> None:
    a = emulator.add_user("Coord", "de", is_coordinator=True)
    b = emulator.add_user("Resident", "en")
    original = emulator.send_text(a["id"], "Street party on Saturday!")
    copied = await bot.copy_message(b["id"], a["id"], original["message_id"])
    assert emulator.bot_messages(b["id"])[0].text == "Street party on Saturday!"
    assert copied.message_id == 1
    assert await bot.send_chat_action(b["id"], "typing")
    chat = await bot.get_chat(b["id"])
    assert chat.first_name == "Resident"
    assert emulator.is_coordinator(a["id"]) and not emulator.is_coordinator(b["id"])


async def test_my_commands_per_scope_and_language(bot, emulator: BotApiEmulator) -> None:
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Hilfe")])
    await bot.set_my_commands([BotCommand("start", "Başla")], language_code="tr")
    await bot.set_my_commands(
        [BotCommand("events", "Events")], scope=BotCommandScopeAllPrivateChats(), language_code="en"
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.description for c in await bot.get_my_commands(language_code="tr")] == ["Başla"]
    assert await bot.get_my_commands(language_code="fa") == ()
    scoped = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="en")
    assert [c.command for c in scoped] == ["events"]
    assert emulator.my_commands("tr") == [{"command": "start", "description": "Başla"}]
    await bot.delete_my_commands(language_code="tr")
    assert await bot.get_my_commands(language_code="tr") == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start-Now", "x")])


async def test_injected_429_surfaces_as_retry_after(bot, emulator, ptb_timedelta) -> None:
    user = emulator.add_user("Ali", "ar")
    emulator.inject_429(count=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(user["id"], "hi")
        assert info.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(user["id"], "hi")
    assert emulator.stats["answered_429"] == 2
    assert emulator.stats["sent"] == 1
    assert len(emulator.bot_messages(user["id"])) == 1


async def test_flood_limits(bot, emulator: BotApiEmulator, ptb_timedelta) -> None:
    users = [emulator.add_user(f"U{i}") for i in range(4)]
    emulator.set_flood_limits(per_chat_per_second=1, retry_after=2)
    await bot.send_message(users[0]["id"], "one")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(users[0]["id"], "two")
    assert info.value.retry_after == dtm.timedelta(seconds=2)
    await bot.send_message(users[1]["id"], "other chat is fine")

    emulator.set_flood_limits(global_per_second=3)
    for u in users[:3]:
        await bot.send_message(u["id"], "burst")
    with pytest.raises(RetryAfter):
        await bot.send_message(users[3]["id"], "over the global limit")
    await asyncio.sleep(1.05)  # a sliding window of 1 s: the first of the three has left it
    await bot.send_message(users[3]["id"], "after refill")
    emulator.set_flood_limits()
    assert emulator.stats["answered_429"] == 2
    assert emulator.stats["sent"] == 6


async def _send_paced(bot, emulator: BotApiEmulator, chats: list[int], per_second: float) -> int:
    """Send one message to each chat, the n-th at n / per_second on the flood clock (no real
    waiting: the emulator's flood windows read that clock); returns how many got a 429."""
    now = [0.0]
    emulator.flood_clock = lambda: now[0]
    refused = 0
    for n, chat_id in enumerate(chats):
        now[0] = n / per_second
        try:
            await bot.send_message(chat_id, "paced")
        except RetryAfter:
            refused += 1
    return refused


async def test_flood_window_catches_a_sender_ten_percent_too_fast(
    bot, emulator: BotApiEmulator, ptb_timedelta
) -> None:
    users = [emulator.add_user(f"U{i}")["id"] for i in range(64)]
    emulator.set_flood_limits(global_per_second=16)
    # 1/16 s steps are exact in binary: an exact sender sits right on the limit.
    assert await _send_paced(bot, emulator, users, 16) == 0
    assert emulator.max_sends_within(1.0) == 16

    emulator.set_flood_limits(global_per_second=16)
    emulator.accepted_sends.clear()
    # A bucket of 16 refilled at 16/s would accept every one of these; the window doesn't.
    assert await _send_paced(bot, emulator, users, 16 * 1.1) > 0
    assert emulator.max_sends_within(1.0) == 16


async def test_blocked_user_gets_forbidden(bot, emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Blocker", "de")
    emulator.block_user(user["id"])
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user["id"], "hi")
    with pytest.raises(Forbidden):
        await bot.send_photo(user["id"], PNG_16x32)
    assert emulator.stats["answered_403"] == 2
    assert emulator.messages(user["id"]) == []
    emulator.block_user(user["id"], blocked=False)
    await bot.send_message(user["id"], "welcome back")


async def test_unknown_method_bad_token_and_raw_params(server: SandboxServer, emulator) -> None:
    user = emulator.add_user("Raw")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.base_url}{TOKEN}/sendTelepathy", json={}) as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with session.get(f"{server.base_url}not-a-token/getMe") as resp:
            assert resp.status == 401
            assert (await resp.json())["description"] == "Unauthorized"
        # method names are case-insensitive; query string parameters work
        url = f"{server.base_url}{TOKEN}/SENDMESSAGE?chat_id={user['id']}&text=hi%20there"
        async with session.get(url) as resp:
            body = await resp.json()
            assert body["ok"] and body["result"]["text"] == "hi there"
        # form-encoded with a JSON-encoded reply_markup, like PTB sends it
        form = {
            "chat_id": str(user["id"]),
            "text": "form",
            "reply_markup": '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}',
        }
        async with session.post(f"{server.base_url}{TOKEN}/sendMessage", data=form) as resp:
            body = await resp.json()
            assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
        # garbage never crashes the emulator
        for payload in (b"{not json", b"[1, 2]", b'{"chat_id": {"x": 1}, "text": ["a"]}'):
            async with session.post(
                f"{server.base_url}{TOKEN}/sendMessage",
                data=payload,
                headers={"Content-Type": "application/json"},
            ) as resp:
                body = await resp.json()
                assert resp.status == 400 and body["ok"] is False
        async with session.post(
            f"{server.base_url}{TOKEN}/sendMessage",
            json={"chat_id": user["id"], "text": "x", "reply_markup": "{]"},
        ) as resp:
            assert resp.status == 400
    assert [m.text for m in emulator.bot_messages(user["id"])] == ["hi there", "form"]


async def test_webhook_delivery_with_secret(bot, emulator: BotApiEmulator) -> None:
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        user = emulator.add_user("Hooked", "en")
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t")
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        emulator.send_text(user["id"], "/start")
        await emulator.wait_until(lambda: len(received) == 1, timeout=3)
        secret, payload = received[0]
        assert secret == "s3cr3t"
        update = Update.de_json(payload, bot)
        assert update.message.text == "/start"
        assert CommandHandler("start", lambda u, c: None).check_update(update)
        await emulator.wait_until(lambda: emulator.pending_updates() == [])
        assert emulator.stats["webhook_delivered"] == 1
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
    finally:
        await runner.cleanup()


async def test_webhook_failures_are_retried_then_dropped(bot, emulator) -> None:
    user = emulator.add_user("Nobody listens")
    await bot.set_webhook("http://127.0.0.1:9/unreachable")
    emulator.send_text(user["id"], "hello?")
    await emulator.wait_until(lambda: emulator.stats["webhook_failed"] == 1, timeout=4)
    info = await bot.get_webhook_info()
    assert info.last_error_message
    await bot.delete_webhook(drop_pending_updates=True)


async def test_wait_helpers(bot, emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Waiter")

    async def reply_later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(user["id"], "one")
        await bot.send_message(user["id"], "two")

    task = asyncio.create_task(reply_later())
    messages = await emulator.wait_for_bot_messages(user["id"], 2, timeout=2)
    await task
    assert [m.text for m in messages] == ["one", "two"]
    with pytest.raises(TimeoutError, match="bot has sent >= 3 message"):
        await emulator.wait_for_bot_messages(user["id"], 3, timeout=0.1)


async def test_server_binds_a_free_port() -> None:
    emulator = BotApiEmulator(bot_username="other_bot", bot_first_name="Other")
    async with SandboxServer(emulator) as server:
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
        assert server.base_file_url == f"http://127.0.0.1:{server.port}/file/bot"


async def test_ptb_application_polling_end_to_end(server: SandboxServer, emulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        name = html.escape(update.effective_user.first_name)
        await update.message.reply_html(
            f"Hallo <b>{name}</b>!", reply_markup=keyboard(("Mitmachen", "join"))
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("Angemeldet")
        await update.callback_query.edit_message_text("Danke!")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    user = emulator.add_user("<script>x</script>", "de")
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            emulator.send_text(user["id"], "/start")
            [welcome] = await emulator.wait_for_bot_messages(user["id"], 1)
            assert welcome.text == "Hallo <script>x</script>!"
            assert welcome.entities == [{"type": "bold", "offset": 6, "length": 18}]
            query_id = emulator.press_button(user["id"], welcome.message_id, "join")
            await emulator.wait_until(lambda: welcome.text == "Danke!")
            assert emulator.callback_answers()[query_id]["text"] == "Angemeldet"
        finally:
            await app.updater.stop()
            await app.stop()


async def test_no_method_crashes_on_garbage(server: SandboxServer, emulator) -> None:
    user = emulator.add_user("Fuzz")
    emulator.send_text(user["id"], "hello")
    garbage: list[dict] = [
        {},
        {"chat_id": user["id"]},
        {"chat_id": user["id"], "message_id": 1, "text": "x", "from_chat_id": user["id"]},
        {k: [1, {"a": None}] for k in ("chat_id", "text", "message_id", "reply_markup", "scope")},
        {k: "🙂\x00<b>" for k in ("chat_id", "text", "offset", "timeout", "latitude", "commands")},
        {"chat_id": user["id"], "text": "x", "reply_markup": {"inline_keyboard": [[{"text": 1}]]}},
        {"chat_id": user["id"], "text": "x", "entities": [{"type": "bold"}], "parse_mode": 5},
        {"chat_id": user["id"], "latitude": "nan", "longitude": "inf", "title": "", "url": "x"},
    ]
    methods = sorted({name for name, _ in emulator._methods.values()} - {"getUpdates"})
    async with aiohttp.ClientSession() as session:
        for method in methods:
            for params in garbage:
                url = f"{server.base_url}{TOKEN}/{method}"
                async with session.post(url, json=params) as resp:
                    body = await resp.json()
                    assert resp.status != 500, (method, params, body)
                    assert body["ok"] is (resp.status == 200)
        await session.post(f"{server.base_url}{TOKEN}/deleteWebhook", json={})
        async with session.post(
            f"{server.base_url}{TOKEN}/getUpdates", json={"offset": "x", "timeout": "y"}
        ) as resp:
            assert resp.status == 400
