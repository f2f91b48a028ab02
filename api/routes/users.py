"""Users of the agencies and their API tokens, managed by administrators; and the caller itself."""

from __future__ import annotations

from functools import partial
from typing import Final

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.orm import Session

from api.deps import AdminPrincipal, CurrentPrincipal, ReadModelDep
from api.directory import register_entry, taken
from api.principal import Principal
from api.problems import FieldError, ProblemError, problem_responses
from api.schemas.agencies import (
    PrincipalRead,
    TokenCreate,
    TokenIssued,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from store.console import revoke_user_sessions
from store.identity import (
    AlreadyExistsError,
    UnknownAgencyError,
    UserRow,
    create_user,
    get_user,
    issue_token,
    list_tokens,
    list_users,
    revoke_token,
    update_user,
)

router = APIRouter(tags=["users"], responses=problem_responses(401))
ADMIN_ONLY = problem_responses(403)
ADMIN_ONLY_404 = problem_responses(403, 404)


@router.get("/me", summary="Who the caller is, as this request sees it")
async def me(principal: CurrentPrincipal) -> PrincipalRead:
    return PrincipalRead(
        user_id=principal.user_id,
        name=principal.name,
        role=principal.role,
        agency=principal.agency,
    )


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Register a user of an agency, with a role",
    responses={**ADMIN_ONLY, **problem_responses(409)},
)
async def register_user(
    body: UserCreate,
    _admin: AdminPrincipal,
    read_model: ReadModelDep,
    request: Request,
    response: Response,
) -> UserRead:
    return await register_entry(
        read_model,
        partial(register, body=body),
        read_as=UserRead.model_validate,
        response=response,
        location=lambda user_id: request.url_for("user", user_id=user_id),
    )


def register(session: Session, body: UserCreate) -> UserRow:
    """A new user; 422 naming the agency if it is not registered, 409 if the id is taken."""
    try:
        return create_user(
            session,
            user_id=body.id,
            name=body.name,
            role=body.role.value,
            agency_id=body.agency_id,
        )
    except UnknownAgencyError as unknown:
        raise ProblemError(
            422,
            "Invalid request",
            str(unknown),
            errors=[FieldError(field="body.agency_id", message=f"{unknown}; register it first")],
        ) from None
    except AlreadyExistsError as duplicate:
        raise taken(duplicate) from None


@router.get("/users", summary="Registered users, of one agency or all", responses=ADMIN_ONLY)
async def users(
    _admin: AdminPrincipal, read_model: ReadModelDep, agency_id: str | None = None
) -> list[UserRead]:
    def work(session: Session) -> list[UserRead]:
        return [UserRead.model_validate(row) for row in list_users(session, agency_id=agency_id)]

    return await read_model.read(work)


@router.get("/users/{user_id}", summary="One user", responses=ADMIN_ONLY_404)
async def user(user_id: str, _admin: AdminPrincipal, read_model: ReadModelDep) -> UserRead:
    def work(session: Session) -> UserRead:
        return UserRead.model_validate(existing_user(session, user_id))

    return await read_model.read(work)


@router.patch(
    "/users/{user_id}",
    summary="Rename, change the role of, deactivate or reactivate a user",
    description="Deactivation takes effect on the user's next request: every token is refused.",
    responses={**ADMIN_ONLY, **problem_responses(404, 409)},
)
async def change_user(
    user_id: str, body: UserUpdate, admin: AdminPrincipal, read_model: ReadModelDep
) -> UserRead:
    def work(session: Session) -> UserRead:
        return UserRead.model_validate(change(session, admin=admin, user_id=user_id, body=body))

    return await read_model.write(work)


SELF_DEMOTION: Final = "Administrators cannot demote or deactivate themselves."


def change(session: Session, *, admin: Principal, user_id: str, body: UserUpdate) -> UserRow:
    """The user renamed, given a role, deactivated or reactivated by an administrator."""
    if user_id == admin.user_id and (body.active is False or body.role not in (None, admin.role)):
        # Otherwise the last administrator could lock everyone out of user management.
        raise ProblemError(409, "Conflict", SELF_DEMOTION)
    row = update_user(
        session,
        user_id=user_id,
        name=body.name,
        role=body.role.value if body.role else None,
        active=body.active,
    )
    if row is None:
        raise _no_user(user_id)
    if body.active is False:
        # And every console session: a reactivated user signs in again.
        revoke_user_sessions(session, user_id=user_id)
    return row


@router.post(
    "/users/{user_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    summary="Issue an API token to a user; the token is in this answer only",
    responses=ADMIN_ONLY_404,
)
async def issue_user_token(
    user_id: str, body: TokenCreate, _admin: AdminPrincipal, read_model: ReadModelDep
) -> TokenIssued:
    def work(session: Session) -> TokenIssued:
        return issue(session, user_id=user_id, body=body)

    return await read_model.write(work)


def issue(session: Session, *, user_id: str, body: TokenCreate) -> TokenIssued:
    """A new API token of an existing user, its secret in this answer only."""
    existing_user(session, user_id)
    issued = issue_token(session, user_id=user_id, label=body.label)
    return TokenIssued(**TokenRead.model_validate(issued.row).model_dump(), token=issued.token)


@router.get(
    "/users/{user_id}/tokens",
    summary="A user's API tokens (never their secrets)",
    responses=ADMIN_ONLY_404,
)
async def user_tokens(
    user_id: str, _admin: AdminPrincipal, read_model: ReadModelDep
) -> list[TokenRead]:
    def work(session: Session) -> list[TokenRead]:
        existing_user(session, user_id)
        return [TokenRead.model_validate(row) for row in list_tokens(session, user_id=user_id)]

    return await read_model.read(work)


@router.post(
    "/tokens/{token_id}/revoke",
    summary="Revoke an API token; refused from the next request on",
    responses=ADMIN_ONLY_404,
)
async def revoke(token_id: str, _admin: AdminPrincipal, read_model: ReadModelDep) -> TokenRead:
    def work(session: Session) -> TokenRead:
        row = revoke_token(session, token_id=token_id)
        if row is None:
            raise ProblemError(404, "Not Found", f"No API token {token_id!r} exists.")
        return TokenRead.model_validate(row)

    return await read_model.write(work)


def _no_user(user_id: str) -> ProblemError:
    return ProblemError(404, "Not Found", f"No user {user_id!r} is registered.")


def existing_user(session: Session, user_id: str) -> UserRow:
    row = get_user(session, user_id=user_id)
    if row is None:
        raise _no_user(user_id)
    return row
