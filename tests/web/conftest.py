"""Fixtures for console tests: the whole app (API and console) in process, people who sign in.

`console` is a TestClient of `web.app.create_app` on the test's read model (SQLite and
PostgreSQL), serving `fake_ui` (tests/web/fake_ui.py) as the embedded stack's Temporal UI;
`people.add(...)` registers a user with a password and an enrolled TOTP secret, and
`sign_in(client, person)` walks the sign-in forms as a browser does. Browser tests use the
live stack of `tests/web/browser.py` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cdtrack.settings import Settings
from store.migrate import upgrade
from store.session import create_engine_for, session_factory
from tests.api.conftest import NO_TEMPORAL
from tests.temporal_env import settings_for_tests
from tests.web.fake_ui import FAKE_UI_URL, FakeUI
from tests.web.people import People, Person, sign_in
from web.app import create_app

__all__ = ["People", "Person", "sign_in"]


@pytest.fixture
def console_settings(read_model_url: str, tmp_path: Any) -> Settings:
    upgrade(read_model_url)
    return settings_for_tests(
        database_url=read_model_url, data_dir=tmp_path, temporal_ui_url=FAKE_UI_URL
    )


@pytest.fixture
def console_sessions(console_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = create_engine_for(console_settings.read_model_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def people(console_sessions: sessionmaker[Session], console_settings: Settings) -> People:
    return People(console_sessions, console_settings)


@pytest.fixture
def fake_ui() -> FakeUI:
    return FakeUI()


@pytest.fixture
def console(console_settings: Settings, fake_ui: FakeUI) -> Iterator[TestClient]:
    app = create_app(
        console_settings, temporal_client=NO_TEMPORAL, temporal_ui_transport=fake_ui.transport
    )
    with TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
        yield client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests never skip: without Debian's Chromium the run stops and says how to get it."""
    from tests.web.browser import CHROMIUM

    wants_browser = any("chromium" in getattr(item, "fixturenames", ()) for item in items)
    if wants_browser and not CHROMIUM.exists():
        raise pytest.UsageError(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "Install it with `sudo apt-get install -y chromium` (never `playwright install`)."
        )
