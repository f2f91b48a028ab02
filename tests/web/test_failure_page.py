"""A console page that fails on the server's side answers a page in the reader's language with
the occurrence to quote, never the API's JSON; the API's own paths keep answering JSON."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from starlette.requests import Request

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def failing(_request: Request) -> None:
    raise RuntimeError("a read model that went away")


def with_a_failing_page(console: TestClient) -> TestClient:
    app = console.app
    app.add_api_route("/o/op-failing/page", failing, methods=["GET", "POST"])  # type: ignore[attr-defined]
    app.add_api_route("/api/v1/failing", failing)  # type: ignore[attr-defined]
    return TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)


def test_a_failing_page_answers_a_page_with_the_occurrence(console: TestClient) -> None:
    client = with_a_failing_page(console)
    for headers in (BROWSER, {"HX-Request": "true"}):
        page = client.get("/o/op-failing/page", headers=headers)
        assert page.status_code == 500
        assert page.headers["content-type"].startswith("text/html")
        assert "Something went wrong on our side" in page.text
        assert re.search(r'<code id="occurrence">urn:uuid:[0-9a-f-]{36}</code>', page.text)
        assert "a read model that went away" not in page.text, "the trace stays in the log"
        assert "default-src" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
    russian = client.post("/o/op-failing/page", headers={**BROWSER, "Accept-Language": "ru"})
    assert "На сервере произошёл сбой" in russian.text  # noqa: RUF001


def test_the_api_and_a_client_without_html_keep_the_json_problem(console: TestClient) -> None:
    client = with_a_failing_page(console)
    for path in ("/api/v1/failing", "/o/op-failing/page"):
        headers = BROWSER if path.startswith("/api/") else {"Accept": "application/json"}
        answer = client.get(path, headers=headers)
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["instance"].startswith("urn:uuid:")
