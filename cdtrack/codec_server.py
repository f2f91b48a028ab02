"""Temporal's remote codec protocol (`POST /encode`, `POST /decode`) over cdtrack's payload codec.

The Temporal UI and `temporal` CLI send `{"payloads": [...]}` (payloads in protobuf JSON) with an
`X-Namespace` header and get the same shape back, encoded or decoded. A decode shows what the
workflows carry, so only an administrator may ask, and every decode is a consultation in the
access log with its justification; every refused attempt is logged too, by its reason code.

`RemoteCodec` is the protocol for a caller already let in: the payloads read and limited,
decoded or encoded, the decode logged. Two apps serve it, each knowing its administrators in
its own way and logging each refusal through it:

- the codec server here (`cdtrack codec-server`, for the CLI and production's Temporal UI): an
  API token or the identity provider's bearer token, checked as the HTTP API checks them, and
  only from the configured UI origin when a browser asks (CORS);
- the console, for the embedded stack's UI it serves (web/routes/temporal_codec.py): the
  administrator's console session, from the console's own pages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Request
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
FOREIGN_ORIGIN: Final = "Requests from this origin are not accepted."
NOT_ADMIN: Final = "Decoding payloads needs the role admin."


@dataclass(frozen=True)
class RemoteCodec:
    """Decode and encode as the protocol asks, for whoever the serving app has let in."""

    codec: EncryptionCodec

    @classmethod
    def of(cls, settings: Settings) -> RemoteCodec:
        active, keys = settings.codec_key_ring()
        return cls(EncryptionCodec(active_key_id=active, keys=keys))

    async def log_refusal(
        self,
        request: Request,
        *,
        read_model: ReadModel,
        principal: Principal | None,
        reason_code: str,
    ) -> None:
        """A refused attempt in the access log, by its reason code; the caller answers it."""
        await record_access(
            read_model,
            principal=principal,
            # The protocol names the call by its path's last part, wherever it is mounted.
            action=DECODE_ACTION if request.url.path.endswith("/decode") else ENCODE_ACTION,
            category=AccessCategory.CONSULTATION,
            operation_id=None,
            outcome="refused",
            reason_code=reason_code,
            detail={"namespace": _namespace(request)},
        )

    async def decode(
        self,
        request: Request,
        *,
        read_model: ReadModel,
        principal: Principal,
        fallback_justification: str | None,
    ) -> JSONResponse:
        """The request's payloads decoded, a consultation logged with its `X-Justification`, or
        `fallback_justification` when it sends none; without either, refused (428) and logged."""
        sent = (request.headers.get("x-justification") or "").strip()
        justification = sent or fallback_justification
        if not justification or not 10 <= len(justification) <= 500:
            await self.log_refusal(
                request, read_model=read_model, principal=principal, reason_code="no_justification"
            )
            raise ProblemError(428, "Precondition Required", MISSING)
        payloads = await _payloads(request)
        try:
            decoded = await self.codec.decode(payloads.payloads)
        except PayloadDecryptionError as failure:
            raise ProblemError(422, "Unprocessable Content", str(failure)) from None
        await record_access(
            read_model,
            principal=principal,
            action=DECODE_ACTION,
            category=AccessCategory.CONSULTATION,
            operation_id=None,
            justification=justification,
            detail={"namespace": _namespace(request), "payloads": len(decoded)},
        )
        return _answer(Payloads(payloads=decoded))

    async def encode(self, request: Request) -> JSONResponse:
        """The request's payloads encoded (what the UI sends a workflow): nothing is read."""
        payloads = await _payloads(request)
        return _answer(Payloads(payloads=await self.codec.encode(payloads.payloads)))


async def administrator(
    request: Request,
    credentials: BearerCredentials,
) -> Principal:
    """The calling administrator; anyone else is refused, and the refusal logged."""
    read_model: ReadModel = request.app.state.read_model
    settings: Settings = request.app.state.settings
    remote_codec: RemoteCodec = request.app.state.remote_codec
    refusal = partial(remote_codec.log_refusal, request, read_model=read_model)
    origin = request.headers.get("origin")
    if origin is not None and origin != settings.codec_browser_origin:
        await refusal(principal=None, reason_code="origin_not_allowed")
        raise ProblemError(403, "Forbidden", FOREIGN_ORIGIN)
    try:
        principal = await current_principal(request, read_model, settings, credentials)
    except ProblemError:
        await refusal(principal=None, reason_code="not_authenticated")
        raise
    if principal.role is not Role.ADMIN:
        await refusal(principal=principal, reason_code="not_admin")
        raise ProblemError(403, "Forbidden", NOT_ADMIN)
    return principal


Administrator = Annotated[Principal, Depends(administrator)]


def create_codec_app(settings: Settings) -> FastAPI:
    remote_codec = RemoteCodec.of(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine_for(
            settings.read_model_url, pool_size=CONNECTIONS, max_overflow=0, pool_timeout=30
        )
        try:
            app.state.settings = settings
            app.state.read_model = ReadModel(engine, connections=CONNECTIONS)
            app.state.remote_codec = remote_codec
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
    async def decode(request: Request, principal: Administrator) -> JSONResponse:
        return await remote_codec.decode(
            request,
            read_model=request.app.state.read_model,
            principal=principal,
            fallback_justification=settings.codec_ui_justification,
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/encode")
    async def encode(request: Request, principal: Administrator) -> JSONResponse:
        return await remote_codec.encode(request)

    return app


def _namespace(request: Request) -> str:
    return request.headers.get("x-namespace", "")


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
