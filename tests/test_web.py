"""The bot's HTTP server: health, and the webhook's secret-token check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web.app import SECRET_HEADER, create_web_app
from tests.conftest import BotHarness, make_settings
from tests.support import updates


@pytest.fixture
async def client(harness: BotHarness, tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = make_settings(
        tmp_path, webhook_url="https://bot.example.org/tg/hook", webhook_secret="s3cret-token"
    )
    app = create_web_app(settings, harness.engine, harness.application)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_health_reports_database_and_bot(client: TestClient, harness: BotHarness) -> None:
    response = await client.get("/health")
    assert response.status == 503  # initialised but not started
    body = await response.json()
    assert body["database"] == "ok" and body["bot"] == "stopped"
    await harness.application.start()
    try:
        response = await client.get("/health")
        assert response.status == 200 and (await response.json())["status"] == "ok"
    finally:
        await harness.application.stop()


def _update_json(harness: BotHarness) -> dict:
    return updates.message(harness.bot, updates.user(), "/start").to_dict()


async def test_webhook_refuses_a_wrong_or_missing_secret(
    client: TestClient, harness: BotHarness
) -> None:
    for headers in ({}, {SECRET_HEADER: "guess"}):
        response = await client.post("/tg/hook", json=_update_json(harness), headers=headers)
        assert response.status == 403
    assert harness.application.update_queue.empty()


async def test_webhook_accepts_an_update_with_the_secret(
    client: TestClient, harness: BotHarness
) -> None:
    response = await client.post(
        "/tg/hook", json=_update_json(harness), headers={SECRET_HEADER: "s3cret-token"}
    )
    assert response.status == 200
    queued = harness.application.update_queue.get_nowait()
    assert queued.message.text == "/start"


async def test_webhook_rejects_garbage(client: TestClient) -> None:
    response = await client.post(
        "/tg/hook", data=b"{not json", headers={SECRET_HEADER: "s3cret-token"}
    )
    assert response.status == 400
