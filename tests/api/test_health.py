"""Health against a real Temporal server (the time-skipping one) and the real database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import AppFactory
from tests.temporal_env import binary, converter_for_tests
from tests.workflows.conftest import make_worker


@pytest.fixture
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=converter_for_tests(),
    )
    async with env:
        yield env


async def _health(app: FastAPI) -> httpx.Response:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cdtrack") as client:
            return await client.get("/health")


async def test_ok_while_a_worker_polls_and_degraded_without_one(
    app_factory: AppFactory,
    dev_server_env: WorkflowEnvironment,
    session_maker: sessionmaker[Session],
    activity_executor: ThreadPoolExecutor,
) -> None:
    task_queue = f"health-{uuid.uuid4().hex}"
    app = app_factory(temporal_client=dev_server_env.client, task_queue=task_queue)
    response = await _health(app)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "degraded",
        "checks": {"temporal": "up", "database": "up", "workers": "down"},
    }
    async with make_worker(dev_server_env, session_maker, activity_executor, task_queue):
        # The worker's first poll reaches the server a moment after it starts.
        for _ in range(50):
            response = await _health(app)
            if response.json()["status"] == "ok":
                break
            await asyncio.sleep(0.1)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ok",
        "checks": {"temporal": "up", "database": "up", "workers": "up"},
    }


async def test_temporal_down_is_a_503_naming_it(app_factory: AppFactory) -> None:
    # Nothing listens on port 9; a lazy client only finds out when asked.
    unreachable = await Client.connect("127.0.0.1:9", lazy=True)
    response = await _health(app_factory(temporal_client=unreachable))
    problem: dict[str, Any] = response.json()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["checks"] == {"temporal": "down", "database": "up", "workers": "down"}
    assert problem["detail"] == "Temporal is unreachable"


async def test_database_down_is_a_503_naming_it(
    app_factory: AppFactory, temporal_env: WorkflowEnvironment
) -> None:
    app = app_factory(
        temporal_client=temporal_env.client,
        database_url="postgresql+psycopg://postgres@127.0.0.1:9/absent?connect_timeout=1",
    )
    response = await _health(app)
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down"
    assert "127.0.0.1" not in response.text


def test_metrics_answer_a_scraper_beside_the_process_and_nothing_through_a_proxy(
    api: TestClient,
) -> None:
    scraped = api.get("/metrics")
    assert scraped.status_code == 200
    assert "cdtrack_" in scraped.text
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        proxied = api.get("/metrics", headers={header: "203.0.113.7"})
        assert proxied.status_code == 404, header
        assert "cdtrack_" not in proxied.text
