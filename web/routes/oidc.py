"""Sign-in through the identity provider, where the `CDTRACK_OIDC_*` settings configure it:
the authorization-code flow with PKCE (S256), instead of passwords.

The browser's anonymous session keeps what the provider must carry back (state, nonce, the PKCE
verifier); the callback is accepted only with that session's state, and the ID token only if the
provider signed it (RS256, its key set) for this client, unexpired, with that session's nonce.
Its `sub` must be a registered, active user, as the API's bearer tokens require: the provider
says who the person is, cdtrack what they may do. The session is then replaced by a signed-in
one (new cookie and CSRF token); the provider's second factor stands for the TOTP.
"""

from __future__ import annotations

import logging
import secrets
from functools import partial
from typing import Annotated, Any, Final

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.auth import verified_claims
from api.deps import ReadModelDep, SettingsDep
from api.problems import ProblemError
from cdtrack.settings import Settings
from store.console import Stage, forget_ended_sessions, open_session, promote_session
from store.identity import get_user
from web.deps import (
    ANONYMOUS_LIFETIME,
    VisitDep,
    session_lifetime,
    set_session_cookie,
)
from web.errors import ConsoleError
from web.language import N_
from web.security import safe_next

router = APIRouter(include_in_schema=False)
logger = logging.getLogger(__name__)

CALLBACK: Final = "/sign-in/oidc/callback"
TOKEN_TIMEOUT_SECONDS: Final = 10
NOT_CONFIGURED: Final = N_("Sign-in through an identity provider is not configured here.")
FAILED: Final = N_("The identity provider's answer could not be accepted. Start signing in again.")
NOT_REGISTERED: Final = N_(
    "The identity provider knows you, but you are not a user of cdtrack. "
    "Ask an administrator to register you."
)


def _client(settings: Settings) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        token_endpoint_auth_method="client_secret_post" if settings.oidc_client_secret else "none",
        scope="openid",
        redirect_uri=settings.public_base_url.rstrip("/") + CALLBACK,
        code_challenge_method="S256",
        timeout=TOKEN_TIMEOUT_SECONDS,
    )


def _configured(settings: Settings) -> None:
    if not settings.console_oidc:
        raise ConsoleError(404, NOT_CONFIGURED)


def _open_pending(session: Session, *, next_path: str, pending: dict[str, Any]) -> tuple[str, str]:
    forget_ended_sessions(session)
    opened = open_session(
        session,
        user_id=None,
        stage=Stage.ANONYMOUS,
        lifetime=ANONYMOUS_LIFETIME,
        next_path=next_path,
        pending=pending,
    )
    return opened.token, opened.row.csrf_token


@router.get("/sign-in/oidc")
async def start(
    request: Request,
    found: VisitDep,
    read_model: ReadModelDep,
    settings: SettingsDep,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """To the provider's authorization endpoint, with a new state, nonce and code challenge."""
    _configured(settings)
    target = safe_next(next)
    if found is not None and found[0].stage is Stage.SIGNED_IN:
        return RedirectResponse(target, status_code=303)
    pending = {
        "state": generate_token(40),
        "nonce": generate_token(40),
        "verifier": generate_token(64),
    }
    token, _csrf = await read_model.write(partial(_open_pending, next_path=target, pending=pending))
    async with _client(settings) as client:
        url, _state = client.create_authorization_url(
            settings.oidc_authorization_url,
            state=pending["state"],
            nonce=pending["nonce"],
            code_verifier=pending["verifier"],
        )
    response = RedirectResponse(url, status_code=303)
    set_session_cookie(response, token=token, settings=settings)
    return response


async def _id_token(settings: Settings, *, code: str, verifier: str) -> str:
    async with _client(settings) as client:
        try:
            answer = await client.fetch_token(
                settings.oidc_token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
            )
        except (OAuthError, httpx.HTTPError, ValueError) as refused:
            logger.warning("the identity provider refused the code: %s", refused)
            raise ConsoleError(401, FAILED) from None
    id_token = answer.get("id_token")
    if not isinstance(id_token, str):
        logger.warning("the identity provider's token answer has no ID token")
        raise ConsoleError(401, FAILED)
    return id_token


def _registered_active(session: Session, *, user_id: str) -> bool:
    user = get_user(session, user_id=user_id)
    return user is not None and user.active


@router.get(CALLBACK)
async def callback(
    request: Request,
    found: VisitDep,
    read_model: ReadModelDep,
    settings: SettingsDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Where the provider sends the browser back: state, code, then the ID token checked."""
    _configured(settings)
    visit = found[0] if found is not None else None
    if visit is None or visit.stage is not Stage.ANONYMOUS or not visit.pending.get("state"):
        raise ConsoleError(401, FAILED)
    expected = str(visit.pending["state"])
    if not state or not secrets.compare_digest(state, expected):
        logger.warning("identity provider callback with a wrong state")
        raise ConsoleError(401, FAILED)
    if error or not code:
        logger.info("the identity provider answered %r", error)
        raise ConsoleError(401, FAILED)
    id_token = await _id_token(settings, code=code, verifier=str(visit.pending["verifier"]))
    jwks = request.app.state.jwks
    try:
        claims = verified_claims(
            id_token,
            jwks=jwks,
            issuer=settings.oidc_issuer,
            audience=settings.oidc_client_id,
            require=("nonce",),
        )
    except ProblemError:
        raise ConsoleError(401, FAILED) from None
    if not secrets.compare_digest(str(claims["nonce"]), str(visit.pending["nonce"])):
        logger.warning("identity provider ID token with a wrong nonce")
        raise ConsoleError(401, FAILED)
    subject = str(claims["sub"])
    if not await read_model.read(partial(_registered_active, user_id=subject)):
        logger.warning("identity provider subject %r is not an active user", subject)
        raise ConsoleError(403, NOT_REGISTERED)
    opened = await read_model.write(
        partial(
            promote_session,
            token=visit.token,
            user_id=subject,
            stage=Stage.SIGNED_IN,
            lifetime=session_lifetime(settings),
        )
    )
    logger.info("signed in through the identity provider: %r", subject)
    response = RedirectResponse(safe_next(opened.row.next_path), status_code=303)
    set_session_cookie(response, token=opened.token, settings=settings)
    return response
