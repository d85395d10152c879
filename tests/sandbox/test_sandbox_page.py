"""The browser page and its JSON API (``/sandbox/api/...``)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.sandbox import BotApiEmulator, SandboxServer

STATIC = Path(__file__).resolve().parents[2] / "bot" / "sandbox" / "static"


async def test_page_and_static_files_are_served(server: SandboxServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.url}/") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            html = await resp.text()
        assert "Quartierbot sandbox — local Telegram emulator" in html
        for asset in re.findall(r'(?:src|href)="(/sandbox/static/[^"]+)"', html):
            async with session.get(f"{server.url}{asset}") as resp:
                assert resp.status == 200, asset


def test_page_never_renders_message_text_as_html() -> None:
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script
    assert "outerHTML" not in script
    assert "insertAdjacentHTML" not in script
    assert 'dir: "auto"' in script
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html  # no CDN, works offline
    for code in ("de", "tr", "ar", "uk", "el", "ro", "pl", "it", "fa", "ku", "ru", "en"):
        assert f"{code}: " in script


async def test_json_api_user_send_press(server: SandboxServer, emulator: BotApiEmulator, bot):
    api = f"{server.url}/sandbox/api"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{api}/state") as resp:
            state = await resp.json()
        assert state["bot"]["username"] == "quartierbot_sandbox_bot"
        assert state["users"] == []
        start = state["last_event"]

        name = "<script>alert(1)</script>"
        async with session.post(
            f"{api}/users", json={"first_name": name, "language_code": "ar", "is_coordinator": True}
        ) as resp:
            assert resp.status == 201
            user = await resp.json()
        assert user["first_name"] == name
        assert user["language_code"] == "ar"
        assert user["is_coordinator"] is True
        async with session.get(f"{api}/users") as resp:
            assert [u["id"] for u in await resp.json()] == [user["id"]]

        async with session.post(f"{api}/chats/{user['id']}/send", json={"text": "/start"}) as resp:
            assert resp.status == 200
            sent = await resp.json()
        assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

        update = (await bot.get_updates(timeout=0))[0]
        assert update.message.text == "/start"
        reply = await bot.send_message(
            user["id"],
            "Welcome",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]]),
        )

        async with session.get(f"{api}/chats/{user['id']}/messages") as resp:
            messages = await resp.json()
        assert [(m["from_bot"], m["text"]) for m in messages] == [
            (False, "/start"),
            (True, "Welcome"),
        ]
        assert messages[1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"

        async with session.post(
            f"{api}/chats/{user['id']}/press", json={"message_id": reply.message_id, "data": "ok"}
        ) as resp:
            query_id = (await resp.json())["callback_query_id"]
        updates = await bot.get_updates(offset=update.update_id + 1, timeout=0)
        assert updates[0].callback_query.id == query_id
        assert updates[0].callback_query.data == "ok"
        await bot.answer_callback_query(query_id, text="Thanks")

        async with session.get(f"{api}/events?after={start}&timeout=0") as resp:
            events = await resp.json()
        kinds = [e["type"] for e in events["events"]]
        assert kinds[:2] == ["user", "message"]
        assert "callback_answer" in kinds
        answer = next(e for e in events["events"] if e["type"] == "callback_answer")
        assert answer["text"] == "Thanks" and answer["chat_id"] == user["id"]
        assert events["last"] >= events["events"][-1]["seq"]


async def test_events_long_poll_wakes_up_on_bot_reply(server, emulator, bot) -> None:
    user = emulator.add_user("Lena", "de")
    api = f"{server.url}/sandbox/api"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{api}/state") as resp:
            last = (await resp.json())["last_event"]

        async def poll() -> dict:
            async with session.get(f"{api}/events?after={last}&timeout=10") as resp:
                return await resp.json()

        polling = asyncio.create_task(poll())
        await asyncio.sleep(0.05)
        await bot.send_message(user["id"], "<b>Hallo</b> Lena", parse_mode="HTML")
        result = await asyncio.wait_for(polling, 3)
    message = result["events"][0]["message"]
    assert message["text"] == "Hallo Lena"
    assert message["entities"] == [{"type": "bold", "offset": 0, "length": 5}]


async def test_page_media_location_sticker_and_files(server, emulator, bot) -> None:
    user = emulator.add_user("Mehmet", "tr")
    api = f"{server.url}/sandbox/api/chats/{user['id']}"
    async with aiohttp.ClientSession() as session:
        form = aiohttp.FormData()
        form.add_field(
            "photo", b"\x89PNG\r\n\x1a\nrest", filename="p.png", content_type="image/png"
        )
        form.add_field("caption", "Pothole")
        async with session.post(f"{api}/send", data=form) as resp:
            photo = await resp.json()
        assert photo["caption"] == "Pothole"
        form = aiohttp.FormData()
        form.add_field("voice", b"OggS...", filename="v.ogg", content_type="audio/ogg")
        async with session.post(f"{api}/send", data=form) as resp:
            assert (await resp.json())["voice"]["mime_type"] == "audio/ogg"
        async with session.post(f"{api}/send", json={"latitude": 52.5, "longitude": 13.4}) as resp:
            assert (await resp.json())["location"] == {"latitude": 52.5, "longitude": 13.4}
        async with session.post(f"{api}/send", json={"sticker": True}) as resp:
            assert (await resp.json())["sticker"]["emoji"] == "👍"

        async with session.get(f"{api}/messages") as resp:
            messages = await resp.json()
        assert [m["kind"] for m in messages] == ["photo", "voice", "location", "sticker"]
        async with session.get(f"{server.url}{messages[0]['file_url']}") as resp:
            assert resp.content_type == "image/png"
            assert await resp.read() == b"\x89PNG\r\n\x1a\nrest"

        # errors are JSON, never crashes
        async with session.post(f"{api}/send", json={}) as resp:
            assert resp.status == 400
        async with session.post(
            f"{api}/send", data=b"{oops", headers={"Content-Type": "application/json"}
        ) as resp:
            assert resp.status == 400
        async with session.post(f"{api}/send", json={"latitude": "x", "longitude": 1}) as resp:
            assert resp.status == 400
        async with session.post(
            f"{server.url}/sandbox/api/chats/999/send", json={"text": "x"}
        ) as r:
            assert r.status == 404
        async with session.post(f"{server.url}/sandbox/api/users", json={"first_name": " "}) as r:
            assert r.status == 400
        async with session.post(f"{api}/press", json={"message_id": "x"}) as resp:
            assert resp.status == 400
        async with session.get(f"{server.url}/sandbox/api/files/nope") as resp:
            assert resp.status == 404
    assert len(await bot.get_updates(timeout=0)) == 4
