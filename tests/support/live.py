"""End-to-end harness: the real bot, started by ``Runtime``, talking HTTP to the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.runtime import Runtime
from bot.sandbox.emulator import BotApiEmulator, SandboxMessage


@dataclass
class LiveResident:
    """A Telegram user in the sandbox, typing and tapping like a person would."""

    emulator: BotApiEmulator
    user_id: int

    def _screen(self) -> dict[int, Any]:
        """Every bot message in the chat as it looks now (edits change it in place)."""
        return {
            m.message_id: (m.text, m.caption, m.reply_markup, m.edit_date, m.deleted)
            for m in self.emulator.bot_messages(self.user_id)
        }

    @property
    def last(self) -> SandboxMessage:
        messages = self.emulator.bot_messages(self.user_id)
        assert messages, "the bot has not written to this resident"
        return messages[-1]

    async def _until_screen_changes(self, before: dict[int, Any], what: str) -> SandboxMessage:
        """Wait for the bot's answer: a new message, or an edit of an earlier one."""

        def changed() -> bool:
            return self._screen() != before

        changed.__qualname__ = f"the bot answered {what!r} for user {self.user_id}"
        await self.emulator.wait_until(changed, timeout=10)
        now = self._screen()
        new = [message_id for message_id in now if message_id not in before]
        if new:
            chosen = max(new)
        else:
            chosen = max(mid for mid, state in now.items() if before.get(mid) != state)
        return next(m for m in self.emulator.bot_messages(self.user_id) if m.message_id == chosen)

    async def say(self, text: str) -> SandboxMessage:
        before = self._screen()
        self.emulator.send_text(self.user_id, text)
        return await self._until_screen_changes(before, text)

    async def tap(self, data: str) -> SandboxMessage:
        """Tap the button with this callback data on the newest message that has it."""
        for message in reversed(self.emulator.bot_messages(self.user_id)):
            if any(value == data for _, value in message.buttons()):
                before = self._screen()
                self.emulator.press_button(self.user_id, message.message_id, data)
                return await self._until_screen_changes(before, data)
        raise AssertionError(f"no button {data!r}; last buttons: {self.last.buttons()}")

    async def tap_forged(self, data: str) -> dict[str, Any]:
        """Send callback data that no button carries; returns the bot's callback answer."""
        query_id = self.emulator.press_button(self.user_id, self.last.message_id, data)

        def answered() -> bool:
            return query_id in self.emulator.callback_answers()

        await self.emulator.wait_until(answered, timeout=10)
        return self.emulator.callback_answers()[query_id]


@dataclass
class LiveBot:
    emulator: BotApiEmulator
    runtime: Runtime

    def resident(self, first_name: str, language_code: str | None, user_id: int) -> LiveResident:
        self.emulator.add_user(first_name, language_code, user_id=user_id)
        return LiveResident(self.emulator, user_id)


def tr(live_bot: LiveBot, locale: str, msgid: str) -> str:
    """A message as the running bot translates it for ``locale``."""
    return str(live_bot.runtime.application.bot_data.i18n.translator(locale).gettext(msgid))


async def onboard(resident: LiveResident, locale: str, *, quiet_hours: bool = False) -> None:
    """Start, pick the language, agree, skip topics; without quiet hours unless asked, since
    the tests run at any hour and news would otherwise wait for the morning."""
    await resident.say("/start")
    await resident.tap(f"lang:{locale}")
    await resident.tap(f"consent:yes:{locale}")
    await resident.tap("topics:done")
    if not quiet_hours:
        await resident.say("/settings")
        await resident.tap("set:quiet")
        await resident.tap("quiet:off")
