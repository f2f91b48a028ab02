"""Why a caller consults operational data: required on every read, kept in the access log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException

from api.problems import FieldError, invalid_request

MISSING = (
    "Reads of operational data need an X-Justification header saying why you consult it "
    "(10-500 characters)"
)
MALFORMED = "The X-Justification header must be 10-500 characters without control characters"

_HEADER = Header(
    alias="X-Justification",
    description="Why you consult this data (10-500 characters); kept in the access log",
)


def _well_formed(given: str) -> bool:
    return 10 <= len(given) <= 500 and all(ch.isprintable() for ch in given)


async def require_justification(
    x_justification: Annotated[str | None, _HEADER] = None,
) -> str:
    given = (x_justification or "").strip()
    if not given:
        raise HTTPException(status_code=428, detail=MISSING)
    if not _well_formed(given):
        # Given but unfit: bad input (422 naming the header), as for an action's justification.
        raise invalid_request([FieldError(field="header.X-Justification", message=MALFORMED)])
    return given


async def optional_justification(
    x_justification: Annotated[
        str | None,
        Header(
            alias="X-Justification",
            description="Why you act (10-500 characters, optional); kept in the access log",
        ),
    ] = None,
) -> str | None:
    given = (x_justification or "").strip()
    if not given:
        return None
    if not _well_formed(given):
        raise invalid_request([FieldError(field="header.X-Justification", message=MALFORMED)])
    return given


Justification = Annotated[str, Depends(require_justification)]
OptionalJustification = Annotated[str | None, Depends(optional_justification)]
