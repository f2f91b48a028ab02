"""People who sign in to the console: users with a password and an enrolled TOTP second factor.

Shared by the in-process tests (a TestClient) and the browser tests (Playwright): `People.add`
writes the user, password and factor straight to the read model; codes come from pyotp.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pyotp
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from cdtrack.settings import Settings
from store import console, identity

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    role: Role
    agency: str
    password: str
    totp_secret: str | None  # None: not enrolled yet (enrols at first sign-in)

    def code(self, *, at: datetime | None = None) -> str:
        assert self.totp_secret is not None, f"{self.user_id} has no second factor yet"
        return pyotp.TOTP(self.totp_secret).at(at or datetime.now(UTC))

    def fresh_code(self) -> str:
        """A code of a time step no earlier sign-in used (codes are good once)."""
        assert self.totp_secret is not None
        totp = pyotp.TOTP(self.totp_secret)
        # Keyed by the secret: the same user id in another test's database is another account.
        used = _used_steps.setdefault(self.totp_secret, set())
        while True:
            step = totp.timecode(datetime.now(UTC))
            for candidate in (step, step + 1):
                if candidate not in used and all(candidate > seen for seen in used):
                    used.add(candidate)
                    return totp.generate_otp(candidate)
            time.sleep(1)


_used_steps: dict[str, set[int]] = {}


class People:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._box = settings.secret_box()

    def add(
        self,
        user_id: str,
        *,
        role: Role = Role.OFFICER,
        agency: str = "kz-police",
        country: str = "KZ",
        name: str | None = None,
        enrolled: bool = True,
        password: str = PASSWORD,
    ) -> Person:
        secret = pyotp.random_base32() if enrolled else None
        with self._sessions.begin() as session:
            if identity.get_agency(session, agency_id=agency) is None:
                kind = (
                    identity.AgencyKind.COORDINATION_CENTRE
                    if agency == "caricc"
                    else identity.AgencyKind.POLICE
                )
                identity.create_agency(
                    session, agency_id=agency, country=country, kind=kind, name=agency.upper()
                )
            identity.create_user(
                session, user_id=user_id, name=name or user_id, role=role.value, agency_id=agency
            )
            console.set_password(session, user_id=user_id, password=password)
            if secret is not None:
                row = console.get_credentials(session, user_id=user_id)
                assert row is not None
                row.totp_secret = self._box.seal(secret, context=f"totp:{user_id}")
                row.totp_enrolled_at = datetime.now(UTC)
        return Person(user_id, name or user_id, role, agency, password, secret)

    def deactivate(self, person: Person) -> None:
        with self._sessions.begin() as session:
            identity.update_user(session, user_id=person.user_id, active=False)


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: httpx.Client, person: Person, *, next_path: str = "/") -> httpx.Response:
    """Walk the sign-in forms (password, then code); the answer is the redirect to `next_path`."""
    form = client.get("/sign-in", params={"next": next_path})
    assert form.status_code == 200, form.text
    password = client.post(
        "/sign-in",
        data={
            "user_id": person.user_id,
            "password": person.password,
            "next": next_path,
            "csrf_token": csrf_of(form.text),
        },
    )
    assert password.status_code == 303, password.text
    assert password.headers["location"] == "/sign-in/second-factor"
    second = client.get("/sign-in/second-factor")
    assert second.status_code == 200, second.text
    done = client.post(
        "/sign-in/second-factor",
        data={"code": person.fresh_code(), "csrf_token": csrf_of(second.text)},
    )
    assert done.status_code == 303, done.text
    return done
