"""Why a caller consults operational data: required on every read, kept in the access log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException

MISSING = (
    "Reads of operational data need an X-Justification header saying why you consult it "
    "(10-500 characters)"
)


def require_justification(
    x_justification: Annotated[
        str | None,
        Header(
            alias="X-Justification",
            description="Why you consult this data (10-500 characters); kept in the access log",
        ),
    ] = None,
) -> str:
    given = (x_justification or "").strip()
    if not 10 <= len(given) <= 500:
        raise HTTPException(status_code=428, detail=MISSING)
    return given


Justification = Annotated[str, Depends(require_justification)]
