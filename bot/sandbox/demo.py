"""The demo neighbourhood the sandbox starts with: a coordinator and a few residents.

Residents exist only in the emulator (as Telegram users who haven't started the bot yet), so a
newcomer can pick one and go through onboarding; the coordinator is already set up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

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
    await seed_events(services)
    await seed_groups(services)


# Demo content in a few languages; everything else falls back to German.
DEMO_EVENTS: tuple[dict[str, Any], ...] = (
    {
        "titles": {
            "de": ("Hoffest", "Musik, Kuchen und Spiele für Groß und Klein im Innenhof."),
            "tr": ("Avlu şenliği", "Avluda büyük küçük herkes için müzik, pasta ve oyunlar."),
            "ar": ("حفلة الفناء", "موسيقى وكعك وألعاب للكبار والصغار في الفناء."),
            "uk": ("Свято у дворі", "Музика, пироги та ігри для дорослих і дітей у дворі."),
        },
        "in_days": 3,
        "hour": 15,
        "place": ("Innenhof", "Musterstraße 12", 49.9927, 8.4117),
        "capacity": 40,
        "topics": ["children"],
    },
    {
        "titles": {
            "de": ("Sprachcafé", "Deutsch sprechen bei Tee und Kaffee, zum Üben."),
            "tr": ("Dil kafesi", "Çay ve kahve eşliğinde Almanca konuşma pratiği."),
            "fa": ("کافه زبان", "تمرین آلمانی با چای و قهوه."),
        },
        "in_days": 1,
        "hour": 17,
        "place": ("Stadtteilbüro", "Am Marktplatz 3", None, None),
        "capacity": 0,
        "topics": ["intercultural"],
    },
    {
        "titles": {
            "de": ("Gemeinsam gärtnern", "Wir bepflanzen die Hochbeete. Handschuhe sind da."),
            "it": ("Giardinaggio insieme", "Piantiamo le aiuole rialzate. I guanti ci sono."),
        },
        "in_days": 6,
        "hour": 10,
        "place": ("Hochbeete am Spielplatz", "Gartenweg 7", 49.9931, 8.4102),
        "capacity": 3,
        "topics": ["environment"],
    },
)


async def seed_events(services: Services) -> None:
    events = services.events
    tz = events.tz
    today = services.clock().astimezone(tz).date()
    coordinator = await services.residents.actor(COORDINATOR_ID)
    for spec in DEMO_EVENTS:
        draft = await events.create_draft(coordinator)
        for locale, (title, description) in spec["titles"].items():
            await events.set_version(
                coordinator, draft.id, locale, title=title, description=description
            )
        start = datetime.combine(today + timedelta(days=spec["in_days"]), time(spec["hour"]), tz)
        name, address, latitude, longitude = spec["place"]
        await events.update(
            coordinator,
            draft.id,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            place_name=name,
            address=address,
            latitude=latitude,
            longitude=longitude,
            capacity=spec["capacity"],
            topics=spec["topics"],
        )
        await events.publish(coordinator, draft.id)


async def seed_groups(services: Services) -> None:
    groups = services.groups
    coordinator = await services.residents.actor(COORDINATOR_ID)
    beds = await groups.create(
        coordinator,
        "project",
        name="Hochbeete im Hof",
        description="Wir legen Hochbeete an und gießen sie abwechselnd.",
        rhythm="dienstags 17 Uhr",
        topic="environment",
        lead_id=COORDINATOR_ID,
        locale="de",
    )
    await groups.set_version(coordinator, beds.id, "tr", name="Avluda yükseltilmiş yataklar")
    await groups.set_version(coordinator, beds.id, "ar", name="أحواض زراعية في الفناء")
    await groups.add_slot(coordinator, beds.id, "Gießen", 3, locale="de")
    await groups.add_slot(coordinator, beds.id, "Übersetzen ins Arabische", 1, locale="de")
    mentors = await groups.create(
        coordinator,
        "group",
        name="AG Kinder und Jugend",
        description="Lesepatenschaften, Hausaufgabenhilfe und Ausflüge.",
        rhythm="jeden ersten Montag im Monat, 18 Uhr",
        topic="children",
        lead_id=COORDINATOR_ID,
        locale="de",
    )
    await groups.set_version(coordinator, mentors.id, "uk", name="Робоча група «Діти та молодь»")
    await groups.add_slot(coordinator, mentors.id, "Lesepatin oder Lesepate", 5, locale="de")
