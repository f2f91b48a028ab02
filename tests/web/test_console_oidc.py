"""Console sign-in through an identity provider (authorization code with PKCE), against a small
provider served over HTTP in the test: authorization and token endpoints, a key set, RS256 ID
tokens. The browser's redirects are followed as a browser follows them."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from api.principal import Role
from cdtrack.settings import Settings
from tests.api.conftest import NO_TEMPORAL
from tests.web.people import People
from web.app import create_app

CLIENT_ID = "cdtrack-console"
KID = "console-idp-1"
BASE = "http://127.0.0.1:8000"


@dataclass
class Grant:
    challenge: str
    method: str
    nonce: str
    redirect_uri: str
    subject: str


@dataclass
class LocalProvider:
    """An identity provider: signs the person in as `subject`, and redeems each code once for
    the verifier of its challenge."""

    server: HTTPServer
    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    subject: str = "idp-officer"
    signed_nonce: str | None = None  # None: the nonce the browser's request carried
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
        self.server.expect_request("/jwks").respond_with_json({"keys": [jwk]})
        self.server.expect_request("/authorize").respond_with_handler(self._authorize)
        self.server.expect_request("/token", method="POST").respond_with_handler(self._token)

    @property
    def issuer(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def _authorize(self, request: Request) -> Response:
        asked = request.args
        if asked.get("client_id") != CLIENT_ID or asked.get("response_type") != "code":
            return Response("unknown client or response type", status=400)
        if not asked.get("code_challenge") or "openid" not in asked.get("scope", "").split():
            return Response("PKCE and the openid scope are required", status=400)
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(
            challenge=asked["code_challenge"],
            method=asked.get("code_challenge_method", "plain"),
            nonce=asked.get("nonce", ""),
            redirect_uri=asked["redirect_uri"],
            subject=self.subject,
        )
        back = asked["redirect_uri"] + "?" + urlencode({"code": code, "state": asked["state"]})
        return Response(status=302, headers={"Location": back})

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.token_requests.append(form)
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error("invalid_grant")
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if grant.method != "S256" or base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != (
            grant.challenge
        ):
            return _oauth_error("invalid_grant")
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": grant.subject,
            "iat": now,
            "exp": now + 300,
            "nonce": self.signed_nonce if self.signed_nonce is not None else grant.nonce,
        }
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})
        body = {"access_token": "opaque", "token_type": "Bearer", "id_token": id_token}
        return Response(json.dumps(body), content_type="application/json")


def _oauth_error(code: str) -> Response:
    return Response(json.dumps({"error": code}), status=400, content_type="application/json")


@pytest.fixture
def provider(httpserver: HTTPServer) -> Iterator[LocalProvider]:
    yield LocalProvider(httpserver)
    httpserver.clear()


@pytest.fixture
def oidc_console(console_settings: Settings, provider: LocalProvider) -> Iterator[TestClient]:
    settings = Settings.model_validate(
        {
            **console_settings.model_dump(),
            "oidc_issuer": provider.issuer,
            "oidc_audience": "cdtrack-api",
            "oidc_jwks_url": provider.server.url_for("/jwks"),
            "oidc_authorization_url": provider.server.url_for("/authorize"),
            "oidc_token_url": provider.server.url_for("/token"),
            "oidc_client_id": CLIENT_ID,
            "public_base_url": BASE,
        }
    )
    app = create_app(settings, temporal_client=NO_TEMPORAL)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield client


def _to_provider(browser: TestClient, next_path: str) -> str:
    """The browser asks to sign in and is sent to the provider: that redirect's URL."""
    start = browser.get("/sign-in/oidc", params={"next": next_path})
    assert start.status_code == 303
    return str(start.headers["location"])


def _at_provider(authorize_url: str) -> str:
    """The provider signs the person in and sends the browser back: the callback's path."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == BASE
    return f"{back.path}?{back.query}"


def test_a_registered_person_signs_in_through_the_provider_with_pkce(
    oidc_console: TestClient, people: People, provider: LocalProvider
) -> None:
    people.add("idp-officer", name="Aidos Nurlanov", enrolled=False)
    page = oidc_console.get("/sign-in", params={"next": "/preferences"})
    assert page.status_code == 200
    assert 'href="/sign-in/oidc?next=/preferences"' in page.text
    assert 'name="password"' not in page.text
    # Passwords are not accepted at all here.
    refused = oidc_console.post("/sign-in", data={"user_id": "idp-officer", "password": "x" * 20})
    assert refused.status_code == 404

    authorize = _to_provider(oidc_console, "/preferences")
    asked = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider.server.url_for("/authorize"))
    assert asked["code_challenge_method"] == ["S256"]
    assert asked["redirect_uri"] == [f"{BASE}/sign-in/oidc/callback"]
    assert asked["state"][0]
    assert asked["nonce"][0]
    assert "code_verifier" not in asked

    callback = _at_provider(authorize)
    landed = oidc_console.get(callback)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/preferences"
    [sent] = provider.token_requests
    assert sent["grant_type"] == "authorization_code"
    assert sent["code_verifier"]  # the provider checked it against the challenge
    home = oidc_console.get("/preferences")
    assert home.status_code == 200
    assert "Aidos Nurlanov" in home.text

    # The callback cannot be replayed: the session it belonged to is gone.
    oidc_console.cookies.clear()
    assert oidc_console.get(callback).status_code == 401


def test_a_callback_with_another_browsers_state_is_refused(
    oidc_console: TestClient, people: People
) -> None:
    people.add("idp-officer", enrolled=False)
    victim_authorize = _to_provider(oidc_console, "/")
    victim_callback = _at_provider(victim_authorize)

    attacker = TestClient(oidc_console.app, base_url=BASE, follow_redirects=False)
    _to_provider(attacker, "/")
    refused = attacker.get(victim_callback)
    assert refused.status_code == 401
    assert "could not be accepted" in refused.text
    assert attacker.get("/").status_code == 303  # not signed in

    forged = victim_callback.replace("state=", "state=x")
    assert oidc_console.get(forged).status_code == 401
    assert oidc_console.get("/").status_code == 303


def test_an_id_token_with_another_nonce_is_refused(
    oidc_console: TestClient, people: People, provider: LocalProvider
) -> None:
    people.add("idp-officer", enrolled=False)
    provider.signed_nonce = "a-nonce-of-another-request"
    refused = oidc_console.get(_at_provider(_to_provider(oidc_console, "/")))
    assert refused.status_code == 401
    assert oidc_console.get("/").status_code == 303


def test_a_subject_who_is_not_a_registered_user_is_refused(
    oidc_console: TestClient, people: People, provider: LocalProvider
) -> None:
    people.add("idp-officer", enrolled=False)
    provider.subject = "someone-else"
    refused = oidc_console.get(_at_provider(_to_provider(oidc_console, "/")))
    assert refused.status_code == 403
    assert "you are not a user of cdtrack" in refused.text
    assert oidc_console.get("/").status_code == 303

    people.deactivate(people.add("idp-gone", role=Role.ANALYST, enrolled=False))
    provider.subject = "idp-gone"
    assert oidc_console.get(_at_provider(_to_provider(oidc_console, "/"))).status_code == 403


def test_without_the_provider_settings_there_is_no_provider_sign_in(console: TestClient) -> None:
    assert console.get("/sign-in/oidc").status_code == 404
    assert 'name="password"' in console.get("/sign-in").text
