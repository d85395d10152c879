"""A coordinator composes a broadcast in the bot; residents receive it in their language.

The real bot and its delivery engine run against the sandbox over HTTP.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.bidi import RLM
from bot.sandbox.emulator import SandboxMessage
from bot.services.delivery import Recipient
from storage.db import create_session_factory
from storage.models import Delivery, DeliveryState
from tests.conftest import ADMIN_ID
from tests.support.clock import RunningClock
from tests.support.live import LiveBot, onboard, tr

ARABIC = re.compile(r"[\u0600-\u06FF]")


def broadcast_id_of(message_buttons: list[tuple[str, str]]) -> int:
    for _, data in message_buttons:
        if data.startswith("bc:"):
            return int(data.split(":")[2])
    raise AssertionError(f"no broadcast buttons in {message_buttons}")


async def test_compose_preview_and_send_in_each_language(live_bot: LiveBot) -> None:
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    ayse = live_bot.resident("Ayşe", "tr", 701)
    omar = live_bot.resident("Omar", "ar", 702)
    olena = live_bot.resident("Olena", "uk", 703)
    for resident, locale in [(coordinator, "de"), (ayse, "tr"), (omar, "ar"), (olena, "uk")]:
        await onboard(resident, locale)

    composer = await coordinator.say("/broadcast")
    number = broadcast_id_of(composer.buttons())
    await coordinator.tap(f"bc:text:{number}:de")
    after_text = await coordinator.say("Hallo Nachbarn! Samstag ist Hoffest. <script>")
    assert "Hallo Nachbarn" not in after_text.text  # the composer shows counts, not the text
    # It says who would read German for want of their own version (Omar, Olena, Ayşe),
    # naming their languages in the coordinator's (German).
    missing = tr(live_bot, "de", "🌐 Not yet in: {languages}").split("{")[0]
    assert missing in after_text.text and "Türkisch" in after_text.text.split(missing)[1]
    await coordinator.tap(f"bc:langs:{number}")
    await coordinator.tap(f"bc:text:{number}:tr")
    await coordinator.say("Merhaba komşular! Cumartesi avlu şenliği var.")
    await coordinator.tap(f"bc:aud:{number}")
    await coordinator.tap(f"bc:al:{number}:tr")
    audience = await coordinator.tap(f"bc:al:{number}:ar")
    assert "2" in audience.text  # Ayşe and Omar
    await coordinator.tap(f"bc:home:{number}")

    await coordinator.tap(f"bc:prev:{number}")
    before = len(live_bot.emulator.bot_messages(ADMIN_ID))
    coordinator.emulator.press_button(ADMIN_ID, coordinator.last.message_id, f"bc:pv:{number}:ar")
    await live_bot.emulator.wait_for_bot_messages(ADMIN_ID, before + 3)
    preview = live_bot.emulator.bot_messages(ADMIN_ID)[before + 1]
    # As text; and, like everything an Arabic reader gets, it begins right to left.
    assert preview.text.startswith(RLM + "Hallo Nachbarn! Samstag ist Hoffest. <script>")
    assert preview.direction == "rtl"
    assert ARABIC.search(preview.text)  # the unsubscribe line in Arabic

    confirm = await coordinator.tap(f"bc:send:{number}")
    assert "2" in confirm.text
    progress = await coordinator.tap(f"bc:go:{number}")
    assert progress.buttons()[-1][1] == f"bc:cancel:{number}"

    await live_bot.emulator.wait_until(
        lambda: (
            bool(live_bot.emulator.bot_messages(701)[-1].text.startswith("Merhaba komşular"))
            and live_bot.emulator.bot_messages(702)[-1].text.startswith(RLM + "Hallo Nachbarn")
        ),
        timeout=15,
    )
    assert "/stop" in ayse.last.text
    assert ARABIC.search(omar.last.text.split("\n")[-1])
    assert not any("Hallo" in (m.text or "") for m in live_bot.emulator.bot_messages(703))

    # A second tap on "send" sends nothing twice.
    answer = await coordinator.tap_forged(f"bc:go:{number}")
    assert answer.get("show_alert")
    async with create_session_factory(live_bot.runtime.engine)() as session:
        rows = list(
            await session.scalars(select(Delivery).where(Delivery.source == f"broadcast:{number}"))
        )
    assert sorted(row.chat_id for row in rows) == [701, 702]

    def progress_message() -> SandboxMessage:
        return next(
            m
            for m in live_bot.emulator.bot_messages(ADMIN_ID)
            if m.message_id == progress.message_id
        )

    # When the outbox is done, the progress message becomes a summary without buttons.
    await live_bot.emulator.wait_until(lambda: not progress_message().buttons(), timeout=15)
    summary = progress_message().text
    assert "Türkçe: 1/1" in summary and "العربية: 1/1" in summary


async def test_residents_cannot_broadcast(live_bot: LiveBot) -> None:
    resident = live_bot.resident("Ayşe", "tr", 711)
    await onboard(resident, "tr")
    refused = await resident.say("/broadcast")
    assert refused.text == tr(live_bot, "tr", "📣 Broadcasts are only for coordinators.")
    answer = await resident.tap_forged("bc:go:1")
    assert answer["text"] == tr(live_bot, "tr", "📣 Broadcasts are only for coordinators.")


async def test_forged_broadcast_buttons_change_nothing(live_bot: LiveBot) -> None:
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    answer = await coordinator.tap_forged("bc:go:987654")
    assert answer["text"] == tr(
        live_bot, "de", "⚠️ This button is no longer valid. Please send /menu."
    )
    composer = await coordinator.say("/broadcast")
    number = broadcast_id_of(composer.buttons())
    answer = await coordinator.tap_forged(f"bc:send:{number}")  # nothing written yet
    assert answer["text"] == tr(live_bot, "de", "Please write the text first.")
    answer = await coordinator.tap_forged(f"bc:al:{number}:xx")
    assert answer["text"] == tr(
        live_bot, "de", "⚠️ This button is no longer valid. Please send /menu."
    )


async def test_overlong_text_and_unreadable_time_get_clear_answers(live_bot: LiveBot) -> None:
    coordinator = live_bot.resident("Koordination", "de", ADMIN_ID)
    await onboard(coordinator, "de")
    number = broadcast_id_of((await coordinator.say("/broadcast")).buttons())
    await coordinator.tap(f"bc:text:{number}:de")
    too_long = await coordinator.say("x" * 4000)
    assert too_long.text == tr(
        live_bot, "de", "That text is too long: at most {limit} characters."
    ).format(limit="3.500")
    await coordinator.say("Kurzer Text")
    await coordinator.tap(f"bc:when:{number}")
    unreadable = await coordinator.say("irgendwann bald")
    assert unreadable.text == tr(
        live_bot, "de", "I couldn't read that. Please write the date and time like {example}."
    ).format(example="28.11.2026 15:00")  # next Saturday 15:00 from the test clock
    scheduled = await coordinator.say("24.12.2099 18:00")
    assert "2099" in scheduled.text
    assert scheduled.buttons() == [(tr(live_bot, "de", "⛔ Cancel"), f"bc:cancel:{number}")]


async def test_stop_cancels_queued_news_at_once(live_bot: LiveBot) -> None:
    resident = live_bot.resident("Olena", "uk", 721)
    await onboard(resident, "uk", quiet_hours=True)
    delivery = live_bot.runtime.services.delivery
    later = live_bot.runtime.clock() + timedelta(hours=5)  # e.g. waiting for the end of quiet hours
    await delivery.enqueue(
        source="broadcast:test-stop",
        kind="broadcast",
        broadcast_id=None,
        payloads={"uk": {"method": "sendMessage", "text": "Новини"}},
        fallback_locale="uk",
        recipients=[Recipient(721, "uk", later)],
    )
    await resident.say("/stop")
    async with create_session_factory(live_bot.runtime.engine)() as session:
        row = await session.scalar(select(Delivery).where(Delivery.chat_id == 721))
    assert row is not None and row.state == DeliveryState.CANCELLED


async def test_a_scheduled_broadcast_survives_a_restart_and_goes_out_once(tmp_path: Path) -> None:
    from bot.runtime import Runtime
    from bot.sandbox.emulator import BotApiEmulator, SandboxServer
    from tests.conftest import make_settings

    clock = RunningClock()
    emulator = BotApiEmulator(clock=clock)
    emulator.add_user("Ayşe", "tr", user_id=731)
    async with SandboxServer(emulator) as server:
        settings = make_settings(tmp_path, telegram_api_url=server.base_url)
        first = Runtime(settings, serve_http=False, poll_timeout=1, clock=clock)
        await first.start()
        services = first.services
        await services.residents.register(731, "tr")
        await services.residents.set_quiet_hours(731, 0, 0)
        coordinator = await services.residents.actor(ADMIN_ID)
        draft = await services.broadcasts.create_draft(coordinator)
        await services.broadcasts.set_version(coordinator, draft.id, "tr", text="Yarın pazar var!")
        await services.broadcasts.set_version(coordinator, draft.id, "de", text="Morgen ist Markt!")
        due = clock() + timedelta(seconds=2)
        await services.broadcasts.schedule_once(coordinator, draft.id, due)
        await first.stop()  # the bot goes down before the broadcast is due

        await asyncio.sleep(max(0.0, (due - clock()).total_seconds()) + 0.5)
        second = Runtime(settings, serve_http=False, poll_timeout=1, clock=clock)
        await second.start()
        try:
            await emulator.wait_until(
                lambda: any(
                    (m.text or "").startswith("Yarın pazar var!")
                    for m in emulator.bot_messages(731)
                ),
                timeout=15,
            )
            await asyncio.sleep(1.5)  # a second tick of the due-work job finds nothing more
            copies = [m for m in emulator.bot_messages(731) if (m.text or "").startswith("Yarın")]
            assert len(copies) == 1
            assert copies[0].date >= int(due.timestamp())  # not before its time
        finally:
            await second.stop()
