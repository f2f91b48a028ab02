"""The justification form shown before an operation's first page in a session."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api.deps import ReadModelDep
from store.console import remember_justification
from web.deps import CsrfSignedIn, OperationIdPath, SignedInDep, visible_operation_for
from web.justification import MAX_LENGTH, MIN_LENGTH, OWN_WORDS, chosen, reasons_for, suggested
from web.language import N_
from web.security import safe_next
from web.templating import render

router = APIRouter(include_in_schema=False)


def _context(
    viewer: SignedInDep, *, code: str | None, next_path: str, own_words: str, error: str | None
) -> dict[str, object]:
    role = viewer.principal.role
    reasons = reasons_for(role)
    known = {reason.code for reason in reasons} | {OWN_WORDS}
    return {
        "reasons": reasons,
        "own_words_code": OWN_WORDS,
        "selected": code if code in known else suggested(role, next_path),
        "own_words": own_words,
        "next": next_path,
        "error": error,
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
    }


@router.get("/o/{operation_id}/justify")
async def justify_form(
    request: Request, operation_id: OperationIdPath, viewer: SignedInDep, read_model: ReadModelDep
) -> Response:
    row = await visible_operation_for(
        read_model, viewer=viewer, operation_id=operation_id, action="console_justify"
    )
    next_path = safe_next(request.query_params.get("next") or f"/o/{operation_id}")
    context = _context(
        viewer,
        code=request.query_params.get("reason"),
        next_path=next_path,
        own_words="",
        error=None,
    )
    context["operation"] = row
    return render(request, "justify.html", view=viewer.view, context=context)


@router.post("/o/{operation_id}/justify")
async def justify(
    request: Request,
    operation_id: OperationIdPath,
    viewer: CsrfSignedIn,
    read_model: ReadModelDep,
    reason: Annotated[str, Form(max_length=64)] = "",
    own_words: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    row = await visible_operation_for(
        read_model, viewer=viewer, operation_id=operation_id, action="console_justify"
    )
    next_path = safe_next(next or f"/o/{operation_id}")
    justification = chosen(viewer.principal.role, code=reason, own_words=own_words)
    if justification is None:
        error = N_("Choose a reason, or say in 10 to 500 characters why you open this operation.")
        context = _context(
            viewer, code=reason, next_path=next_path, own_words=own_words, error=error
        )
        context["operation"] = row
        return render(request, "justify.html", view=viewer.view, status_code=422, context=context)
    await read_model.write(
        partial(
            remember_justification,
            row_id=viewer.visit.row_id,
            operation_id=operation_id,
            justification=justification,
        )
    )
    return RedirectResponse(next_path, status_code=303)
