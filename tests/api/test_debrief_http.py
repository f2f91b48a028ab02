"""The outcome assessment and the debrief report over HTTP: need-to-know, justification, log."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
from pypdf import PdfReader

from api.principal import Role
from cdtrack.walkthrough import JUSTIFICATION, Walkthrough
from store.access_log import list_access
from tests.api.live import LiveStack, live_database_url, live_stack

__all__ = ["live_database_url", "live_stack"]


def headers(token: str, *, justify: bool = True) -> dict[str, str]:
    sent = {"Authorization": f"Bearer {token}"}
    if justify:
        sent["X-Justification"] = JUSTIFICATION
    return sent


async def test_participants_fetch_the_report_outsiders_learn_nothing(
    live_stack: LiveStack,
) -> None:
    await asyncio.to_thread(_report_access, live_stack)


def _report_access(live_stack: LiveStack) -> None:
    participant = live_stack.cast.officers["af-cnpa"]
    outsider = live_stack.token(
        agency="nl-police", role=Role.OFFICER, name="Outsider", country="NL"
    )
    with httpx.Client(base_url=live_stack.base_url, timeout=60) as http:
        operation_id = Walkthrough(http, live_stack.cast, say=lambda _: None).run()
        base = f"/api/v1/operations/{operation_id}"
        # The closing assessment follows the close: wait for it.
        deadline = time.monotonic() + 30
        while True:
            read = http.get(f"{base}/assessment", headers=headers(participant))
            if read.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert read.status_code == 200, read.text
        body = read.json()
        assert body["version"] == 1
        assert [v["version"] for v in body["versions"]] == [1]
        assert body["assessment"]["code_name"] == "NIGHTJAR"
        assert body["assessment"]["phase"] == "closed"
        assert (
            http.get(
                f"{base}/assessment", params={"version": 2}, headers=headers(participant)
            ).status_code
            == 404
        )

        report = http.get(
            f"{base}/report", params={"lang": "ru", "format": "pdf"}, headers=headers(participant)
        )
        assert report.status_code == 200, report.text
        assert report.headers["content-type"] == "application/pdf"
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(report.content)).pages)
        assert "Отчёт по итогам операции" in text
        assert "NIGHTJAR" in text
        html = http.get(f"{base}/report", params={"format": "html"}, headers=headers(participant))
        assert html.status_code == 200
        assert "Debrief report" in html.text

        figures = http.get("/api/v1/statistics", headers=headers(participant)).json()
        assert (figures["operations"], figures["assessed_operations"]) == (1, 1)
        assert figures["seizures_by_substance"][0]["quantity"] == 12.5
        assert figures["latency"]["handovers"] == 2
        nothing = http.get("/api/v1/statistics", headers=headers(outsider)).json()
        assert (nothing["operations"], nothing["seizures_by_substance"]) == (0, [])
        summary = http.get(
            "/api/v1/statistics/summary", params={"lang": "ru"}, headers=headers(participant)
        )
        assert summary.status_code == 200
        assert summary.content.startswith(b"%PDF-")

        unjustified = http.get(f"{base}/report", headers=headers(participant, justify=False))
        assert unjustified.status_code == 428

        nowhere = "/api/v1/operations/00000000-0000-0000-0000-000000000000"
        for path in ("assessment", "report"):
            hidden = http.get(f"{base}/{path}", headers=headers(outsider))
            missing = http.get(f"{nowhere}/{path}", headers=headers(outsider))
            assert hidden.status_code == missing.status_code == 404
            assert hidden.json()["detail"] == missing.json()["detail"], "no existence oracle"

    with live_stack.sessions() as session:
        entries = list_access(session, operation_id=operation_id, limit=1000)
    disclosed = [e for e in entries if e.action == "report.disclose"]
    allowed = [e for e in disclosed if e.outcome == "allowed"]
    assert [(e.category, e.agency, e.recipients) for e in allowed] == [
        ("disclosure", "af-cnpa", ["af-cnpa"]),
        ("disclosure", "af-cnpa", ["af-cnpa"]),
    ]
    assert allowed[0].justification == JUSTIFICATION
    assert allowed[0].detail == {"version": 1, "lang": "ru", "format": "pdf"}
    refused = [e for e in disclosed if e.outcome == "refused"]
    assert [e.agency for e in refused] == ["nl-police"]
    consulted = [e for e in entries if e.action == "assessment.read" and e.outcome == "allowed"]
    assert consulted
    assert {e.category for e in consulted} == {"consultation"}
