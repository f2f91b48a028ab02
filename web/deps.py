"""Console request dependencies: the session behind the cookie, the signed-in principal, roles,
CSRF, and an operation opened with a justification.

The session cookie names a server-side session (store/console.py). On every request the session
and its user are read afresh, so a revoked session or a deactivated user is refused at once, and
the principal is built exactly as the API builds it (`api.auth.principal_of`): same role, same
agency, same need-to-know. Pages call the API's own functions with it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.access import record_access, visible_or_not_found
from api.auth import principal_of
from api.deps import ReadModelDep, SettingsDep
from api.principal import Principal, Role
from cdtrack.settings import Settings
from i18n import Language
from store.access_log import AccessCategory
from store.console import (
    ConsoleSessionRow,
    Stage,
    get_credentials,
    live_session,
    touch_due,
    touch_session,
)
from store.identity import AgencyName, agency_names, get_user
from store.models import OperationRow
from web.errors import ConsoleError, JustificationRequired, SignInRequired
from web.language import N_, Clock, console_texts, viewer_language, viewer_zone
from web.templating import View

COOKIE: Final = "cdtrack_session"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"
# A browser that has not signed in yet holds a session for this long (its form's CSRF token).
ANONYMOUS_LIFETIME: Final = timedelta(minutes=15)


@dataclass(frozen=True)
class Visit:
    """A browser's session at whatever stage, with the viewer's language and zone."""

    row_id: str
    token: str
    stage: Stage
    user_id: str | None
    csrf_token: str
    next_path: str | None
    justifications: dict[str, Any]
    pending: dict[str, Any]
    language: Language
    clock: Clock
    # The signed-in user's own agency, as every page names it.
    agencies: dict[str, AgencyName] = field(default_factory=dict)
    # Whether the session's last use was written long enough ago to be written again.
    touch_due: bool = False


@dataclass(frozen=True)
class SignedIn:
    """A signed-in person: the principal the API would see, and their session."""

    principal: Principal
    visit: Visit

    @property
    def view(self) -> View:
        return View(
            language=self.visit.language,
            clock=self.visit.clock,
            csrf_token=self.visit.csrf_token,
            principal=self.principal,
            agencies=self.visit.agencies,
        )

    def justification_for(self, operation_id: str) -> str | None:
        reason = self.visit.justifications.get(operation_id)
        return reason if isinstance(reason, str) else None


def anonymous_view(request: Request, *, csrf_token: str | None = None) -> View:
    language = viewer_language(None, request.headers.get("accept-language"))
    return View(
        language=language,
        clock=Clock(console_texts(language), viewer_zone(None)),
        csrf_token=csrf_token,
    )


def idle_timeout(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.console_idle_timeout_seconds)


def session_lifetime(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.console_session_lifetime_seconds)


def set_session_cookie(response: Response, *, token: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.console_session_lifetime_seconds),
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.console_cookie_secure,
    )


def clear_session_cookie(response: Response, *, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=settings.console_cookie_secure
    )


def _visit_of(
    session: Session, *, token: str, settings: Settings, accept_language: str | None
) -> tuple[Visit, Principal | None] | None:
    row = live_session(session, token=token, idle=idle_timeout(settings))
    if row is None:
        return None
    principal = None
    preference_language = preference_zone = None
    agencies: dict[str, AgencyName] = {}
    if row.user_id is not None:
        user = get_user(session, user_id=row.user_id)
        if user is None or not user.active:
            return None
        principal = principal_of(user)
        agencies = agency_names(session, agency_ids=[user.agency_id])
        credentials = get_credentials(session, user_id=row.user_id)
        if credentials is not None:
            preference_language, preference_zone = credentials.language, credentials.time_zone
    language = viewer_language(preference_language, accept_language)
    visit = Visit(
        row_id=row.id,
        token=token,
        stage=Stage(row.stage),
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        next_path=row.next_path,
        justifications=dict(row.justifications),
        pending=dict(row.pending),
        language=language,
        clock=Clock(console_texts(language), viewer_zone(preference_zone)),
        agencies=agencies,
        touch_due=touch_due(row),
    )
    return visit, principal


async def current_visit(
    request: Request, read_model: ReadModelDep, settings: SettingsDep
) -> tuple[Visit, Principal | None] | None:
    """The browser's live session (any stage) and, once a user is known, their principal."""
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 200:
        return None
    found = await read_model.read(
        partial(
            _visit_of,
            token=token,
            settings=settings,
            accept_language=request.headers.get("accept-language"),
        )
    )
    if found is None:
        return None
    visit, _principal = found
    if visit.stage is Stage.SIGNED_IN and visit.touch_due:
        # Idle time counts from the last request; written at most every few seconds, so most
        # requests need no write at all (on SQLite, no wait for its one writer).
        await read_model.write(partial(_touch_if_due, row_id=visit.row_id))
    return found


def _touch_if_due(session: Session, *, row_id: str) -> None:
    # Asked again in the writing transaction: another request may have written it meanwhile.
    row = session.get(ConsoleSessionRow, row_id)
    if row is not None and touch_due(row):
        touch_session(session, row_id=row_id)


VisitDep = Annotated[tuple[Visit, Principal | None] | None, Depends(current_visit)]


def _requested_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def signed_in(request: Request, found: VisitDep) -> SignedIn:
    """The signed-in person; anyone else is sent to sign in and brought back here after."""
    visit, principal = found if found is not None else (None, None)
    if visit is None or visit.stage is not Stage.SIGNED_IN or principal is None:
        target = _requested_path(request) if request.method == "GET" else "/"
        raise SignInRequired(target)
    viewer = SignedIn(principal=principal, visit=visit)
    # Error pages of this request speak the viewer's language too.
    request.state.view = viewer.view
    return viewer


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


def console_role(*roles: Role) -> Callable[[SignedIn], Awaitable[SignedIn]]:
    """Dependency: the signed-in person if their role is one of `roles`; else a 403 page."""
    allowed = frozenset(roles)

    async def check(viewer: SignedInDep) -> SignedIn:
        if viewer.principal.role not in allowed:
            raise ConsoleError(403, N_("This page is not part of your role."))
        return viewer

    return check


admin_only = console_role(Role.ADMIN)
AdminSignedIn = Annotated[SignedIn, Depends(admin_only)]


async def _sent_csrf_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check_csrf(request: Request, visit: Visit) -> None:
    """Refuse (403, nothing done) a state-changing request without this session's token."""
    sent = await _sent_csrf_token(request)
    if not sent or not secrets.compare_digest(sent, visit.csrf_token):
        raise ConsoleError(
            403, N_("This form has expired or was not sent from this console. Reload the page.")
        )


async def csrf_protected(request: Request, viewer: SignedInDep) -> SignedIn:
    await check_csrf(request, viewer.visit)
    return viewer


CsrfSignedIn = Annotated[SignedIn, Depends(csrf_protected)]
"""For every POST of a signed-in page: the person, once their form's CSRF token is checked."""

OperationIdPath = Annotated[
    str, PathParam(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]


@dataclass(frozen=True)
class OpenedOperation:
    """An operation the viewer may see, opened with the justification they gave for it."""

    row: OperationRow
    justification: str
    viewer: SignedIn


async def _visible(
    read_model: Any, viewer: SignedIn, operation_id: str, action: str
) -> OperationRow:
    try:
        return await visible_or_not_found(
            read_model, principal=viewer.principal, operation_id=operation_id, action=action
        )
    except HTTPException as refused:
        raise ConsoleError(404, N_("No operation with this id is visible to you.")) from refused


def operation_page(action: str) -> Callable[..., Awaitable[OpenedOperation]]:
    """Dependency for a page of one operation: visible to the viewer (else a 404 page, logged as
    the API logs it), justified once in this session (else the justification form first), and
    this view logged as one consultation naming that justification."""

    async def open_operation(
        operation_id: OperationIdPath,
        request: Request,
        viewer: SignedInDep,
        read_model: ReadModelDep,
    ) -> OpenedOperation:
        row = await _visible(read_model, viewer, operation_id, action)
        justification = viewer.justification_for(operation_id)
        if justification is None:
            raise JustificationRequired(
                operation_id,
                next_path=_requested_path(request),
                reason=request.query_params.get("reason"),
            )
        await record_access(
            read_model,
            principal=viewer.principal,
            action=action,
            category=AccessCategory.CONSULTATION,
            operation_id=operation_id,
            justification=justification,
        )
        return OpenedOperation(row=row, justification=justification, viewer=viewer)

    return open_operation


async def visible_operation_for(
    read_model: Any, *, viewer: SignedIn, operation_id: str, action: str
) -> OperationRow:
    """The operation if the viewer may see it (else a logged refusal and a 404 page)."""
    return await _visible(read_model, viewer, operation_id, action)
