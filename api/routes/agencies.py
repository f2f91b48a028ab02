"""The agency directory: any authenticated caller may read it, administrators register agencies.

Agencies are not secret; which of them take part in an operation is, and is not told here.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from api.deps import AdminPrincipal, CurrentPrincipal, ReadModelDep, SettingsDep
from api.directory import log_administration, register_entry, taken
from api.principal import Principal, Role
from api.problems import ProblemError, problem_responses
from api.schemas.agencies import AgencyCreate, AgencyRead, TargetCreate, TargetRead, masked_url
from store.access_log import AccessCategory
from store.identity import (
    AgencyKind,
    AgencyRow,
    AlreadyExistsError,
    create_agency,
    get_agency,
    list_agencies,
)
from store.notifications import UnknownTargetError, add_target, list_targets, retire_target
from workflows.plan import CountryCode

router = APIRouter(prefix="/agencies", tags=["agencies"], responses=problem_responses(401))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register an agency",
    responses=problem_responses(403, 409),
)
async def register_agency(
    body: AgencyCreate,
    _admin: AdminPrincipal,
    read_model: ReadModelDep,
    request: Request,
    response: Response,
) -> AgencyRead:
    return await register_entry(
        read_model,
        partial(register, body=body),
        read_as=AgencyRead.model_validate,
        response=response,
        location=lambda agency_id: request.url_for("agency", agency_id=agency_id),
    )


def register(session: Session, body: AgencyCreate) -> AgencyRow:
    """A new agency of the directory; 409 if its id is taken."""
    try:
        return create_agency(
            session,
            agency_id=body.id,
            country=body.country,
            kind=body.kind,
            name=body.name,
            contact_email=body.contact_email,
            contact_phone=body.contact_phone,
            national_contact_point=body.national_contact_point,
        )
    except AlreadyExistsError as duplicate:
        raise taken(duplicate) from None


@router.get("", summary="The agency directory")
async def directory(
    _caller: CurrentPrincipal,
    read_model: ReadModelDep,
    country: Annotated[CountryCode | None, Query(description="ISO alpha-2, e.g. KZ")] = None,
    kind: AgencyKind | None = None,
) -> list[AgencyRead]:
    def work(session: Session) -> list[AgencyRead]:
        rows = list_agencies(session, country=country, kind=kind)
        return [AgencyRead.model_validate(row) for row in rows]

    return await read_model.read(work)


@router.get("/{agency_id}", summary="One agency", responses=problem_responses(404))
async def agency(agency_id: str, _caller: CurrentPrincipal, read_model: ReadModelDep) -> AgencyRead:
    def work(session: Session) -> AgencyRead:
        return AgencyRead.model_validate(registered(session, agency_id))

    return await read_model.read(work)


def own_agency_or_admin(principal: Principal, agency_id: str) -> None:
    if principal.role is not Role.ADMIN and principal.agency != agency_id:
        raise ProblemError(
            403, "Forbidden", "Only administrators and the agency's own people see its targets."
        )


def registered(session: Session, agency_id: str) -> AgencyRow:
    """The agency's directory entry; 404 if it is not registered."""
    row = get_agency(session, agency_id=agency_id)
    if row is None:
        raise ProblemError(404, "Not Found", f"No agency {agency_id!r} is registered.")
    return row


@router.post(
    "/{agency_id}/targets",
    status_code=status.HTTP_201_CREATED,
    summary="Add a notification target (an apprise URL) to an agency",
    responses=problem_responses(403, 404),
)
async def add_notification_target(
    agency_id: str,
    body: TargetCreate,
    admin: AdminPrincipal,
    read_model: ReadModelDep,
    settings: SettingsDep,
) -> TargetRead:
    def work(session: Session) -> TargetRead:
        registered(session, agency_id)
        row = add_target(
            session,
            box=settings.secret_box(),
            agency_id=agency_id,
            url=body.url,
            url_hint=masked_url(body.url),
            purpose=body.purpose,
            language=body.language,
            label=body.label,
        )
        log_administration(
            session,
            admin=admin,
            action="notification_target.add",
            category=AccessCategory.COLLECTION,
            detail={"agency": agency_id, "target": row.id, "purpose": row.purpose},
        )
        return TargetRead.model_validate(row)

    return await read_model.write(work)


@router.get(
    "/{agency_id}/targets",
    summary="An agency's notification targets, credentials masked",
    responses=problem_responses(403, 404),
)
async def notification_targets(
    agency_id: str, principal: CurrentPrincipal, read_model: ReadModelDep
) -> list[TargetRead]:
    def work(session: Session) -> list[TargetRead]:
        own_agency_or_admin(principal, agency_id)
        registered(session, agency_id)
        return [
            TargetRead.model_validate(row) for row in list_targets(session, agency_id=agency_id)
        ]

    return await read_model.read(work)


@router.delete(
    "/{agency_id}/targets/{target_id}",
    summary="Retire a notification target: nothing more is sent to it; its deliveries stay logged",
    responses=problem_responses(403, 404),
)
async def retire_notification_target(
    agency_id: str, target_id: str, admin: AdminPrincipal, read_model: ReadModelDep
) -> TargetRead:
    def work(session: Session) -> TargetRead:
        try:
            row = retire_target(session, agency_id=agency_id, target_id=target_id)
        except UnknownTargetError as unknown:
            raise ProblemError(404, "Not Found", f"{unknown}.") from None
        log_administration(
            session,
            admin=admin,
            action="notification_target.retire",
            category=AccessCategory.ALTERATION,
            detail={"agency": agency_id, "target": target_id},
        )
        return TargetRead.model_validate(row)

    return await read_model.write(work)
