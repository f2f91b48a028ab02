"""The agency directory: any authenticated caller may read it, administrators register agencies.

Agencies are not secret; which of them take part in an operation is, and is not told here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api.deps import AdminPrincipal, CurrentPrincipal, SessionDep
from api.problems import ProblemError, problem_responses
from api.schemas.agencies import AgencyCreate, AgencyRead
from store.identity import AgencyKind, AlreadyExistsError, create_agency, get_agency, list_agencies
from workflows.plan import CountryCode

router = APIRouter(prefix="/agencies", tags=["agencies"], responses=problem_responses(401))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register an agency",
    responses=problem_responses(403, 409),
)
def register_agency(
    body: AgencyCreate,
    _admin: AdminPrincipal,
    session: SessionDep,
    request: Request,
    response: Response,
) -> AgencyRead:
    try:
        row = create_agency(
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
        raise ProblemError(409, "Agency already registered", str(duplicate)) from None
    response.headers["Location"] = str(request.url_for("agency", agency_id=row.id))
    return AgencyRead.model_validate(row)


@router.get("", summary="The agency directory")
def directory(
    _caller: CurrentPrincipal,
    session: SessionDep,
    country: Annotated[CountryCode | None, Query(description="ISO alpha-2, e.g. KZ")] = None,
    kind: AgencyKind | None = None,
) -> list[AgencyRead]:
    rows = list_agencies(session, country=country, kind=kind)
    return [AgencyRead.model_validate(row) for row in rows]


@router.get("/{agency_id}", summary="One agency", responses=problem_responses(404))
def agency(agency_id: str, _caller: CurrentPrincipal, session: SessionDep) -> AgencyRead:
    row = get_agency(session, agency_id=agency_id)
    if row is None:
        raise ProblemError(404, "Not Found", f"No agency {agency_id!r} is registered.")
    return AgencyRead.model_validate(row)
