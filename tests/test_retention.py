"""Retention (issue 13, point 4): with the injected clock moved forward, a past event's sign-ups
lose their personal details after SIGNUP_RETENTION_DAYS (and not before); a long-inactive
resident is warned once in their language, and removed only on the day the warning named; one
who writes or taps after the warning stays (through the sandbox). Two replicas on one
PostgreSQL database run the same day at once: it is claimed once, the warning goes once and the
purge runs once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_services
from bot.bidi import RLM, begins_rtl
from bot.buttons import PrivacyButton
from bot.config import DEFAULT_LOCALES, ConfigError
from bot.i18n import I18n
from bot.services import Services
from bot.services.privacy import anonymous_signup_id
from bot.services.retention import JOB_NAME, SERVICE_KIND
from storage import migrate
from storage.db import create_engine, create_session_factory
from storage.models import Delivery, JobRun, OutboxMessage, Resident, Signup
from tests.conftest import make_settings
from tests.support.actors import STAFF
from tests.support.clock import BERLIN, TEST_START, FixedClock
from tests.support.live import LiveBot, onboard, tr

NOTE = "Rollstuhl, Diabetes, Zimmer 12"
ALMA, BÜLENT = 5_310_001, 5_310_002  # signed up for both events
DORA, AMAL, ACTIVE = 5_310_011, 5_310_012, 5_310_013  # de, ar, and one who keeps writing
WARNING = (
    "👋 We haven't seen you here for a long time. To protect your privacy, your data "
    "(your settings, sign-ups and memberships) will be deleted on {date}, unless you "
    "send us any message or tap a button before then."
)
KEEP = PrivacyButton("keep").pack()


async def _services(tmp_path: Path, url: str, clock: FixedClock) -> tuple[Services, AsyncEngine]:
    engine = create_engine(url)
    settings = make_settings(tmp_path, database_url=url)
    return build_services(settings, engine, clock=clock), engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Services, AsyncEngine, FixedClock]]:
    """The services on a fresh database of each backend, with a clock the test moves."""
    if request.param == "postgresql":
        url = str(request.getfixturevalue("empty_postgres"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'retention.sqlite3'}"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    clock = FixedClock(TEST_START)
    services, engine = await _services(tmp_path, url, clock)
    try:
        yield services, engine, clock
    finally:
        await engine.dispose()


async def an_event(services: Services, title: str, start: datetime) -> int:
    events = services.events
    draft = await events.create_draft(STAFF)
    await events.set_version(STAFF, draft.id, "de", title=title)
    await events.update(
        STAFF, draft.id, starts_at=start, ends_at=start + timedelta(hours=2), capacity=20
    )
    return (await events.publish(STAFF, draft.id)).id


async def signups_of(engine: AsyncEngine, event_id: int) -> list[Signup]:
    async with create_session_factory(engine)() as session:
        return list(
            await session.scalars(
                select(Signup).where(Signup.event_id == event_id).order_by(Signup.id)
            )
        )


async def warnings(engine: AsyncEngine) -> list[tuple[int, str, dict[str, Any]]]:
    """Every queued warning: (chat, locale, payload)."""
    async with create_session_factory(engine)() as session:
        rows = await session.execute(
            select(Delivery.chat_id, Delivery.locale, OutboxMessage.payload)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.kind == SERVICE_KIND, Delivery.source.like("retention:warning:%"))
            .order_by(Delivery.chat_id)
        )
        return [(int(chat), str(locale), dict(payload)) for chat, locale, payload in rows]


async def job_runs(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with create_session_factory(engine)() as session:
        return [(r.name, r.period) for r in await session.scalars(select(JobRun))]


# --- sign-up details ---------------------------------------------------------------------


async def test_signup_details_go_30_days_after_the_event_and_not_before(
    backend: tuple[Services, AsyncEngine, FixedClock],
) -> None:
    services, engine, clock = backend
    for telegram_id in (ALMA, BÜLENT):
        await services.residents.register(telegram_id, "de")
    early = await an_event(services, "Hoffest", clock() + timedelta(days=1))
    later = await an_event(services, "Flohmarkt", clock() + timedelta(days=3))
    for event_id in (early, later):
        await services.events.sign_up(
            event_id,
            ALMA,
            "de",
            adults=2,
            children=1,
            interpreter_locale="ar",
            childcare=True,
            wheelchair=True,
            note=NOTE,
        )
        await services.events.sign_up(event_id, BÜLENT, "de", note="vegetarisch")

    # The first ended 31 days ago, the second 29 days ago.
    clock.now = TEST_START + timedelta(days=1, hours=2) + timedelta(days=31)
    assert await services.retention.purge_signup_details(clock()) == (1, 2)

    gone = await signups_of(engine, early)
    assert [(s.adults, s.children, str(s.status)) for s in gone] == [
        (2, 1, "confirmed"),
        (1, 0, "confirmed"),
    ]
    for signup in gone:
        assert signup.note is None and signup.interpreter_locale is None
        assert not signup.childcare and not signup.wheelchair
        assert signup.telegram_id == anonymous_signup_id(signup.id) < 0
        assert signup.code.startswith("~")
    kept = await signups_of(engine, later)
    assert sorted((s.telegram_id, s.note) for s in kept) == [
        (ALMA, NOTE),
        (BÜLENT, "vegetarisch"),
    ]
    assert kept[0].wheelchair and kept[0].interpreter_locale == "ar"
    # Her own data no longer names the old event; the later one is still hers.
    exported = await services.privacy.export(ALMA)
    assert [s["event_id"] for s in exported["signups"]] == [later]

    # Nothing left to do the same day; two days later the second event's turn comes.
    assert await services.retention.purge_signup_details(clock()) == (0, 0)
    clock.advance(days=2)
    assert await services.retention.purge_signup_details(clock()) == (1, 2)
    assert all(s.note is None and s.telegram_id < 0 for s in await signups_of(engine, later))


# --- inactive residents ------------------------------------------------------------------


async def test_inactive_residents_are_warned_once_in_their_language_then_removed(
    backend: tuple[Services, AsyncEngine, FixedClock],
) -> None:
    services, engine, clock = backend
    retention = services.retention
    for telegram_id, locale in ((DORA, "de"), (AMAL, "ar"), (ACTIVE, "de")):
        await services.residents.register(telegram_id, locale)

    # 334 days later nobody is due yet.
    clock.now = TEST_START + timedelta(days=334)
    await services.residents.seen(ACTIVE)
    assert await retention.warn_inactive(clock()) == 0
    # 336 days (2027-10-28): more than 365 - 30 days without a word from Dora and Amal.
    clock.now = TEST_START + timedelta(days=336)
    await services.residents.seen(ACTIVE)
    assert await retention.warn_inactive(clock()) == 2
    removal = date(2027, 11, 27)

    queued = await warnings(engine)
    assert [(chat, locale) for chat, locale, _ in queued] == [(DORA, "de"), (AMAL, "ar")]
    by_locale = {locale: payload for _, locale, payload in queued}
    assert "27. November 2027" in by_locale["de"]["text"]
    assert format_date(removal, "long", locale="ar") in by_locale["ar"]["text"]
    assert begins_rtl(by_locale["ar"]["text"])  # an Arabic reader's message reads RTL
    i18n = I18n(DEFAULT_LOCALES, "de", BERLIN)  # the catalogs the bot runs with
    for locale, payload in by_locale.items():
        t = i18n.translator(locale)
        expected = t.gettext(WARNING).format(date=t.format_date(removal, "long"))
        assert payload["text"].removeprefix(RLM) == expected
        buttons = payload["reply_markup"]["inline_keyboard"]
        assert [b["callback_data"] for row in buttons for b in row] == [KEEP]

    # Warned once: again the same day, the next day and a week later, nothing more.
    for days in (0, 1, 7):
        clock.now = TEST_START + timedelta(days=336 + days)
        assert await retention.warn_inactive(clock()) == 0
    assert len(await warnings(engine)) == 2

    # The day before the named date they are still here; on that date they are removed.
    clock.now = datetime(2027, 11, 26, 23, 59, tzinfo=BERLIN)
    assert await retention.remove_inactive(clock()) == 0
    assert await services.residents.get(DORA) is not None
    clock.now = datetime(2027, 11, 27, 3, 30, tzinfo=BERLIN)
    assert await retention.remove_inactive(clock()) == 2
    assert await services.residents.get(DORA) is None
    assert await services.residents.get(AMAL) is None
    assert await services.residents.get(ACTIVE) is not None  # never warned, never removed
    assert await warnings(engine) == []  # the erase took their outbox rows too
    assert await retention.remove_inactive(clock()) == 0


async def test_the_day_is_due_only_after_half_past_three(
    backend: tuple[Services, AsyncEngine, FixedClock],
) -> None:
    services, engine, clock = backend
    clock.now = datetime(2026, 11, 27, 3, 29, tzinfo=BERLIN)
    assert await services.retention.run_due() is None
    assert await job_runs(engine) == []
    clock.now = datetime(2026, 11, 27, 3, 30, tzinfo=BERLIN)
    done = await services.retention.run_due()
    assert done is not None and done.period == "2026-11-27"
    assert await services.retention.run_due() is None  # claimed: once a day
    clock.advance(days=1)
    assert (await services.retention.run_due()) is not None
    assert await job_runs(engine) == [(JOB_NAME, "2026-11-27"), (JOB_NAME, "2026-11-28")]


# --- through the sandbox -----------------------------------------------------------------


async def test_who_writes_or_taps_after_the_warning_stays(live_bot: LiveBot) -> None:
    runtime = live_bot.runtime
    services = runtime.services
    assert services is not None and runtime.engine is not None and runtime.application
    # The daily job is registered for 03:30 in the neighbourhood's time zone.
    (job,) = runtime.application.job_queue.get_jobs_by_name("retention")  # type: ignore[union-attr]
    assert job.next_t is not None
    local = job.next_t.astimezone(BERLIN)
    assert (local.hour, local.minute) == (3, 30)

    keeper = live_bot.resident("Kemal", "tr", DORA)
    writer = live_bot.resident("Wiebke", "de", AMAL)
    gone = live_bot.resident("Gustav", "de", ACTIVE)
    for resident, locale in ((keeper, "tr"), (writer, "de"), (gone, "de")):
        await onboard(resident, locale)
    # Nobody heard from them for 340 days (a test can't wait that long).
    async with runtime.engine.begin() as connection:
        await connection.execute(
            update(Resident).values(last_seen_at=runtime.clock() - timedelta(days=340))
        )

    assert await services.retention.warn_inactive(runtime.clock()) == 3
    await live_bot.emulator.wait_until(
        lambda: all(
            any(
                KEEP in [data for _, data in m.buttons()] for m in live_bot.emulator.bot_messages(r)
            )
            for r in (DORA, AMAL, ACTIVE)
        ),
        timeout=15,
    )
    warning = next(
        m
        for m in reversed(live_bot.emulator.bot_messages(DORA))
        if KEEP in [data for _, data in m.buttons()]
    )
    # In Kemal's language (Turkish), with the date.
    before_date, after_date = tr(live_bot, "tr", WARNING).split("{date}")
    assert (warning.text or "").startswith(before_date) and after_date in (warning.text or "")
    await keeper.tap(KEEP)  # the main menu comes; the tap counts as being seen
    await writer.say("hallo")

    async with create_session_factory(runtime.engine)() as session:
        rows = await session.execute(select(Resident.telegram_id, Resident.warned_at))
        warned = {int(telegram_id): at for telegram_id, at in rows}
    assert warned[DORA] is None and warned[AMAL] is None and warned[ACTIVE] is not None

    removed = await services.retention.remove_inactive(runtime.clock() + timedelta(days=31))
    assert removed == 1
    assert await services.residents.get(DORA) is not None
    assert await services.residents.get(AMAL) is not None
    assert await services.residents.get(ACTIVE) is None


# --- two replicas ------------------------------------------------------------------------


@pytest.mark.postgres
async def test_two_replicas_run_the_day_once(empty_postgres: str, tmp_path: Path) -> None:
    engine = create_engine(empty_postgres)
    await migrate.upgrade(engine)
    await engine.dispose()
    clock = FixedClock(TEST_START)
    first, first_engine = await _services(tmp_path, empty_postgres, clock)
    second, second_engine = await _services(tmp_path, empty_postgres, clock)
    try:
        assert first.retention.claimant != second.retention.claimant
        for telegram_id, locale in ((DORA, "de"), (AMAL, "ar"), (ALMA, "de")):
            await first.residents.register(telegram_id, locale)
        event_id = await an_event(first, "Hoffest", clock() + timedelta(days=1))
        await first.events.sign_up(event_id, ALMA, "de", note=NOTE, wheelchair=True)
        clock.now = TEST_START + timedelta(days=336)
        await first.residents.seen(ALMA)  # Alma is active; Dora and Amal are not

        runs = await asyncio.gather(first.retention.run_due(), second.retention.run_due())

        done = [run for run in runs if run is not None]
        assert len(done) == 1, runs
        assert (done[0].events, done[0].signups, done[0].warned) == (1, 1, 2)
        assert await job_runs(first_engine) == [(JOB_NAME, "2027-10-28")]
        assert [chat for chat, _, _ in await warnings(first_engine)] == [DORA, AMAL]
        (signup,) = await signups_of(first_engine, event_id)
        assert signup.note is None and signup.telegram_id < 0
        # Again the same day, on either replica: nothing.
        again = await asyncio.gather(first.retention.run_due(), second.retention.run_due())
        assert again == [None, None]

        # Without the day's claim, the steps alone still warn once: the conditional UPDATE.
        await first.residents.register(BÜLENT, "tr")
        async with create_session_factory(first_engine).begin() as session:
            await session.execute(
                update(Resident)
                .where(Resident.telegram_id == BÜLENT)
                .values(last_seen_at=clock() - timedelta(days=340))
            )
        counts = await asyncio.gather(
            first.retention.warn_inactive(clock()), second.retention.warn_inactive(clock())
        )
        assert sorted(counts) == [0, 1]
        async with create_session_factory(second_engine)() as session:
            assert (
                await session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.chat_id == BÜLENT, Delivery.kind == SERVICE_KIND)
                )
                == 1
            )
    finally:
        await first_engine.dispose()
        await second_engine.dispose()


def test_the_warning_must_come_before_the_removal(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert (
        settings.signup_retention_days,
        settings.inactive_days,
        settings.inactive_warning_days,
    ) == (30, 365, 30)
    with pytest.raises(ConfigError, match="INACTIVE_WARNING_DAYS"):
        make_settings(tmp_path, inactive_days=30, inactive_warning_days=30)
