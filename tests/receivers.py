"""Agencies with notification targets pointing at a local HTTP receiver (apprise `json://`)."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from pytest_httpserver import HTTPServer
from sqlalchemy.orm import Session, sessionmaker

from i18n import Language
from store import identity
from store.notifications import add_target
from tests.temporal_env import settings_for_tests
from workflows.notices import Purpose

# id, country, kind, national contact point, language of its duty room
AGENCIES = (
    ("caricc", "KZ", identity.AgencyKind.COORDINATION_CENTRE, False, Language.ENGLISH),
    ("af-cnpa", "AF", identity.AgencyKind.POLICE, False, Language.ENGLISH),
    ("tj-dca", "TJ", identity.AgencyKind.DRUG_CONTROL, False, Language.RUSSIAN),
    ("tj-ncp", "TJ", identity.AgencyKind.POLICE, True, Language.RUSSIAN),
    ("kz-police", "KZ", identity.AgencyKind.POLICE, False, Language.RUSSIAN),
    ("kz-ncp", "KZ", identity.AgencyKind.CUSTOMS, True, Language.ENGLISH),
    ("nl-police", "NL", identity.AgencyKind.POLICE, False, Language.ENGLISH),
)
LANGUAGE = {agency: language for agency, *_, language in AGENCIES}


@dataclass(frozen=True)
class Received:
    agency: str
    title: str
    message: str


def register_directory(
    sessions: sessionmaker[Session],
    receiver: HTTPServer,
    *,
    failing: Collection[str] = (),
) -> None:
    """Every agency gets one action-required target at /<agency>; `failing` ones answer 500."""
    box = settings_for_tests().secret_box()
    with sessions.begin() as session:
        for agency, country, kind, contact_point, language in AGENCIES:
            identity.create_agency(
                session,
                agency_id=agency,
                country=country,
                kind=kind,
                name=agency.upper(),
                national_contact_point=contact_point,
            )
            url = f"json://127.0.0.1:{receiver.port}/{agency}"
            add_target(
                session,
                box=box,
                agency_id=agency,
                url=url,
                purpose=Purpose.ACTION_REQUIRED,
                language=language,
                label=f"{agency} duty room",
            )
    for agency, *_ in AGENCIES:
        expectation = receiver.expect_request(f"/{agency}", method="POST")
        if agency in failing:
            expectation.respond_with_data("receiver down", status=500)
        else:
            expectation.respond_with_data("ok")


def received(receiver: HTTPServer) -> list[Received]:
    """Every request the receiver got, in order (failed attempts included)."""
    found = []
    for request, _response in receiver.log:
        body = json.loads(request.get_data(as_text=True))
        found.append(Received(request.path.strip("/"), body["title"], body["message"]))
    return found


def received_by(receiver: HTTPServer, agency: str) -> list[str]:
    return [r.message for r in received(receiver) if r.agency == agency]
