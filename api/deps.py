"""Request dependencies: settings, a database session, the Temporal client, the caller and roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.auth import authenticate
from api.principal import Principal, Role
from api.problems import ProblemError
from cdtrack.settings import Settings

# auto_error off: a missing credential must be a 401 problem, not FastAPI's own 403.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token (cdt_...) or a token of the configured identity provider.",
)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the route returns, rolled back when it raises."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
# Scope "function": the commit happens before the answer is sent, so a success is never
# reported for a write the database then refuses, and the caller's next request sees it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def current_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # A plain function: FastAPI runs it in a worker thread, where the blocking database look-up
    # and the occasional key set fetch cannot stall the event loop.
    jwks: jwt.PyJWKClient | None = request.app.state.jwks
    principal = authenticate(
        session,
        credential=credentials.credentials if credentials else None,
        settings=settings,
        jwks=jwks,
    )
    # Recording the token's use may have taken a write lock (on SQLite, the database's); release
    # it here, in this thread, before the route runs on the event loop where a request blocked
    # on that lock would stall every other request, including this one.
    session.commit()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """Dependency refusing, with 403, callers whose role is not one of `roles`.

    A role check, not a need-to-know check: it tells a caller that the kind of action is not
    theirs. Whether an operation is visible to them is decided elsewhere, and answered with 404.
    """
    allowed = frozenset(roles)
    names = ", ".join(sorted(role.value for role in allowed))

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise ProblemError(403, "Forbidden", f"This action needs the role {names}.")
        return principal

    return check


AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]
