"""Temporal's remote codec protocol (`POST /encode`, `POST /decode`) over cdtrack's payload codec.

The Temporal UI and `temporal` CLI send `{"payloads": [...]}` (payloads in protobuf JSON) with an
`X-Namespace` header and get the same shape back, encoded or decoded. A decode shows what the
workflows carry, so only an administrator may ask (an API token or the identity provider's
bearer token, checked as the HTTP API checks them), only from the configured UI origin when a
browser asks, and every decode is a consultation in the access log with its justification;
every refused attempt is logged too, by its reason code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Header, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import Error as ProtobufError
from prometheus_client import CollectorRegistry
from temporalio.api.common.v1 import Payloads

from api.access import record_access
from api.auth import jwks_client
from api.database import ReadModel
from api.deps import BearerCredentials, current_principal
from api.justification import MISSING
from api.principal import Principal, Role
from api.problems import ProblemError, install_problem_handlers
from api.throttle import Throttle
from cdtrack.codec import EncryptionCodec, PayloadDecryptionError
from cdtrack.observability import ApiMetrics, RequestObservation
from cdtrack.settings import Settings
from store.access_log import AccessCategory
from store.session import create_engine_for

DECODE_ACTION: Final = "decode_payloads"
ENCODE_ACTION: Final = "encode_payloads"
# At most this many payloads in one request: a history page's worth, not a bulk export.
MAX_PAYLOADS: Final = 1000
CONNECTIONS: Final = 4


async def administrator(
    request: Request,
    credentials: BearerCredentials,
) -> Principal:
    """The calling administrator; anyone else is refused, and the refusal logged."""
    read_model: ReadModel = request.app.state.read_model
    settings: Settings = request.app.state.settings
    action = DECODE_ACTION if request.url.path.endswith("/decode") else ENCODE_ACTION
    origin = request.headers.get("origin")
    refusal = partial(
        record_access,
        read_model,
        action=action,
        category=AccessCategory.CONSULTATION,
        operation_id=None,
        outcome="refused",
        detail={"namespace": request.headers.get("x-namespace", "")},
    )
    if origin is not None and origin != settings.codec_browser_origin:
        await refusal(principal=None, reason_code="origin_not_allowed")
        raise ProblemError(403, "Forbidden", "Requests from this origin are not accepted.")
    try:
        principal = await current_principal(request, read_model, settings, credentials)
    except ProblemError:
        await refusal(principal=None, reason_code="not_authenticated")
        raise
    if principal.role is not Role.ADMIN:
        await refusal(principal=principal, reason_code="not_admin")
        raise ProblemError(403, "Forbidden", "Decoding payloads needs the role admin.")
    return principal


Administrator = Annotated[Principal, Depends(administrator)]


def create_codec_app(settings: Settings) -> FastAPI:
    active, keys = settings.codec_key_ring()
    codec = EncryptionCodec(active_key_id=active, keys=keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine_for(
            settings.read_model_url, pool_size=CONNECTIONS, max_overflow=0, pool_timeout=30
        )
        try:
            app.state.settings = settings
            app.state.read_model = ReadModel(engine, connections=CONNECTIONS)
            app.state.jwks = jwks_client(settings)
            app.state.throttle = Throttle(settings)
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="cdtrack codec server", lifespan=lifespan, openapi_url=None)
    install_problem_handlers(app)
    app.add_middleware(RequestObservation, metrics=ApiMetrics(CollectorRegistry()), tracing=None)
    # The UI calls from the browser: only its origin may read the answers, with credentials.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[settings.codec_browser_origin],
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace", "X-Justification"],
        allow_credentials=True,
    )

    @app.post("/decode")
    async def decode(
        request: Request,
        principal: Administrator,
        x_namespace: Annotated[str, Header()] = "",
        x_justification: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        read_model: ReadModel = request.app.state.read_model
        justification = (x_justification or "").strip() or settings.codec_ui_justification
        if not justification or not 10 <= len(justification) <= 500:
            await record_access(
                read_model,
                principal=principal,
                action=DECODE_ACTION,
                category=AccessCategory.CONSULTATION,
                operation_id=None,
                outcome="refused",
                reason_code="no_justification",
                detail={"namespace": x_namespace},
            )
            raise ProblemError(428, "Precondition Required", MISSING)
        payloads = await _payloads(request)
        try:
            decoded = await codec.decode(payloads.payloads)
        except PayloadDecryptionError as failure:
            raise ProblemError(422, "Unprocessable Content", str(failure)) from None
        await record_access(
            read_model,
            principal=principal,
            action=DECODE_ACTION,
            category=AccessCategory.CONSULTATION,
            operation_id=None,
            justification=justification,
            detail={"namespace": x_namespace, "payloads": len(decoded)},
        )
        return _answer(Payloads(payloads=decoded))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/encode")
    async def encode(request: Request, principal: Administrator) -> JSONResponse:
        payloads = await _payloads(request)
        return _answer(Payloads(payloads=await codec.encode(payloads.payloads)))

    return app


async def _payloads(request: Request) -> Payloads:
    body = await request.body()
    try:
        parsed = json_format.Parse(body, Payloads(), ignore_unknown_fields=False)
    except (ProtobufError, ValueError) as malformed:
        raise ProblemError(
            422,
            "Unprocessable Content",
            f'The body must be {{"payloads": [...]}} in protobuf JSON: {malformed}',
        ) from None
    if len(parsed.payloads) > MAX_PAYLOADS:
        raise ProblemError(
            422,
            "Unprocessable Content",
            f"{len(parsed.payloads)} payloads in one request; at most {MAX_PAYLOADS}",
        )
    return parsed


def _answer(payloads: Payloads) -> JSONResponse:
    document: dict[str, Any] = json_format.MessageToDict(payloads)
    document.setdefault("payloads", [])
    return JSONResponse(document)


async def serve_codec_server(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (or the process is signalled, without one)."""
    import uvicorn

    config = uvicorn.Config(
        create_codec_app(settings),
        host=settings.codec_server_host,
        port=settings.codec_server_port,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    if stop is None:
        await server.serve()
        return
    # Inside the embedded stack, whose own handlers stop every service together.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    serving = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await serving
