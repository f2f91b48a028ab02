"""The API's renderer process loads WeasyPrint, the fonts and the templates when the API starts,
so the first report asked for after a start is not the one that pays for them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import NO_TEMPORAL
from tests.temporal_env import settings_for_tests


def _already_loaded() -> bytes:
    """Run in the renderer process, as a document's rendering would be: what it holds already."""
    loaded = {"weasyprint", "weasyprint.text.fonts", "matplotlib.backends.backend_svg"}
    return b"warm" if loaded <= set(sys.modules) else b"cold"


@pytest.mark.parametrize(("warm", "found"), [(True, b"warm"), (False, b"cold")])
def test_the_renderer_is_ready_before_the_first_document_is_asked_for(
    sqlite_url: str, tmp_path: Path, warm: bool, found: bytes
) -> None:
    # One read model suffices: what is asked of the renderer touches no database.
    settings = settings_for_tests(database_url=sqlite_url, data_dir=tmp_path)
    app = create_app(
        settings.model_copy(update={"api_warm_renderer": warm}), temporal_client=NO_TEMPORAL
    )
    with TestClient(app) as api:
        # The API answers while its renderer warms up in the background.
        assert api.get("/openapi.json").status_code == 200
        assert api.portal is not None
        documents = app.state.documents
        assert api.portal.call(documents.get, "probe", _already_loaded) == found
