"""Authentication: API tokens read afresh on every request, and identity provider JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.principal import Role
from store.identity import ApiTokenRow, UserRow
from tests.api.conftest import AppFactory, TokenIssuer, bearer

ISSUER = "https://idp.example.org/realms/cdtrack"
AUDIENCE = "cdtrack-api"
KID = "idp-key-1"


def _set_user(session_maker: sessionmaker[Session], user_id: str, **values: Any) -> None:
    with session_maker.begin() as session:
        user = session.get(UserRow, user_id)
        assert user is not None
        for name, value in values.items():
            setattr(user, name, value)


def _assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_token_identifies_its_user(api: TestClient, token_for: TokenIssuer) -> None:
    token = token_for(
        agency="tj-dca", country="TJ", role=Role.OFFICER, name="Officer", user_id="o1"
    )
    response = api.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": "o1",
        "name": "Officer",
        "role": "officer",
        "agency": "tj-dca",
    }


def test_role_and_agency_are_read_on_every_request(
    api: TestClient, token_for: TokenIssuer, session_maker: sessionmaker[Session]
) -> None:
    token = token_for(agency="kz-police", role=Role.OFFICER, name="Officer", user_id="o1")
    token_for(agency="kg-police", country="KG", role=Role.OFFICER, name="Other", user_id="o2")
    assert api.get("/api/v1/me", headers=bearer(token)).json()["role"] == "officer"

    _set_user(session_maker, "o1", role=Role.COORDINATOR.value, agency_id="kg-police")
    me = api.get("/api/v1/me", headers=bearer(token)).json()
    assert (me["role"], me["agency"]) == ("coordinator", "kg-police")

    _set_user(session_maker, "o1", active=False)
    _assert_unauthorized(api.get("/api/v1/me", headers=bearer(token)))


def test_token_is_stored_hashed_and_its_use_recorded(
    api: TestClient, token_for: TokenIssuer, session_maker: sessionmaker[Session]
) -> None:
    token = token_for(agency="kz-police", role=Role.OFFICER, name="Officer", user_id="o1")
    _, prefix, secret = token.split("_", 2)
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with session_maker() as session:
        row = session.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == "o1")).one()
    assert row.token_prefix == prefix
    assert secret not in row.token_hash
    assert row.token_hash.startswith("$argon2id$")
    assert row.last_used_at is not None


def test_revoked_token_is_refused(
    api: TestClient, token_for: TokenIssuer, admin_headers: dict[str, str]
) -> None:
    token = token_for(agency="kz-police", role=Role.OFFICER, name="Officer", user_id="o1")
    tokens = api.get("/api/v1/users/o1/tokens", headers=admin_headers).json()
    revoked = api.post(f"/api/v1/tokens/{tokens[0]['id']}/revoke", headers=admin_headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    _assert_unauthorized(api.get("/api/v1/me", headers=bearer(token)))


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(
            lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="wrong-secret"
        ),
        pytest.param(lambda t: "cdt_zzzzzzzz_" + t.split("_", 2)[2], id="unknown-prefix"),
        pytest.param(lambda t: "cdt_short", id="malformed"),
        pytest.param(lambda t: t.split("_", 2)[0] + "_" + t.split("_", 2)[1] + "_", id="no-secret"),
    ],
)
def test_wrong_token_is_refused(api: TestClient, token_for: TokenIssuer, mangle: Any) -> None:
    token = token_for(agency="kz-police", role=Role.OFFICER, name="Officer")
    _assert_unauthorized(api.get("/api/v1/me", headers=bearer(mangle(token))))


def test_a_token_verified_once_is_still_checked_on_every_request(
    api: TestClient, token_for: TokenIssuer, admin_headers: dict[str, str]
) -> None:
    # The argon2 outcome is remembered; neither a changed secret nor a revocation may ride on it.
    token = token_for(agency="kz-police", role=Role.OFFICER, name="Officer", user_id="o2")
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    wrong = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    _assert_unauthorized(api.get("/api/v1/me", headers=bearer(wrong)))
    tokens = api.get("/api/v1/users/o2/tokens", headers=admin_headers).json()
    api.post(f"/api/v1/tokens/{tokens[0]['id']}/revoke", headers=admin_headers)
    _assert_unauthorized(api.get("/api/v1/me", headers=bearer(token)))


def test_missing_or_foreign_credentials_are_refused(api: TestClient) -> None:
    _assert_unauthorized(api.get("/api/v1/me"))
    _assert_unauthorized(api.get("/api/v1/me", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}))
    # Without OIDC configured, anything but an API token is refused rather than parsed.
    _assert_unauthorized(api.get("/api/v1/me", headers=bearer("eyJhbGciOiJSUzI1NiJ9.e30.x")))


def test_role_check_forbids_officer_admin_actions(
    api: TestClient, officer_headers: dict[str, str]
) -> None:
    for method, path, body in [
        (
            "POST",
            "/api/v1/agencies",
            {"id": "uz-customs", "country": "UZ", "kind": "customs", "name": "UZ"},
        ),
        ("POST", "/api/v1/users", {"name": "X", "role": "admin", "agency_id": "kz-police"}),
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users/anyone/tokens", {}),
        ("PATCH", "/api/v1/users/anyone", {"active": False}),
        ("POST", "/api/v1/tokens/any/revoke", None),
    ]:
        response = api.request(method, path, json=body, headers=officer_headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["title"] == "Forbidden"
    assert api.get("/api/v1/agencies", headers=officer_headers).status_code == 200


# --- identity provider (OIDC) tokens ---------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


class IdentityProvider:
    """Signs tokens like an OIDC provider whose key set the HTTP server publishes."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
        httpserver.expect_request("/jwks").respond_with_json({"keys": [jwk]})
        self.jwks_url = httpserver.url_for("/jwks")
        self.public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "idp-7f3a",
            "iat": now,
            "nbf": now - 10,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, *, key: Any = None, **overrides: Any) -> str:
        return jwt.encode(
            self.claims(**overrides), key or self.key, algorithm="RS256", headers={"kid": KID}
        )


@pytest.fixture
def idp(httpserver: HTTPServer) -> Iterator[IdentityProvider]:
    yield IdentityProvider(httpserver)
    httpserver.clear()


@pytest.fixture
def oidc_api(app_factory: AppFactory, idp: IdentityProvider) -> Iterator[TestClient]:
    app = app_factory(oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=idp.jwks_url)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def idp_user(token_for: TokenIssuer) -> str:
    token_for(agency="kz-police", role=Role.OFFICER, name="Provider user", user_id="idp-7f3a")
    return "idp-7f3a"


def test_provider_token_maps_to_the_registered_user(
    oidc_api: TestClient, idp: IdentityProvider, idp_user: str
) -> None:
    # A role claim in the token is ignored: the users table decides.
    token = idp.token(role="admin", agency="caricc")
    response = oidc_api.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": idp_user,
        "name": "Provider user",
        "role": "officer",
        "agency": "kz-police",
    }


def test_provider_token_of_inactive_or_unknown_subject_is_refused(
    oidc_api: TestClient,
    idp: IdentityProvider,
    idp_user: str,
    session_maker: sessionmaker[Session],
) -> None:
    _assert_unauthorized(oidc_api.get("/api/v1/me", headers=bearer(idp.token(sub="stranger"))))
    _set_user(session_maker, idp_user, active=False)
    _assert_unauthorized(oidc_api.get("/api/v1/me", headers=bearer(idp.token())))


def _hs256_with_public_key(idp: IdentityProvider) -> str:
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": KID}, idp.claims())
    signature = hmac.new(idp.public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _alg_none(idp: IdentityProvider) -> str:
    return _unsigned({"alg": "none", "typ": "JWT", "kid": KID}, idp.claims()) + "."


def _foreign_key(idp: IdentityProvider) -> str:
    return idp.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda idp: idp.token(iss="https://evil.example.org"), id="wrong-issuer"),
        pytest.param(lambda idp: idp.token(aud="another-api"), id="wrong-audience"),
        pytest.param(
            lambda idp: idp.token(exp=int(time.time()) - 300, iat=int(time.time()) - 900),
            id="expired",
        ),
        pytest.param(lambda idp: idp.token(nbf=int(time.time()) + 3600), id="not-yet-valid"),
        pytest.param(lambda idp: idp.token(exp=None), id="no-expiry"),
        pytest.param(_alg_none, id="alg-none"),
        pytest.param(_hs256_with_public_key, id="hs256-with-public-key"),
        pytest.param(_foreign_key, id="signed-by-another-key"),
        pytest.param(lambda idp: idp.token()[:-4] + "AAAA", id="tampered-signature"),
    ],
)
def test_forged_or_stale_provider_tokens_are_refused(
    oidc_api: TestClient, idp: IdentityProvider, idp_user: str, forge: Any
) -> None:
    assert oidc_api.get("/api/v1/me", headers=bearer(idp.token())).status_code == 200
    _assert_unauthorized(oidc_api.get("/api/v1/me", headers=bearer(forge(idp))))


def test_unreachable_key_set_is_a_503_not_a_500(
    app_factory: AppFactory, idp: IdentityProvider, idp_user: str
) -> None:
    app = app_factory(
        oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url="http://127.0.0.1:9/jwks"
    )
    with TestClient(app) as client:
        response = client.get("/api/v1/me", headers=bearer(idp.token()))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
