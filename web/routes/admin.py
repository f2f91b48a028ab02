"""Administration, for administrators only: agencies and their notification targets, users (create,
deactivate, reset the second factor), API tokens, the access log and its verification.

Each page runs the API's own code (api/routes/agencies.py, users.py, audit.py and the store
functions they call) with the administrator's principal; a form's values are checked by the
API's own request models, and each message is shown beside its field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.database import ReadModel
from api.deps import ReadModelDep, SettingsDep
from api.directory import log_administration
from api.principal import Principal, Role
from api.problems import ProblemError
from api.routes import agencies as agency_routes
from api.routes import audit as audit_routes
from api.routes import users as user_routes
from api.schemas.agencies import (
    AgencyCreate,
    AgencyRead,
    TargetRead,
    TokenCreate,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from store.access_log import AccessCategory, list_access
from store.console import WeakPasswordError, enrolled, reset_second_factor, set_password
from store.identity import (
    AgencyKind,
    AgencyName,
    list_agencies,
    list_tokens,
    list_users,
    revoke_token,
)
from store.notifications import list_targets
from web.agencies import naming
from web.deps import AdminSignedIn, CsrfSignedIn, SignedIn
from web.errors import ConsoleError
from web.forms import validation_message
from web.language import N_
from web.templating import View, render

router = APIRouter(prefix="/admin", include_in_schema=False)
M = TypeVar("M", bound=BaseModel)

IdPath = Annotated[str, PathParam(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@:-]+$")]
LOG_PAGE: Final = 50
NO_USER: Final = N_("No user with this id is registered.")
NO_AGENCY: Final = N_("No agency with this id is registered.")
NO_TOKEN: Final = N_("No API token with this id exists.")
SELF_DEMOTION: Final = N_("Administrators cannot demote or deactivate themselves.")
AGENCY_TAKEN: Final = N_("An agency with this id is registered already.")
USER_TAKEN: Final = N_("A user with this id is registered already.")
UNKNOWN_AGENCY: Final = N_("No agency with this id is registered; register it first.")
SHORT_PASSWORD: Final = N_("A password needs at least 12 characters.")
BAD_TIME: Final = N_("Enter a date and time, or leave the field empty.")


def _form_dict(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in names}


@dataclass(frozen=True)
class Entered:
    """A registration form as the page shows it again: what was typed, each field's message, and
    the status to answer with (a page shown afresh has none of them)."""

    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    status_code: int = 200

    def refused(self, errors: dict[str, str], status_code: int) -> Entered:
        return Entered(self.typed, errors, status_code)


def _validated(
    model: type[M], values: Mapping[str, Any], entered: Entered, view: View
) -> M | Entered:
    """The form's values as the API's request model, or the form again with each field's message."""
    try:
        return model.model_validate(values)
    except ValidationError as invalid:
        return entered.refused(_field_errors(invalid, view), 422)


def _field_errors(error: ValidationError, view: View) -> dict[str, str]:
    """Each invalid field's message (the request model's, in the viewer's language), by name."""
    found: dict[str, str] = {}
    for detail in error.errors():
        name = str(detail["loc"][0]) if detail["loc"] else "form"
        found.setdefault(name, validation_message(detail, view=view))
    return found


@router.get("")
async def overview(request: Request, viewer: AdminSignedIn) -> Response:
    return render(request, "admin/overview.html", view=viewer.view)


# --- agencies and their notification targets ----------------------------------------------

AGENCY_FIELDS: Final = ("id", "country", "kind", "name", "contact_email", "contact_phone")


def _agencies(session: Session) -> list[AgencyRead]:
    return [AgencyRead.model_validate(row) for row in list_agencies(session)]


def _form_page(
    request: Request, template: str, *, view: View, entered: Entered, context: dict[str, Any]
) -> Response:
    """A list page with its registration form, shown afresh or again as it was entered."""
    context.update(typed=entered.typed, errors=entered.errors)
    return render(request, template, view=view, status_code=entered.status_code, context=context)


async def _agencies_page(
    request: Request, viewer: SignedIn, read_model: ReadModel, entered: Entered = Entered()
) -> Response:
    context = {"agencies": await read_model.read(_agencies), "kinds": list(AgencyKind)}
    return _form_page(
        request, "admin/agencies.html", view=viewer.view, entered=entered, context=context
    )


@router.get("/agencies")
async def agencies(request: Request, viewer: AdminSignedIn, read_model: ReadModelDep) -> Response:
    return await _agencies_page(request, viewer, read_model)


@router.post("/agencies")
async def create_agency(
    request: Request, viewer: CsrfSignedIn, read_model: ReadModelDep
) -> Response:
    _admin_only(viewer)
    form = await request.form()
    entered = Entered(_form_dict(form, AGENCY_FIELDS))
    values: dict[str, Any] = {key: value for key, value in entered.typed.items() if value}
    values["national_contact_point"] = form.get("national_contact_point") == "yes"
    body = _validated(AgencyCreate, values, entered, viewer.view)
    if isinstance(body, Entered):
        return await _agencies_page(request, viewer, read_model, body)
    try:
        await read_model.write(partial(agency_routes.register, body=body))
    except ProblemError:
        taken = entered.refused({"id": viewer.view.gettext(AGENCY_TAKEN)}, 409)
        return await _agencies_page(request, viewer, read_model, taken)
    return RedirectResponse(f"/admin/agencies/{body.id}", status_code=303)


def _agency_with_targets(
    session: Session, *, agency_id: str
) -> tuple[AgencyRead, list[TargetRead]]:
    try:
        row = agency_routes.registered(session, agency_id)
    except ProblemError:
        raise ConsoleError(404, NO_AGENCY) from None
    targets = [TargetRead.model_validate(t) for t in list_targets(session, agency_id=agency_id)]
    return AgencyRead.model_validate(row), targets


@router.get("/agencies/{agency_id}")
async def agency(
    request: Request, agency_id: IdPath, viewer: AdminSignedIn, read_model: ReadModelDep
) -> Response:
    """The agency and its notification targets, masked as the API masks them."""
    found, targets = await read_model.read(partial(_agency_with_targets, agency_id=agency_id))
    context = {"agency": found, "targets": targets}
    return render(request, "admin/agency.html", view=viewer.view, context=context)


# --- users, second factors and API tokens ----------------------------------------------------

USER_FIELDS: Final = ("id", "name", "role", "agency_id", "password")


def _users_and_agencies(session: Session) -> tuple[list[UserRead], list[AgencyRead]]:
    return [UserRead.model_validate(row) for row in list_users(session)], _agencies(session)


async def _users_page(
    request: Request, viewer: SignedIn, read_model: ReadModel, entered: Entered = Entered()
) -> Response:
    users, agencies = await read_model.read(_users_and_agencies)
    directory = {a.id: AgencyName(id=a.id, name=a.name, country=a.country) for a in agencies}
    context = {"users": users, "agencies": agencies, "roles": list(Role)}
    view = viewer.view.naming(directory)
    return _form_page(request, "admin/users.html", view=view, entered=entered, context=context)


@router.get("/users")
async def users(request: Request, viewer: AdminSignedIn, read_model: ReadModelDep) -> Response:
    return await _users_page(request, viewer, read_model)


def _register_user(session: Session, *, body: UserCreate, password: str) -> str:
    row = user_routes.register(session, body)
    if password:
        set_password(session, user_id=row.id, password=password)
    return row.id


@router.post("/users")
async def create_user(request: Request, viewer: CsrfSignedIn, read_model: ReadModelDep) -> Response:
    _admin_only(viewer)
    form = await request.form()
    entered = Entered(_form_dict(form, USER_FIELDS))
    password = str(form.get("password", ""))
    entered.typed["password"] = ""  # never sent back
    values = {key: value for key, value in entered.typed.items() if value and key != "password"}
    words = viewer.view
    body = _validated(UserCreate, values, entered, words)
    if isinstance(body, Entered):
        return await _users_page(request, viewer, read_model, body)
    try:
        user_id = await read_model.write(partial(_register_user, body=body, password=password))
    except WeakPasswordError:
        weak = entered.refused({"password": words.gettext(SHORT_PASSWORD)}, 422)
        return await _users_page(request, viewer, read_model, weak)
    except ProblemError as refused:
        status = refused.problem.status
        message = UNKNOWN_AGENCY if status == 422 else USER_TAKEN
        named = "agency_id" if status == 422 else "id"
        entered = entered.refused({named: words.gettext(message)}, status)
        return await _users_page(request, viewer, read_model, entered)
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


def _user_page_data(session: Session, *, user_id: str) -> tuple[UserRead, list[TokenRead], bool]:
    try:
        row = user_routes.existing_user(session, user_id)
    except ProblemError:
        raise ConsoleError(404, NO_USER) from None
    tokens = [TokenRead.model_validate(t) for t in list_tokens(session, user_id=user_id)]
    return UserRead.model_validate(row), tokens, enrolled(session, user_id=user_id)


async def _user_page(
    request: Request,
    viewer: SignedIn,
    read_model: Any,
    user_id: str,
    *,
    notice: str | None = None,
    issued: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    user, tokens, has_factor = await read_model.read(partial(_user_page_data, user_id=user_id))
    context = {
        "user": user,
        "tokens": tokens,
        "enrolled": has_factor,
        "notice": notice,
        "issued": issued,
        "error": error,
    }
    view = await naming(read_model, viewer.view, [user.agency_id])
    return render(request, "admin/user.html", view=view, status_code=status_code, context=context)


@router.get("/users/{user_id}")
async def user(
    request: Request,
    user_id: IdPath,
    viewer: AdminSignedIn,
    read_model: ReadModelDep,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    notices = {
        "deactivated": N_("The user is deactivated: every session and token is refused."),
        "reset": N_("The second factor is reset: the user enrols a new one at the next sign-in."),
        "revoked": N_("The API token is revoked."),
    }
    return await _user_page(request, viewer, read_model, user_id, notice=notices.get(done or ""))


@router.post("/users/{user_id}/deactivate")
async def deactivate(
    request: Request, user_id: IdPath, viewer: CsrfSignedIn, read_model: ReadModelDep
) -> Response:
    admin = _admin_only(viewer)
    body = UserUpdate(active=False)
    try:
        await read_model.write(partial(user_routes.change, admin=admin, user_id=user_id, body=body))
    except ProblemError as refused:
        if refused.problem.status == 404:
            raise ConsoleError(404, NO_USER) from None
        return await _user_page(
            request, viewer, read_model, user_id, error=SELF_DEMOTION, status_code=409
        )
    return RedirectResponse(f"/admin/users/{user_id}?done=deactivated", status_code=303)


def _reset_factor(session: Session, *, admin: Principal, user_id: str) -> None:
    try:
        user_routes.existing_user(session, user_id)
    except ProblemError:
        raise ConsoleError(404, NO_USER) from None
    reset_second_factor(session, user_id=user_id)
    log_administration(
        session,
        admin=admin,
        action="user.second_factor_reset",
        category=AccessCategory.ALTERATION,
        detail={"user": user_id},
    )


@router.post("/users/{user_id}/reset-second-factor")
async def reset_factor(user_id: IdPath, viewer: CsrfSignedIn, read_model: ReadModelDep) -> Response:
    """The user's factor forgotten and their sessions ended: they enrol again at next sign-in."""
    admin = _admin_only(viewer)
    await read_model.write(partial(_reset_factor, admin=admin, user_id=user_id))
    return RedirectResponse(f"/admin/users/{user_id}?done=reset", status_code=303)


@router.post("/users/{user_id}/tokens")
async def issue_token(
    request: Request, user_id: IdPath, viewer: CsrfSignedIn, read_model: ReadModelDep
) -> Response:
    """A new API token, shown in this answer only (no-store, like every console page)."""
    _admin_only(viewer)
    form = await request.form()
    label = str(form.get("label", "")).strip()
    try:
        body = TokenCreate.model_validate({"label": label or None})
    except ValidationError as invalid:
        message = next(iter(_field_errors(invalid, viewer.view).values()))
        return await _user_page(
            request, viewer, read_model, user_id, error=message, status_code=422
        )
    try:
        issued = await read_model.write(partial(user_routes.issue, user_id=user_id, body=body))
    except ProblemError:
        raise ConsoleError(404, NO_USER) from None
    return await _user_page(request, viewer, read_model, user_id, issued=issued.token)


@router.post("/tokens/{token_id}/revoke")
async def revoke(token_id: IdPath, viewer: CsrfSignedIn, read_model: ReadModelDep) -> Response:
    _admin_only(viewer)
    row = await read_model.write(partial(_revoked, token_id=token_id))
    return RedirectResponse(f"/admin/users/{row.user_id}?done=revoked", status_code=303)


def _revoked(session: Session, *, token_id: str) -> TokenRead:
    row = revoke_token(session, token_id=token_id)
    if row is None:
        raise ConsoleError(404, NO_TOKEN)
    return TokenRead.model_validate(row)


# --- the access log and its verification ------------------------------------------------------


def _local_time(value: str | None, zone: tzinfo) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        return (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ConsoleError(422, BAD_TIME) from None


@router.get("/access-log")
async def access_log(
    request: Request,
    viewer: AdminSignedIn,
    read_model: ReadModelDep,
    user_id: Annotated[str | None, Query(max_length=128)] = None,
    operation_id: Annotated[str | None, Query(max_length=64)] = None,
    category: Annotated[str | None, Query(max_length=20)] = None,
    since: Annotated[str | None, Query(max_length=32)] = None,
    until: Annotated[str | None, Query(max_length=32)] = None,
    before_id: Annotated[int, Query(ge=1, le=2**63 - 1)] = 2**63 - 1,
) -> Response:
    """Entries newest first, filtered by user, operation, category and period (in the viewer's
    zone), `LOG_PAGE` a page, the older ones on the next; the API's `/audit/entries` query."""
    zone = viewer.visit.clock.zone
    try:
        chosen = AccessCategory(category) if category else None
    except ValueError:
        raise ConsoleError(422, N_("No such category of access.")) from None
    found = await read_model.read(
        partial(
            list_access,
            operation_id=operation_id or None,
            user_id=user_id or None,
            category=chosen,
            since=_local_time(since, zone),
            until=_local_time(until, zone),
            before_id=before_id,
            limit=LOG_PAGE + 1,
        )
    )
    entries = [audit_routes.AccessEntryRead.model_validate(entry) for entry in found[:LOG_PAGE]]
    following = None
    if len(found) > LOG_PAGE:
        query = dict(request.query_params)
        query["before_id"] = str(entries[-1].id)
        following = query
    context = {
        "entries": entries,
        "following": following,
        "categories": list(AccessCategory),
        "typed": {
            "user_id": user_id or "",
            "operation_id": operation_id or "",
            "category": category or "",
            "since": since or "",
            "until": until or "",
        },
    }
    view = await naming(read_model, viewer.view, {entry.agency for entry in entries})
    return render(request, "admin/access_log.html", view=view, context=context)


@router.get("/access-log/verify")
async def verify(
    request: Request, viewer: AdminSignedIn, read_model: ReadModelDep, settings: SettingsDep
) -> Response:
    """Intact, or each tampering found, as `/audit/verify` answers it."""
    report = await read_model.read(audit_routes.log_verification(settings))
    return render(request, "admin/verify.html", view=viewer.view, context={"report": report})


def _admin_only(viewer: SignedIn) -> Principal:
    if viewer.principal.role is not Role.ADMIN:
        raise ConsoleError(403, N_("This page is not part of your role."))
    return viewer.principal
