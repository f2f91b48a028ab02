"""RFC 9457 problem details: the one shape every error of the API takes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

PROBLEM_JSON: Final = "application/problem+json"
INVALID_REQUEST: Final = "urn:cdtrack:problem:invalid-request"
MALFORMED_BODY: Final = "urn:cdtrack:problem:malformed-body"
INTERNAL_ERROR: Final = "urn:cdtrack:problem:internal-error"

logger = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str = Field(description="Where the value is: body.legs[0].country, query.limit, ...")
    message: str


class RefusalReason(BaseModel):
    """Why the lifecycle refused an action, for a client that says it in its reader's language."""

    template: str = Field(
        description="The reason in English with named placeholders (`%(leg)s`), as a message id: "
        '"no handover of leg %(leg)s has been offered"'
    )
    parameters: dict[str, Any] = Field(
        description="Each placeholder's value: a string (an agency id, a country code, a phase, "
        "a moment), a number, a list of strings, or a list of reasons (what blocks a launch)"
    )


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        default="about:blank", description="URI naming the kind of problem; about:blank if none"
    )
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(description="The HTTP status code")
    detail: str | None = Field(default=None, description="What went wrong with this request")
    instance: str | None = Field(default=None, description="This occurrence, as logged")
    errors: list[FieldError] | None = Field(
        default=None, description="For invalid requests: each field at fault and what to change"
    )
    reason: RefusalReason | None = Field(
        default=None,
        description="For an action the lifecycle refused (403, 409): the rules' part of `detail` "
        "as template and parameters",
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses a route answers; `document_problems` adds the schema."""
    return {status: {"description": _phrase(status)} for status in statuses}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Make every 4xx/5xx response of an OpenAPI schema a problem+json Problem."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for code, response in operation.get("responses", {}).items():
                if code[:1] in ("4", "5"):
                    response["content"] = content
    return schema


class ProblemError(Exception):
    """Raise to answer with a problem; the title is the kind of problem, the detail this case."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type: str = "about:blank",
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.problem = Problem(
            type=type,
            title=title,
            status=status,
            detail=detail,
            errors=list(errors) if errors is not None else None,
            **dict(extensions or {}),
        )
        self.headers = dict(headers or {})


def problem_response(problem: Problem, *, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(problem, exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def field_path(location: Sequence[int | str]) -> str:
    """`("body", "legs", 0, "country")` -> `body.legs[0].country`."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "union_tag_not_found":
        # pydantic: "Unable to extract tag using discriminator 'decision'".
        tag = str(error.get("ctx", {}).get("discriminator", "its kind")).strip("'")
        return f"{tag} is missing: it says which kind of value this is"
    message = str(error.get("msg", "is not valid"))
    # pydantic prefixes a validator's own sentence with its error class; people need the sentence.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def invalid_request(errors: Sequence[FieldError], *, detail: str | None = None) -> ProblemError:
    """A 422 naming each field at fault; its detail the same list in one sentence by default."""
    return ProblemError(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "Invalid request",
        detail
        or f"{len(errors)} field{'s' if len(errors) != 1 else ''} to correct: "
        + "; ".join(f"{e.field}: {e.message}" for e in errors),
        type=INVALID_REQUEST,
        errors=errors,
    )


def field_errors(
    errors: Sequence[Mapping[str, Any]], *, within: Sequence[int | str] = ()
) -> list[FieldError]:
    """pydantic's errors as fields to correct; `within` is where the validated value was."""
    return [
        FieldError(field=field_path((*within, *e.get("loc", ()))), message=_message(e))
        for e in errors
    ]


def _on_validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    raw = list(error.errors())
    malformed = [e for e in raw if e.get("type") == "json_invalid"]
    if malformed:
        reason = malformed[0].get("ctx", {}).get("error", "it cannot be parsed")
        position = malformed[0]["loc"][-1] if len(malformed[0]["loc"]) > 1 else None
        where = f" at character {position}" if isinstance(position, int) else ""
        problem = Problem(
            type=MALFORMED_BODY,
            title="Malformed request body",
            status=HTTPStatus.UNPROCESSABLE_ENTITY,
            detail=f"The request body is not valid JSON{where}: {reason}",
            errors=[FieldError(field="body", message=f"not valid JSON{where}: {reason}")],
        )
        return problem_response(problem)
    return problem_response(invalid_request(field_errors(raw)).problem)


def _on_http_exception(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    phrase = _phrase(error.status_code)
    detail = error.detail if isinstance(error.detail, str) else str(error.detail)
    problem = Problem(
        title=phrase, status=error.status_code, detail=detail if detail != phrase else None
    )
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(problem, headers=headers)


def _on_unstorable_data(_request: Request, error: Exception) -> JSONResponse:
    # Validation should have caught it; if a value still does not fit the database, the caller
    # hears which kind of input to change, and nothing was stored.
    logger.warning("database refused a value", exc_info=error)
    problem = Problem(
        title="Unprocessable Content",
        status=422,
        detail="A value does not fit what can be stored (too long, out of range or with control "
        "characters); correct the input and send it again.",
    )
    return problem_response(problem)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path; Starlette names only the first route's."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods - {"HEAD"})


def _on_problem(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)
    return problem_response(error.problem, headers=error.headers)


def _on_anything_else(request: Request, error: Exception) -> JSONResponse:
    return problem_response(internal_error(request, error))


def internal_error(request: Request, error: Exception) -> Problem:
    """The failure logged, and the problem to answer: an occurrence id for the caller to quote;
    the trace stays in the log, never in the answer."""
    occurrence = f"urn:uuid:{uuid.uuid4()}"
    logger.error(
        "unhandled error on %s %s (%s)",
        request.method,
        request.url.path,
        occurrence,
        exc_info=error,
    )
    return Problem(
        type=INTERNAL_ERROR,
        title="Internal Server Error",
        status=HTTPStatus.INTERNAL_SERVER_ERROR,
        detail="The server failed to complete the request; the failure has been logged.",
        instance=occurrence,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(DataError, _on_unstorable_data)
    app.add_exception_handler(Exception, _on_anything_else)


class JsonBodiesOnly:
    """415 for a request body under `prefix` that says it is not JSON: every body the API reads
    is JSON, and a form or text sent by mistake deserves that answer rather than a list of
    fields it lacks. Pure ASGI: nothing is read or buffered."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in {"POST", "PUT", "PATCH"}
            and scope["path"].startswith(self.prefix)
        ):
            headers = Headers(scope=scope)
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            sent = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
            if sent and media and media != "application/json" and not media.endswith("+json"):
                problem = Problem(
                    title="Unsupported Media Type",
                    status=415,
                    detail=f"The body is {media}; send it as JSON (Content-Type: "
                    "application/json). Nothing was changed.",
                )
                await problem_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)
