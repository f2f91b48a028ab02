"""`cdtrack token create`: the first administrator's way in, on a fresh data directory."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cdtrack.cli import app as cli
from store.identity import get_agency, verify_token
from store.migrate import at_head, upgrade
from store.session import create_engine_for, session_factory
from tests.api.conftest import NO_TEMPORAL, bearer
from tests.temporal_env import settings_for_tests


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CDTRACK_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("CDTRACK_DATABASE_URL", raising=False)
    return tmp_path / "fresh"


def _create(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["token", "create", *args])
    return result.exit_code, result.stdout, result.stderr


def test_first_administrator_on_a_fresh_data_dir(data_dir: Path) -> None:
    code, out, err = _create("--name", "Ops admin", "--role", "admin", "--agency", "caricc")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("cdt_")
    assert "\n" not in token
    assert "Authorization: Bearer" in err
    assert token not in err

    settings = settings_for_tests(data_dir=data_dir)
    engine = create_engine_for(settings.read_model_url)
    with session_factory(engine)() as session:
        verified = verify_token(session, token=token)
        assert verified is not None
        user = verified.user
        assert (user.id, user.role, user.agency_id) == (
            "ops-admin",
            "admin",
            "caricc",
        )
        centre = get_agency(session, agency_id="caricc")
        assert centre is not None
        assert centre.kind == "coordination_centre"
    engine.dispose()

    with TestClient(create_app(settings, temporal_client=NO_TEMPORAL)) as api:
        me = api.get("/api/v1/me", headers=bearer(token)).json()
    assert me == {"user_id": "ops-admin", "name": "Ops admin", "role": "admin", "agency": "caricc"}


def test_again_for_the_same_user_issues_another_token(data_dir: Path) -> None:
    first = _create("--name", "Ops admin", "--role", "admin")
    second = _create("--name", "Ops admin", "--role", "admin")
    assert first[0] == second[0] == 0
    assert first[1] != second[1]


def test_refuses_unknown_agency_and_a_different_role(data_dir: Path) -> None:
    code, _, err = _create("--name", "Officer", "--role", "officer", "--agency", "kz-police")
    assert code == 1
    assert "no agency 'kz-police'" in err
    assert _create("--name", "Ops admin", "--role", "admin")[0] == 0
    code, _, err = _create("--name", "Ops admin", "--role", "officer")
    assert code == 1
    assert "exists as admin of caricc" in err


def test_a_token_is_issued_without_the_migrations_progress_lines(data_dir: Path) -> None:
    code, _, err = _create("--name", "Ops admin", "--role", "admin", "--agency", "caricc")
    assert code == 0, err
    # A fresh read model is migrated first; its progress lines are for `cdtrack migrate`.
    assert "alembic" not in err, err
    assert "Authorization: Bearer" in err


def _wait(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["migrate", "--wait", *args])
    return result.exit_code, result.stdout, result.stderr


def test_migrate_wait_changes_nothing_and_gives_up_on_an_older_schema(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    code, _, err = _wait("--timeout", "0.5")
    assert code == 1
    assert "not up to date" in err
    assert "cdtrack migrate" in err
    assert list(data_dir.iterdir()) == [], "waiting created the read model"


def test_migrate_wait_returns_once_the_migration_has_run_elsewhere(data_dir: Path) -> None:
    url = settings_for_tests(data_dir=data_dir).read_model_url
    migration = threading.Timer(1.0, upgrade, args=(url,))
    migration.start()
    try:
        code, out, err = _wait("--timeout", "60")
    finally:
        migration.join()
    assert code == 0, err
    assert "up to date" in out
    assert at_head(url)
