"""Fixtures for API tests: settings on a migrated database, the app, and users with tokens.

`app_factory` builds the app on the test's database (SQLite and PostgreSQL, via the shared
`read_model_url`); `api` is a started TestClient on it. `issue_token` registers a user of an
agency with a role (the agency too, if missing) and returns a fresh API token for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.app import create_app
from api.principal import Role
from cdtrack.settings import Settings
from store import identity
from tests.temporal_env import settings_for_tests

AppFactory = Callable[..., FastAPI]
TokenIssuer = Callable[..., str]


class _NoTemporal:
    """Stands in for the Temporal client where a test never reaches it, and fails if it does."""

    def __getattr__(self, name: str) -> NoReturn:
        raise AssertionError(f"this test was not meant to reach Temporal (Client.{name})")


NO_TEMPORAL = cast(Client, _NoTemporal())


@pytest.fixture
def api_settings(read_model_url: str, tmp_path: Any) -> Settings:
    return settings_for_tests(database_url=read_model_url, data_dir=tmp_path)


@pytest.fixture
def app_factory(api_settings: Settings) -> AppFactory:
    """`app_factory(temporal_client=..., **setting_overrides)`; without a client, no Temporal."""

    def build(*, temporal_client: Client | None = None, **overrides: Any) -> FastAPI:
        settings = api_settings.model_copy(update=overrides) if overrides else api_settings
        return create_app(settings, temporal_client=temporal_client or NO_TEMPORAL)

    return build


@pytest.fixture
def api(app_factory: AppFactory) -> Iterator[TestClient]:
    with TestClient(app_factory()) as client:
        yield client


def issue_token(
    session_maker: sessionmaker[Session],
    *,
    agency: str,
    role: Role | str,
    name: str,
    country: str = "KZ",
    user_id: str | None = None,
) -> str:
    """A new token for a new user of `agency` (registered with `country` if missing)."""
    with session_maker.begin() as session:
        if identity.get_agency(session, agency_id=agency) is None:
            kind = (
                identity.AgencyKind.COORDINATION_CENTRE
                if agency == "caricc"
                else identity.AgencyKind.POLICE
            )
            identity.create_agency(
                session, agency_id=agency, country=country, kind=kind, name=agency.upper()
            )
        user = identity.create_user(
            session, user_id=user_id, name=name, role=Role(role).value, agency_id=agency
        )
        return identity.issue_token(session, user_id=user.id).token


@pytest.fixture
def token_for(session_maker: sessionmaker[Session]) -> TokenIssuer:
    """`token_for(agency=..., role=..., name=...)`: issue_token on this test's database."""

    def issue(**kwargs: Any) -> str:
        return issue_token(session_maker, **kwargs)

    return issue


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_headers(token_for: TokenIssuer) -> dict[str, str]:
    return bearer(token_for(agency="caricc", role=Role.ADMIN, name="Centre administrator"))


@pytest.fixture
def officer_headers(token_for: TokenIssuer) -> dict[str, str]:
    return bearer(token_for(agency="kz-police", role=Role.OFFICER, name="Kazakh officer"))
