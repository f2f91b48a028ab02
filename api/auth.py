"""Who is calling: API tokens of registered users, or the identity provider's signed JWTs.

Two kinds of bearer credential are accepted:

- `cdt_<prefix>_<secret>`: an API token issued by an administrator. It is looked up by its
  prefix and checked against its argon2 hash; a revoked token or a deactivated user is refused.
- anything else, when OIDC is configured: a JWT signed by the identity provider with RS256 (the
  only algorithm accepted, so `alg: none` and HMAC tokens keyed with the public key are refused),
  whose issuer, audience, expiry and not-before are checked. Its `sub` claim must be the id of a
  registered, active user: the provider says who the person is, this service decides what they
  may do. Role, agency and name come from the users table, never from the token's claims, so an
  administrator's change applies on the next request and the provider cannot grant roles.

Either way the token and the user are read from the database on every request; only the
outcome of the deliberately slow argon2 check of a token's secret is remembered in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

import jwt
from sqlalchemy.orm import Session

from api.principal import Principal, Role
from api.problems import ProblemError
from cdtrack.settings import Settings
from store.identity import UserRow, get_user, is_api_token, verify_token

ALGORITHMS: Final = ["RS256"]
# Tolerated clock difference between the identity provider and this server.
CLOCK_SKEW_SECONDS: Final = 30
JWKS_TIMEOUT_SECONDS: Final = 5
# A caller learns that its credential was refused, never why: no hint which part to forge.
NOT_AUTHENTICATED: Final = "The bearer token is not valid, has expired or has been revoked."

logger = logging.getLogger(__name__)


def unauthorized(detail: str, *, invalid_token: bool) -> ProblemError:
    challenge = 'Bearer realm="cdtrack"'
    if invalid_token:
        challenge += ', error="invalid_token"'
    return ProblemError(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


def jwks_client(settings: Settings) -> jwt.PyJWKClient | None:
    """One key set client per process: it caches the provider's keys and refetches on a new kid."""
    if settings.oidc_jwks_url is None:
        return None
    return jwt.PyJWKClient(
        settings.oidc_jwks_url, cache_keys=True, lifespan=300, timeout=JWKS_TIMEOUT_SECONDS
    )


@dataclass(frozen=True)
class Caller:
    """Who is calling, and the API token whose use is due to be recorded (if any)."""

    principal: Principal
    token_use_due: str | None = None


def authenticate(
    session: Session,
    *,
    credential: str | None,
    settings: Settings,
    jwks: jwt.PyJWKClient | None,
) -> Caller:
    """The caller behind a bearer credential, or a 401 problem; reads, never writes."""
    if not credential:
        raise unauthorized(
            "Send an API token or an identity provider token: Authorization: Bearer <token>.",
            invalid_token=False,
        )
    if is_api_token(credential):
        verified = verify_token(session, token=credential)
        if verified is None:
            logger.info("API token refused")
            raise unauthorized(NOT_AUTHENTICATED, invalid_token=True)
        return Caller(principal_of(verified.user), verified.token_id if verified.use_due else None)
    if jwks is None:
        raise unauthorized(NOT_AUTHENTICATED, invalid_token=True)
    subject = _verified_subject(credential, settings=settings, jwks=jwks)
    user = get_user(session, user_id=subject)
    if user is None or not user.active:
        logger.info("identity provider subject %r is not an active user", subject)
        raise unauthorized(NOT_AUTHENTICATED, invalid_token=True)
    return Caller(principal_of(user))


def _verified_subject(token: str, *, settings: Settings, jwks: jwt.PyJWKClient) -> str:
    claims = verified_claims(
        token, jwks=jwks, issuer=settings.oidc_issuer, audience=settings.oidc_audience
    )
    return str(claims["sub"])


def verified_claims(
    token: str,
    *,
    jwks: jwt.PyJWKClient,
    issuer: str | None,
    audience: str | None,
    require: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The claims of a token the identity provider signed (RS256, its key set) for this issuer
    and audience, unexpired, naming a subject; else a 401 problem (503 without the key set)."""
    try:
        key = jwks.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub", *require]},
        )
    except jwt.PyJWKClientConnectionError:
        logger.exception("the identity provider's key set cannot be fetched")
        raise ProblemError(
            503,
            "Service Unavailable",
            "The identity provider's signing keys cannot be fetched; try again shortly.",
        ) from None
    except (jwt.PyJWTError, ValueError) as refused:
        logger.info("identity provider token refused: %s", refused)
        raise unauthorized(NOT_AUTHENTICATED, invalid_token=True) from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise unauthorized(NOT_AUTHENTICATED, invalid_token=True)
    return claims


def principal_of(user: UserRow) -> Principal:
    return Principal(user_id=user.id, name=user.name, role=Role(user.role), agency=user.agency_id)
