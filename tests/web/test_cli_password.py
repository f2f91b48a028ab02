"""`cdtrack user set-password`: the first administrator signs in to the console with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cdtrack.cli import app as cli
from tests.api.conftest import NO_TEMPORAL
from tests.temporal_env import settings_for_tests
from tests.web.people import csrf_of
from web.app import create_app


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CDTRACK_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("CDTRACK_DATABASE_URL", raising=False)
    return tmp_path / "fresh"


def test_the_first_administrator_gets_a_password_and_is_asked_to_enrol(data_dir: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["token", "create", "--name", "Ops admin", "--role", "admin"])
    assert created.exit_code == 0, created.stderr
    short = runner.invoke(cli, ["user", "set-password", "ops-admin"], input="short\nshort\n")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.stderr
    unknown = runner.invoke(cli, ["user", "set-password", "nobody"], input=("x" * 12 + "\n") * 2)
    assert unknown.exit_code == 1
    assert "no user 'nobody'" in unknown.stderr
    password = "a long enough passphrase"
    done = runner.invoke(cli, ["user", "set-password", "ops-admin"], input=f"{password}\n" * 2)
    assert done.exit_code == 0, done.stderr

    settings = settings_for_tests(data_dir=data_dir)
    app = create_app(settings, temporal_client=NO_TEMPORAL)
    with TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False) as browser:
        form = browser.get("/sign-in")
        signed = browser.post(
            "/sign-in",
            data={"user_id": "ops-admin", "password": password, "csrf_token": csrf_of(form.text)},
        )
        assert signed.headers["location"] == "/sign-in/second-factor"
        enrol = browser.get("/sign-in/second-factor")
        assert "Set up your second factor" in enrol.text
        qr = browser.get("/sign-in/second-factor/qr.svg")
        assert qr.status_code == 200
        assert qr.headers["content-type"].startswith("image/svg+xml")
