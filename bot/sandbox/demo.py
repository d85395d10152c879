"""The demo neighbourhood the sandbox starts with: a coordinator and a few residents.

Residents exist only in the emulator (as Telegram users who haven't started the bot yet), so a
newcomer can pick one and go through onboarding; the coordinator is already set up.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.sandbox.emulator import BotApiEmulator
from bot.services import Services
from storage.models import Role

NEIGHBOURHOOD_NAME = "Demo-Quartier"
COORDINATOR_ID = 900_001


@dataclass(frozen=True)
class DemoUser:
    user_id: int
    first_name: str
    language_code: str


DEMO_RESIDENTS = (
    DemoUser(900_101, "Ayşe", "tr"),
    DemoUser(900_102, "Omar", "ar"),
    DemoUser(900_103, "Olena", "uk"),
    DemoUser(900_104, "Giulia", "it"),
    DemoUser(900_105, "Maryam", "fa"),
    DemoUser(900_106, "Jonas", "de"),
)


async def seed(emulator: BotApiEmulator, services: Services) -> None:
    emulator.add_user(
        "Koordination", "de", user_id=COORDINATOR_ID, last_name="(Demo)", is_coordinator=True
    )
    await services.residents.register(COORDINATOR_ID, "de")
    await services.residents.grant_role(COORDINATOR_ID, Role.COORDINATOR)
    for user in DEMO_RESIDENTS:
        emulator.add_user(user.first_name, user.language_code, user_id=user.user_id)
