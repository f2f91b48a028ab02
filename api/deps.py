"""Request dependencies: settings, the read model, the Temporal client, the caller and roles."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, TypeVar

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.auth import authenticate
from api.database import ReadModel
from api.documents import RenderedDocuments
from api.live_state import LiveStates
from api.principal import Principal, Role
from api.problems import ProblemError
from api.throttle import Throttle
from api.workers import WorkerPresence
from cdtrack.settings import Settings
from store.identity import record_token_use, token_prefix

T = TypeVar("T")

# auto_error off: a missing credential must be a 401 problem, not FastAPI's own 403.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token (cdt_...) or a token of the configured identity provider.",
)


def _app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency handing out what the app's lifespan built and keeps in `app.state`."""

    async def get(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    get.__name__ = f"get_{name}"
    return get


get_settings = _app_state("settings", Settings)
get_temporal = _app_state("temporal", Client)
get_read_model = _app_state("read_model", ReadModel)
get_documents = _app_state("documents", RenderedDocuments)
get_live_states = _app_state("live_states", LiveStates)
get_workers = _app_state("workers", WorkerPresence)

SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
ReadModelDep = Annotated[ReadModel, Depends(get_read_model)]
WorkersDep = Annotated[WorkerPresence, Depends(get_workers)]
DocumentsDep = Annotated[RenderedDocuments, Depends(get_documents)]
LiveStatesDep = Annotated[LiveStates, Depends(get_live_states)]


def _throttle_key(credential: str | None) -> str | None:
    """What failed attempts of this credential are counted under: an API token's prefix."""
    if not credential:
        return None
    # Hashed: the throttle's counters must not hold a usable credential.
    return token_prefix(credential) or hashlib.sha256(credential.encode()).hexdigest()


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_principal(
    request: Request,
    read_model: ReadModelDep,
    settings: SettingsDep,
    credentials: BearerCredentials,
) -> Principal:
    throttle: Throttle = request.app.state.throttle
    credential = credentials.credentials if credentials else None
    address = request.client.host if request.client else "unknown"
    key = _throttle_key(credential)
    throttle.refuse_if_failing(address=address, token=key)
    jwks: jwt.PyJWKClient | None = request.app.state.jwks
    try:
        caller = await read_model.read(
            partial(authenticate, credential=credential, settings=settings, jwks=jwks)
        )
    except ProblemError as refused:
        if refused.problem.status == 401 and credential:
            throttle.failed(address=address, token=key)
        raise
    if caller.token_use_due is not None:
        await read_model.write(partial(record_token_use, token_id=caller.token_use_due))
    throttle.count_request(caller=key or caller.principal.user_id)
    return caller.principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency refusing, with 403, callers whose role is not one of `roles`.

    A role check, not a need-to-know check: it tells a caller that the kind of action is not
    theirs. Whether an operation is visible to them is decided elsewhere, and answered with 404.
    """
    allowed = frozenset(roles)
    names = ", ".join(sorted(role.value for role in allowed))

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise ProblemError(403, "Forbidden", f"This action needs the role {names}.")
        return principal

    return check


AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]
